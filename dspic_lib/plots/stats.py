"""Figures of how sure the numbers are (chapter 07): reliability diagrams of calibration and forest plots
of confidence intervals. Each function returns a matplotlib figure; the numbers come from
:mod:`dspic_lib.evaluation.stats`.

Like :mod:`dspic_lib.plots.results`: at most :data:`~dspic_lib.plots.COLUMN_INCHES` wide, constrained
layout, text of 9 pt and up, no figure numbers in titles, every colour named in a legend. Models (or
any other labels) take their colours from seaborn's ``colorblind`` palette in the order given; an item
that is a class (N, M, A, M&A) takes its colour from :mod:`dspic_lib.vocab`.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from dspic_lib.palette import CLASS_COLORS
from dspic_lib.plots import COLUMN_INCHES
from dspic_lib.plots.results import METRIC_LABELS

_INK = "black"          # what is not a model or a class: the diagonal, intervals, the paper's markers
_MARKER_AREA = (12.0, 160.0)    # smallest and largest marker area (pt^2) of a reliability bin


def reliability_diagram(tables: Mapping[str, pd.DataFrame], *, title: str = "Calibration") -> Figure:
    """Accuracy against mean top-1 confidence per bin, one line per label (e.g. a model before and after
    temperature scaling), from :func:`dspic_lib.evaluation.stats.reliability` tables; marker areas grow with the
    bin's image count (one scale for all lines), empty bins are not drawn. The dotted diagonal is perfect
    calibration: below it the model is overconfident. The legend gives each line's ECE (count-weighted
    mean gap, as :func:`dspic_lib.evaluation.stats.ece`) and image count."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.2 + 0.2 * len(tables)), layout="constrained")
    colors = sns.color_palette("colorblind", n_colors=max(len(tables), 1))
    ax.plot([0, 1], [0, 1], color=_INK, ls=":", lw=1, label="calibrated")
    top = max([int(t["count"].max()) for t in tables.values() if len(t)] + [1])
    for (label, table), color in zip(tables.items(), colors):
        filled = table[table["count"] > 0].sort_values("confidence")
        n = int(filled["count"].sum())
        if n:
            gap = float(np.average((filled["accuracy"] - filled["confidence"]).abs(), weights=filled["count"]))
            text = f"{label} (ECE {gap:.3f}, {n} images)"
        else:
            text = f"{label} (no image)"
        ax.plot(filled["confidence"], filled["accuracy"], color=color, lw=1.5, label=text)
        area = _MARKER_AREA[0] + (_MARKER_AREA[1] - _MARKER_AREA[0]) * filled["count"].to_numpy() / top
        ax.scatter(filled["confidence"], filled["accuracy"], s=area, color=color, edgecolor="white",
                   linewidth=0.6, zorder=3)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="mean top-1 confidence in the bin",
           ylabel="accuracy in the bin", title=title, box_aspect=1)
    fig.legend(loc="outside lower center", ncol=1, frameon=False,
               handles=ax.get_lines()[1:] + ax.get_lines()[:1] + [
                   Line2D([], [], ls="none", marker="o", ms=9, color="#777777", label="marker area: images")])
    return fig


def interval_plot(df: pd.DataFrame, value: str = "value", low: str = "low", high: str = "high", paper=None,
                  *, xlabel: str = "score", title: str | None = None) -> Figure:
    """A forest plot: one row per row of ``df`` (top to bottom in its order, labelled by its index), the
    point ``value`` and the interval from ``low`` to ``high``. ``paper``: the paper's value of each row, as a
    column name of ``df`` or a mapping from index to value, drawn as a white diamond (missing ones are not
    drawn). Metric names in the index are written as in the other results figures (``f1`` as F1)."""
    n = len(df)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 1.1 + 0.34 * max(n, 1)), layout="constrained")
    y = np.arange(n)[::-1]
    names = [str(i) for i in df.index]
    for yi, name, (_, row) in zip(y, names, df.iterrows()):
        color = CLASS_COLORS.get(name, _INK)
        v, lo, hi = (float(row[c]) for c in (value, low, high))
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yi, yi], color=color, lw=2, solid_capstyle="butt")
        ax.plot([v], [yi], ls="none", marker="o", ms=6, color=color)
    handles = [Line2D([], [], color=_INK, lw=2, marker="o", ms=6, label="this run, interval")]
    if paper is not None:
        values = df[paper] if isinstance(paper, str) else pd.Series(dict(paper)).reindex(df.index)
        ax.plot(values.to_numpy(float), y, ls="none", marker="D", ms=7, mfc="white", mec=_INK, mew=1.3,
                zorder=3)
        handles.append(Line2D([], [], ls="none", marker="D", ms=7, mfc="white", mec=_INK, mew=1.3,
                              label="paper"))
    ax.set_yticks(y, [METRIC_LABELS.get(s, s) for s in names])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#dddddd", lw=0.8)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    return fig
