"""Figures shared by the chapters (seaborn / matplotlib). A flat module of functions, each returning
its ``Figure``; chapters show them inline (never ``matplotlib.use("Agg")`` here).

Every figure is drawn at most :data:`COLUMN_INCHES` wide with ``layout="constrained"``, so it is never
shrunk on the page and its text (9 pt and up, see :func:`set_style`) stays legible. Colours come from
:mod:`dspic_lib.vocab` and every coloured class or box is named in a legend. Scans are shown like a
nuclear-medicine reading station: inverted grey scale (hot = black), anterior and posterior of a
patient side by side in one display window. Titles are short and carry no figure number (the
chapter's numbered caption says which figure of the paper a figure regenerates).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import patches, ticker
from matplotlib import pyplot as plt

from dspic_lib.palette import CLASS_COLORS, DISEASE_COLORS, SEX_COLORS

# Figures are drawn at most this wide: 6.6 in at 100 dpi is 660 px, plus the few pixels the inline
from dspic_lib.vocab import CLASS_NAMES, CLASSES

# Figures are drawn at most this wide: 6.6 in at 100 dpi is 660 px, plus the few pixels the inline
# backend's tight bounding box adds, within the 672 px a figure gets in the book's content column at a
# 1280 px window (measured in Chromium). So a figure is never shrunk on the page, and 9 pt text stays
# 9 pt (12 CSS px); at 7.5 in the figures were shown at 88 % and their 9 pt ticks at 8 pt.
COLUMN_INCHES = 6.6
SCAN_CMAP = "gray_r"           # inverted grey scale: hot = black on white, as on a reading station


def set_style() -> None:
    """One look for every figure of the book: sizes in points that survive on the page."""
    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (COLUMN_INCHES, 3.2),
        "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9,
        "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 11,
        "axes.spines.top": False, "axes.spines.right": False,
    })


# --------------------------------------------------------------------------------------------------
# Shared pieces (also used by plots_augment)


def class_handles(classes=CLASSES) -> list:
    """Legend handles naming each class and its colour, e.g. ``M: metastasis``."""
    return [patches.Patch(color=CLASS_COLORS[c], label=f"{c}: {CLASS_NAMES[c]}") for c in classes]


def disease_handles(diseases=None) -> list:
    """Legend handles for lesion boxes: an outlined box in each disease's colour."""
    return [patches.Patch(fill=False, ec=DISEASE_COLORS[d], lw=1.5, label=d)
            for d in (diseases if diseases is not None else DISEASE_COLORS)]


def pair_window(images, percentile: float = 99.5) -> tuple[float, float]:
    """One display window for images shown together (a patient's two views): 0 up to the given
    percentile of the positive pixels of all of them, so the hottest spot (often the bladder) does not
    wash out the skeleton and both views are read on the same scale."""
    pos = np.concatenate([np.asarray(i, dtype=float).ravel() for i in images])
    pos = pos[pos > 0]
    return 0.0, (float(np.percentile(pos, percentile)) if len(pos) else 1.0)


def plain_log(axis) -> None:
    """Label a log axis with plain numbers at 1, 2 and 5 per decade (``200``, not ``2 x 10^2``)."""
    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def unavailable(title: str, why: str):
    """A figure that says in one line why it was not drawn: a chapter run on a user's folder (no ages,
    no annotations, nothing labelled) still places every figure, and the page says what is missing."""
    import textwrap

    lines = textwrap.wrap(why, 80)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.55 + 0.22 * len(lines)), layout="constrained")
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, "\n".join(lines), ha="center", va="center", transform=ax.transAxes)
    return fig


# --------------------------------------------------------------------------------------------------
# Chapter 01


def sex_age(per_patient: pd.DataFrame, *, bins: int = 13):
    """Patients by sex and age (histogram, one colour per sex); the paper's Fig. 1. Patients without
    an age are counted in the title; with no age at all the figure says so."""
    title = "Patients by sex and age"
    data = per_patient.assign(sex=per_patient["sex"].map({"F": "female", "M": "male"}).fillna("unknown"))
    missing = int(data["age"].isna().sum())
    data = data[data["age"].notna()]
    if data.empty:
        return unavailable(title, f"Not drawn: none of the {len(per_patient)} patients has an age "
                                  "(no PatientAge or birth date in the headers, no age in labels.csv).")
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.0), layout="constrained")
    sns.histplot(data=data, x="age", hue="sex", hue_order=[h for h in ("female", "male", "unknown")
                                                            if h in set(data["sex"])],
                 palette=SEX_COLORS, multiple="dodge", bins=bins, shrink=0.85, ax=ax)
    ax.set(xlabel="age (years)", ylabel="patients",
           title=title + (f" ({missing} without an age, not shown)" if missing else ""))
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    return fig


