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
    choices = list(dict.fromkeys(signal["choice"]))
    colors = sns.color_palette("colorblind", len(choices))
    fig, axes = plt.subplots(1, len(networks), figsize=(COLUMN_INCHES, 3.6), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes[0], networks):
        part = signal[signal["network"] == name]
        order = list(dict.fromkeys(part["row"]))
        for choice, color in zip(choices, colors):
            rows = part[part["choice"] == choice].set_index("row")["value"].reindex(order)
            ax.plot(range(len(order)), rows.to_numpy(), marker="o", ms=4, color=color, label=choice)
        ax.set_yscale("log")
        ax.set_xticks(range(len(order)), [("logit SD" if r == "logits" else r) for r in order], rotation=60,
                      ha="right", fontsize="small")
        ax.set_title(name, fontsize="small")
    axes[0][0].set_ylabel("RMS of the row's output")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=len(choices),
               frameon=False)
    return fig
