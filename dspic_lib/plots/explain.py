"""Figures of the explanations (:mod:`dspic_lib.evaluation.explain`): heat maps over whole-body scans, with the
LabelMe boxes, one narrow column per image.

As :mod:`dspic_lib.plots`: at most :data:`~dspic_lib.plots.COLUMN_INCHES` wide, constrained layout, text
of 9 pt and up, no figure numbers, every box colour named in a legend. The scan is drawn as on a reading
station (inverted grey, hot = black, 0 up to the 99.5th percentile of its positive pixels); the heat map
lies on top in ``viridis`` whose opacity grows with the value (0 transparent, 1 at
:data:`HEAT_ALPHA`), so low values leave the scan readable, and the colour bar shows the same ramp.
Whole-body images are about four times taller than wide: each column is at most :data:`PANEL_INCHES`
wide (:data:`FEW_PANEL_INCHES` when there are at most three, so that few scans are not drawn small), at
most :data:`MAX_PER_ROW` per row, and more images wrap onto further rows. A figure of scans is at least
:data:`SCAN_FIGURE_INCHES` wide (400 px and more on the page: the boxes stay readable).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import patches
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from dspic_lib.palette import DISEASE_COLORS
from dspic_lib.plots import COLUMN_INCHES, SCAN_CMAP, _off, disease_handles, pair_window
from dspic_lib.vocab import OUTPUTS

PANEL_INCHES = 1.05     # one whole-body column: six fit the text column
FEW_PANEL_INCHES = 2.0  # one of at most three columns: big enough to read the boxes
SCAN_FIGURE_INCHES = 4.2   # the narrowest figure of scans: 420 px at 100 dpi (chapter 06 had 265-341 px)
MAX_PER_ROW = 6
HEAT_ALPHA = 0.7        # opacity of the heat map at its maximum
_TITLE_PT = 9.0         # the smallest text the book allows; titles of narrow columns need every point
_LINE_INCHES = 0.19     # one line of 9 pt title
_BOX_INK = "black"      # boxes without a disease name


def _heat_cmap() -> mcolors.Colormap:
    """viridis with an alpha ramp: value 0 transparent, value 1 at HEAT_ALPHA."""
    rgba = plt.get_cmap("viridis")(np.linspace(0, 1, 256))
    rgba[:, 3] = np.linspace(0, HEAT_ALPHA, 256)
    return mcolors.ListedColormap(rgba, name="viridis_ramp")


HEAT_CMAP = _heat_cmap()


def prediction_title(true_label: str, proba: Sequence[float], classes: Sequence[str] = OUTPUTS) -> str:
    """A three-line title short enough for one column: ``true M`` / ``pred A`` / ``N.08 M.30 A.62``
    (probabilities in the order of ``classes``, two decimals, no leading zero)."""
    p = np.asarray(proba, dtype=float)
    pred = classes[int(np.argmax(p))]
    probs = " ".join(f"{c}{v:.2f}".replace("0.", ".", 1) if v < 1 else f"{c}1" for c, v in zip(classes, p))
    return f"true {true_label}\npred {pred}\n{probs}"


def _box_color(entry) -> tuple[str, str | None]:
    """(colour, disease or None): a disease name takes its colour from vocab, anything else is a colour."""
    if entry is None:
        return _BOX_INK, None
    if entry in DISEASE_COLORS:
        return DISEASE_COLORS[entry], entry
    return entry, None


def overlay_panel(images, maps, boxes_list, titles, *, box_colors=None, map_label: str = "heat map (max = 1)",
                  percentile: float = 99.5) -> Figure:
    """One column per image: the scan in inverted grey, its map on top (``maps[i]`` may be ``None``: the
    scan alone), its lesion boxes, ``titles[i]`` above (see :func:`prediction_title`).

    ``images`` and ``maps``: ``(rows, cols)`` arrays on one grid, maps in ``[0, 1]``; ``boxes_list[i]``:
    ``(k, 4)`` boxes ``(x0, y0, x1, y1)`` in pixels of that grid; ``box_colors[i]``: one entry per box, a
    disease name of :data:`~dspic_lib.vocab.DISEASE_COLORS` (named in the legend) or a colour; ``None``:
    every box in black."""
    images = [np.asarray(im, dtype=float) for im in images]
    n = len(images)
    if not (len(maps) == len(boxes_list) == len(titles) == n) or (box_colors is not None and len(box_colors) != n):
        raise ValueError(f"overlay_panel: {n} images, {len(maps)} maps, {len(boxes_list)} box arrays, "
                         f"{len(titles)} titles" + ("" if box_colors is None else f", {len(box_colors)} box colours"))
    if not n:
        raise ValueError("overlay_panel: no image")
    rows, cols = images[0].shape
    per_row = min(n, MAX_PER_ROW)
    nrows = math.ceil(n / per_row)
    lines = max(str(t).count("\n") + 1 for t in titles) if any(str(t) for t in titles) else 0
    panel = min(FEW_PANEL_INCHES if per_row <= 3 else PANEL_INCHES, COLUMN_INCHES / per_row - 0.05)
    width = min(COLUMN_INCHES, max(per_row * (panel + 0.05), SCAN_FIGURE_INCHES))
    height = nrows * (panel * rows / cols + lines * _LINE_INCHES + 0.1) + 1.0
    fig = plt.figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, per_row, squeeze=False)
    named: list[str] = []
    for k, ax in enumerate(axes.ravel()):
        _off(ax)
        if k >= n:
            ax.set_visible(False)
            continue
        vmin, vmax = pair_window([images[k]], percentile)
        ax.imshow(images[k], cmap=SCAN_CMAP, vmin=vmin, vmax=vmax, interpolation="antialiased")
        if maps[k] is not None:
            ax.imshow(np.asarray(maps[k], dtype=float), cmap=HEAT_CMAP, vmin=0.0, vmax=1.0,
                      interpolation="bilinear")
        entries = box_colors[k] if box_colors is not None else None
        boxes = np.asarray(boxes_list[k], dtype=float).reshape(-1, 4)
        for b, box in enumerate(boxes):
            color, disease = _box_color(entries[b] if entries is not None else None)
            if disease and disease not in named:
                named.append(disease)
            x0, y0, x1, y1 = box
            ax.add_patch(patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1.3, ec=color))
        ax.set_title(str(titles[k]), fontsize=_TITLE_PT, linespacing=1.1)
    if any(m is not None for m in maps):
        mappable = plt.cm.ScalarMappable(norm=mcolors.Normalize(0, 1), cmap=HEAT_CMAP)
        bar = fig.colorbar(mappable, ax=axes.ravel().tolist(), location="bottom", shrink=0.8, aspect=25,
                           fraction=0.03, pad=0.01)
        bar.set_label(map_label)
        bar.set_ticks([0, 0.5, 1])
    if named:
        ordered = [d for d in DISEASE_COLORS if d in named]
        fig.legend(handles=disease_handles(ordered), loc="outside lower center", ncol=len(ordered),
                   frameon=False, title="boxes")
    # the page saves figures with a tight bounding box, which would crop one or two narrow columns back
    # to 250-370 px: an invisible frame over the whole figure keeps its SCAN_FIGURE_INCHES width
    fig.add_artist(patches.Rectangle((0, 0), 1, 1, transform=fig.transFigure, fill=False, ec="none", zorder=-10))
    return fig


def attention_vs_gradcam(image, cam, attention, boxes, *, box_colors=None, title: str | None = None) -> Figure:
    """One scan three times: alone with its boxes, under its Grad-CAM map, under the attention module's
    map ``f_s``. ``f_s`` is a sigmoid whose range is not fixed (in an untrained network it stays near
    0.5), so it is drawn from its own minimum (0) to its maximum (1), as its title says."""
    att = np.asarray(attention, dtype=float)
    span = float(att.max() - att.min())
    att = (att - att.min()) / span if span > 0 else np.zeros_like(att)
    fig = overlay_panel([image] * 3, [None, cam, att], [boxes] * 3, ["scan", "Grad-CAM", "attention\nmin to max"],
                        box_colors=None if box_colors is None else [box_colors] * 3, map_label="map value")
    if title:
        fig.suptitle(title, fontsize=plt.rcParams["axes.titlesize"])
    return fig


def panel_of_test_scans(X, meta, positions, maps, titles, empty_title: str) -> Figure:
    """:func:`overlay_panel` of the test scans at ``positions`` (``X``: ``(n, rows, cols, 1)``; ``meta``: their
    ``boxes`` and ``diseases``), with ``maps[i]`` and ``titles[i]`` for the scan at ``positions[i]``.

    With no position (a run without the kind of scan the figure is about) the page still gets its
    figure: the first test scan alone, without a heat map, titled ``empty_title``."""
    positions = [int(i) for i in positions]
    if not positions:
        return overlay_panel([X[0, ..., 0]], [None], [meta["boxes"].iloc[0]], [empty_title])
    return overlay_panel([X[i, ..., 0] for i in positions], list(maps), [meta["boxes"].iloc[i] for i in positions],
                         list(titles), box_colors=[meta["diseases"].iloc[i] for i in positions])
