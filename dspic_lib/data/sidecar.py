"""The optional CSV files a user puts beside the scans: ``labels.csv`` and ``views.csv``.

``labels.csv``: one row per patient (column ``patient`` = the DICOM PatientID) or per file (column
``file``: a path relative to the folder, or a bare file name when it names one image), with any of
``class`` (or ``label``: N, M, A, M&A), ``sex`` (F, M) and ``age`` (years).

``views.csv``: columns ``file`` and ``view`` (anterior or posterior; ant, post, A and P are accepted),
for single-frame files whose header does not say their view.

Bad rows are reported through ``findings.add(path, problem)`` (the row is ignored) and rows that name
no image through ``findings.warn(path, warning)``; nothing here raises for bad content.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..vocab import CLASSES, VIEWS

LABELS_CSV = "labels.csv"
VIEWS_CSV = "views.csv"
_VIEW_WORDS = {"anterior": "anterior", "ant": "anterior", "a": "anterior",
               "posterior": "posterior", "post": "posterior", "p": "posterior"}


def parse_class(text: str) -> str | None:
    """``"m&a"``, ``"MA"``, ``"M+A"`` -> ``"M&A"``; one of CLASSES, or None when it is none of them."""
    cls = str(text).strip().upper()
    cls = "M&A" if cls.replace(" ", "") in ("M&A", "MA", "M+A") else cls
    return cls if cls in CLASSES else None


def parse_view(text: str) -> str | None:
    return _VIEW_WORDS.get(str(text).strip().lower())


def _read_csv(path: Path, findings) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as err:  # pandas raises several kinds for malformed CSV
        findings.add(path, f"unreadable CSV ({type(err).__name__}: {err})")
        return None
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


def _file_key(text: str) -> str:
    return str(text).strip().replace("\\", "/").removeprefix("./")


def read_labels(data_dir: Path, findings) -> tuple[dict[str, dict], dict[str, dict]]:
    """``(by_patient, by_file)``: each maps a PatientID or a file key to ``{"label", "sex", "age"}``
    (whichever the row gives)."""
    path = data_dir / LABELS_CSV
    df = _read_csv(path, findings)
    if df is None:
        return {}, {}
    if "label" in df.columns and "class" not in df.columns:
        df = df.rename(columns={"label": "class"})
    if "patient" not in df.columns and "file" not in df.columns:
        findings.add(path, f"needs a 'patient' (PatientID) or 'file' column; has {', '.join(df.columns)}")
        return {}, {}
    by_patient: dict[str, dict] = {}
    by_file: dict[str, dict] = {}
    first_row: dict[tuple[str, str], int] = {}
    conflicted: set[tuple[str, str]] = set()
    for i, rec in df.iterrows():
        row = i + 2
        where = f"row {row}"
        file_key = _file_key(rec.get("file", ""))
        pid = str(rec.get("patient", "")).strip()
        target, key = (by_file, file_key) if file_key else (by_patient, pid)
        what = "file" if target is by_file else "patient"
        if not key:
            findings.add(path, f"{where}: empty patient and file")
            continue
        entry = _label_entry(rec, path, where, findings)
        if entry is None:
            continue
        if (what, key) in conflicted:
            findings.add(path, f"{where}: {what} {key!r} listed again, after rows that disagree (not used)")
        elif key in target:
            first = first_row[(what, key)]
            if target[key] == entry:
                findings.warn(path, f"{where}: {what} {key!r} listed twice, the same as row {first}")
            else:
                differ = ", ".join(f"{k} {target[key].get(k, '-')} vs {entry.get(k, '-')}"
                                   for k in ("label", "sex", "age") if target[key].get(k) != entry.get(k))
                findings.add(path, f"rows {first} and {row}: {what} {key!r} listed twice and they disagree "
                                   f"({differ}); neither is used")
                del target[key]
                conflicted.add((what, key))
        else:
            target[key] = entry
            first_row[(what, key)] = row
    return by_patient, by_file


def _label_entry(rec, path: Path, where: str, findings) -> dict | None:
    entry: dict = {}
    raw = str(rec.get("class", "")).strip()
    if raw:
        cls = parse_class(raw)
        if cls is None:
            findings.add(path, f"{where}: class {raw!r} is not one of {', '.join(CLASSES)}")
            return None
        entry["label"] = cls
    sex = str(rec.get("sex", "")).strip().upper()[:1]
    if sex:
        if sex not in ("F", "M"):
            findings.add(path, f"{where}: sex {rec.get('sex')!r} is not F or M")
            return None
        entry["sex"] = sex
    age = str(rec.get("age", "")).strip()
    if age:
        try:
            entry["age"] = float(age)
        except ValueError:
            findings.add(path, f"{where}: age {age!r} is not a number")
            return None
    return entry


def read_views(data_dir: Path, findings) -> dict[str, str]:
    """File key -> view, from views.csv (empty when there is none)."""
    path = data_dir / VIEWS_CSV
    df = _read_csv(path, findings)
    if df is None:
        return {}
    if not {"file", "view"} <= set(df.columns):
        findings.add(path, f"needs columns 'file' and 'view'; has {', '.join(df.columns)}")
        return {}
    out: dict[str, str] = {}
    for i, rec in df.iterrows():
        where, key = f"row {i + 2}", _file_key(rec["file"])
        view = parse_view(rec["view"])
        if not key:
            findings.add(path, f"{where}: empty file")
        elif view is None:
            findings.add(path, f"{where}: view {rec['view']!r} is not one of {', '.join(VIEWS)}")
        elif key in out:
            findings.add(path, f"{where}: file {key!r} listed twice")
        else:
            out[key] = view
    return out


def match_files(table: dict[str, object], images: list[str], csv_path: Path, findings) -> dict[str, object]:
    """The entries of ``table`` (keyed by a relative path or a bare file name) per image (relative
    path). A key that names no image is a warning; one that names several is a problem."""
    names: dict[str, list[str]] = {}
    for rel in images:
        names.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)
    known = set(images)
    out: dict[str, object] = {}
    for key, value in table.items():
        if key in known:
            out[key] = value
        elif len(names.get(key, [])) == 1:
            out.setdefault(names[key][0], value)
        elif key in names:
            findings.add(csv_path, f"{key!r} names {len(names[key])} images ({', '.join(names[key][:3])}); "
                                   "give its path relative to the folder")
        else:
            findings.warn(csv_path, f"{key!r}: no such image in the folder (row ignored)")
    return out
