"""Scan a folder of whole-body scans into one table: one row per image (patient, view, class, lesions).

Folder layout (any depth of sub-folders; hidden files are skipped)::

    DATA/
      labels.csv                     optional: patient, class, sex, age (any of the last three)
      <...>/X.dcm + X.json           one view per file, LabelMe JSON beside it
      <...>/Y.dcm + Y_anterior.json  a two-frame file (anterior + posterior), one JSON per view
                  + Y_posterior.json

Images are DICOM files named ``*.dcm``, ``*.dicom``, ``*.ima`` or without a suffix. The class comes from
the annotations (no lesion shape = N, metastasis only = M, arthritis only = A, both = M&A); an image
without a JSON file takes its class from labels.csv, else it is taken as N. ``patient`` in the table is
a pseudonym derived from the header's PatientID, so that printing the table shows no identifier.

Problems (a file that cannot be read, a bad annotation, two files claiming the same patient and view,
...) are collected in ``Cohort.problems`` (file, problem); the affected image is left out and nothing
else is lost. ``strict=True`` raises :class:`~dspic_lib.errors.DataError` at the first one instead.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import dicom, labelme, phantom
from ..vocab import CLASSES, VIEWS
from .labelme import Lesion

IMAGE_SUFFIXES = {".dcm", ".dicom", ".ima", ""}
LABELS_CSV = "labels.csv"
_SKIP = {LABELS_CSV, phantom.TRUTH_CSV}
COLUMNS = ["patient", "view", "path", "frame", "label", "sex", "age", "lesions", "n_lesions",
           "n_metastasis", "n_arthritis", "annotation", "label_source", "rows", "cols",
           "max_count", "max_row", "max_col", "total_counts", "notes"]


@dataclass
class Cohort:
    data_dir: Path
    table: pd.DataFrame
    problems: pd.DataFrame
    shape: tuple[int, int] | None = dicom.WHOLE_BODY_SHAPE
    fingerprint: str = ""     # content hash of every image, annotation and labels.csv of the folder

    @property
    def synthetic(self) -> bool:
        return phantom.read_marker(self.data_dir) is not None

    def __len__(self) -> int:
        return len(self.table)

    def summary(self) -> pd.DataFrame:
        """Images per class and view, with totals; ``patients`` counts distinct patients."""
        t = self.table
        counts = pd.crosstab(pd.Categorical(t["label"], CLASSES), pd.Categorical(t["view"], VIEWS),
                             dropna=False)
        counts.index.name, counts.columns.name = "class", None
        counts["images"] = counts.sum(axis=1)
        counts["patients"] = [t.loc[t["label"] == c, "patient"].nunique() for c in counts.index]
        counts.loc["total"] = [*counts[list(VIEWS)].sum(), len(t), t["patient"].nunique()]
        return counts.astype(int)


def pseudonym(patient_id: str) -> str:
    """A stable stand-in for a PatientID (so tables and logs never show the real one)."""
    return "P" + hashlib.blake2b(patient_id.encode("utf-8"), digest_size=5).hexdigest()


class _Problems:
    def __init__(self, data_dir: Path, strict: bool):
        self.rows: list[tuple[str, str]] = []
        self.data_dir, self.strict = data_dir, strict

    def add(self, path: Path | str, problem: str) -> None:
        rel = _rel(Path(path), self.data_dir)
        name = Path(path).name
        text = problem[len(name) + 2:] if problem.startswith(name + ": ") else problem
        if self.strict:
            raise DataError(f"{rel}: {text}")
        self.rows.append((rel, text))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["file", "problem"])


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _walk(data_dir: Path) -> tuple[list[Path], list[Path]]:
    images, jsons = [], []
    for dirpath, dirnames, filenames in os.walk(data_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name in _SKIP or name == phantom.marker_name():
                continue
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if suffix == ".json":
                jsons.append(path)
            elif suffix in IMAGE_SUFFIXES:
                images.append(path)
    return images, jsons


def image_files(data_dir: str | Path) -> list[Path]:
    """The files of a data folder that the scan reads as images."""
    return _walk(Path(data_dir))[0]


def folder_fingerprint(data_dir: str | Path) -> str:
    """Content hash of a data folder's images, annotations and labels.csv: the same value
    :func:`scan` records as ``Cohort.fingerprint``, without decoding anything."""
    data_dir = Path(data_dir)
    images, jsons = _walk(data_dir)
    prints = _Fingerprint(data_dir)
    for path in [*images, *jsons, data_dir / LABELS_CSV]:
        if path.is_file():
            prints.add(path, path.read_bytes())
    return prints.hexdigest()


def _annotation_for(path: Path, view: str, n_frames: int, jsons: set[Path]) -> tuple[Path | None, str | None]:
    per_view = [path.with_name(f"{path.stem}_{view}.json"), path.with_name(f"{path.stem}.{view}.json")]
    single = path.with_name(f"{path.stem}.json") if path.suffix else path.with_name(f"{path.name}.json")
    for cand in per_view:
        if cand in jsons:
            return cand, None
    if single in jsons:
        if n_frames > 1:
            return None, (f"{single.name} is one annotation for a two-frame file; name them "
                          f"{path.stem}_anterior.json and {path.stem}_posterior.json")
        return single, None
    return None, None


def _read_labels(data_dir: Path, problems: _Problems) -> dict[str, dict]:
    path = data_dir / LABELS_CSV
    if not path.exists():
        return {}
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as err:  # pandas raises several kinds for malformed CSV
        problems.add(path, f"unreadable CSV ({type(err).__name__}: {err})")
        return {}
    df.columns = [c.strip().lower() for c in df.columns]
    if "label" in df.columns and "class" not in df.columns:
        df = df.rename(columns={"label": "class"})
    if "patient" not in df.columns:
        problems.add(path, f"needs a 'patient' column (PatientID); has {', '.join(df.columns)}")
        return {}
    out: dict[str, dict] = {}
    for i, rec in df.iterrows():
        pid = rec["patient"].strip()
        entry: dict = {}
        where = f"row {i + 2}"
        if not pid:
            problems.add(path, f"{where}: empty patient")
            continue
        if pid in out:
            problems.add(path, f"{where}: patient listed twice")
            continue
        cls = rec.get("class", "").strip().upper()
        if cls:
            cls = "M&A" if cls.replace(" ", "") in ("M&A", "MA", "M+A") else cls
            if cls not in CLASSES:
                problems.add(path, f"{where}: class {rec.get('class')!r} is not one of {', '.join(CLASSES)}")
                continue
            entry["label"] = cls
        sex = rec.get("sex", "").strip().upper()[:1]
        if sex:
            if sex not in ("F", "M"):
                problems.add(path, f"{where}: sex {rec.get('sex')!r} is not F or M")
                continue
            entry["sex"] = sex
        age = rec.get("age", "").strip()
        if age:
            try:
                entry["age"] = float(age)
            except ValueError:
                problems.add(path, f"{where}: age {age!r} is not a number")
                continue
        out[pid] = entry
    return out


class _Fingerprint:
    """Content hash of a data folder, fed file by file as the scan reads them (each file read once)."""

    def __init__(self, data_dir: Path):
        self.data_dir, self.parts = data_dir, {}

    def add(self, path: Path, data: bytes) -> bytes:
        self.parts[_rel(path, self.data_dir)] = hashlib.blake2b(data, digest_size=16).hexdigest()
        return data

    def hexdigest(self) -> str:
        h = hashlib.blake2b(digest_size=10)
        for rel in sorted(self.parts):
            h.update(f"{rel}\0{self.parts[rel]}\n".encode())
        return h.hexdigest()


def scan(data_dir: str | Path, strict: bool = False, *,
         shape: tuple[int, int] | None = dicom.WHOLE_BODY_SHAPE, progress: bool = False,
         on_pixels=None) -> Cohort:
    """Read every image and annotation under ``data_dir`` into a :class:`Cohort`.

    ``shape`` (rows, cols) every image must have; ``None`` accepts any size (all images must then
    still share one size, checked by the consumers that stack them). Each file is read and each frame
    decoded once; ``on_pixels(path, frame, counts)`` (``path`` relative to ``data_dir``) sees every
    decoded frame, so that preprocessing can share the scan's decoding instead of decoding again."""
    from tqdm import tqdm

    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise DataError(f"{data_dir}: data folder does not exist")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: not a folder")
    problems = _Problems(data_dir, strict)
    image_paths, json_paths = _walk(data_dir)
    if not image_paths:
        raise DataError(f"{data_dir}: no DICOM files (*.dcm, *.dicom, *.ima or without suffix) in the folder")
    jsons = set(json_paths)
    used: set[Path] = set()
    prints = _Fingerprint(data_dir)
    for extra in [*json_paths, data_dir / LABELS_CSV]:
        if extra.is_file():
            prints.add(extra, extra.read_bytes())
    labels = _read_labels(data_dir, problems)
    records: list[dict] = []
    for path in tqdm(image_paths, desc="scanning", unit="file", disable=not progress):
        try:
            info, images = dicom.read_nm(path, shape=shape, data=prints.add(path, path.read_bytes()))
        except (DataError, OSError) as err:
            problems.add(path, str(err) if isinstance(err, DataError) else f"unreadable file ({err})")
            continue
        for img in images:
            ann_path, ann_problem = _annotation_for(path, img.view, info.n_frames, jsons)
            if ann_problem:
                problems.add(path, ann_problem)
                continue
            lesions: tuple[Lesion, ...] = ()
            if ann_path is not None:
                used.add(ann_path)
                try:
                    ann = labelme.read_labelme(ann_path, data_dir=data_dir, image_shape=(info.rows, info.cols),
                                               image_name=path.name)
                except DataError as err:
                    problems.add(ann_path, str(err))
                    continue
                lesions = ann.lesions
            px = img.pixels
            if on_pixels is not None:
                on_pixels(_rel(path, data_dir), img.frame, px)
            records.append({
                "patient_id": info.patient_id, "view": img.view, "path": _rel(path, data_dir),
                "frame": img.frame, "lesions": list(lesions), "annotated": ann_path is not None,
                "annotation": _rel(ann_path, data_dir) if ann_path else "",
                "header_sex": info.sex, "header_age": info.age, "rows": info.rows, "cols": info.cols,
                "max_count": float(px.max()), "max_at": np.unravel_index(int(np.argmax(px)), px.shape),
                "total_counts": float(px.sum(dtype=np.float64)),
                "notes": "; ".join(img.notes),
            })
    for path in sorted(jsons - used):
        problems.add(path, "annotation with no image beside it (expected X.dcm for X.json, or "
                           "X.dcm with two frames for X_anterior.json / X_posterior.json)")

    # two files claiming the same patient and view: neither can be trusted
    seen: dict[tuple[str, str], list[int]] = {}
    for i, rec in enumerate(records):
        seen.setdefault((rec["patient_id"], rec["view"]), []).append(i)
    drop: set[int] = set()
    for (_, view), idx in seen.items():
        if len(idx) > 1:
            files = [records[i]["path"] + (f" (frame {records[i]['frame']})" if records[i]["frame"] else "")
                     for i in idx]
            for i in idx:
                others = ", ".join(f for j, f in zip(idx, files) if j != i)
                problems.add(data_dir / records[i]["path"],
                             f"claims the same patient and {view} view as {others}; both left out")
            drop.update(idx)
    records = [r for i, r in enumerate(records) if i not in drop]

    rows = []
    for rec in records:
        extra = labels.get(rec["patient_id"], {})
        ann_label = labelme.class_of(rec["lesions"])
        if rec["annotated"]:
            label, source = ann_label, "annotations"
            if "label" in extra and extra["label"] != ann_label:
                problems.add(data_dir / rec["annotation"],
                             f"annotations say class {ann_label}, labels.csv says {extra['label']} "
                             "(the annotations are used)")
        elif "label" in extra:
            label, source = extra["label"], "labels.csv"
        else:
            label, source = "N", "no annotation"
        les = rec["lesions"]
        rows.append({
            "patient": pseudonym(rec["patient_id"]), "view": rec["view"], "path": rec["path"],
            "frame": rec["frame"], "label": label,
            "sex": extra.get("sex", rec["header_sex"]), "age": extra.get("age", rec["header_age"]),
            "lesions": les, "n_lesions": len(les),
            "n_metastasis": sum(x.disease == "metastasis" for x in les),
            "n_arthritis": sum(x.disease == "arthritis" for x in les),
            "annotation": rec["annotation"], "label_source": source, "rows": rec["rows"], "cols": rec["cols"],
            "max_count": rec["max_count"], "max_row": int(rec["max_at"][0]), "max_col": int(rec["max_at"][1]),
            "total_counts": rec["total_counts"], "notes": rec["notes"],
        })
    table = pd.DataFrame(rows, columns=COLUMNS)
    if len(table):
        table["view_order"] = table["view"].map({v: i for i, v in enumerate(VIEWS)})
        table = table.sort_values(["patient", "view_order"], kind="stable").drop(columns="view_order")
        table = table.reset_index(drop=True)
    table = table.astype({"frame": int, "n_lesions": int, "rows": int, "cols": int, "age": float})
    return Cohort(data_dir=data_dir, table=table, problems=problems.frame(), shape=shape,
                  fingerprint=prints.hexdigest())


