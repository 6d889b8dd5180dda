"""Real DICOM as a PACS exports it: pydicom's two real GE whole-body scans (no view code, no label)
and its corrupt twin; views.csv, --view, per-file labels.csv; unlabelled images are never taken as N."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORRUPT, GE_SCANS, copy_pydicom

from dspic_lib import cli
from dspic_lib.chapters import cohort_report as report
from dspic_lib.config import get_profile
from dspic_lib.data import dicom, phantom
from dspic_lib.data.cohort import Cohort, scan
from dspic_lib.errors import DataError, DataWarning
from dspic_lib.pipeline import datasets, lineage, split
from dspic_lib.vocab import UNKNOWN_VIEW, UNLABELLED


@pytest.fixture
def ge_folder(tmp_path) -> Path:
    """A folder holding copies of pydicom's real GE scans and the corrupt one (never downloaded)."""
    return copy_pydicom((*GE_SCANS, CORRUPT), tmp_path / "pacs")


def test_the_real_ge_scans_are_read_with_unknown_view_and_unlabelled_and_the_corrupt_one_is_named(ge_folder):
    c = scan(ge_folder)
    t = c.table.set_index("path")
    assert sorted(t.index) == sorted(GE_SCANS)
    assert (t["view"] == UNKNOWN_VIEW).all() and (t["label"] == UNLABELLED).all()
    assert (t["label_source"] == "none").all() and t["patient"].nunique() == 1     # one patient, 8NM1
    assert (t["rows"] == 1024).all() and (t["cols"] == 256).all() and t["age"].isna().all()
    assert c.problems["file"].tolist() == [CORRUPT]
    assert c.problems["problem"][0].startswith("corrupt compressed pixel data (JPEG Extended")
    # each unknown view is a warning naming its file; different pixels of one patient are not copies
    assert sorted(c.warnings["file"]) == sorted(GE_SCANS)
    assert c.warnings["warning"].str.startswith("view unknown").all()
    summary = c.summary()
    assert summary.loc["unlabelled", "view unknown"] == 2 and summary.loc["N", "images"] == 0
    assert summary.loc["total", ["anterior", "posterior"]].sum() == 0
    assert not t["patient"].str.contains("8NM1").any()


def test_cli_scan_of_the_real_ge_scans_reports_unlabelled_unknown_views_and_the_corrupt_file(ge_folder, capsys):
    assert cli.main(["data", "scan", str(ge_folder)]) == 1            # a problem: the corrupt file
    out = capsys.readouterr().out
    assert "2 images of 1 patients" in out and "view unknown" in out
    assert "2 images unlabelled" in out and "never taken as normal" in out
    assert "JPGExtended.dcm: view unknown" in out and "JPEG2000.dcm: view unknown" in out
    assert "1 problem (these files were left out):" in out
    assert "JPEG-lossy.dcm: corrupt compressed pixel data (JPEG Extended" in out
    assert "8NM1" not in out and "CompressedSamples" not in out


def test_view_option_gives_the_view_and_two_different_scans_of_one_view_are_both_kept(ge_folder, capsys):
    c = scan(ge_folder, view="anterior")
    assert (c.table["view"] == "anterior").all() and len(c.table) == 2
    assert c.warnings["warning"].str.contains("same patient and anterior view as .* both kept").all()
    assert cli.main(["data", "scan", "--view", "posterior", str(ge_folder)]) == 1
    out = capsys.readouterr().out
    assert "view unknown" not in out and "posterior view as" in out


def test_views_csv_and_a_per_file_labels_csv(ge_folder):
    pd.DataFrame({"file": ["JPGExtended.dcm", "JPEG2000.dcm", "gone.dcm"],
                  "view": ["ANT", "posterior", "anterior"]}).to_csv(ge_folder / "views.csv", index=False)
    pd.DataFrame({"file": ["JPGExtended.dcm"], "label": ["M&A"]}).to_csv(ge_folder / "labels.csv", index=False)
    c = scan(ge_folder, view="anterior")          # views.csv comes before --view
    t = c.table.set_index("path")
    assert t.loc["JPGExtended.dcm", "view"] == "anterior" and t.loc["JPEG2000.dcm", "view"] == "posterior"
    assert (t.loc["JPGExtended.dcm", "label"], t.loc["JPGExtended.dcm", "label_source"]) == ("M&A", "labels.csv")
    assert t.loc["JPEG2000.dcm", "label"] == UNLABELLED
    assert c.warnings.to_dict("records") == [
        {"file": "views.csv", "warning": "'gone.dcm': no such image in the folder (row ignored)"}]


