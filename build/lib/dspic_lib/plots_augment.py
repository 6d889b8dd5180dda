"""Figures of chapter 02 (normalization, augmentation, DCGAN). Each function returns a matplotlib figure."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import PowerNorm
from matplotlib.patches import Rectangle

from .augment import Transform, apply_boxes, apply_image
from .vocab import CLASS_COLORS, DISEASE_COLORS

GAMMA = 0.5   # display only: a square-root scale shows the skeleton beside the hottest spot


def _show(ax, image, title="", boxes=None, diseases=None):
    ax.imshow(np.asarray(image).squeeze(), cmap="gray_r", interpolation="nearest", aspect="equal",
              norm=PowerNorm(GAMMA, vmin=0.0, vmax=1.0))
    for i, (x0, y0, x1, y1) in enumerate(np.asarray(boxes if boxes is not None else []).reshape(-1, 4)):
        color = DISEASE_COLORS.get(diseases[i], "#ff9500") if diseases is not None and i < len(diseases) else "#ff9500"
        # boxes are in continuous coordinates; imshow puts pixel centres at integers
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1.0, ec=color))
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def eq1_spread(max_counts: pd.Series, labels: pd.Series, raw: Sequence[np.ndarray],
               normalized: Sequence[np.ndarray], names: Sequence[str]):
    """Left: per-image maximum count by class (raw). Right: pixel-value distributions of a few images,
    raw counts and after Eq. 1 (same images, same colours)."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    df = pd.DataFrame({"max count": np.asarray(max_counts, float), "class": np.asarray(labels)})
    sns.stripplot(df, x="class", y="max count", hue="class", palette=CLASS_COLORS, order=list(CLASS_COLORS),
                  size=2.5, jitter=0.3, legend=False, ax=axes[0])
    axes[0].set_yscale("log")
    axes[0].set_title("maximum count per image (raw)", fontsize=9)
    colors = sns.color_palette("colorblind", len(raw))
    for x, y, name, col in zip(raw, normalized, names, colors):
        x = np.asarray(x).ravel()
        axes[1].hist(x[x > 0], bins=np.logspace(0, np.log10(max(x.max(), 10)), 60), histtype="step", color=col,
                     label=name)
        axes[2].hist(np.asarray(y).ravel(), bins=np.linspace(0, 1, 60), histtype="step", color=col)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_title("pixel values, raw counts", fontsize=9)
    axes[1].set_xlabel("counts")
    axes[1].legend(fontsize=7, frameon=False)
    axes[2].set_yscale("log")
    axes[2].set_title("pixel values after Eq. 1", fontsize=9)
    axes[2].set_xlabel("normalized intensity")
    fig.tight_layout()
    return fig


