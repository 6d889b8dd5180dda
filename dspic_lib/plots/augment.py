"""Figures of chapter 02 (normalization, augmentation, DCGAN). Each function returns a matplotlib figure.

Like :mod:`dspic_lib.plots`: at most :data:`~dspic_lib.plots.COLUMN_INCHES` wide, constrained layout,
text of 9 pt and up, colours from :mod:`dspic_lib.vocab` named in legends, scans in inverted grey
(hot = black) with one display window for images shown together.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import PowerNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from dspic_lib.palette import CLASS_COLORS, DISEASE_COLORS
from dspic_lib.pipeline import gan_checks
from dspic_lib.pipeline.augment import Transform, apply_boxes, apply_image
from dspic_lib.plots import COLUMN_INCHES, SCAN_CMAP, _off, class_handles, disease_handles, plain_log
from dspic_lib.vocab import CLASS_NAMES, CLASSES

GAMMA = 0.5   # display only: a square-root scale shows the skeleton beside the hottest spot
_NEUTRAL = ("#000000", "#7f7f7f")   # two series that are not classes (losses, real/generated): black, grey


def _show(ax, image, title="", boxes=None, diseases=None, *, vmin: float = 0.0, vmax: float = 1.0,
          gamma: float = GAMMA):
    """One scan in inverted grey (hot = black) with ``gamma`` applied on that map, window
    ``vmin``-``vmax`` (model inputs span [0, 1]); boxes in their disease's colour."""
    im = ax.imshow(np.asarray(image).squeeze(), cmap=SCAN_CMAP, interpolation="nearest", aspect="equal",
                   norm=PowerNorm(gamma, vmin=vmin, vmax=vmax))
    for i, (x0, y0, x1, y1) in enumerate(np.asarray(boxes if boxes is not None else []).reshape(-1, 4)):
        color = DISEASE_COLORS.get(diseases[i], "k") if diseases is not None and i < len(diseases) else "k"
        # boxes are in continuous coordinates; imshow puts pixel centres at integers
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1.2, ec=color,
                               clip_on=False))
    if title:
        ax.set_title(title)
    _off(ax)
    return im


def eq1_spread(max_counts: pd.Series, labels: pd.Series, raw: Sequence[np.ndarray],
               normalized: Sequence[np.ndarray], names: Sequence[str]):
    """Left: per-image maximum count by class (raw). Middle and right: pixel-value distributions of a
    few images, raw counts and after Eq. 1 (same images, same line colours, named in the legend)."""
    fig, axes = plt.subplots(1, 3, figsize=(COLUMN_INCHES, 3.6), layout="constrained",
                             gridspec_kw={"width_ratios": [0.9, 1, 1]})
    df = pd.DataFrame({"max count": np.asarray(max_counts, float), "class": np.asarray(labels)})
    present = [c for c in CLASSES if c in set(df["class"])]
    sns.stripplot(df, x="class", y="max count", hue="class", palette=CLASS_COLORS, order=present,
                  hue_order=present, size=2.5, jitter=0.3, legend=False, ax=axes[0])
    axes[0].set_yscale("log")
    plain_log(axes[0].yaxis)
    axes[0].set(title="maximum per image", xlabel="class", ylabel="maximum count")
    # one image per line: a sequential ramp (not a class colour), lowest to highest maximum as given
    colors = plt.get_cmap("cividis")(np.linspace(0.0, 0.85, max(len(raw), 1)))
    for x, y, name, col in zip(raw, normalized, names, colors):
        x = np.asarray(x).ravel()
        axes[1].hist(x[x > 0], bins=np.logspace(0, np.log10(max(x.max(), 10)), 60), histtype="step", color=col,
                     label=name, lw=1.3)
        axes[2].hist(np.asarray(y).ravel(), bins=np.linspace(0, 1, 60), histtype="step", color=col, lw=1.3)
    axes[1].set(xscale="log", yscale="log", title="raw counts", xlabel="counts", ylabel="pixels")
    axes[2].set(yscale="log", title="after Eq. 1", xlabel="normalized intensity")
    fig.legend(handles=[Line2D([], [], color=c, lw=1.5, label=n) for c, n in zip(colors, names)],
               loc="outside lower right", ncol=2, frameon=False, title="pixel values of")
    fig.legend(handles=class_handles(present), loc="outside lower left", ncol=2,
               frameon=False, handlelength=1.0)
    return fig