def lesion_sites(sites: pd.DataFrame):
    """Lesions per site, stacked by disease (``sites``: rows = site, columns = diseases); the paper's
    Fig. 2."""
    diseases = [d for d in sites.columns if d != "total"]
    if sites.empty or not sites[diseases].to_numpy().sum():
        return unavailable("Lesions by site and disease", "Not drawn: no annotated lesion in this cohort.")
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.4), layout="constrained")
    bottom = np.zeros(len(sites))
    for d in diseases:
        ax.bar(sites.index, sites[d], bottom=bottom, color=DISEASE_COLORS.get(d, "#555555"), label=d)
        bottom += sites[d].to_numpy()
    ax.set(ylabel="annotated lesions\n(both views)", title="Lesions by site and disease")
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_ha("right")
        label.set_rotation_mode("anchor")
    ax.margins(x=0.01)
    ax.legend(frameon=False)
    return fig


def max_intensity(table: pd.DataFrame):
    """The maximum count of every image, in table order, coloured by class; and its spread per class
    (the paper's Fig. 4). Images without one of the classes (unlabelled) are left out."""
    present = [c for c in CLASSES if c in set(table["label"])]
    if not present:
        return unavailable("Maximum count per image", "Not drawn: no image has one of the classes "
                                                      f"{', '.join(CLASSES)} (all unlabelled).")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.4), layout="constrained",
                                 gridspec_kw={"width_ratios": [2.6, 1]}, sharey=True)
    order = np.arange(len(table))
    for cls in present:
        sel = table["label"].to_numpy() == cls
        ax.scatter(order[sel], table["max_count"].to_numpy()[sel], s=8, color=CLASS_COLORS[cls], label=cls)
    ax.set(xlabel="image (table order)", ylabel="maximum count", yscale="log", title="Every image")
    sns.boxplot(data=table[table["label"].isin(present)], x="label", y="max_count", order=present, hue="label", hue_order=present,
                palette=CLASS_COLORS, legend=False, ax=bx, fliersize=2)
    bx.set(xlabel="class", ylabel="", yscale="log", title="By class")
    plain_log(ax.yaxis)
    fig.legend(handles=class_handles(present), loc="outside lower center", ncol=len(present), frameon=False)
    return fig