def test_the_header_view_wins_over_views_csv_with_a_warning(tmp_path):
    info = dicom.PatientInfo(patient_id="V1", name="VIEW^TEST", sex="F", age=50, study_date="20200101")
    rng = np.random.default_rng(1)
    dicom.write_nm(tmp_path / "a.dcm", [("anterior", rng.poisson(20, (64, 32)))], info, uid_seed="a")
    other = dicom.PatientInfo(patient_id="V2", name="VIEW^TWO", sex="M", age=60, study_date="20200101")
    dicom.write_nm(tmp_path / "wb.dcm", [("anterior", rng.poisson(20, (64, 32))),
                                          ("posterior", rng.poisson(20, (64, 32)))], other, uid_seed="wb")
    (tmp_path / "views.csv").write_text("file,view\na.dcm,posterior\nwb.dcm,anterior\n")
    c = scan(tmp_path, shape=None)
    assert set(zip(c.table["path"], c.table["view"])) == {
        ("a.dcm", "anterior"), ("wb.dcm", "anterior"), ("wb.dcm", "posterior")}
    assert c.warnings["file"].tolist() == ["views.csv", "views.csv"]
    assert "a.dcm: views.csv says posterior, the header (view code) says anterior" in c.warnings["warning"][0]
    assert "wb.dcm: ignored, a two-frame file's views come from its detectors" in c.warnings["warning"][1]
    # a bad row is a problem of the CSV, and the rest of it is used
    (tmp_path / "views.csv").write_text("file,view\na.dcm,lateral\n")
    assert "view 'lateral' is not one of anterior, posterior" in scan(tmp_path, shape=None).problems["problem"][0]


def test_a_bare_name_in_labels_csv_that_names_two_images_is_a_problem(tmp_path):
    rng = np.random.default_rng(2)
    for sub in ("x", "y"):
        info = dicom.PatientInfo(patient_id=f"L-{sub}", name="LAB^TEST", sex="F", age=50, study_date="20200101")
        dicom.write_nm(tmp_path / sub / "ant.dcm", [("anterior", rng.poisson(20, (64, 32)))], info, uid_seed=sub)
    (tmp_path / "labels.csv").write_text("file,label\nant.dcm,N\ny/ant.dcm,M\n")
    c = scan(tmp_path, shape=None)
    t = c.table.set_index("path")
    assert t.loc["y/ant.dcm", "label"] == "M" and t.loc["x/ant.dcm", "label"] == UNLABELLED
    assert c.problems.to_dict("records") == [
        {"file": "labels.csv", "problem": "'ant.dcm' names 2 images (x/ant.dcm, y/ant.dcm); give its path "
                                          "relative to the folder"}]


# ------------------------------------------------------------------------ downstream of the table
@pytest.fixture
def mixed(ge_folder, tmp_path) -> Path:
    """The real GE scans (unlabelled) beside two synthetic patients (labelled by their annotations)."""
    (ge_folder / CORRUPT).unlink()
    phantom.generate(ge_folder / "syn", phantom.PhantomConfig(n_patients=2, seed=1), workers=1, progress=False)
    return ge_folder


def test_unlabelled_images_never_reach_d1_and_are_never_counted_as_n(mixed, tmp_path):
    prof = get_profile("smoke")
    with pytest.warns(DataWarning, match=r"2 of 6 images have no label .* left out of D1.* never taken as N"):
        cohort, d1 = lineage.cohort_and_d1(prof, mixed, results_dir=tmp_path / "res")
    # the cohort returned beside D1 is its labelled part, row for row; the unlabelled rows are kept apart
    assert len(cohort.table) == len(d1) == 4 and list(d1.meta["patient"]) == list(cohort.table["patient"])
    assert len(cohort.left_out) == 2 and (cohort.left_out["label"] == UNLABELLED).all()
    assert len(cohort.all_rows()) == 6
    assert UNLABELLED not in set(d1.labels) and d1.X.shape[1:3] == (prof.rows, prof.cols)
    assert d1.counts()["N"] == int((cohort.table["label"] == "N").sum())   # the unlabelled did not become N
    assert report.class_counts(cohort).loc["unlabelled", "images (this run)"] == 2
    with pytest.raises(DataError, match="2 unlabelled images cannot be split"):
        split.patient_split(cohort.all_rows())
    assert split.patient_table(cohort.table)["label"].isin(["N", "M", "A", "M&A"]).all()
    with pytest.raises(DataError, match="unknown class label 'unlabelled'"):
        datasets.targets_for(["N", UNLABELLED])


def test_a_folder_of_nothing_but_unlabelled_scans_gives_an_empty_d1_with_a_warning(ge_folder, tmp_path):
    (ge_folder / CORRUPT).unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, d1 = lineage.cohort_and_d1(get_profile("smoke"), ge_folder, results_dir=tmp_path / "res")
    assert len(d1) == 0 and any(issubclass(w.category, DataWarning) for w in caught)


def test_a_binary_cohort_keeps_its_labelled_images_for_d1_and_the_split_stratifies_its_classes():
    table = pd.DataFrame({"patient": ["P1", "P2", "P3"], "view": ["anterior"] * 3,
                          "label": ["normal", "abnormal", UNLABELLED]})
    cohort = Cohort(data_dir=Path("bs"), table=table, problems=pd.DataFrame(columns=["file", "problem"]),
                    task="binary", layout="bs80k")
    with pytest.warns(DataWarning, match="1 of 3 images have no label"):
        assert datasets.trainable_rows(cohort).tolist() == [0, 1]
    np.testing.assert_array_equal(datasets.targets_for(["normal", "abnormal"]), [[1, 0], [0, 1]])
    patients = split.patient_table(table.iloc[:2])         # normal / abnormal are strata of their own
    assert dict(zip(patients["patient"], patients["label"])) == {"P1": "normal", "P2": "abnormal"}
    with pytest.raises(DataError, match="unknown class labels"):     # anything else is still refused
        split.patient_table(table.iloc[:2].assign(label=["normal", "metastatic?"]))
