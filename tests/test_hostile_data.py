"""Issue 25 (items 1, 2, 4, 7a) and issue 22: hostile input on the data side, one test per case."""
from __future__ import annotations

import ast
import gzip
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import GE_SCANS, copy_pydicom
from PIL import Image

from dspic_lib import cli
from dspic_lib.data import cohort as cohort_mod
from dspic_lib.data import dicom, public
from dspic_lib.data.cohort import scan, walk
from dspic_lib.errors import DataError

PATIENT = dicom.PatientInfo(patient_id="HOSTILE01", name="DOE^JANE", sex="F", age=61, study_date="20190312")
SMALL = (64, 32)


def counts(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(40, SMALL).astype(np.uint16)


# ------------------------------------------------------------------- item 1: identifiers in messages
def test_a_long_modality_is_quoted_short_and_printable(tmp_path):
    ds = dicom.build_nm_dataset([("anterior", counts(0))], PATIENT, uid_seed="m")
    ds.Modality = "NM\x08\x00d\x00CS DOE^JANE HOSTILE01 20190312"     # what a damaged length reads
    path = tmp_path / "m.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(DataError) as err:
        dicom.read_nm(path, shape=None)
    message = str(err.value)
    assert message == "m.dcm: expected a nuclear-medicine (NM) image, got modality 'NM...'"
    for secret in ("DOE", "JANE", "HOSTILE01", "20190312"):
        assert secret not in message


@pytest.mark.parametrize("value, expected", [
    ("NM", "'NM'"), ("x" * 40, "'" + "x" * 16 + "...'"), (b"NM\x00\xff", "'NM...'"), ([1, 2, 3], "'[1, 2, 3]'"),
    ("CT\x08\x00p\x00LO\x12\x00GE", "'CT...'"), ("", "''")])
def test_shown_is_printable_and_capped(value, expected):
    assert dicom.shown(value) == expected


def test_library_exception_text_loses_its_quoted_values():
    err = ValueError("Invalid value for VR PN: 'DOE^JANE' at \"HOSTILE01\"")
    assert dicom.library_text(err) == "ValueError: Invalid value for VR PN: '...' at '...'"


def test_a_jpeg2000_stream_larger_than_its_header_is_refused_before_decoding(tmp_path):
    """One flipped bit in the SIZ marker of the GE JPEG 2000 scan made openjpeg allocate ~15 GB."""
    path = copy_pydicom(GE_SCANS[1:], tmp_path) / GE_SCANS[1]
    data = bytearray(path.read_bytes())
    siz = data.index(b"\xff\x51")                      # Xsiz = 4 bytes after marker, length, Rsiz
    width = int.from_bytes(data[siz + 6: siz + 10], "big")
    assert width == 256
    data[siz + 6: siz + 10] = (256 + (1 << 23)).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"JPEG2000\.dcm: corrupt compressed pixel data: frame 0's stream "
                                        r"says 1024 x 8388864, the header 1024 x 256 \(not decoded\)"):
        dicom.read_nm(path)


# ------------------------------------------------------------------------ item 2: silent mislabels
@pytest.mark.parametrize("name", ["NotNormal", "not_normal", "Non-Normal", "Metastatic_not_excluded",
                                  "Abnormal_NoMets", "normal_or_not", "Maybe"])
def test_folder_names_outside_the_table_are_not_read_as_a_class(name):
    assert public.folder_class(name) is None


@pytest.mark.parametrize("name, expected", [("AbNormal", "abnormal"), ("NORMAL", "normal"),
                                            ("Metastasis No", "normal"), ("metastasis-yes", "abnormal")])
def test_folder_names_in_the_table_ignore_case_spaces_and_dashes(name, expected):
    assert public.folder_class(name) == expected


def test_a_png_folder_with_a_negated_name_is_a_problem_and_its_images_left_out(tmp_path):
    for cls in ("Normal", "not_normal"):
        for view, letter in (("Anterior", "A"), ("Posterior", "P")):
            path = tmp_path / cls / view / f"{letter}1.png"
            path.parent.mkdir(parents=True)
            Image.fromarray((counts(len(cls) + len(view)) * 50).astype(np.uint16)).save(path)
    c = scan(tmp_path, layout="png-folders", shape=None)
    assert c.problems["file"].tolist() == ["not_normal"]
    assert c.problems["problem"][0].startswith("class folder 'not_normal' is not a known name")
    assert set(c.table["path"].str.split("/").str[0]) == {"Normal"} and (c.table["label"] == "normal").all()


@pytest.fixture
def ge_pair(tmp_path) -> Path:
    """The two real GE scans (one patient, 8NM1), each given a view by its name."""
    folder = copy_pydicom(GE_SCANS, tmp_path / "ge")
    (folder / GE_SCANS[0]).rename(folder / "ant.dcm")
    (folder / GE_SCANS[1]).rename(folder / "post.dcm")
    return folder


def test_conflicting_labels_csv_rows_are_a_problem_naming_both_and_neither_is_used(ge_pair):
    (ge_pair / "labels.csv").write_text("patient,class\n8NM1,M\n8NM1,A\n")
    c = scan(ge_pair)
    assert c.problems["file"].tolist() == ["labels.csv"]
    assert c.problems["problem"][0] == ("rows 2 and 3: patient '8NM1' listed twice and they disagree "
                                        "(label M vs A); neither is used")
    assert (c.table["label"] == "unlabelled").all()


