"""Hostile input on the predict / output side (issue 25, items 3, 5 and 7b).

Predictions run in process (``cli.main``), as most of tests/test_predict.py does; the model folder is
the session's smoke training of that file (its store entry is reused, so this only exports).
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import test_predict
from test_predict import cohort_files

from dspic_lib import cli
from dspic_lib.data import dicom

trained = test_predict.trained        # the fixture: the session's smoke model folder


def predict_csv(trained, *inputs, extra=(), out=None) -> tuple[int, pd.DataFrame | None]:
    args = ["predict", str(trained), *map(str, inputs), *map(str, extra)]
    if out is not None:
        args += ["--out", str(out)]
    rc = cli.main(args)
    df = pd.read_csv(out, keep_default_na=False) if out is not None and Path(out).exists() else None
    return rc, df


def picture(path: Path, seed: int) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.poisson(80, (1024, 256)).astype(np.uint16)).save(path)
    return path


def nm(path: Path, patient_id: str, view: str = "anterior", seed: int = 0) -> Path:
    counts = np.random.default_rng(seed).poisson(60, (1024, 256)).astype(np.uint16)
    dicom.write_nm(path, [(view, counts)], dicom.PatientInfo(patient_id, "DOE^J", "F", 60, "20200101"),
                   uid_seed=f"{patient_id}{seed}{view}")
    return path


# ------------------------------------------------------------------------ item 3: silent merges
def test_pictures_of_the_same_name_in_two_folders_are_two_patients(home, trained, tmp_path, capsys):
    picture(tmp_path / "in" / "siteA" / "scan.png", 1)
    picture(tmp_path / "in" / "siteB" / "scan.png", 2)
    rc, df = predict_csv(trained, tmp_path / "in", out=tmp_path / "p.csv")
    assert rc == 0, capsys.readouterr().err
    patients = df[df["level"] == "patient"]
    assert len(patients) == 2 and (patients["combined"] == "mean of 1 image").all()
    # the folder is part of the patient, the view words are not
    picture(tmp_path / "in2" / "x" / "0001_ant.png", 3)
    picture(tmp_path / "in2" / "x" / "0001_post.png", 4)
    rc, df = predict_csv(trained, tmp_path / "in2", out=tmp_path / "q.csv", extra=["--keep-ids"])
    patients = df[df["level"] == "patient"]
    assert rc == 0 and len(patients) == 1 and patients["patient_id"].iloc[0] == "x/0001"


def test_identical_copies_are_dropped_with_the_scan_warning_not_averaged(home, trained, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    nm(folder / "a_ant.dcm", "PID-1", "anterior", seed=1)
    nm(folder / "a_post.dcm", "PID-1", "posterior", seed=2)
    shutil.copy(folder / "a_ant.dcm", folder / "copy1.dcm")
    shutil.copy(folder / "a_ant.dcm", folder / "copy2.dcm")
    rc, df = predict_csv(trained, folder, out=tmp_path / "p.csv")
    err = capsys.readouterr().err
    assert rc == 0, err
    images = df[df["level"] == "image"]
    assert sorted(Path(f).name for f in images["file"]) == ["a_ant.dcm", "a_post.dcm"]
    patient = df[df["level"] == "patient"].iloc[0]
    assert patient["combined"] == "mean of 2 images"
    assert np.allclose(patient[["p_N", "p_M", "p_A"]].to_numpy(float),
                       images[["p_N", "p_M", "p_A"]].to_numpy(float).mean(0))
    for copy in ("copy1.dcm", "copy2.dcm"):        # the wording of `dspic data scan` (data/cohort.py)
        assert f"{copy}: same patient and same pixels as {folder / 'a_ant.dcm'}: dropped as an exact copy" in err
    assert "2 dropped as exact copies" in err


def test_the_same_pixels_under_another_patient_are_kept_with_the_scan_warning(home, trained, tmp_path):
    picture(tmp_path / "pics" / "one.png", 9)
    shutil.copy(tmp_path / "pics" / "one.png", tmp_path / "pics" / "two.png")
    rc, df = predict_csv(trained, tmp_path / "pics", out=tmp_path / "q.csv")
    warn = dict(zip(df["file"].map(lambda f: Path(f).name), df["warnings"]))
    assert rc == 0 and len(df[df["level"] == "patient"]) == 2
    assert f"same pixels as {tmp_path / 'pics' / 'one.png'} of another patient: kept" in warn["two.png"]


def test_files_skipped_in_a_folder_are_counted_never_silent(home, trained, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(cohort_files(home)[0], folder / "a.dcm")
    (folder / "notes.txt").write_text("x")
    (folder / "report.pdf").write_bytes(b"%PDF")
    (folder / ".hidden.dcm").write_bytes(b"x")
    (folder / "linked").symlink_to(folder, target_is_directory=True)
    rc, _ = predict_csv(trained, folder, out=tmp_path / "p.csv")
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "skipped 4 files in the input folders" in err
    assert "2 not a scan or an annotation (.pdf, .txt)" in err and "1 hidden file" in err
    assert "1 link to a folder (not followed)" in err


# ------------------------------------------------------------------------ item 5: output faults
def test_an_unwritable_out_or_explain_is_refused_before_any_prediction(home, trained, tmp_path, capsys, monkeypatch):
    from dspic_lib.predict import scans

    scan = cohort_files(home)[0]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    (tmp_path / "dir.csv").mkdir()

    def boom(*a, **k):
        raise AssertionError("predicted before checking the outputs")

    monkeypatch.setattr(scans, "predict_files", boom)
    cases = [["--out", tmp_path / "dir.csv"], ["--out", a_file / "preds.csv"],
             ["--explain", a_file], ["--explain", a_file / "cams"]]
    for extra in cases:
        assert cli.main(["predict", str(trained), str(scan), *map(str, extra)]) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("dspic predict: error: --") and str(extra[1]) in err, err
        assert "Traceback" not in err
    assert a_file.read_text() == "x"


class _DiskFull:
    """A file whose writes stop half-way with ENOSPC, as on a full disk."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def _fill_disk(monkeypatch, folder: Path) -> None:
    """Every file opened for writing in ``folder`` from now on hits a full disk half-way."""
    real_open = io.open

    def full_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        inside = not isinstance(file, int) and Path(os.fspath(file)).resolve().parent == folder.resolve()
        return _DiskFull(fh) if inside and any(m in mode for m in "wax") else fh

    monkeypatch.setattr(io, "open", full_open)
    monkeypatch.setattr(builtins, "open", full_open)


