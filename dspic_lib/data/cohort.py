"""Scan a folder of whole-body scans into one table: one row per image (patient, view, class, lesions).

Three layouts are read (``scan(..., layout=...)``); the default, ``dicom``, is a folder as it comes from
a PACS, with LabelMe annotations beside the files (any depth of sub-folders; hidden files are skipped)::

    DATA/
      labels.csv                     optional: patient or file, and class, sex, age (any of the three)
      views.csv                      optional: file, view (for files whose header does not say)
      <...>/X.dcm + X.json           one view per file, LabelMe JSON beside it
      <...>/Y.dcm + Y_anterior.json  a two-frame file (anterior + posterior), one JSON per view
                  + Y_posterior.json

Images are DICOM files named ``*.dcm``, ``*.dicom``, ``*.ima`` or without a suffix. The public
collections ``bs80k`` and ``png-folders`` are read by :mod:`.public` into the same table; they are
binary (``task`` "binary": normal / abnormal), not the paper's four classes.

**View** of a single-frame file: its ViewCodeSequence, then ANT/POST in the header's descriptions,
then views.csv, then ANT/POST in the file name, then ``view=`` (``dspic data scan --view``); otherwise
``"unknown"``: the image is kept (a model can still classify it), a warning names the file, and the
per-view counts leave it out. A two-frame file must say both views itself.

**Class** comes from the annotations (no lesion shape = N, metastasis only = M, arthritis only = A,
both = M&A); an image without a JSON file takes its class from labels.csv (a row for its file, else for
its patient), else it is ``"unlabelled"``: counted and reported, never taken as N, and left out of
every training and metric set. ``patient`` in the table is a keyed pseudonym of the header's
PatientID (:mod:`.identity`, the same as ``dspic predict``'s), so that printing the table shows no identifier.

**Which files are read** is decided by :func:`walk`, file by file: images, annotations and the two
CSV files are read; hidden files and folders, a ``DICOMDIR``, compressed files (``.gz``, ``.zip``, ...,
with a hint to decompress them), pictures and other suffixes are skipped with a reason
(``Cohort.skipped``: file, reason); a folder that cannot be listed is a problem.

**Problems** (a file that cannot be read, a bad annotation or CSV row, ...) are collected in
``Cohort.problems`` (file, problem); the affected image is left out and nothing else is lost.
``strict=True`` raises :class:`~dspic_lib.errors.DataError` at the first one instead. **Warnings**
(``Cohort.warnings``: file, warning) concern images that were kept, or dropped as exact copies: an
unknown view, two files of one patient and view with different pixels (both kept), a file whose
pixels repeat another's of the same patient (the copy dropped).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..options import look_up_option
from ..vocab import TASK_CLASSES, UNKNOWN_VIEW, UNLABELLED, VIEWS
from . import dicom, labelme, phantom, public, sidecar
from .findings import Findings, Fingerprint, pixel_stats, rel_path
from .pictures import is_picture, read_picture
from .sidecar import LABELS_CSV, VIEWS_CSV

IMAGE_SUFFIXES = {".dcm", ".dicom", ".ima", ""}
LAYOUTS = ("dicom", "bs80k", "png-folders")
COLUMNS = ["patient", "view", "path", "frame", "label", "task", "sex", "age", "lesions", "n_lesions",
           "n_metastasis", "n_arthritis", "annotation", "label_source", "rows", "cols",
           "max_count", "max_row", "max_col", "total_counts", "notes"]
_VIEW_ORDER = {v: i for i, v in enumerate((*VIEWS, UNKNOWN_VIEW))}


def _no_warnings() -> pd.DataFrame:
    return pd.DataFrame(columns=["file", "warning"])


def _no_skips() -> pd.DataFrame:
    return pd.DataFrame(columns=["file", "reason"])


@dataclass
class Cohort:
    data_dir: Path
    table: pd.DataFrame
    problems: pd.DataFrame
    shape: tuple[int, int] | None = dicom.WHOLE_BODY_SHAPE
    fingerprint: str = ""     # content hash of every image, annotation and CSV the scan read
    warnings: pd.DataFrame = field(default_factory=_no_warnings)
    task: str = "four-class"  # "four-class" (N, M, A, M&A) or "binary" (normal, abnormal)
    layout: str = "dicom"
    left_out: pd.DataFrame | None = None   # rows :meth:`labelled` took out of the table (unlabelled)
    skipped: pd.DataFrame = field(default_factory=_no_skips)   # (file, reason): files not read, and why

    @property
    def synthetic(self) -> bool:
        return phantom.read_marker(self.data_dir) is not None

    @property
    def classes(self) -> tuple[str, ...]:
        return TASK_CLASSES[self.task]

    def __len__(self) -> int:
        return len(self.table)

    def labelled(self) -> "Cohort":
        """The same cohort without its unlabelled images (what training and metrics may use); they
        are kept in ``left_out``, so that counts of the whole folder can still name them."""
        unlabelled = (self.table["label"] == UNLABELLED).to_numpy()
        parts = [df for df in (self.left_out, self.table[unlabelled]) if df is not None and len(df)]
        left = pd.concat(parts, ignore_index=True) if parts else self.table.iloc[:0].copy()
        return replace(self, table=self.table[~unlabelled].reset_index(drop=True), left_out=left)

    def all_rows(self) -> pd.DataFrame:
        """The table with the rows :meth:`labelled` left out: every image the scan read."""
        if self.left_out is None or not len(self.left_out):
            return self.table
        return pd.concat([self.table, self.left_out], ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Images per class and view, with totals; ``patients`` counts distinct patients. Rows
        ``unlabelled`` and a column ``view unknown`` appear when there are such images."""
        t = self.table
        classes = [*self.classes] + ([UNLABELLED] if (t["label"] == UNLABELLED).any() else [])
        views = [*VIEWS] + ([UNKNOWN_VIEW] if (t["view"] == UNKNOWN_VIEW).any() else [])
        counts = pd.DataFrame({v: [int(((t["label"] == c) & (t["view"] == v)).sum()) for c in classes]
                               for v in views}, index=pd.Index(classes, name="class"))
        counts = counts.rename(columns={UNKNOWN_VIEW: "view unknown"})
        counts["images"] = counts.sum(axis=1)
        counts["patients"] = [t.loc[t["label"] == c, "patient"].nunique() for c in classes]
        counts.loc["total"] = [*counts.drop(columns=["images", "patients"]).sum(), len(t), t["patient"].nunique()]
        return counts.astype(int)