def before_after(raw: np.ndarray, normalized: np.ndarray, title_raw: str, title_norm: str, *,
                 gamma: float = GAMMA):
    """One scan, raw counts and the model input (Eq. 1 at the profile's resolution). Both in inverted
    grey with ``gamma``, each from 0 to its own maximum: Eq. 1 is linear, so this is one display
    window, and the colour bars give each its units. Each title ends with its own image's maximum."""
    fig, axes = plt.subplots(1, 2, figsize=(5.0, 6.0), layout="constrained")
    for ax, img, title in zip(axes, (raw, normalized), (title_raw, title_norm)):
        img = np.asarray(img).squeeze()
        top = float(img.max())
        im = ax.imshow(img, cmap=SCAN_CMAP, aspect="auto",
                       norm=PowerNorm(gamma, vmin=0.0, vmax=top if top > 0 else 1.0))
        fig.colorbar(im, ax=ax, fraction=0.1, pad=0.03)
        ax.set_title(f"{title}\nmax {top:,.0f}" if top >= 10 else f"{title}\nmax {top:.3g}")
        _off(ax)
    return fig


def transform_grid(image: np.ndarray, boxes: np.ndarray, diseases: Sequence[str], transforms: Sequence[Transform],
                   title: str = "", *, per_row: int = 8):
    """The original and each transform of one image, with its LabelMe boxes moved by the same matrix;
    ``per_row`` panels per row (default: the original and 7 transforms in one row)."""
    img = np.asarray(image).squeeze()
    n = len(transforms) + 1
    ncols = max(1, min(per_row, n))
    nrows = math.ceil(n / ncols)
    panel_w = COLUMN_INCHES / ncols - 0.1
    height = nrows * (panel_w * img.shape[0] / img.shape[1] + 0.5) + 0.4 + (0.3 if title else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_INCHES, height), squeeze=False, layout="constrained")
    axes = axes.ravel()
    _show(axes[0], img, "original", boxes, diseases)
    for ax, tf in zip(axes[1:], transforms):
        b, keep = apply_boxes(boxes, tf, img.shape)
        _show(ax, apply_image(img, tf), tf.describe().replace(" ", "\n"), b,
              [d for d, k in zip(diseases, keep) if k])
    for ax in axes[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    present = [d for d in DISEASE_COLORS if d in set(diseases)]
    if present:
        fig.legend(handles=disease_handles(present), loc="outside lower center", ncol=len(present),
                   frameon=False, title="boxes")
    return fig


def sweep_heatmap(summary: pd.DataFrame):
    """Mean validation macro F1 per (t, r); the chosen pair framed, the no-augmentation reference in
    the title."""
    base = summary[(summary["t"] == 0)]
    grid = summary[summary["t"] > 0].pivot(index="t", columns="r", values="macro_f1_mean")
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    sns.heatmap(grid, annot=True, fmt=".3f", cmap="viridis", cbar_kws={"label": "macro F1 (N/M/A)"}, ax=ax,
                annot_kws={"fontsize": 10})
    chosen = summary[summary["chosen"]]
    if len(chosen):
        i, j = list(grid.index).index(chosen.iloc[0]["t"]), list(grid.columns).index(chosen.iloc[0]["r"])
        # black under white: visible on the dark and the light end of the colour map
        ax.add_patch(Rectangle((j, i), 1, 1, fill=False, ec="k", lw=4))
        ax.add_patch(Rectangle((j, i), 1, 1, fill=False, ec="w", lw=1.8))
    ref = f"; no augmentation: {base['macro_f1_mean'].iloc[0]:.3f}" if len(base) else ""
    ax.set_title(f"Validation macro F1 by (t, r)\nframed: chosen{ref}")
    ax.set_xlabel("r (degrees)")
    ax.set_ylabel("t (pixels)")
    ax.tick_params(axis="y", rotation=0)
    return fig


def gan_losses(history: pd.DataFrame, window: int | None = None):
    """Discriminator and generator losses per class (rolling mean, top), and D's mean output on real
    and generated images (bottom); one column per class."""
    classes = list(dict.fromkeys(history["label"]))
    n = max(len(classes), 1)
    fig, axes = plt.subplots(2, n, figsize=(COLUMN_INCHES, 5.0), squeeze=False, sharex="col",
                             layout="constrained")
    for j, c in enumerate(classes):
        h = history[history["label"] == c]
        w = window or gan_checks.smoothing_window(len(h))   # the window the DCGAN sentences read
        for (col, name), color, ls in zip((("d_loss", "D loss"), ("g_loss", "G loss")), _NEUTRAL, ("-", "--")):
            axes[0, j].plot(h["step"], h[col].rolling(w, min_periods=1).mean(), label=name, color=color, ls=ls)
        for (col, name), color, ls in zip((("d_real", "D(real)"), ("d_fake", "D(generated)")), _NEUTRAL, ("-", "--")):
            axes[1, j].plot(h["step"], h[col].rolling(w, min_periods=1).mean(), label=name, color=color, ls=ls)
        axes[0, j].set_title(f"{c} ({len(h)} steps)")
        axes[1, j].set_ylim(0, 1)
        axes[1, j].set_xlabel("step")
        axes[1, j].xaxis.set_major_locator(plt.MaxNLocator(4))
    axes[0, 0].set_ylabel("loss\n(rolling mean)")
    axes[1, 0].set_ylabel("mean sigmoid\noutput")
    for row in axes:
        row[-1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def real_vs_generated(real: Mapping[str, np.ndarray], fake: Mapping[str, np.ndarray], k: int = 6):
    """Per class (one row each), ``k`` real training images (left) beside ``k`` generated samples
    (right), all on the model input's window [0, 1]."""
    classes = [c for c in fake if len(fake[c])]
    if not classes:
        fig, ax = plt.subplots(figsize=(4, 1), layout="constrained")
        ax.text(0.5, 0.5, "no generated samples", ha="center")
        ax.axis("off")
        return fig
    shape = np.asarray(fake[classes[0]][0]).squeeze().shape
    img_w = (COLUMN_INCHES - 0.3) / (2 * k) - 0.04
    row_h = img_w * shape[0] / shape[1] + 0.6
    fig = plt.figure(figsize=(COLUMN_INCHES, row_h * len(classes)), layout="constrained")
    rows = np.atleast_1d(fig.subfigures(len(classes), 1, squeeze=False).ravel())
    for sf, c in zip(rows, classes):
        sf.suptitle(f"{c}: {CLASS_NAMES[c]}" if c in CLASS_NAMES else str(c), fontweight="bold",
                    fontsize=plt.rcParams["axes.titlesize"])
        for half, src, name in zip(sf.subfigures(1, 2, wspace=0.04), (real.get(c, []), fake[c]),
                                   ("real training scans", "generated")):
            half.suptitle(name, fontsize=plt.rcParams["axes.labelsize"])
            for j, ax in enumerate(half.subplots(1, k, squeeze=False)[0]):
                if j < len(src):
                    _show(ax, src[j])
                else:
                    ax.axis("off")
    return fig


def nn_distances(frame: pd.DataFrame):
    """Distribution of nearest-training-image distances: real (to another patient) vs generated, per class."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.2), layout="constrained")
    kinds = list(dict.fromkeys(frame["kind"])) if len(frame) else []
    order = [c for c in CLASSES if c in set(frame["class"])] + [c for c in dict.fromkeys(frame["class"])
                                                               if c not in CLASSES]
    sns.boxplot(frame, x="class", y="distance", hue="kind", order=order or None, hue_order=kinds or None,
                palette=dict(zip(kinds, ("#d9d9d9", "#7f7f7f"))) if kinds else None, ax=ax, fliersize=2)
    ax.set_ylabel("RMS distance to nearest\ntraining image")
    ax.set_title("Novelty of generated samples")
    if ax.get_legend() is not None:
        ax.legend(frameon=False, title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
