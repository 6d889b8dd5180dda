"""The whole book on a user's folder (issue 17, acceptance 7): pydicom's two real GE whole-body scans
(no view, no annotation: view 'unknown', 'unlabelled') beside ten patients of a synthetic cohort copied
in without its marker. Every chapter executes, the HTML builds, and no name, ID or date of any header
reaches a page.

The book is built in a copy of the book's skeleton under tmp_path, so the checkout's book/executed and
book/_build (what `make test` renders and test_book_render.py checks) are left as they are."""
from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from conftest import GE_SCANS, copy_pydicom, run_cmd

from dspic_lib.chapters import build as book
from dspic_lib.data import phantom

HEADER_FIELDS = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "SeriesDate", "AcquisitionDate",
                 "ContentDate", "InstitutionName", "ReferringPhysicianName", "OtherPatientIDs")


def _user_folder(tmp_path: Path) -> Path:
    folder = copy_pydicom(GE_SCANS, tmp_path / "scans")
    syn = phantom.generate(tmp_path / "syn", phantom.PhantomConfig(n_patients=10, seed=0), workers=1,
                           progress=False)
    for patient in sorted(p for p in syn.iterdir() if p.is_dir()):
        shutil.copytree(patient, folder / patient.name)      # patients only: no marker, a user's folder
    return folder


def _header_values(folder: Path) -> set[str]:
    """Every name, ID and date the headers hold (dates also as 2004-08-26), to be looked for in the pages."""
    values = set()
    for path in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for field in HEADER_FIELDS:
            value = str(ds.get(field, "") or "").strip()
            if len(value) < 4:
                continue
            values.add(value)
            values.update(part for part in value.split("^") if len(part) >= 4)
            if field.endswith("Date") and len(value) == 8 and value.isdigit():
                values.add(f"{value[:4]}-{value[4:6]}-{value[6:]}")
    return values


def _book_skeleton(root: Path, dest: Path) -> Path:
    """What Jupyter Book needs besides the executed chapters: config, contents, intro and what it links to."""
    (dest / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "CITATION.cff"):
        shutil.copy(root / name, dest / name)
    for name in ("intro.md", "references.bib"):
        shutil.copy(root / "book" / name, dest / "book" / name)
    for name in ("_ext", "_static"):
        shutil.copytree(root / "book" / name, dest / "book" / name)
    return dest


@pytest.mark.slow     # the smoke book, every chapter, on a 12-patient folder: about 4 minutes
def test_the_book_on_a_user_folder_builds_and_shows_no_header_name(tmp_path, root):
    folder = _user_folder(tmp_path)
    values = _header_values(folder)
    assert {"CompressedSamples^NM1", "8NM1", "SYN0001"} <= values             # the check has something to find
    skeleton = _book_skeleton(root, tmp_path / "book-root")
    proc = run_cmd(["dspic", "book", "--profile", "smoke", "--data-dir", str(folder), "--no-html",
                    "--executed", str(skeleton / "book" / "executed"), "--results-dir", str(tmp_path / "res")],
                   env={"DSPIC_HOME": str(tmp_path / "home")}, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    book.build_html(root=skeleton)
    html = skeleton / "book" / "_build" / "html"
    pages = sorted(html.rglob("*.html")) + [html / "searchindex.js"]
    assert len([p for p in pages if "executed" in str(p)]) == len(book.chapter_sources())   # every chapter
    found = {(p.relative_to(html).as_posix(), v) for p in pages for v in values if v in p.read_text(errors="replace")}
    assert not found, f"header values on the pages: {sorted(found)}"
    downloads = sorted((html / "_sources").rglob("*.ipynb"))
    assert downloads and not [p for p in downloads if str(folder) in p.read_text()], "the folder's path is downloadable"
    dataset = (html / "book" / "executed" / "01_dataset.html").read_text()
    assert "unlabelled" in dataset