def test_a_full_disk_leaves_the_old_output_whole_and_says_so(home, trained, tmp_path, capsys, monkeypatch):
    scan = cohort_files(home)[0]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    good = "level,file\nimage,an earlier run's whole file\n"
    (out_dir / "preds.csv").write_text(good)
    _fill_disk(monkeypatch, out_dir)
    for name in ("preds.csv", "preds.json"):
        rc = cli.main(["predict", str(trained), str(scan), "--out", str(out_dir / name)])
        err = capsys.readouterr().err
        assert rc == 1 and "No space left on device" in err and str(out_dir / name) in err, err
        assert "Traceback" not in err
    monkeypatch.undo()
    assert (out_dir / "preds.csv").read_text() == good          # the old file, whole
    assert sorted(p.name for p in out_dir.iterdir()) == ["preds.csv"]     # no half file, no temporary


def test_a_full_disk_leaves_no_half_grad_cam_png(home, trained, tmp_path, capsys, monkeypatch):
    cams = tmp_path / "cams"
    cams.mkdir()
    _fill_disk(monkeypatch, cams)
    rc = cli.main(["predict", str(trained), str(cohort_files(home)[0]), "--explain", str(cams),
                   "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    monkeypatch.undo()
    assert rc == 1 and "No space left on device" in err and ".png: could not be written" in err, err
    assert list(cams.iterdir()) == []


def test_a_symlink_loop_is_a_problem_line_and_the_other_files_are_predicted(home, trained, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(cohort_files(home)[0], folder / "a.dcm")
    (folder / "loop1.dcm").symlink_to(folder / "loop2.dcm")
    (folder / "loop2.dcm").symlink_to(folder / "loop1.dcm")
    rc, df = predict_csv(trained, folder, out=tmp_path / "p.csv")
    err = capsys.readouterr().err
    assert rc == 1, err
    assert [Path(f).name for f in df.loc[df["level"] == "image", "file"]] == ["a.dcm"]
    assert "loop1.dcm: symbolic link loop" in err and "loop2.dcm: symbolic link loop" in err


def test_train_without_room_for_the_model_ends_with_a_clear_message(home, trained, tmp_path, capsys, monkeypatch):
    """`dspic train` checks free space before writing the model folder (a full disk made h5py segfault)."""
    from collections import namedtuple

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    args = ["train", "--model", "dSPIC-AM", "--dataset", "D1", "--profile", "smoke", "--n-boot", "20"]
    assert cli.main([*args, "--out", str(a_file / "m")]) == 1          # said before any dataset is built
    err = capsys.readouterr().err
    assert f"--out {a_file / 'm'}: {a_file} is a file, not a folder" in err and "Scanning" not in err, err
    Usage = namedtuple("usage", "total used free")
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(*real(p)[:2], 1000))
    out = tmp_path / "m"
    rc = cli.main(["train", "--model", "dSPIC-AM", "--dataset", "D1", "--profile", "smoke", "--n-boot", "20",
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "not enough free space for the model" in err and "MB needed" in err, err
    assert not (out / "model.keras").exists() and not (out / "model.json").exists()


def test_a_training_store_entry_is_not_written_without_room(tmp_path, monkeypatch):
    """pipeline/train.py checks before TensorFlow writes the weights (from the parameter count)."""
    from collections import namedtuple

    from dspic_lib.errors import OutputError
    from dspic_lib.pipeline import train

    Usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10 ** 9, 10 ** 9, 5 * 2 ** 20))

    class Model:
        def count_params(self):
            return 21_600_000

        def save_weights(self, path):
            raise AssertionError("wrote the weights")

    with pytest.raises(OutputError, match=r"not enough free space for the weights of 21600000 parameters"):
        train.check_room_for_weights(Model(), tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10 ** 12, 0, 10 ** 12))
    train.check_room_for_weights(Model(), tmp_path)


# ------------------------------------------------------------------------ item 7b: formulas, pseudonyms
def test_csv_cells_that_start_a_formula_are_escaped_in_text_columns_only(home, trained, tmp_path):
    from dspic_lib.predict.scans import csv_safe

    folder = tmp_path / "in"
    folder.mkdir()
    evil = '=HYPERLINK("http://evil.example","click")'
    nm(folder / "a.dcm", evil, seed=5)
    nm(folder / "@b.dcm", "+42", seed=6)
    rc, df = predict_csv(trained, folder, out=tmp_path / "p.csv", extra=["--keep-ids"])
    assert rc == 0
    assert set(df["patient_id"]) == {"'" + evil, "'+42"}
    assert any(f.endswith("@b.dcm") for f in df["file"])           # the folder comes first: not a formula
    text = (tmp_path / "p.csv").read_text()
    assert ',"=HYPERLINK' not in text and ",=" not in text and ",+42" not in text
    t = csv_safe(pd.DataFrame({"file": ["-x.png", "@y", "ok", "\tz"], "p_N": [-0.5, 0.1, 0.2, 0.3]}))
    assert t["file"].tolist() == ["'-x.png", "'@y", "ok", "'\tz"] and t["p_N"].tolist() == [-0.5, 0.1, 0.2, 0.3]


def test_scan_chapters_and_predict_share_one_keyed_pseudonym(tmp_path, monkeypatch):
    from dspic_lib.data import cohort, identity
    from dspic_lib.predict import scans

    monkeypatch.setenv("DSPIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(identity.KEY_ENV, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    nm(data / "x.dcm", "RT-42")
    table = cohort.scan(data).table
    assert table["patient"].iloc[0] == cohort.pseudonym("RT-42") == scans.pseudonymizer()("RT-42")
    # keyed: another install (another key) gives another pseudonym
    monkeypatch.setenv("DSPIC_HOME", str(tmp_path / "other-home"))
    assert cohort.pseudonym("RT-42") != table["patient"].iloc[0]
    assert cohort.scan(data).table["patient"].iloc[0] == cohort.pseudonym("RT-42")
    # the synthetic cohort's made-up IDs use the public key: the same on every install
    (data / cohort.phantom.marker_name()).write_text("{}")
    assert cohort.scan(data).table["patient"].iloc[0] == identity.pseudonym("RT-42", identity.SYNTHETIC_KEY)
