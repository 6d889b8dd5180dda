"""Scanning a folder into the cohort table: contract, problems table, strict mode, CLI, ensure_cohort."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

from dspic_lib import cli
from dspic_lib.config import get_profile
from dspic_lib.data import cohort as cohort_mod
from dspic_lib.data import dicom, phantom
from dspic_lib.data.cohort import load_all, load_pixels, scan
from dspic_lib.data.labelme import Lesion
from dspic_lib.errors import DataError
from dspic_lib.pipeline.datadir import ensure_cohort


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Four synthetic patients (one of each class; the fourth as one two-frame file)."""
    out = tmp_path_factory.mktemp("tiny") / "cohort"
    phantom.generate(out, phantom.PhantomConfig(n_patients=4, seed=3), profile="test", workers=1, progress=False)
    return out


@pytest.fixture
def copy(tiny, tmp_path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(tiny, dst)
    return dst


def test_table_follows_the_contract(tiny):
    c = scan(tiny)
    t = c.table
    for col in ["patient", "view", "path", "frame", "label", "sex", "age", "lesions", "n_lesions"]:
        assert col in t.columns
    assert len(t) == 8 and c.problems.empty and list(c.problems.columns) == ["file", "problem"]
    assert c.data_dir == tiny and c.synthetic
    assert set(t["view"]) == {"anterior", "posterior"} and t.groupby("patient").size().eq(2).all()
    assert sorted(t["label"].unique()) == ["A", "M", "M&A", "N"]
    assert set(t["frame"]) == {0, 1}                       # the two-frame file is there
    assert all(isinstance(les, Lesion) for row in t["lesions"] for les in row)
    assert (t["n_lesions"] == t["lesions"].map(len)).all()
    assert (t.loc[t["label"] == "N", "n_lesions"] == 0).all() and (t.loc[t["label"] != "N", "n_lesions"] > 0).all()
    # labels, sex and age agree with what the generator planned
    plans = {p.patient_id: p for p in phantom.plan_cohort(phantom.PhantomConfig(n_patients=4, seed=3))}
    for row in t.itertuples():
        plan = plans[Path(row.path).parent.name]
        assert (row.label, row.sex, row.age) == (plan.label, plan.sex, plan.age)
    # the table never shows a header PatientID
    assert not t["patient"].str.contains("SYN").any()
    summary = c.summary()
    assert summary.loc["total", "images"] == 8 and summary.loc["total", "patients"] == 4


def test_load_pixels_and_load_all_give_the_raw_counts(tiny):
    c = scan(tiny)
    arr = load_all(c, progress=False)
    assert arr.shape == (8, 1024, 256) and arr.dtype == np.float32
    for i, row in c.table.iterrows():
        expected = dicom.read_frame(tiny / row["path"], row["frame"])
        np.testing.assert_array_equal(arr[i], expected)
        np.testing.assert_array_equal(load_pixels(c, row), expected)
    np.testing.assert_array_equal(load_pixels(tiny, c.table.iloc[3]), arr[3])
    np.testing.assert_array_equal(load_pixels(c, 5), arr[5])
    assert float(arr[0].max()) == c.table.loc[0, "max_count"]


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no DICOM files"):
        scan(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        scan(tmp_path / "missing")


def test_bad_file_is_a_problem_and_nothing_else_is_lost(copy):
    (copy / "SYN0001" / "SYN0001_anterior.dcm").write_bytes(b"not dicom at all")
    c = scan(copy)
    assert len(c.table) == 7
    assert c.problems.to_dict("records") == [
        {"file": "SYN0001/SYN0001_anterior.dcm",
         "problem": "not a DICOM file (no 'DICM' preamble and no readable header)"},
        {"file": "SYN0001/SYN0001_anterior.json",
         "problem": "annotation with no image beside it (expected X.dcm for X.json, or X.dcm with two frames "
                    "for X_anterior.json / X_posterior.json)"}]
    with pytest.raises(DataError, match=r"SYN0001/SYN0001_anterior\.dcm: not a DICOM file"):
        scan(copy, strict=True)


def test_bad_annotation_leaves_out_its_image_only(copy):
    path = copy / "SYN0002" / "SYN0002_posterior.json"
    doc = json.loads(path.read_text())
    doc["shapes"] = [{"label": "fracture:rib", "points": [[1, 1], [5, 5]], "shape_type": "rectangle"}]
    path.write_text(json.dumps(doc))
    c = scan(copy)
    assert len(c.table) == 7
    assert c.problems["file"].tolist() == ["SYN0002/SYN0002_posterior.json"]
    assert "unknown disease 'fracture'" in c.problems["problem"][0]


def test_an_exact_copy_of_a_patients_image_is_dropped_with_a_warning(copy):
    shutil.copy(copy / "SYN0001" / "SYN0001_anterior.dcm", copy / "SYN0001" / "copy_of_anterior.dcm")
    c = scan(copy)
    assert len(c.table) == 8 and c.problems.empty         # the copy is dropped, the original stays
    assert "SYN0001/copy_of_anterior.dcm" not in set(c.table["path"])
    assert c.warnings.to_dict("records") == [
        {"file": "SYN0001/copy_of_anterior.dcm",
         "warning": "same patient and same pixels as SYN0001/SYN0001_anterior.dcm: dropped as an exact copy"}]


def test_two_different_images_of_one_patient_and_view_are_both_kept_with_a_warning(copy):
    src = copy / "SYN0001" / "SYN0001_anterior.dcm"
    ds = pydicom.dcmread(src)
    px = ds.pixel_array.copy()
    px[0, 0] += 1                                         # one count more: a different acquisition
    ds.PixelData = px.tobytes()
    ds.save_as(copy / "SYN0001" / "repeat.dcm")
    c = scan(copy)
    assert len(c.table) == 9 and c.problems.empty
    assert {"SYN0001/SYN0001_anterior.dcm", "SYN0001/repeat.dcm"} <= set(c.table["path"])
    assert sorted(c.warnings["file"]) == ["SYN0001/SYN0001_anterior.dcm", "SYN0001/repeat.dcm"]
    assert c.warnings["warning"].str.contains("same patient and anterior view as .*different pixels: both kept").all()
    assert (c.table.loc[c.table["path"] == "SYN0001/repeat.dcm", "label"] == "unlabelled").all()


def test_labels_csv_gives_class_sex_age_and_disagreements_are_reported(copy):
    for js in (copy / "SYN0001").glob("*.json"):
        js.unlink()                                  # no annotations: class from labels.csv
    plans = {p.patient_id: p for p in phantom.plan_cohort(phantom.PhantomConfig(n_patients=4, seed=3))}
    other = next(pid for pid, p in plans.items() if pid != "SYN0001" and p.label != "A")
    pd.DataFrame({"patient": ["SYN0001", other], "class": ["M", "A"], "sex": ["F", "M"], "age": [33, 44]}) \
        .to_csv(copy / "labels.csv", index=False)
    c = scan(copy)
    t = c.table.set_index("path")
    row = t.loc["SYN0001/SYN0001_anterior.dcm"]
    assert (row["label"], row["label_source"], row["sex"], row["age"]) == ("M", "labels.csv", "F", 33.0)
    assert len(c.problems) == 2 and c.problems["problem"].str.contains("labels.csv says A").all()


def test_cli_scan_prints_the_summary_and_exits_1_on_problems(tiny, copy, capsys):
    assert cli.main(["data", "scan", str(tiny)]) == 0
    out = capsys.readouterr().out
    assert "synthetic cohort" in out and "no problems" in out and "M&A" in out
    (copy / "SYN0003" / "SYN0003_posterior.dcm").write_bytes(b"\0" * 10)
    assert cli.main(["data", "scan", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "SYN0003/SYN0003_posterior.dcm" in out and "problems" in out
    assert cli.main(["data", "scan", "--strict", str(copy)]) == 1
    assert "SYN0003_posterior.dcm: not a DICOM file" in capsys.readouterr().err


def test_cli_synth_writes_a_cohort(tmp_path, capsys):
    out = tmp_path / "syn"
    assert cli.main(["data", "synth", "--out", str(out), "--n-patients", "2", "--seed", "5", "--workers", "1"]) == 0
    marker = phantom.read_marker(out)
    assert marker["seed"] == 5 and marker["parameters"]["n_patients"] == 2
    assert len(scan(out).table) == 4
    assert cli.main(["data", "synth", "--out", str(out), "--n-patients", "2"]) == 1   # never overwrites
    assert "not empty" in capsys.readouterr().err


def test_ensure_cohort_never_writes_into_a_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DSPIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DSPIC_DATA", raising=False)
    missing = tmp_path / "my_scans"
    with pytest.raises(DataError, match=r"my_scans: data folder does not exist.*never created"):
        ensure_cohort("smoke", missing)
    assert not missing.exists()
    monkeypatch.setenv("DSPIC_DATA", str(missing))
    with pytest.raises(DataError, match="data folder does not exist"):
        ensure_cohort("smoke")
    assert not missing.exists()
    missing.mkdir()
    assert ensure_cohort("smoke") == missing and not any(missing.iterdir())


def test_ensure_cohort_generates_the_default_synthetic_cohort_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DSPIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DSPIC_DATA", raising=False)
    prof = get_profile("smoke", n_patients=2)
    folder = ensure_cohort(prof)
    assert folder == tmp_path / "home" / "data" / "synthetic-smoke-seed0"
    marker = phantom.read_marker(folder)
    assert marker["profile"] == "smoke" and marker["n_patients"] == 2
    stamp = (folder / cohort_mod.phantom.marker_name()).stat().st_mtime_ns
    assert ensure_cohort(prof, str(folder)) == folder
    assert (folder / phantom.marker_name()).stat().st_mtime_ns == stamp     # not generated again


def test_round_trip_write_then_scan_gives_identical_pixels_view_patient_and_boxes(tmp_path):
    from dspic_lib.data import labelme
    from dspic_lib.data.cohort import pseudonym

    rng = np.random.default_rng(7)
    ant, post = (rng.poisson(25, (1024, 256)).astype(np.uint16) for _ in range(2))
    info = dicom.PatientInfo(patient_id="RT-42", name="ROUND^TRIP", sex="M", age=70, study_date="20180909")
    les_a = [Lesion("metastasis", "vertebra", "rectangle", ((120.5, 300.0), (131.0, 311.5)))]
    les_p = [Lesion("metastasis", "vertebra", "polygon", ((125.0, 300.0), (136.0, 302.0), (130.0, 311.5)))]
    dicom.write_nm(tmp_path / "wb.dcm", [("posterior", post), ("anterior", ant)], info, uid_seed="rt")
    labelme.write_labelme(tmp_path / "wb_anterior.json", les_a, image_path="wb.dcm", height=1024, width=256)
    labelme.write_labelme(tmp_path / "wb_posterior.json", les_p, image_path="wb.dcm", height=1024, width=256)
    c = scan(tmp_path)
    assert c.problems.empty and len(c.table) == 2
    for row in c.table.itertuples():
        assert row.patient == pseudonym("RT-42") and (row.sex, row.age) == ("M", 70.0)
        expected_px, expected_les = (ant, les_a) if row.view == "anterior" else (post, les_p)
        np.testing.assert_array_equal(load_pixels(c, row._asdict()), expected_px)
        assert row.lesions == expected_les and [x.box for x in row.lesions] == [x.box for x in expected_les]
        assert row.label == "M"