def test_a_labels_csv_row_repeated_with_the_same_value_is_a_warning(ge_pair):
    (ge_pair / "labels.csv").write_text("patient,class\n8NM1,M\n8NM1,m\n")
    c = scan(ge_pair)
    assert c.problems.empty
    assert ("labels.csv", "row 3: patient '8NM1' listed twice, the same as row 2") in \
        list(c.warnings.itertuples(index=False, name=None))
    assert (c.table["label"] == "M").all()


# -------------------------------------------------------------------------- item 4: silent skips
@pytest.fixture
def odd_folder(ge_pair) -> Path:
    data = (ge_pair / "ant.dcm").read_bytes()
    (ge_pair / "gz").mkdir()
    (ge_pair / "gz" / "scan.dcm.gz").write_bytes(gzip.compress(data, mtime=0))
    (ge_pair / "cut.dcm").write_bytes(data[:300])
    (ge_pair / ".hidden.dcm").write_bytes(data)
    (ge_pair / ".git").mkdir()
    (ge_pair / ".git" / "HEAD").write_text("ref\n")
    (ge_pair / "notes.txt").write_text("from the PACS\n")
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("DICOMDIR"))
    ds.save_as(ge_pair / "DICOMDIR")
    ds.save_as(ge_pair / "index.dcm")                  # a DICOMDIR under another name
    return ge_pair


def test_walk_says_for_every_file_whether_it_is_read_skipped_or_a_problem(odd_folder):
    entries = {e.path.relative_to(odd_folder).as_posix(): (e.kind, e.reason) for e in walk(odd_folder)}
    assert entries["ant.dcm"] == ("image", "") and entries["cut.dcm"] == ("image", "")
    assert entries["gz/scan.dcm.gz"] == ("skipped", "compressed (.gz): not read; decompress it first "
                                                    "(gunzip scan.dcm.gz)")
    assert entries["DICOMDIR"][0] == "skipped" and entries["DICOMDIR"][1].startswith("DICOMDIR")
    assert entries[".hidden.dcm"] == ("skipped", "hidden file") and entries[".git"] == ("skipped", "hidden folder")
    assert entries["notes.txt"] == ("skipped", "not a scan or an annotation (.txt)")
    every_file = {p.relative_to(odd_folder).as_posix() for p in odd_folder.rglob("*")
                  if p.is_file() and ".git" not in p.parts}
    assert every_file <= set(entries)                 # nothing is passed over without a word


def test_scan_counts_the_skipped_files_and_a_cut_file_is_truncated(odd_folder, capsys):
    c = scan(odd_folder)
    problems = dict(zip(c.problems["file"], c.problems["problem"]))
    assert problems["cut.dcm"].startswith("truncated: the file ends after 300 bytes")
    assert problems["index.dcm"].startswith("a DICOMDIR (the index of a DICOM disc or folder), not an image")
    assert set(problems) == {"cut.dcm", "index.dcm"}
    assert sorted(c.skipped["file"]) == [".git", ".hidden.dcm", "DICOMDIR", "gz/scan.dcm.gz", "notes.txt"]
    assert sorted(c.table["path"]) == ["ant.dcm", "post.dcm"]
    assert cli.main(["data", "scan", str(odd_folder)]) == 1
    out = capsys.readouterr().out
    assert "5 files skipped, not read (" in out
    assert "1 compressed" in out and "1 DICOMDIR" in out and "1 hidden file" in out and "1 hidden folder" in out
    assert "gz/scan.dcm.gz: compressed (.gz): not read; decompress it first (gunzip scan.dcm.gz)" in out


# ----------------------------------------------------------- item 7a: one JSON for a two-frame file
def test_one_json_for_a_two_frame_file_is_reported_once_on_the_json(tmp_path):
    dicom.write_nm(tmp_path / "wb.dcm", [("anterior", counts(1)), ("posterior", counts(2))], PATIENT,
                   uid_seed="wb")
    (tmp_path / "wb.json").write_text('{"shapes": [], "imagePath": "wb.dcm"}')
    dicom.write_nm(tmp_path / "other.dcm", [("anterior", counts(3))], PATIENT, uid_seed="o")
    c = scan(tmp_path, shape=None)
    assert c.problems.to_dict("records") == [{
        "file": "wb.json", "problem": "one annotation for the two-frame file wb.dcm, which holds two views: name "
                                      "them wb_anterior.json and wb_posterior.json (both views are left out "
                                      "until then)"}]
    assert c.table["path"].tolist() == ["other.dcm"]


# ---------------------------------------------------------- issue 22: no import circle, no private name
def test_public_and_cohort_share_a_module_and_no_private_name_crosses():
    data = Path(cohort_mod.__file__).parent
    for module in ("public.py", "cohort.py", "findings.py"):
        tree = ast.parse((data / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                assert not any(a.name.startswith("_") for a in node.names), (module, ast.dump(node))
                if module == "public.py":
                    assert node.module != "cohort", "public imports cohort: an import circle"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("cohort", "dicom"):
                assert not node.attr.startswith("_"), (module, node.attr)
    public_src = (data / "public.py").read_text()
    assert "from .cohort" not in public_src and "import cohort" not in public_src


def test_predicts_walk_takes_the_pictures_it_can_read_and_names_the_others(tmp_path):
    from dspic_lib.data.cohort import SKIPPED, walk

    for name in ("a.png", "b.bmp", "c.dcm", "d.JPG"):
        (tmp_path / name).write_bytes(b"x")
    kinds = {e.path.name: (e.kind, e.reason) for e in walk(tmp_path, pictures=True)}
    assert {n for n, (k, _) in kinds.items() if k == "image"} == {"a.png", "c.dcm", "d.JPG"}
    assert kinds["b.bmp"] == (SKIPPED, "picture (.bmp): only PNG and JPEG pictures are read")
