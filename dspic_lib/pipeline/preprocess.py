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

Preprocessing a cohort reads every DICOM file, so :func:`preprocess_cohort` keeps the result in the
result store (:mod:`dspic_lib.store`) per data fingerprint and resolution, keyed also by the source of
every module that decodes and normalizes (``data/dicom.py`` included): ``X.npy`` is memory-mapped when
read back, so a cohort 100x larger does not have to fit in memory.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage.transform import resize as _sk_resize

from dspic_lib.errors import DataError
from dspic_lib.store import Store, as_store, fingerprint


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
# A whole cohort, kept in the result store


@dataclass(frozen=True)
class Preprocessed:
    """Every image of a cohort at one resolution, in the order of ``cohort.table``.

    ``X`` is memory-mapped from the result store when it came from there, so holding it costs no
    memory until rows are read. ``boxes[i]`` is a float32 ``(k, 4)`` array of the lesion boxes of image
    ``i`` in the resized grid, ``diseases[i]`` the matching disease names.
    """

    X: np.ndarray                     # (n, rows, cols) float32 in [0, 1]
    boxes: list[np.ndarray]
    diseases: list[list[str]]
    source_shapes: np.ndarray         # (n, 2) rows, cols of each original image
    store_id: str | None = None       # the store entry it lives in

    def __len__(self) -> int:
        return len(self.X)


def _lesion_boxes(row) -> tuple[np.ndarray, list[str]]:
    lesions = list(row["lesions"]) if "lesions" in row and row["lesions"] is not None else []
    boxes = np.array([les.box for les in lesions], dtype=np.float32).reshape(-1, 4)
    return boxes, [str(les.disease) for les in lesions]


def _name(row) -> str:
    return str(row["path"]) + (f" (frame {int(row['frame'])})" if int(row.get("frame", 0) or 0) else "")


def cohort_key(store: Store, data_fingerprint: str, layout: str = "dicom", profile: str | None = None):
    """The key of a data folder's scan (entry ``cohort``): the folder's content fingerprint and the code
    of the scan (the DICOM, LabelMe and CSV readers); nothing is decoded to compute it."""
    from dspic_lib.data.cohort import scan

    return store.key("cohort", {"layout": layout}, code=[scan], parents=[f"data:{data_fingerprint}"],
                     profile=profile)


def preprocessed_key(store: Store, cohort_id: str, shape: Sequence[int], profile: str | None = None):
    """The key of a cohort's images after Eq. 1 at ``shape``: the cohort entry's id and this code."""
    return store.key("preprocessed", {"shape": [int(shape[0]), int(shape[1])]}, code=[preprocess_cohort],
                     parents=[cohort_id], profile=profile)


def _key(cohort, shape: Sequence[int], store: Store, profile: str | None = None):
    if cohort.fingerprint:           # a scanned folder: the lineage key
        return preprocessed_key(store, cohort_key(store, cohort.fingerprint, cohort.layout, profile).id, shape,
                                profile)
    t = cohort.table                 # a table made in memory: keyed by its rows
    layout = fingerprint(t["path"].astype(str).tolist(), t["frame"].astype(int).tolist(),
                         [[les.box for les in lesions] for lesions in t["lesions"]])
    return store.key("preprocessed", {"shape": [int(shape[0]), int(shape[1])], "rows": layout},
                     code=[preprocess_cohort], profile=profile)


def _boxes(cohort, shape) -> tuple[list[np.ndarray], list[list[str]], np.ndarray]:
    boxes, diseases, shapes = [], [], []
    for i in range(len(cohort.table)):
        row = cohort.table.iloc[i]
        b, d = _lesion_boxes(row)
        src = (int(row["rows"]), int(row["cols"]))
        boxes.append(scale_boxes(b, src, shape))
        diseases.append(d)
        shapes.append(src)
    return boxes, diseases, np.asarray(shapes, dtype=np.int64).reshape(-1, 2)