def scan_pairs(pairs, *, crop: bool = True, percentile: float = 99.5, pairs_per_row: int = 2):
    """Anterior/posterior pairs with their LabelMe boxes, as a reading station shows them.

    ``pairs``: list of (title, anterior counts, posterior counts, anterior lesions, posterior lesions);
    a title that is a class (``"M"``) is spelt out at up to two pairs per row. Inverted grey scale (hot = black); both views of a
    patient share one window, 0 up to the ``percentile`` of their positive pixels (the bladder would
    otherwise wash out the skeleton). ``pairs_per_row`` pairs per row (two views each); with ``crop``
    the empty rows and columns around the bodies are cut (the same cut for every image, so all are at
    one scale). Box colours are named in the legend."""
    n = len(pairs)
    if not n:
        return unavailable("Scans", "Not drawn: no labelled patient with both an anterior and a posterior view.")
    per_row = max(1, min(int(pairs_per_row), n)) if n else 1
    nrows = max(1, math.ceil(n / per_row))
    shape = pairs[0][1].shape if n else (4, 1)
    r0, r1, c0, c1 = 0, shape[0], 0, shape[1]
    if crop and n:
        total = sum(np.asarray(a, float) + np.asarray(p, float) for _, a, p, _, _ in pairs)
        rows = np.flatnonzero(total.sum(axis=1) > 0.02 * total.sum(axis=1).max())
        cols = np.flatnonzero(total.sum(axis=0) > 0.01 * total.sum(axis=0).max())
        if len(rows):
            r0, r1 = max(rows[0] - 10, 0), min(rows[-1] + 11, shape[0])
        if len(cols):
            c0, c1 = max(cols[0] - 6, 0), min(cols[-1] + 7, shape[1])
        boxes = [les.box for *_, la, lp in pairs for les in (*la, *lp)]
        if boxes:    # never cut a lesion box
            b = np.asarray(boxes, float)
            c0, c1 = min(c0, max(int(b[:, 0].min()) - 3, 0)), max(c1, min(int(np.ceil(b[:, 2].max())) + 3, shape[1]))
            r0, r1 = min(r0, max(int(b[:, 1].min()) - 3, 0)), max(r1, min(int(np.ceil(b[:, 3].max())) + 3, shape[0]))
    panel_w = COLUMN_INCHES / (2 * per_row) - 0.12
    height = nrows * (panel_w * (r1 - r0) / (c1 - c0) + 0.6) + 0.5
    fig = plt.figure(figsize=(COLUMN_INCHES, height), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(nrows, per_row, squeeze=False).ravel())
    for k, sf in enumerate(subfigs):
        if k >= n:
            continue
        title, ant, post, les_a, les_p = pairs[k]
        vmin, vmax = pair_window([ant, post], percentile)
        axes = sf.subplots(1, 2)
        for ax, img, les, view in zip(axes, (ant, post), (les_a, les_p), ("anterior", "posterior")):
            ax.imshow(np.asarray(img)[r0:r1, c0:c1], cmap=SCAN_CMAP, vmin=vmin, vmax=vmax,
                      interpolation="antialiased")
            for lesion in les:
                x0, y0, x1, y1 = lesion.box
                ax.add_patch(patches.Rectangle((x0 - c0 - 0.5, y0 - r0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                               lw=1.3, ec=DISEASE_COLORS.get(lesion.disease, "k"), clip_on=False))
            ax.set_title(view)
            _off(ax)
        # a class is spelt out where a pair is wide enough for "M&A: metastasis and arthritis"
        sf.suptitle(f"{title}: {CLASS_NAMES[title]}" if title in CLASS_NAMES and per_row <= 2 else str(title),
                    fontsize=plt.rcParams["axes.titlesize"], fontweight="bold")
    fig.legend(handles=disease_handles(), loc="outside lower center", ncol=len(DISEASE_COLORS),
               frameon=False, title="boxes")
    return fig


def leakage_features(features: pd.DataFrame, labels: pd.Series, columns: list[str], *,
                     ncols: int | None = None):
    """Distribution of non-lesion features per class (they should look alike); ``ncols`` panels per
    row (default: all of up to 3, else 2 or 3 per row)."""
    present = [c for c in CLASSES if c in set(labels)]
    if not present:
        return unavailable("Features that are not lesions, by class",
                           f"Not drawn: no image has one of the classes {', '.join(CLASSES)} (all unlabelled).")
    n = len(columns)
    ncols = ncols or (n if n <= 3 else (2 if n == 4 else 3))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_INCHES, 2.5 * nrows + 0.4), squeeze=False,
                             layout="constrained")
    data = features.assign(label=labels.to_numpy())
    data = data[data["label"].isin(present)]
    for ax, col in zip(axes.ravel(), columns):
        sns.boxplot(data=data, x="label", y=col, order=present, hue="label", hue_order=present,
                    palette=CLASS_COLORS, legend=False, ax=ax, fliersize=1.5)
        ax.set(xlabel="", title=col.replace("_", " "), ylabel="")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.legend(handles=class_handles(present), loc="outside lower center", ncol=len(present), frameon=False)
    return fig


def realism_panels(images, *, window: float = 0.4):
    """Real and synthetic whole-body scans side by side at one display scale: each image divided by its
    own maximum, then shown from 0 to ``window`` of it (inverted grey), so that soft tissue, bone and
    the hottest spots compare directly. ``images``: ``{title: counts}``, real scans first. Every image
    is shown whole (all its rows, nothing cropped); a title breaks after each comma so that neighbouring
    titles do not run into each other."""
    items = list(images.items())
    fig, axes = plt.subplots(1, len(items), figsize=(COLUMN_INCHES, 6.8), layout="constrained", squeeze=False)
    for ax, (title, img) in zip(axes[0], items):
        x = np.asarray(img, float)
        ax.imshow(x / max(float(x.max()), 1e-12), cmap=SCAN_CMAP, vmin=0.0, vmax=window,
                  interpolation="antialiased", aspect="equal")
        ax.set_title(title.replace(", ", "\n"), fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
    return fig
