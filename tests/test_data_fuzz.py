"""Property tests: whatever bytes the readers are fed, only DataError (the documented exception) comes out."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import RLELossless

from dspic_lib.data import dicom, labelme
from dspic_lib.data.cohort import scan
from dspic_lib.errors import DataError

PATIENT = dicom.PatientInfo(patient_id="F0001", name="FUZZ^ONE", sex="M", age=70, study_date="20180505")
SHAPE = (32, 16)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    a, p = (rng.poisson(30, SHAPE).astype(np.uint16) for _ in range(2))
    with tempfile.TemporaryDirectory() as tmp:
        out = {}
        out["single"] = dicom.write_nm(Path(tmp) / "s.dcm", [("anterior", a)], PATIENT, uid_seed="s").read_bytes()
        out["two-frame"] = dicom.write_nm(Path(tmp) / "m.dcm", [("anterior", a), ("posterior", p)], PATIENT,
                                          uid_seed="m").read_bytes()
        ds = dicom.build_nm_dataset([("posterior", p)], PATIENT, uid_seed="r")
        ds.compress(RLELossless)
        ds.save_as(Path(tmp) / "r.dcm", enforce_file_format=True)
        out["rle"] = (Path(tmp) / "r.dcm").read_bytes()
    return out


VALID = _valid_files()
LABELME = json.dumps(labelme.to_labelme([labelme.Lesion("metastasis", "rib", "rectangle", ((1, 2), (5, 6)))],
                                        image_path="a.dcm", height=SHAPE[0], width=SHAPE[1])).encode()


def _read_only_data_errors(path: Path) -> None:
    try:
        info, images = dicom.read_nm(path, shape=SHAPE)
    except DataError as err:
        assert str(err).startswith(path.name + ":"), str(err)    # the message names the file
        return
    # when a damaged file still reads, what comes out is well-formed
    assert 1 <= len(images) <= 2 and all(im.pixels.shape == SHAPE for im in images)
    assert all(np.isfinite(im.pixels).all() and im.pixels.min() >= 0 for im in images)


def test_the_valid_files_are_valid(tmp_path):
    """The files the fuzzers damage read back as written: their views and their counts, exactly."""
    rng = np.random.default_rng(0)                       # the draws of _valid_files
    a, p = (rng.poisson(30, SHAPE).astype(np.uint16) for _ in range(2))
    written = {"single": [("anterior", a)], "two-frame": [("anterior", a), ("posterior", p)],
               "rle": [("posterior", p)]}
    assert set(VALID) == set(written)
    for name, data in VALID.items():
        path = tmp_path / f"{name}.dcm"
        path.write_bytes(data)
        _, images = dicom.read_nm(path, shape=SHAPE)
        assert [im.view for im in images] == [view for view, _ in written[name]], name
        for im, (_, counts) in zip(images, written[name]):
            np.testing.assert_array_equal(im.pixels, counts.astype(np.float32), err_msg=name)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "random.dcm"
    path.write_bytes(data)
    _read_only_data_errors(path)


@FUZZ
@given(which=st.sampled_from(sorted(VALID)), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=12),
       mode=st.sampled_from(["flip", "truncate", "both", "insert"]))
def test_corrupted_valid_files(tmp_path, which, cut, flips, mode):
    data = bytearray(VALID[which])
    if mode in ("flip", "both"):
        for where, value in flips:
            data[min(int(where * len(data)), len(data) - 1)] = value
    if mode in ("truncate", "both"):
        data = data[: int(cut * len(data))]
    if mode == "insert":
        at = int(cut * len(data))
        data[at:at] = bytes(v for _, v in flips)
    path = tmp_path / "damaged.dcm"
    path.write_bytes(bytes(data))
    _read_only_data_errors(path)


@FUZZ
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode)),
       mode=st.sampled_from(["raw", "corrupt-valid"]), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                                       max_size=6))
def test_labelme_reader(tmp_path, data, mode, flips):
    if mode == "corrupt-valid":
        buf = bytearray(LABELME)
        for where, value in flips:
            buf[min(int(where * len(buf)), len(buf) - 1)] = value
        data = bytes(buf)
    path = tmp_path / "a.json"
    path.write_bytes(data)
    try:
        labelme.read_labelme(path, data_dir=tmp_path, image_shape=SHAPE, image_name="a.dcm")
    except DataError as err:
        assert str(err).startswith("a.json:")


@FUZZ
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                            st.sampled_from(["shapes", "label", "points", "shape_type", "imagePath",
                                             "imageHeight", "imageWidth", "x"]), kids, max_size=5),
                        max_leaves=20))
def test_labelme_reader_with_arbitrary_json_structures(tmp_path, doc):
    path = tmp_path / "a.json"
    try:
        path.write_text(json.dumps(doc, allow_nan=True))
    except (ValueError, OverflowError):
        return
    try:
        labelme.read_labelme(path, data_dir=tmp_path, image_shape=SHAPE)
    except DataError as err:
        assert str(err).startswith("a.json:")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(sorted(VALID)), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                             min_size=1, max_size=8))
def test_scan_turns_every_damaged_file_into_a_problem_row(tmp_path, which, flips):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "good.dcm").write_bytes(VALID["single"])
    data = bytearray(VALID[which])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    (folder / "bad.dcm").write_bytes(bytes(data))
    c = scan(folder, shape=SHAPE)
    assert len(c.table) + len(c.problems) >= 1
    assert set(c.problems["file"]) <= {"good.dcm", "bad.dcm"}
    # every file is in the table, a problem, or a warning (an exact copy of the other one is dropped)
    for name in os.listdir(folder):
        assert name in set(c.table["path"]) | set(c.problems["file"]) | set(c.warnings["file"])
    assert set(c.table["view"]) <= {"anterior", "posterior", "unknown"}


def test_property_tests_can_fail(tmp_path, monkeypatch):
    # a reader that leaked a foreign exception would be caught by the same check
    def leaky(path, shape=None):
        raise KeyError("leak")

    monkeypatch.setattr(dicom, "read_nm", leaky)
    (tmp_path / "x.dcm").write_bytes(VALID["single"])
    with pytest.raises(KeyError):
        _read_only_data_errors(tmp_path / "x.dcm")