def pseudonym(patient_id: str, key: bytes | None = None) -> str:
    """A stable stand-in for a PatientID (so tables and logs never show the real one): the keyed hash
    of :mod:`.identity`, the same function ``dspic predict`` uses (``key`` default: this install's)."""
    from .identity import pseudonym as keyed

    return keyed(patient_id, key)


def exact_copy_warning(kept: str) -> str:
    """The warning of an image dropped because it repeats ``kept`` (same patient, same pixels): the
    words of ``dspic data scan`` and ``dspic predict`` alike."""
    return f"same patient and same pixels as {kept}: dropped as an exact copy"


def shared_pixels_warning(others: str) -> str:
    """The warning of an image kept although another patient's image has the same pixels."""
    return f"same pixels as {others} of another patient: kept"


# what the walk does with each file (FolderEntry.kind)
READ_IMAGE, READ_ANNOTATION, READ_TABLE, SKIPPED, PROBLEM = "image", "annotation", "table", "skipped", "problem"
COMPRESSED_SUFFIXES = {".gz": "gunzip", ".bz2": "bunzip2", ".xz": "unxz", ".zst": "unzstd", ".zip": "unzip",
                       ".7z": "7z x", ".tgz": "tar xzf", ".tar": "tar xf", ".rar": "unrar x"}
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif"}


@dataclass(frozen=True)
class FolderEntry:
    """What the scan of a data folder does with one file (or hidden folder) under it: ``kind`` is
    ``image`` (read as DICOM), ``annotation`` (LabelMe JSON), ``table`` (labels.csv, views.csv),
    ``skipped`` (``reason`` says why, counted in the scan's summary) or ``problem`` (``reason`` says
    what is wrong)."""
    path: Path
    kind: str
    reason: str = ""


def _skip_reason(path: Path, pictures: bool = False) -> tuple[str, str] | None:
    """``(kind, reason)`` for a file the DICOM scan does not read as an image, else None; with
    ``pictures``, the pictures :mod:`.pictures` reads are images too (``dspic predict`` reads them)."""
    name, suffix = path.name, path.suffix.lower()
    if name.upper() == "DICOMDIR":
        return SKIPPED, "DICOMDIR (the index of a DICOM disc or folder; the images it lists are read)"
    if suffix in COMPRESSED_SUFFIXES:
        return SKIPPED, (f"compressed ({suffix}): not read; decompress it first "
                         f"({COMPRESSED_SUFFIXES[suffix]} {name})")
    if pictures and is_picture(path):
        return None
    if suffix in PICTURE_SUFFIXES:
        return SKIPPED, (f"picture ({suffix}): only PNG and JPEG pictures are read" if pictures else
                         f"picture ({suffix}): counts are read from DICOM, pictures are for LabelMe")
    if suffix not in IMAGE_SUFFIXES:
        return SKIPPED, f"not a scan or an annotation ({suffix})"
    return None


