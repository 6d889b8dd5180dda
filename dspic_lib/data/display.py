"""A picture of a whole-body view to annotate: an 8-bit PNG beside the DICOM file.

LabelMe, the tool the paper's physicians annotated with, opens pictures (PNG, JPEG), not DICOM, and
its loader (``labelme.LabelFile``) opens the file a JSON's ``imagePath`` names. So each view gets a
display rendering beside its DICOM file, and the JSON names the rendering:

* ``X.dcm`` (one view) -> ``X.png``, annotated by ``X.json``;
* ``Y.dcm`` (two frames) -> ``Y_anterior.png`` and ``Y_posterior.png``, annotated by
  ``Y_anterior.json`` and ``Y_posterior.json``,

the names LabelMe gives a picture's JSON itself (same stem), and the names the cohort reader looks for.

The rendering is the DICOM frame at its own size (rows x columns), so the pixel coordinates of a
shape drawn on it are the DICOM's. :data:`WINDOW` says how counts become grey levels; the PNG carries
it in its text chunk ``Window``, with the upper limit in counts, and names its DICOM file in
``Source``. It is for looking at and drawing on, never read back as counts: the cohort reader takes
pixels from the DICOM only.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from ..errors import DataError

WINDOW_PERCENTILE = 99.5
WINDOW = (f"linear, inverted grey (hot is black, as on a reading station): 0 counts = white (255), the "
          f"{WINDOW_PERCENTILE:g}th percentile of the frame's positive counts and above = black (0)")
SOFTWARE = "dspic-book"        # the PNG's Software text chunk: what export-png may overwrite


def _integer_counts(px: np.ndarray) -> bool:
    return px.dtype.kind in "ub" and px.size > 0


def window_top(counts: np.ndarray) -> float:
    """The count shown black: the :data:`WINDOW_PERCENTILE` th percentile of the positive counts (so
    the bladder or an injection site does not wash out the skeleton), 1 for an image without any.

    For unsigned integer counts (every DICOM frame) the percentile is read from the histogram of
    counts (one pass, no sort), with numpy's linear interpolation between the two order statistics
    around the percentile's position: the same value as ``np.percentile``."""
    px = np.asarray(counts)
    if _integer_counts(px):
        hist = np.bincount(px.ravel())
        hist[0] = 0
        n = int(hist.sum())
        if not n:
            return 1.0
        pos = WINDOW_PERCENTILE / 100.0 * (n - 1)
        lo = int(np.floor(pos))
        cum = np.cumsum(hist)
        v_lo, v_hi = np.searchsorted(cum, [lo + 1, min(lo + 2, n)])
        top = float(v_lo + (float(v_hi) - float(v_lo)) * (pos - lo))
        return top if top > 0 else 1.0
    px = px.astype(np.float64)
    pos = px[px > 0]
    top = float(np.percentile(pos, WINDOW_PERCENTILE)) if len(pos) else 1.0
    return top if top > 0 else 1.0


def grey_levels(counts: np.ndarray) -> tuple[np.ndarray, float]:
    """(8-bit picture, window top in counts) of one frame, as :data:`WINDOW` says. Integer counts go
    through a look-up table of the same formula (one entry per count value): the 768 views of the
    synthetic cohort cost a third of the time."""
    px = np.asarray(counts)
    if px.ndim != 2:
        raise DataError(f"a display rendering needs one frame (rows x columns), got shape {px.shape}")
    top = window_top(px)
    if _integer_counts(px):
        values = np.arange(int(px.max()) + 1, dtype=np.float64)
        lut = (255 - np.rint(np.clip(values / top, 0.0, 1.0) * 255)).astype(np.uint8)
        return lut[px], top
    level = np.clip(px.astype(np.float64) / top, 0.0, 1.0)
    return (255 - np.rint(level * 255)).astype(np.uint8), top


def png_name(image: str | Path, view: str, n_frames: int, annotation: str | Path | None = None) -> str:
    """The rendering's file name (beside ``image``): the annotation's stem when it has one, else
    ``X.png`` for one view and ``Y_<view>.png`` for a frame of a two-frame file."""
    if annotation:
        return Path(annotation).with_suffix(".png").name
    stem = Path(image).stem if Path(image).suffix else Path(image).name
    return f"{stem}_{view}.png" if n_frames > 1 else f"{stem}.png"


def source_text(image: str, frame: int, view: str, n_frames: int) -> str:
    """What the PNG's ``Source`` text says: the DICOM file's name, and the frame of a two-frame file."""
    return image + (f", frame {frame} ({view})" if n_frames > 1 else "")


def written_by_us(path: str | Path) -> bool:
    """Whether a PNG is a rendering this module wrote (export may overwrite only those)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.format == "PNG" and str(img.text.get("Software", "")) == SOFTWARE
    except (OSError, ValueError, SyntaxError):
        return False


def write_png(path: str | Path, counts: np.ndarray, *, source: str) -> Path:
    """Write the rendering of one frame to ``path`` (atomically); ``source`` names its DICOM file
    (and frame) in the PNG's text. The same counts give the same bytes (no time stamp)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    path = Path(path)
    grey, top = grey_levels(counts)
    info = PngInfo()
    info.add_text("Window", f"0 to {top:.6g} counts; {WINDOW}")
    info.add_text("Source", source)
    info.add_text("Software", SOFTWARE)
    info.add_text("Comment", "display rendering for annotation (LabelMe); the counts are in the DICOM file")
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")   # hidden: no scan reads it
    try:
        with open(tmp, "xb") as f:
            # zlib level 1: 10-15 ms a view instead of 25 at the default 6 (the cohort writes 768), for
            # 99 KB instead of 83
            Image.fromarray(grey).save(f, format="PNG", pnginfo=info, compress_level=1)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
