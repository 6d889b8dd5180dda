"""Figures of chapter 03 (architectures): the signal an untrained network passes on."""
from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from dspic_lib.plots import COLUMN_INCHES


def init_signal(signal: pd.DataFrame) -> Figure:
    """One panel per network: the RMS of each row's output over the images, row by row, for each
    initialisation choice (log scale), with the logits' SD across images as the last point."""
    networks = list(dict.fromkeys(signal["network"]))
    fig, axes = plt.subplots(1, len(networks), figsize=(COLUMN_INCHES * 2, 3.2), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], networks):
        part = signal[signal["network"] == name]
        order = list(dict.fromkeys(part["row"]))
        sns.lineplot(data=part, x="row", y="value", hue="choice", marker="o", sort=False, ax=ax,
                     legend=ax is axes[0][0])
        ax.set_yscale("log")
        ax.set_xticks(range(len(order)), [("logit SD" if r == "logits" else r) for r in order], rotation=60, ha="right")
        ax.set_title(name)
        ax.set_xlabel("")
        ax.set_ylabel("RMS of the row's output (last point: logit SD across images)")
    if axes[0][0].get_legend() is not None:
        sns.move_legend(axes[0][0], "lower left", title=None, fontsize="small")
    fig.tight_layout()
    return fig
