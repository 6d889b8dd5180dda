"""The figure of D2's prior shift (chapter 07): predicted-class shares of each D2 network on the test
images, as trained and after the prior correction, against the true shares. The numbers come from
:func:`dspic_lib.chapters.beyond.prior_shares` (the correction is
:func:`dspic_lib.evaluation.metrics.prior_correct`).

Style as :mod:`dspic_lib.plots.stats`: at most :data:`~dspic_lib.plots.COLUMN_INCHES` wide, constrained
layout, every colour named in a legend, classes in their :mod:`dspic_lib.palette` colours.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from dspic_lib.palette import CLASS_COLORS
from dspic_lib.plots import COLUMN_INCHES

_INK = "black"
PANELS = {"predicted, as trained": "as trained", "predicted, corrected": "after the prior correction"}


def prior_shift_bars(shares: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Grouped bars, one group per network (rows of ``shares``' first index level) and one bar per class
    (second level), of the predicted share in two panels (columns of :data:`PANELS`); the true share of
    each class (column ``true share``) is a black bar-wide line on its bar."""
    models = list(dict.fromkeys(shares.index.get_level_values(0)))
    classes = list(dict.fromkeys(shares.index.get_level_values(1)))
    width = 0.8 / max(len(classes), 1)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(COLUMN_INCHES, 1.6 + 1.2 * len(PANELS) + 0.15 * len(models)),
                             layout="constrained", sharex=True, sharey=True)
    x = np.arange(len(models))
    for ax, (column, label) in zip(np.atleast_1d(axes), PANELS.items()):
        for k, c in enumerate(classes):
            pos = x - 0.4 + width * (k + 0.5)
            vals = [shares.loc[(m, c), column] for m in models]
            truth = [shares.loc[(m, c), "true share"] for m in models]
            ax.bar(pos, vals, width=width * 0.92, color=CLASS_COLORS[c])
            ax.hlines(truth, pos - width * 0.46, pos + width * 0.46, color=_INK, lw=2)
        ax.set(ylim=(0, 1.02), ylabel="share of test images", title=label)
        ax.grid(axis="y", alpha=0.3)
    ax = np.atleast_1d(axes)[-1]
    ax.set_xticks(x, models, rotation=30 if len(models) > 3 else 0, ha="right" if len(models) > 3 else "center")
    handles = [Patch(color=CLASS_COLORS[c], label=f"predicted {c}") for c in classes] + \
        [Line2D([], [], color=_INK, lw=2, label="true share")]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    if title:
        fig.suptitle(title)
    return fig