def walk(data_dir: str | Path, *, pictures: bool = False) -> list[FolderEntry]:
    """Every file under ``data_dir`` (sub-folders of any depth, in sorted order) with what the DICOM
    scan does with it: read (image, annotation, table), skipped with a reason (hidden, DICOMDIR,
    compressed, picture, other suffix), or a problem (a folder that cannot be listed). The one place
    that decides which files of a folder are scans; ``dspic predict`` uses it for its input folders too,
    with ``pictures`` (PNG/JPEG files are then images). A link to a folder is not followed (skipped)."""
    data_dir = Path(data_dir)
    out: list[FolderEntry] = []

    def unlisted(err: OSError) -> None:
        out.append(FolderEntry(Path(err.filename or data_dir), PROBLEM,
                               f"cannot list this folder ({err.strerror or type(err).__name__})"))

    for dirpath, dirnames, filenames in os.walk(data_dir, onerror=unlisted):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if d.startswith("."):
                out.append(FolderEntry(here / d, SKIPPED, "hidden folder"))
            elif (here / d).is_symlink():
                out.append(FolderEntry(here / d, SKIPPED, "link to a folder (not followed)"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = here / name
            if name.startswith("."):
                out.append(FolderEntry(path, SKIPPED, "hidden file"))
            elif here == data_dir and name in (LABELS_CSV, VIEWS_CSV):
                out.append(FolderEntry(path, READ_TABLE))
            elif here == data_dir and name in (phantom.TRUTH_CSV, phantom.marker_name()):
                out.append(FolderEntry(path, SKIPPED, "the synthetic cohort's own bookkeeping (not an input)"))
            elif path.suffix.lower() == ".json":
                out.append(FolderEntry(path, READ_ANNOTATION))
            elif (skip := _skip_reason(path, pictures)) is not None:
                out.append(FolderEntry(path, *skip))
            else:
                out.append(FolderEntry(path, READ_IMAGE))
    return out


def _walk(data_dir: Path) -> tuple[list[Path], list[Path]]:
    entries = walk(data_dir)
    return ([e.path for e in entries if e.kind == READ_IMAGE],
            [e.path for e in entries if e.kind == READ_ANNOTATION])


def image_files(data_dir: str | Path) -> list[Path]:
    """The files of a data folder that the (DICOM) scan reads as images."""
    return _walk(Path(data_dir))[0]


def fingerprint_files(data_dir: str | Path, layout: str = "dicom") -> list[Path]:
    """The files whose bytes make a data folder's fingerprint: its images, annotations and CSV files
    (those that exist or not: a missing one is skipped when hashed)."""
    look_up_option(layout, LAYOUTS, what="layout")
    data_dir = Path(data_dir)
    if layout != "dicom":
        return list(public.files(layout, data_dir))
    images, jsons = _walk(data_dir)
    return [*images, *jsons, data_dir / LABELS_CSV, data_dir / VIEWS_CSV]


def folder_fingerprint(data_dir: str | Path, layout: str = "dicom") -> str:
    """Content hash of a data folder's images, annotations and CSV files: the same value :func:`scan`
    records as ``Cohort.fingerprint``, without decoding anything."""
    data_dir = Path(data_dir)
    prints = Fingerprint(data_dir)
    for path in fingerprint_files(data_dir, layout):
        if path.is_file():
            prints.add(path, path.read_bytes())
    return prints.hexdigest()


def _single_json(path: Path) -> Path:
    """``X.json`` for ``X.dcm`` (``X.json`` for a file ``X`` without suffix)."""
    return path.with_name(f"{path.stem}.json") if path.suffix else path.with_name(f"{path.name}.json")


def _annotation_for(path: Path, view: str, jsons: set[Path]) -> Path | None:
    per_view = [path.with_name(f"{path.stem}_{view}.json"), path.with_name(f"{path.stem}.{view}.json")]
    for cand in per_view:
        if cand in jsons:
            return cand
    single = _single_json(path)
    return single if single in jsons else None


# ------------------------------------------------------------------------- shared by every layout
def _where(rec: dict) -> str:
    return rec["path"] + (f" (frame {rec['frame']})" if rec["frame"] else "")


def _drop_copies(records: list[dict], findings: Findings, data_dir: Path) -> list[dict]:
    """Of images of one patient with identical pixels keep one (a known view and a label first); warn
    about each copy dropped and about two different images claiming one patient and view (both kept)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, rec in enumerate(records):
        groups.setdefault((rec["patient_id"], rec["digest"]), []).append(i)
    drop: set[int] = set()
    for idx in groups.values():
        if len(idx) < 2:
            continue
        keep = min(idx, key=lambda i: (records[i]["view"] == UNKNOWN_VIEW, records[i]["label"] == UNLABELLED, i))
        for i in idx:
            if i != keep:
                findings.warn(data_dir / records[i]["path"], exact_copy_warning(_where(records[keep])))
        drop.update(set(idx) - {keep})
    kept = [r for i, r in enumerate(records) if i not in drop]
    _warn_shared_pixels(kept, findings, data_dir)
    views: dict[tuple[str, str], list[dict]] = {}
    for rec in kept:
        if rec["view"] != UNKNOWN_VIEW:
            views.setdefault((rec["patient_id"], rec["view"]), []).append(rec)
    for (_, view), recs in views.items():
        for rec in recs if len(recs) > 1 else []:
            others = ", ".join(_where(r) for r in recs if r is not rec)
            findings.warn(data_dir / rec["path"], f"same patient and {view} view as {others}, different "
                                                  "pixels: both kept (a repeat acquisition? remove one if not)")
    return kept


def _warn_shared_pixels(records: list[dict], findings: Findings, data_dir: Path) -> None:
    """Identical pixels under different patients: kept (which one is right cannot be known here), but
    said, since a patient split would then put one image on both sides."""
    by_digest: dict[str, list[dict]] = {}
    for rec in records:
        by_digest.setdefault(rec["digest"], []).append(rec)
    for recs in by_digest.values():
        for rec in recs if len(recs) > 1 else []:
            others = ", ".join(_where(r) for r in recs if r is not rec)
            findings.warn(data_dir / rec["path"], shared_pixels_warning(others))


def _row(rec: dict, task: str, pseudonym) -> dict:
    les = list(rec["lesions"])
    return {
        "patient": pseudonym(rec["patient_id"]), "view": rec["view"], "path": rec["path"],
        "frame": rec["frame"], "label": rec["label"], "task": task, "sex": rec["sex"], "age": rec["age"],
        "lesions": les, "n_lesions": len(les),
        "n_metastasis": sum(x.disease == "metastasis" for x in les),
        "n_arthritis": sum(x.disease == "arthritis" for x in les),
        "annotation": rec["annotation"], "label_source": rec["label_source"], "rows": rec["rows"],
        "cols": rec["cols"], "max_count": rec["max_count"], "max_row": int(rec["max_at"][0]),
        "max_col": int(rec["max_at"][1]), "total_counts": rec["total_counts"], "notes": rec["notes"],
    }


def finish(data_dir: Path, records: list[dict], findings: Findings, *, shape, prints: Fingerprint,
           task: str = "four-class", layout: str = "dicom") -> Cohort:
    """The cohort from the records of the images read: copies dropped, rows sorted by patient and view."""
    from . import identity

    records = _drop_copies(records, findings, data_dir)
    # keyed with this install's secret; the synthetic cohort's made-up IDs with the public key (identity.py)
    key = identity.SYNTHETIC_KEY if phantom.read_marker(data_dir) is not None else None
    named = identity.pseudonymizer(key)
    table = pd.DataFrame([_row(rec, task, named) for rec in records], columns=COLUMNS)
    if len(table):
        table["view_order"] = table["view"].map(_VIEW_ORDER)
        table = table.sort_values(["patient", "view_order", "path", "frame"], kind="stable")
        table = table.drop(columns="view_order").reset_index(drop=True)
    table = table.astype({"frame": int, "n_lesions": int, "rows": int, "cols": int, "age": float})
    return Cohort(data_dir=data_dir, table=table, problems=findings.frame(), shape=shape,
                  fingerprint=prints.hexdigest(), warnings=findings.warning_frame(), task=task, layout=layout)


def _checked_folder(data_dir: str | Path) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise DataError(f"{data_dir}: data folder does not exist")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: not a folder")
    return data_dir


# --------------------------------------------------------------------------------------- scanning
def scan(data_dir: str | Path, strict: bool = False, *,
         shape: tuple[int, int] | None = dicom.WHOLE_BODY_SHAPE, progress: bool = False,
         on_pixels=None, layout: str = "dicom", view: str | None = None) -> Cohort:
    """Read every image and annotation under ``data_dir`` into a :class:`Cohort`.

    ``layout``: ``dicom`` (default), ``bs80k`` or ``png-folders`` (see :mod:`.public`). ``view``
    (``dicom`` only): the view of single-frame files that neither their header, views.csv nor their
    name says. ``shape`` (rows, cols) every image must have; ``None`` accepts any size (all images must
    then still share one size, checked by the consumers that stack them). Each file is read and each
    frame decoded once; ``on_pixels(path, frame, counts)`` (``path`` relative to ``data_dir``) sees
    every decoded frame, so that preprocessing can share the scan's decoding instead of decoding again."""
    look_up_option(layout, LAYOUTS, what="layout")
    data_dir = _checked_folder(data_dir)
    if layout != "dicom":
        if view is not None:
            raise ConfigError(f"a view can only be given for the dicom layout; {layout} says each file's view")
        records, findings, prints = public.read(layout, data_dir, strict=strict, shape=shape, progress=progress,
                                                on_pixels=on_pixels)
        return finish(data_dir, records, findings, shape=shape, prints=prints, task="binary", layout=layout)
    if view is not None:
        look_up_option(view, VIEWS, what="view")
    return _scan_dicom(data_dir, strict, shape=shape, progress=progress, on_pixels=on_pixels, default_view=view)


def _no_images(data_dir: Path) -> DataError:
    hint = public.guess_layout(data_dir)
    more = f"; it looks like the {hint} layout (dspic data scan --layout {hint})" if hint else ""
    return DataError(f"{data_dir}: no DICOM files (*.dcm, *.dicom, *.ima or without suffix) in the folder{more}")


def _scan_dicom(data_dir: Path, strict: bool, *, shape, progress: bool, on_pixels, default_view) -> Cohort:
    from tqdm import tqdm

    findings = Findings(data_dir, strict)
    entries = walk(data_dir)
    image_paths = [e.path for e in entries if e.kind == READ_IMAGE]
    json_paths = [e.path for e in entries if e.kind == READ_ANNOTATION]
    if not image_paths:
        raise _no_images(data_dir)
    for entry in entries:
        if entry.kind == PROBLEM:
            findings.add(entry.path, entry.reason)
    skipped = [(rel_path(e.path, data_dir), e.reason) for e in entries if e.kind == SKIPPED]
    jsons = set(json_paths)
    used: set[Path] = set()
    prints = Fingerprint(data_dir)
    for extra in [*json_paths, data_dir / LABELS_CSV, data_dir / VIEWS_CSV]:
        if extra.is_file():
            prints.add(extra, extra.read_bytes())
    rels = [rel_path(p, data_dir) for p in image_paths]
    by_patient, by_file = sidecar.read_labels(data_dir, findings)
    by_file = sidecar.match_files(by_file, rels, data_dir / LABELS_CSV, findings)
    listed_views = sidecar.match_files(sidecar.read_views(data_dir, findings), rels, data_dir / VIEWS_CSV, findings)
    records: list[dict] = []
    for path in tqdm(image_paths, desc="scanning", unit="file", disable=not progress):
        try:
            info, images = dicom.read_nm(path, shape=shape, data=prints.add(path, path.read_bytes()))
        except (DataError, OSError) as err:
            findings.add(path, str(err) if isinstance(err, DataError) else f"unreadable file ({err})")
            continue
        rel = rel_path(path, data_dir)
        single = _single_json(path)
        if info.n_frames > 1 and single in jsons:
            used.add(single)
            findings.add(single, f"one annotation for the two-frame file {path.name}, which holds two views: "
                                 f"name them {path.stem}_anterior.json and {path.stem}_posterior.json "
                                 "(both views are left out until then)")
            continue
        views = _file_views(info, rel, listed_views.get(rel), default_view, findings, data_dir)
        for img, view in zip(images, views):
            rec = _read_annotation(path, img, view, info, jsons, used, findings, data_dir)
            if rec is None:
                continue
            if on_pixels is not None:
                on_pixels(rel, img.frame, img.pixels)
            records.append({**rec, "patient_id": info.patient_id, "view": view, "path": rel, "frame": img.frame,
                            "sex": info.sex, "age": info.age, "rows": info.rows, "cols": info.cols,
                            **pixel_stats(img.pixels), "notes": "; ".join(img.notes)})
    for path in sorted(jsons - used):
        findings.add(path, "annotation with no image beside it (expected X.dcm for X.json, or "
                           "X.dcm with two frames for X_anterior.json / X_posterior.json)")
    _assign_labels(records, by_patient, by_file, findings, data_dir)
    cohort = finish(data_dir, records, findings, shape=shape, prints=prints)
    cohort.skipped = pd.DataFrame(skipped, columns=["file", "reason"])
    return cohort


def _file_views(info: dicom.NMFile, rel: str, listed: str | None, default_view: str | None,
                findings: Findings, data_dir: Path) -> tuple[str, ...]:
    """The view of each frame: the header's, else views.csv, else the file name, else ``default_view``,
    else unknown (with a warning)."""
    csv = data_dir / VIEWS_CSV
    if info.n_frames > 1:
        if listed:
            findings.warn(csv, f"{rel}: ignored, a two-frame file's views come from its detectors")
        return info.views
    said = info.views[0]
    if info.view_source in (dicom.VIEW_FROM_CODE, dicom.VIEW_FROM_TEXT):
        if listed and listed != said:
            findings.warn(csv, f"{rel}: views.csv says {listed}, the header ({info.view_source}) says {said}; "
                               "the header is used")
        return (said,)
    if listed:
        return (listed,)
    if info.view_source == dicom.VIEW_FROM_NAME:
        return (said,)
    if default_view:
        return (default_view,)
    findings.warn(data_dir / rel, "view unknown (no ViewCodeSequence, no ANT/POST in the header or file name, "
                                  "not in views.csv, no --view): kept, left out of per-view counts")
    return (UNKNOWN_VIEW,)


def _read_annotation(path, img, view, info, jsons, used, findings, data_dir) -> dict | None:
    """``{"lesions", "annotation"}`` of one view (empty when it has no JSON), or None when the
    annotation is unusable (reported)."""
    ann_path = _annotation_for(path, view, jsons)
    if ann_path is None:
        return {"lesions": (), "annotation": ""}
    used.add(ann_path)
    try:
        ann = labelme.read_labelme(ann_path, data_dir=data_dir, image_shape=(info.rows, info.cols),
                                   image_name=path.name)
    except DataError as err:
        findings.add(ann_path, str(err))
        return None
    return {"lesions": ann.lesions, "annotation": rel_path(ann_path, data_dir)}


def _assign_labels(records, by_patient, by_file, findings, data_dir) -> None:
    """Class from the annotations, else labels.csv (its file's row, else its patient's), else
    unlabelled; sex and age from labels.csv where it gives them, else from the header."""
    for rec in records:
        extra = {**by_patient.get(rec["patient_id"], {}), **by_file.get(rec["path"], {})}
        if rec["annotation"]:
            label, source = labelme.class_of(rec["lesions"]), "annotations"
            if "label" in extra and extra["label"] != label:
                findings.add(data_dir / rec["annotation"], f"annotations say class {label}, labels.csv says "
                                                           f"{extra['label']} (the annotations are used)")
        elif "label" in extra:
            label, source = extra["label"], "labels.csv"
        else:
            label, source = UNLABELLED, "none"
        rec.update(label=label, label_source=source, sex=extra.get("sex", rec["sex"]),
                   age=extra.get("age", rec["age"]))


# --------------------------------------------------------------------------------------- pixels
def _source(cohort_or_data_dir) -> tuple[Path, tuple[int, int] | None]:
    if isinstance(cohort_or_data_dir, Cohort):
        return cohort_or_data_dir.data_dir, cohort_or_data_dir.shape
    return Path(cohort_or_data_dir), None


def _read_frame(path: Path, frame: int, shape) -> np.ndarray:
    if is_picture(path):
        if frame != 0:
            raise DataError(f"{path.name}: a picture has one frame, frame {frame} was asked for")
        return read_picture(path, shape=shape)[0]
    return dicom.read_frame(path, frame, shape=shape)


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
    return _read_frame(data_dir / rel, frame, shape)


def _read_frames(path: Path, frames: list[int], shape) -> dict[int, np.ndarray]:
    if is_picture(path):
        return {f: _read_frame(path, f, shape) for f in frames}
    return dicom.read_frames(path, frames, shape=shape)


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
        decoded = _read_frames(cohort.data_dir / rel, sorted({f for _, f in slots}), cohort.shape)
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
