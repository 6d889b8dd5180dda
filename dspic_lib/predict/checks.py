"""Is a scan to be predicted like the scans the model was trained on? The thresholds, in one place.

``dspic train`` records the training data's input statistics in the model card (:func:`training_stats`:
the original scans of the training patients, before Eq. 1). ``dspic predict`` compares every image
with them (:func:`check`) and writes what is far off into the ``warnings`` column, saying what and by
how much, so that a probability computed from an unlike input is never a silent number. A warning does
not stop the prediction: Eq. 1 maps any image to [0, 1], and the model will answer; whether that answer
means anything is for the reader to judge.

The checks and their thresholds (:data:`THRESHOLDS`):

* **size**: a side (rows or columns) more than ``size_factor`` (2x) larger or smaller than the
  training scans' (every image is resized to the model's input, but a scan of another size is another
  field of view or pixel size); and an aspect ratio (rows / columns) more than ``aspect_tolerance``
  (10 %) off the training's (the resize then stretches the body);
* **modality**: the training scans were NM DICOM counts; a PNG or JPEG picture is a rendering or an
  export, not the scanner's counts (a DICOM of another modality is not predicted at all: it is a
  failure, not a warning);
* **bit depth**: bits stored more than ``bits_margin`` (4) below the training scans' fewest, e.g. an
  8-bit picture or JPEG against 16-bit counts (grey levels were lost in the export);
* **intensity**: the image's maximum count, or its mean count per pixel, more than
  ``intensity_factor`` (4x) above the training's largest or below its smallest (another dose,
  acquisition time, or a rescaled export).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    size_factor: float = 2.0          # a side more than 2x larger or smaller than the training's
    aspect_tolerance: float = 0.10    # rows/cols more than 10 % off the training's
    bits_margin: int = 4              # stored bits more than 4 below the training's fewest
    intensity_factor: float = 4.0     # max or mean count more than 4x outside the training's range

    def to_dict(self) -> dict:
        return asdict(self)


THRESHOLDS = Thresholds()


def _range(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def training_stats(table, bits_stored) -> dict:
    """The statistics :func:`check` needs, from cohort-table rows of the training images (``rows``,
    ``cols``, ``max_count``, ``total_counts``) and the bits stored of their files."""
    pixels = table["rows"].to_numpy(np.float64) * table["cols"].to_numpy(np.float64)
    return {
        "images": int(len(table)),
        "what": "the original scans of the training patients (validation patients included), before Eq. 1",
        "modality": "NM",
        "format": "DICOM",
        "rows": _range(table["rows"]), "cols": _range(table["cols"]),
        "aspect": _range(table["rows"].to_numpy(np.float64) / table["cols"].to_numpy(np.float64)),
        "bits_stored": _range(bits_stored),
        "max_count": _range(table["max_count"]),
        "mean_count": _range(table["total_counts"].to_numpy(np.float64) / pixels),
        "thresholds": THRESHOLDS.to_dict(),
    }


def image_stats(counts: np.ndarray, *, fmt: str, bits_stored: int | None) -> dict:
    """What :func:`check` compares of one decoded image (counts after rescale and clipping)."""
    return {"rows": int(counts.shape[0]), "cols": int(counts.shape[1]), "format": fmt,
            "bits_stored": bits_stored, "max_count": float(counts.max()),
            "mean_count": float(counts.mean(dtype=np.float64))}


def _outside(value: float, lo: float, hi: float, factor: float) -> float | None:
    """How many times ``value`` lies beyond ``[lo, hi]`` when more than ``factor``, else None."""
    if hi > 0 and value > hi * factor:
        return value / hi
    if value < lo / factor:
        return lo / value if value > 0 else float("inf")
    return None


def check(stats: dict, train: dict, thresholds: Thresholds | dict | None = None) -> list[str]:
    """Warnings for one image (:func:`image_stats`) against the training's (:func:`training_stats`);
    empty when nothing is far off. Thresholds: the card's, else :data:`THRESHOLDS`."""
    t = thresholds if isinstance(thresholds, Thresholds) else \
        Thresholds(**(thresholds or train.get("thresholds") or {}))
    out = []
    rows, cols = stats["rows"], stats["cols"]
    tr, tc = train["rows"]["median"], train["cols"]["median"]
    for side, n, ref in (("rows", rows, tr), ("columns", cols, tc)):
        ratio = n / ref
        if ratio > t.size_factor or ratio < 1 / t.size_factor:
            how = f"{ratio:.1f}x" if ratio > 1 else f"{1 / ratio:.1f}x fewer than"
            out.append(f"size: {rows} x {cols} (rows x columns), {n} {side} is {how} the training scans' "
                       f"{ref:g} (threshold {t.size_factor:g}x)")
    aspect, ref_aspect = rows / cols, train["aspect"]["median"]
    change = aspect / ref_aspect - 1
    if abs(change) > t.aspect_tolerance:
        out.append(f"size: aspect ratio {aspect:.2f} (rows / columns) is {change:+.0%} off the training "
                   f"scans' {ref_aspect:.2f} (threshold {t.aspect_tolerance:.0%}): the resize to the "
                   "model's input stretches the body")
    if stats["format"] != train.get("format", "DICOM"):
        out.append(f"modality: a {stats['format']} picture, not {train.get('modality', 'NM')} DICOM counts "
                   "as in training (an export or rendering: scale and contrast may differ)")
    bits, fewest = stats.get("bits_stored"), train["bits_stored"]["min"]
    if bits is not None and bits < fewest - t.bits_margin:
        out.append(f"bit depth: {bits} bits stored, {fewest - bits:g} fewer than the training scans' "
                   f"{fewest:g} (threshold {t.bits_margin}): grey levels were lost in the export")
    for key, what in (("max_count", "maximum count"), ("mean_count", "mean count per pixel")):
        lo, hi = train[key]["min"], train[key]["max"]
        times = _outside(stats[key], lo, hi, t.intensity_factor)
        if times is not None:
            where = f"above the training's largest ({hi:.4g})" if stats[key] > hi else \
                f"below the training's smallest ({lo:.4g})"
            out.append(f"intensity: {what} {stats[key]:.4g} is {times:.1f}x {where} "
                       f"(threshold {t.intensity_factor:g}x)")
    return out
