"""How chapters put tables and figures on the page: formatted, numbered, captioned, no build residue.

* :func:`figure` glues a matplotlib figure under a name; the chapter's next Markdown cell places it
  with a ``{glue:figure}`` directive that gives it a number, a caption and alt text.
* :func:`bullets` shows generated sentences as a Markdown list.
* :func:`table` formats a DataFrame for reading: thousands separators, fixed decimals, "-" for a
  missing value, no meaningless 0..n index column. The HTML is deterministic (fixed element ids), so
  nbval can compare it.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def figure(name: str, fig) -> None:
    """Glue ``fig`` as ``name`` (shown where a ``{glue:figure} name`` directive places it) and close it."""
    from matplotlib import pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)


def caption(name: str, markdown: str) -> None:
    """Glue a computed caption sentence as ``name``; a figure's caption places it with
    ``{glue:md}`name` ``."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(markdown), display=False)


def bullets(sentences):
    """``sentences`` as a Markdown list, one item per sentence."""
    from IPython.display import Markdown

    return Markdown("\n".join(f"- {s}" for s in sentences))


def _fmt(decimals: int | None):
    def f(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return "-"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        if isinstance(v, (float, np.floating)):
            if decimals is None:
                return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 1 else f"{v:,.3g}"
            return f"{v:,.{decimals}f}"
        return str(v)
    return f


class Table:
    """A formatted table: HTML for the book, the same formatted cells as plain text for notebooks and
    nbval (a bare Styler's plain-text form holds a memory address, different in every run)."""

    def __init__(self, styler, plain: str):
        self.styler, self._plain = styler, plain

    def _repr_html_(self) -> str:
        return f'<div class="dspic-table-box">{self.styler.to_html()}</div>'

    def __repr__(self) -> str:
        return self._plain


def table(df: pd.DataFrame, name: str, *, decimals: int | Mapping[str, int] | None = None,
          index: bool | None = None) -> Table:
    """``df`` formatted for reading (a :class:`Table`, displayed as HTML).

    ``decimals``: for every float column, or per column name; ``None`` shows whole numbers without
    decimals and others with 3 significant digits. ``index``: show the row labels (default: unless
    they are just 0..n-1)."""
    if index is None:
        index = not isinstance(df.index, pd.RangeIndex)
    per_col = decimals if isinstance(decimals, Mapping) else {}
    default = None if isinstance(decimals, Mapping) else decimals
    formats = {c: _fmt(per_col.get(c, default)) for c in df.columns}
    styler = df.style.format(formats).format_index(_fmt(None), axis=0).set_uuid(name)
    if not index:
        styler = styler.hide(axis="index")
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right", "white-space": "nowrap"})
    styler = styler.set_table_attributes('class="dspic-table"')
    shown = pd.DataFrame({c: [formats[c](v) for v in df[c]] for c in df.columns}, index=df.index)
    return Table(styler, shown.to_string(index=index))