# --------------------------------------------------------------------------------------- pixels
def _source(cohort_or_data_dir) -> tuple[Path, tuple[int, int] | None]:
    if isinstance(cohort_or_data_dir, Cohort):
        return cohort_or_data_dir.data_dir, cohort_or_data_dir.shape
    return Path(cohort_or_data_dir), None


def load_pixels(cohort_or_data_dir, row) -> np.ndarray:
    """Raw counts (float32, rows x cols) of one image: ``row`` is a table row (or any mapping with
    ``path`` and ``frame``), or, with a :class:`Cohort`, an index into its table."""
    data_dir, shape = _source(cohort_or_data_dir)
    if isinstance(row, (int, np.integer)):
        if not isinstance(cohort_or_data_dir, Cohort):
            raise DataError("an integer row needs a Cohort, not a folder")
        row = cohort_or_data_dir.table.iloc[int(row)]
    if not isinstance(row, (Mapping, pd.Series)) and hasattr(row, "_asdict"):
        row = row._asdict()
    try:
        rel, frame = row["path"], int(row["frame"])
    except (KeyError, TypeError, ValueError):
        raise DataError("a row needs 'path' and 'frame'") from None
    return dicom.read_frame(data_dir / rel, frame, shape=shape)


def iter_pixels(cohort: Cohort, rows=None, *, progress: bool = False, desc: str = "decoding"):
    """``(i, counts)`` for the table rows ``rows`` (default: all), in file order: each file is read
    once and only the frames asked for are decoded, once each. The one way the project reads pixels
    after a scan (preprocessing, reports, the DCGAN pool), so memory holds one file at a time."""
    from tqdm import tqdm

    t = cohort.table
    idx = range(len(t)) if rows is None else [int(i) for i in rows]
    where: dict[str, list[tuple[int, int]]] = {}
    for i in idx:
        where.setdefault(str(t["path"].iat[i]), []).append((i, int(t["frame"].iat[i])))
    for rel, slots in tqdm(where.items(), desc=desc, unit="file", disable=not progress, leave=False):
        path = cohort.data_dir / rel
        frames = sorted({f for _, f in slots})

        def read(path=path, frames=frames):
            ds = dicom._dcmread(path)
            info = dicom._check_header(ds, path, cohort.shape)
            return dict(zip(frames, (px for px, _ in dicom._decode(ds, info, frames))))

        decoded = dicom._guarded(path, read)
        for i, frame in slots:
            yield i, decoded[frame]


def load_all(cohort: Cohort, *, progress: bool = True) -> np.ndarray:
    """Every image of the table, in table order: float32 array (n, rows, cols) of raw counts."""
    t = cohort.table
    if not len(t):
        raise DataError(f"{cohort.data_dir}: the cohort table is empty")
    shapes = set(zip(t["rows"], t["cols"]))
    if len(shapes) > 1:
        raise DataError(f"{cohort.data_dir}: images of different sizes {sorted(shapes)} cannot be stacked")
    rows, cols = shapes.pop()
    out = np.empty((len(t), rows, cols), np.float32)
    for i, px in iter_pixels(cohort, progress=progress, desc="loading"):
        out[i] = px
    return out
