"""Figures shared by the chapters (seaborn / matplotlib). A flat module of functions, each returning
its ``Figure``; chapters show them inline (never ``matplotlib.use("Agg")`` here)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import patches
from matplotlib import pyplot as plt

from .vocab import CLASS_COLORS, CLASSES, DISEASE_COLORS, SEX_COLORS

# Figures are drawn at most this wide (inches at 100 dpi = 750 px, the book's content column), so they
# are never shrunk on the page and 9-10 pt text stays 9-10 pt.
COLUMN_INCHES = 7.5


def set_style() -> None:
    """One look for every figure of the book: sizes in points that survive on the page."""
    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (COLUMN_INCHES, 3.2),
        "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9,
        "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 11,
        "axes.spines.top": False, "axes.spines.right": False,
    })


def sex_age(per_patient: pd.DataFrame, *, bins: int = 13):
    """Fig. 1: patients by sex and age (histogram, one colour per sex)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    data = per_patient.assign(sex=per_patient["sex"].map({"F": "female", "M": "male"}).fillna("unknown"))
    sns.histplot(data=data, x="age", hue="sex", hue_order=[h for h in ("female", "male", "unknown")
                                                            if h in set(data["sex"])],
                 palette=SEX_COLORS, multiple="dodge", bins=bins, shrink=0.85, ax=ax)
    ax.set(xlabel="age (years)", ylabel="patients", title="Patients by sex and age (Fig. 1)")
    fig.tight_layout()
    return fig


def lesion_sites(sites: pd.DataFrame):
    """Fig. 2: lesions per site, stacked by disease (``sites``: rows = site, columns = diseases)."""
    diseases = [d for d in DISEASE_COLORS if d in sites.columns]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    bottom = np.zeros(len(sites))
    for d in diseases:
        ax.bar(sites.index, sites[d], bottom=bottom, color=DISEASE_COLORS[d], label=d)
        bottom += sites[d].to_numpy()
    ax.set(ylabel="annotated lesions (both views)", title="Lesions by site and disease (Fig. 2)")
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_ha("right")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def max_intensity(table: pd.DataFrame):
    """Fig. 4: the maximum count of every image, in table order, coloured by class; and its spread."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [3, 1]})
    order = np.arange(len(table))
    for cls in CLASSES:
        sel = table["label"].to_numpy() == cls
        if sel.any():
            ax.scatter(order[sel], table["max_count"].to_numpy()[sel], s=6, color=CLASS_COLORS[cls], label=cls)
    ax.set(xlabel="image", ylabel="maximum count", yscale="log",
           title="Maximum uptake intensity of every image (Fig. 4)")
    ax.legend(frameon=False, markerscale=2, ncol=4)
    present = [c for c in CLASSES if c in set(table["label"])]
    sns.boxplot(data=table, x="label", y="max_count", order=present, hue="label", hue_order=present,
                palette=CLASS_COLORS, legend=False, ax=bx, fliersize=2)
    bx.set(xlabel="class", ylabel="", yscale="log", title="by class")
    fig.tight_layout()
    return fig


def scan_pairs(pairs, *, crop: bool = True, percentile: float = 99.5):
    """Anterior/posterior pairs with their LabelMe boxes.

    ``pairs``: list of (title, anterior counts, posterior counts, anterior lesions, posterior lesions).
    Each image is shown with its own grey scale up to the given percentile (the bladder would
    otherwise wash out the skeleton); metastases in red, arthritis in blue."""
    n = len(pairs)
    fig, axes = plt.subplots(1, 2 * n, figsize=(1.6 * 2 * n, 6.6), squeeze=False)
    axes = axes[0]
    for k, (title, ant, post, les_a, les_p) in enumerate(pairs):
        rows = np.flatnonzero((ant + post).sum(axis=1) > 0.02 * (ant + post).sum(axis=1).max())
        r0, r1 = (max(rows[0] - 15, 0), min(rows[-1] + 15, ant.shape[0])) if crop and len(rows) else (0, ant.shape[0])
        for j, (img, les, view) in enumerate(((ant, les_a, "anterior"), (post, les_p, "posterior"))):
            ax = axes[2 * k + j]
            vmax = float(np.percentile(img[img > 0], percentile)) if (img > 0).any() else 1.0
            ax.imshow(img[r0:r1], cmap="gray_r", vmin=0, vmax=vmax, interpolation="antialiased")
            for lesion in les:
                x0, y0, x1, y1 = lesion.box
                ax.add_patch(patches.Rectangle((x0 - 0.5, y0 - r0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                               lw=1.2, ec=DISEASE_COLORS.get(lesion.disease, "k")))
            ax.set_title(f"{title}\n{view}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    handles = [patches.Patch(fill=False, ec=c, label=d) for d, c in DISEASE_COLORS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def leakage_features(features: pd.DataFrame, labels: pd.Series, columns: list[str]):
    """Distribution of non-lesion features per class (they should look alike)."""
    present = [c for c in CLASSES if c in set(labels)]
    fig, axes = plt.subplots(1, len(columns), figsize=(2.6 * len(columns), 3), squeeze=False)
    data = features.assign(label=labels.to_numpy())
    for ax, col in zip(axes[0], columns):
        sns.boxplot(data=data, x="label", y=col, order=present, hue="label", hue_order=present,
                    palette=CLASS_COLORS, legend=False, ax=ax, fliersize=1.5)
        ax.set(xlabel="", title=col.replace("_", " "), ylabel="")
    fig.tight_layout()
    return fig