def before_after(raw: np.ndarray, normalized: np.ndarray, title_raw: str, title_norm: str):
    """One scan, raw counts and the model input (Eq. 1 at the profile's resolution), each on its own scale."""
    fig, axes = plt.subplots(1, 2, figsize=(4.2, 6))
    for ax, img, title in zip(axes, (raw, normalized), (title_raw, title_norm)):
        img = np.asarray(img).squeeze()
        im = ax.imshow(img, cmap="gray_r", aspect="auto", norm=PowerNorm(GAMMA, vmin=0.0, vmax=float(img.max())))
        fig.colorbar(im, ax=ax, fraction=0.08, pad=0.02)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def transform_grid(image: np.ndarray, boxes: np.ndarray, diseases: Sequence[str], transforms: Sequence[Transform],
                   title: str = ""):
    """The original and each transform of one image, with its LabelMe boxes moved by the same matrix."""
    img = np.asarray(image).squeeze()
    n = len(transforms) + 1
    fig, axes = plt.subplots(1, n, figsize=(1.25 * n, 4.2))
    _show(axes[0], img, "original", boxes, diseases)
    for ax, tf in zip(axes[1:], transforms):
        b, keep = apply_boxes(boxes, tf, img.shape)
        _show(ax, apply_image(img, tf), tf.describe().replace(" ", "\n"), b,
              [d for d, k in zip(diseases, keep) if k])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def sweep_heatmap(summary: pd.DataFrame):
    """Mean validation macro F1 per (t, r); the no-augmentation reference in the title."""
    base = summary[(summary["t"] == 0)]
    grid = summary[summary["t"] > 0].pivot(index="t", columns="r", values="macro_f1_mean")
    fig, ax = plt.subplots(figsize=(4.6, 3.0))
    sns.heatmap(grid, annot=True, fmt=".3f", cmap="viridis", cbar_kws={"label": "macro F1 (N/M/A)"}, ax=ax)
    chosen = summary[summary["chosen"]].iloc[0]
    i, j = list(grid.index).index(chosen["t"]), list(grid.columns).index(chosen["r"])
    ax.add_patch(Rectangle((j, i), 1, 1, fill=False, ec="red", lw=2))
    ref = f"; no augmentation: {base['macro_f1_mean'].iloc[0]:.3f}" if len(base) else ""
    ax.set_title(f"validation macro F1 by (t, r){ref}", fontsize=9)
    ax.set_xlabel("r (degrees)")
    ax.set_ylabel("t (pixels)")
    fig.tight_layout()
    return fig


def gan_losses(history: pd.DataFrame, window: int | None = None):
    """Discriminator and generator losses per class (rolling mean), and D's mean output on real/fake."""
    classes = list(dict.fromkeys(history["label"]))
    fig, axes = plt.subplots(2, len(classes), figsize=(3.6 * len(classes), 4.8), squeeze=False, sharex="col")
    for j, c in enumerate(classes):
        h = history[history["label"] == c]
        w = window or max(1, len(h) // 50)
        for col, name in (("d_loss", "D loss"), ("g_loss", "G loss")):
            axes[0, j].plot(h["step"], h[col].rolling(w, min_periods=1).mean(), label=name)
        for col, name in (("d_real", "D(real)"), ("d_fake", "D(generated)")):
            axes[1, j].plot(h["step"], h[col].rolling(w, min_periods=1).mean(), label=name)
        axes[0, j].set_title(f"{c} ({len(h)} steps)", fontsize=9)
        axes[1, j].set_ylim(0, 1)
        axes[1, j].set_xlabel("step")
    axes[0, 0].legend(fontsize=7, frameon=False)
    axes[1, 0].legend(fontsize=7, frameon=False)
    axes[0, 0].set_ylabel("loss (rolling mean)")
    axes[1, 0].set_ylabel("mean sigmoid output")
    fig.tight_layout()
    return fig


def real_vs_generated(real: Mapping[str, np.ndarray], fake: Mapping[str, np.ndarray], k: int = 6):
    """Per class, ``k`` real training images (left) beside ``k`` generated samples (right)."""
    classes = [c for c in fake if len(fake[c])]
    if not classes:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, "no generated samples", ha="center")
        ax.axis("off")
        return fig
    fig, axes = plt.subplots(len(classes), 2 * k, figsize=(0.9 * 2 * k, 3.8 * len(classes)), squeeze=False)
    for i, c in enumerate(classes):
        for j in range(k):
            for off, src, name in ((0, real.get(c, []), "real"), (k, fake[c], "generated")):
                ax = axes[i, off + j]
                if j < len(src):
                    _show(ax, src[j], f"{c} {name}" if j == 0 else "")
                else:
                    ax.axis("off")
    fig.tight_layout()
    return fig


def nn_distances(frame: pd.DataFrame):
    """Distribution of nearest-training-image distances: real (to another patient) vs generated, per class."""
    fig, ax = plt.subplots(figsize=(6, 3))
    sns.boxplot(frame, x="class", y="distance", hue="kind", ax=ax, fliersize=2)
    ax.set_ylabel("RMS distance to nearest\ntraining image")
    ax.set_title("novelty of generated samples", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
