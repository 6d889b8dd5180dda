"""Eq. 1 of the paper (per-image min-max normalization) and the resize to a profile's resolution.

Order of operations for one image of raw counts:

1. **Clip at 0.** Counts are never negative, but lossy JPEG 2000 whole-body files can decode with
   negative values (ringing around hot spots, tens of counts below zero). Eq. 1 taken literally would
   then map that ringing to 0 and lift the whole background off zero, so negatives are set to 0 first.
2. **Resize** to the profile's ``(rows, cols)`` with anti-aliasing (a Gaussian pre-filter, then linear
   interpolation: :func:`skimage.transform.resize`). At the paper's 1024 x 256 this is the identity.
3. **Eq. 1**: ``x_N = (x - x_min) / (x_max - x_min)`` in float32, per image. Resizing is linear in the
   intensities, so normalizing after it equals resizing the normalized image and re-stretching it to
   [0, 1]: every model input spans exactly [0, 1], as Eq. 1 intends. A constant image (no contrast,
   ``x_max == x_min``) has no normalization and raises :class:`~dspic_lib.errors.DataError` naming it.

LabelMe boxes are in pixel coordinates of the original image (x = column, y = row, pixel ``c`` covering
``[c, c + 1)``); :func:`scale_boxes` maps them onto the resized grid.

Preprocessing a cohort reads every DICOM file, so :func:`preprocess_cohort` keeps the result in an
on-disk cache per data folder, resolution and code version (``.npz`` without pickles).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage.transform import resize as _sk_resize

from .errors import DataError
from .paths import home

# Bump when the preprocessing changes in a way that changes the arrays (invalidates every cache).
PREPROCESS_VERSION = 1


def normalize(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Eq. 1: per-image min-max to [0, 1] in float32 (negatives clipped at 0 first)."""
    x = np.asarray(image, dtype=np.float32)
    if x.ndim != 2:
        raise DataError(f"{name}: expected a 2-D image, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name}: image contains NaN or infinite values")
    x = np.maximum(x, 0.0)
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        raise DataError(f"{name}: constant image (every pixel is {lo:g} after clipping negatives at 0); "
                        "Eq. 1 needs x_max > x_min")
    return ((x - lo) / (hi - lo)).astype(np.float32)