class _Spill:
    """Images preprocessed during the scan, kept in a temporary file (not in memory) until the scan
    has decided the table's order; then read back one at a time."""

    def __init__(self, shape, folder: Path | None = None):
        import tempfile

        self.shape = tuple(shape)
        self.file = tempfile.TemporaryFile(dir=folder)
        self.where: dict[tuple[str, int], int] = {}

    def add(self, key, image: np.ndarray) -> None:
        self.where[key] = self.file.seek(0, 2)
        self.file.write(np.ascontiguousarray(image, dtype=np.float32).tobytes())

    def get(self, key):
        offset = self.where.get(key)
        if offset is None:
            return None
        self.file.seek(offset)
        n = int(np.prod(self.shape))
        return np.frombuffer(self.file.read(4 * n), dtype=np.float32).reshape(self.shape)

    def close(self) -> None:
        self.file.close()


def _fill(X: np.ndarray, cohort, shape, decoded, progress: bool) -> None:
    """Row i of ``X`` = image i of the table: from ``decoded`` where the scan preprocessed it, else
    decoded here (each remaining frame once). One image in memory at a time."""
    from dspic_lib.data.cohort import iter_pixels

    table, missing = cohort.table, []
    for i in range(len(table)):
        hit = decoded.get((str(table["path"].iat[i]), int(table["frame"].iat[i]))) if decoded is not None else None
        if hit is None:
            missing.append(i)
        else:
            X[i] = hit
    for i, raw in iter_pixels(cohort, missing, progress=progress, desc=f"Eq. 1 + resize to {shape[0]}x{shape[1]}"):
        X[i] = preprocess_image(raw, shape, _name(table.iloc[i]))


def preprocess_cohort(cohort, shape: Sequence[int], *, store: Store | str | Path | None = None,
                      use_cache: bool = True, progress: bool = False,
                      decoded=None, profile: str | None = None) -> Preprocessed:
    """Preprocess every image of ``cohort`` to ``shape`` (rows, cols), through the result store.

    ``store``: where the arrays are kept (default: ``DSPIC_HOME/store``; chapters pass their profile's).
    ``decoded``: images already preprocessed while the cohort was scanned (see
    :func:`scan_preprocessed`), looked up by ``(path, frame)``; anything else is decoded once here.
    The arrays are written straight into the store entry through a memory map, so memory does not
    grow with the cohort."""
    table = cohort.table
    if not len(table):
        raise DataError(f"{cohort.data_dir}: the cohort table is empty")
    shape = (int(shape[0]), int(shape[1]))
    st = as_store(store)
    if not use_cache:
        X = np.empty((len(table), *shape), np.float32)
        _fill(X, cohort, shape, decoded, progress)
        return Preprocessed(X, *_boxes(cohort, shape))
    key = _key(cohort, shape, st, profile)

    def compute(folder: Path) -> None:
        X = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=np.float32, shape=(len(table), *shape))
        _fill(X, cohort, shape, decoded, progress)
        X.flush()
        del X
        _write_boxes(folder, *_boxes(cohort, shape))
        _write_images(folder, cohort)

    entry = st.get_or_compute(key, compute)      # another process computing it: wait and read its entry
    return _read_entry(entry, cohort, shape)


def scan_preprocessed(data_dir, shape: Sequence[int], *, store: Store | str | Path | None = None,
                      progress: bool = False, profile: str | None = None, use_cache: bool = True, **scan_kw):
    """Scan a data folder and preprocess it to ``shape`` in the same pass: each frame is decoded once
    for both. Returns ``(cohort, preprocessed)``."""
    from dspic_lib.data.cohort import scan

    shape = (int(shape[0]), int(shape[1]))
    spill = _Spill(shape)

    def keep(path, frame, counts):
        try:
            spill.add((path, int(frame)), preprocess_image(counts, shape, f"{path} (frame {frame})"))
        except DataError:
            pass      # a constant image: the scan reports it and leaves it out of the table

    try:
        cohort = scan(data_dir, on_pixels=keep, progress=progress, **scan_kw)
        if use_cache and cohort.fingerprint:
            write_cohort_entry(as_store(store), cohort, profile)
        return cohort, preprocess_cohort(cohort, shape, store=store, decoded=spill, profile=profile,
                                         use_cache=use_cache)
    finally:
        spill.close()


def write_cohort_entry(store: Store, cohort, profile: str | None = None):
    """The scan as an entry (``cohort``): its table without pixels (lesions as text), the rows left out
    (unlabelled), the problems and the warnings, as CSV. Returns the entry."""
    def text(df):
        if df is None:
            return None
        return df.assign(**{c: df[c].astype(str) for c in df.columns if df[c].dtype == object})

    def compute(folder: Path) -> None:
        for name, df in (("table", cohort.table), ("left_out", cohort.left_out), ("problems", cohort.problems),
                         ("warnings", cohort.warnings)):
            if df is not None:
                text(df).to_csv(folder / f"{name}.csv", index=False)

    return store.get_or_compute(cohort_key(store, cohort.fingerprint, cohort.layout, profile), compute)


def _write_boxes(folder: Path, boxes, diseases, source_shapes) -> None:
    counts = np.array([len(b) for b in boxes], dtype=np.int64)
    flat = np.concatenate(boxes).astype(np.float32) if counts.sum() else np.zeros((0, 4), np.float32)
    names = np.array([d for ds in diseases for d in ds], dtype=np.str_)
    np.savez(folder / "boxes.npz", box_counts=counts, boxes=flat, diseases=names, source_shapes=source_shapes)


IMAGES_FILE = "images.csv"      # in a preprocessed entry: image id, patient, view, label of each row of X


def _write_images(folder: Path, cohort) -> None:
    import pandas as pd

    t = cohort.table
    pd.DataFrame({"image": [f"{p}/{v}" for p, v in zip(t["patient"].astype(str), t["view"].astype(str))],
                  "patient": t["patient"].astype(str), "view": t["view"].astype(str),
                  "label": t["label"].astype(str)}).to_csv(folder / IMAGES_FILE, index=False)


def read_rows(entry, images) -> tuple[np.ndarray, list[np.ndarray], list[list[str]]]:
    """The preprocessed images, boxes and diseases of ``images`` (ids ``patient/view``) from a
    ``preprocessed`` entry, read by id (memory-mapped; nothing is decoded)."""
    import pandas as pd

    ids = pd.read_csv(entry.file(IMAGES_FILE), dtype=str, keep_default_na=False)["image"].tolist()
    where = {img: i for i, img in enumerate(ids)}
    missing = [img for img in images if img not in where]
    if missing:
        raise DataError(f"store entry {entry.id}: no image {missing[0]!r} ({len(missing)} missing)")
    rows = np.array([where[img] for img in images], dtype=np.int64)
    X = np.load(entry.file("X.npy"), mmap_mode="r")
    with np.load(entry.file("boxes.npz")) as z:
        counts, flat, names = z["box_counts"], z["boxes"], z["diseases"].tolist()
    ends = np.cumsum(counts)
    starts = ends - counts
    return (np.asarray(X[rows]), [flat[starts[i]:ends[i]].copy() for i in rows],
            [names[starts[i]:ends[i]] for i in rows])


def _read_entry(entry, cohort, shape) -> Preprocessed:
    X = np.load(entry.file("X.npy"), mmap_mode="r")
    if X.shape != (len(cohort.table), *shape):
        raise DataError(f"store entry {entry.id}: arrays of shape {X.shape}, expected "
                        f"{(len(cohort.table), *shape)}; delete {entry.path} to recompute")
    with np.load(entry.file("boxes.npz")) as z:
        counts, flat, names = z["box_counts"], z["boxes"], z["diseases"].tolist()
        ends = np.cumsum(counts)
        starts = ends - counts
        return Preprocessed(X=X, boxes=[flat[s:e].copy() for s, e in zip(starts, ends)],
                            diseases=[names[s:e] for s, e in zip(starts, ends)],
                            source_shapes=z["source_shapes"], store_id=entry.id)