def resize(image: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Resize a 2-D image to ``(rows, cols)`` with anti-aliasing; float32; the identity at equal shape."""
    x = np.asarray(image, dtype=np.float32)
    shape = (int(shape[0]), int(shape[1]))
    if x.shape == shape:
        return x.copy()
    anti_alias = shape[0] < x.shape[0] or shape[1] < x.shape[1]
    out = _sk_resize(x, shape, order=1, mode="reflect", anti_aliasing=anti_alias, preserve_range=True)
    return out.astype(np.float32)


def preprocess_image(image: np.ndarray, shape: Sequence[int], name: str = "image") -> np.ndarray:
    """Clip negatives, resize with anti-aliasing, then Eq. 1: one model input of ``shape``, in [0, 1]."""
    x = np.maximum(np.asarray(image, dtype=np.float32), 0.0)
    normalize(x, name)  # raises on a constant original, naming it
    return normalize(resize(x, shape), name)


def scale_boxes(boxes: np.ndarray | Sequence, from_shape: Sequence[int], to_shape: Sequence[int]) -> np.ndarray:
    """Map boxes ``(x0, y0, x1, y1)`` from an image of ``from_shape`` (rows, cols) onto ``to_shape``."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    sx = to_shape[1] / from_shape[1]
    sy = to_shape[0] / from_shape[0]
    return (b * np.array([sx, sy, sx, sy], dtype=np.float32)).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# A whole cohort, cached on disk


@dataclass(frozen=True)
class Preprocessed:
    """Every image of a cohort at one resolution, in the order of ``cohort.table``.

    ``boxes[i]`` is a float32 ``(k, 4)`` array of the lesion boxes of image ``i`` in the resized grid,
    ``diseases[i]`` the matching disease names (``"metastasis"``, ``"arthritis"``, ...).
    """

    X: np.ndarray                     # (n, rows, cols) float32 in [0, 1]
    boxes: list[np.ndarray]
    diseases: list[list[str]]
    source_shapes: np.ndarray         # (n, 2) rows, cols of each original image
    cache_file: Path | None = None

    def __len__(self) -> int:
        return len(self.X)


def cache_dir() -> Path:
    return home() / "cache" / "preprocessed"


def cohort_key(data_dir: Path, files: Sequence[tuple[str, int]], shape: Sequence[int]) -> str:
    """Hash of the data folder, the (path, frame) list with file sizes and times, resolution, code version.

    ``path`` may be relative to ``data_dir`` (as in the cohort table)."""
    stats = []
    for path, frame in files:
        p = Path(data_dir) / path
        try:
            st = p.stat()
            stats.append((str(p.resolve()), int(frame), st.st_size, st.st_mtime_ns))
        except OSError:
            stats.append((str(p), int(frame), -1, -1))
        # the annotations change boxes, so they are part of the key too
        for js in sorted(p.parent.glob(f"{p.stem}*.json")):
            st = js.stat()
            stats.append((str(js.resolve()), -1, st.st_size, st.st_mtime_ns))
    payload = json.dumps({"data": str(Path(data_dir).resolve()), "files": stats,
                          "shape": [int(s) for s in shape], "version": PREPROCESS_VERSION,
                          "code": _code_hash()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _code_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _lesion_boxes(row) -> tuple[np.ndarray, list[str]]:
    lesions = list(row["lesions"]) if "lesions" in row and row["lesions"] is not None else []
    boxes = np.array([les.box for les in lesions], dtype=np.float32).reshape(-1, 4)
    return boxes, [str(les.disease) for les in lesions]


def preprocess_cohort(cohort, shape: Sequence[int], *, use_cache: bool = True,
                      cache: Path | None = None, progress: bool = False) -> Preprocessed:
    """Preprocess every image of ``cohort`` to ``shape`` (rows, cols), using the on-disk cache."""
    from .data.cohort import load_pixels

    table = cohort.table
    if not len(table):
        raise DataError(f"{cohort.data_dir}: the cohort table is empty")
    files = list(zip(table["path"].astype(str), table["frame"].fillna(0).astype(int)))
    folder = Path(cache) if cache is not None else cache_dir()
    path = folder / f"{cohort_key(cohort.data_dir, files, shape)}.npz"
    if use_cache and path.exists():
        try:
            return _read_cache(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a truncated cache file is rebuilt, never trusted

    rows = range(len(table))
    if progress:
        from tqdm.auto import tqdm
        rows = tqdm(rows, desc=f"Eq. 1 + resize to {shape[0]}x{shape[1]}", leave=False)
    X = np.empty((len(table), int(shape[0]), int(shape[1])), dtype=np.float32)
    boxes, diseases, shapes = [], [], []
    for i in rows:
        row = table.iloc[i]
        raw = load_pixels(cohort, row)
        name = str(row["path"]) + (f" (frame {int(row['frame'])})" if int(row.get("frame", 0) or 0) else "")
        X[i] = preprocess_image(raw, shape, name)
        b, d = _lesion_boxes(row)
        boxes.append(scale_boxes(b, raw.shape, shape))
        diseases.append(d)
        shapes.append(raw.shape)
    result = Preprocessed(X=X, boxes=boxes, diseases=diseases,
                          source_shapes=np.asarray(shapes, dtype=np.int64).reshape(-1, 2), cache_file=path)
    if use_cache:
        _write_cache(path, result)
    return result


def _write_cache(path: Path, p: Preprocessed) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = np.array([len(b) for b in p.boxes], dtype=np.int64)
    flat = np.concatenate(p.boxes).astype(np.float32) if counts.sum() else np.zeros((0, 4), np.float32)
    names = np.array([d for ds in p.diseases for d in ds], dtype=np.str_)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, X=p.X, box_counts=counts, boxes=flat, diseases=names, source_shapes=p.source_shapes)
    tmp.replace(path)  # atomic: a reader never sees half a file


def _read_cache(path: Path) -> Preprocessed:
    with np.load(path, allow_pickle=False) as z:
        counts = z["box_counts"]
        flat, names = z["boxes"], z["diseases"].tolist()
        ends = np.cumsum(counts)
        starts = ends - counts
        return Preprocessed(
            X=z["X"], boxes=[flat[s:e].copy() for s, e in zip(starts, ends)],
            diseases=[names[s:e] for s, e in zip(starts, ends)],
            source_shapes=z["source_shapes"], cache_file=path)


def fingerprint(*parts) -> str:
    """A short content hash of arrays, strings and numbers: keys of the result-store caches."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            a = np.ascontiguousarray(part)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes() if a.dtype != object else json.dumps(a.tolist(), default=str).encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()[:20]
