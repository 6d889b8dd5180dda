"""`dspic train` exports a model with its card; `dspic predict` reads it (issue 17).

One smoke-profile training per session (a few seconds: the weights are a store entry) feeds every test.
Predictions run in fresh subprocesses where the acceptance asks for one (exit codes, stderr, no state
of the training code), else in process.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORRUPT, GE_SCANS, copy_pydicom

from dspic_lib import cli
from dspic_lib.data import dicom
from dspic_lib.predict import card as modelcard
from dspic_lib.predict import checks as input_checks
from dspic_lib.predict import scans as predict
from dspic_lib.vocab import OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
NOT_NM = "CT_small.dcm"                             # pydicom's CT file: not a nuclear-medicine scan

# distinctive identifiers written into headers: none may reach an output without --keep-ids
SECRET = {"name": "Zebediah^Quuxworth", "id": "QX-98765-ID", "study": "19870613", "birth": "19410203"}
SECRET_STRINGS = ["Zebediah", "Quuxworth", SECRET["id"], "98765", SECRET["study"], SECRET["birth"],
                  "1987-06-13", "1941-02-03"]


@pytest.fixture(scope="session")
def trained(home):
    """`dspic train --model dSPIC-AM --dataset D1 --profile smoke --out DIR`, once per session."""
    out = home / "model"
    assert cli.main(["train", "--model", "dSPIC-AM", "--dataset", "D1", "--profile", "smoke",
                     "--n-boot", "50", "--out", str(out)]) == 0
    return out


def env(home) -> dict:
    return {**os.environ, "DSPIC_HOME": str(home), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def dspic(home, *args, cwd=None) -> subprocess.CompletedProcess:
    """`dspic ...` in a fresh interpreter running this checkout."""
    return subprocess.run([sys.executable, "-m", "dspic_lib.cli", *map(str, args)], capture_output=True,
                          text=True, env=env(home), cwd=cwd or ROOT)


def cohort_files(home) -> list[Path]:
    return sorted((home / "data" / "synthetic-smoke-seed0").rglob("*.dcm"))


def write_identified(path: Path, *, pixels=None, modality: str = "NM", seed: int = 0) -> Path:
    """A single-frame NM file whose header carries the distinctive name, ID and dates of SECRET."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(60, (1024, 256)).astype(np.uint16) if pixels is None else pixels
    who = dicom.PatientInfo(patient_id=SECRET["id"], name=SECRET["name"], sex="F", age=70,
                            study_date=SECRET["study"])
    ds = dicom.build_nm_dataset([("anterior", counts)], who, uid_seed=f"secret{seed}")
    ds.PatientBirthDate = SECRET["birth"]
    ds.Modality = modality
    ds.save_as(path, enforce_file_format=True)
    return path


# ------------------------------------------------------------------------------------------- train
def test_unknown_model_dataset_and_profile_are_named_with_the_valid_ones(home, capsys, tmp_path):
    base = ["train", "--out", str(tmp_path / "m")]
    assert cli.main([*base, "--model", "dSPIC-XX", "--dataset", "D1", "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "unknown model 'dSPIC-XX'" in err and "'dSPIC-AM'" in err
    assert cli.main([*base, "--model", "dSPIC-AM", "--dataset", "D4", "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset 'D4'" in err and "'D3'" in err
    assert cli.main([*base, "--model", "dSPIC-AM", "--dataset", "D1", "--profile", "tiny"]) == 1
    err = capsys.readouterr().err
    assert "unknown profile 'tiny'" in err and "'smoke'" in err
    assert not (tmp_path / "m").exists()


def test_the_card_records_model_preprocessing_profile_split_data_provenance_and_input_statistics(trained):
    from dspic_lib.config import get_profile

    card = json.loads((trained / "model.json").read_text())
    assert card["model"]["name"] == "dSPIC-AM" and card["model"]["config"]["builder"] == "dspic"
    assert card["model"]["config"]["input_shape"] == [128, 32, 1]
    assert card["model"]["sha256"] == hashlib.sha256((trained / "model.keras").read_bytes()).hexdigest()
    assert card["classes"] == list(OUTPUTS) and "M and A" in card["m_and_a_rule"]
    assert card["input"] == {"rows": 128, "cols": 32, "channels": 1, "dtype": "float32", "range": [0.0, 1.0]}
    pre = card["preprocessing"]
    assert pre["function"] == "dspic_lib.pipeline.preprocess.preprocess_image" and pre["parameters"] == {"shape": [128, 32]}
    assert any("clipped to 0" in s for s in pre["steps"]) and any("anti_aliasing" in s for s in pre["steps"])
    assert card["profile"] == get_profile("smoke").to_dict()
    assert card["training"]["dataset"] == "D1" and card["training"]["store_entry"].startswith("train/")
    assert card["split"]["protocol"] == "patient" and card["split"]["test_fraction"] == 0.3
    assert len(card["data"]["fingerprint"]) == 20 and card["data"]["synthetic"] is True
    prov = card["provenance"]
    assert prov["git_commit"] and isinstance(prov["dirty"], bool) and "+dirty" not in prov["git_commit"]
    assert prov["packages"]["keras"] != "not installed" and prov["packages"]["pydicom"] != "not installed"
    stats = card["input_statistics"]
    assert stats["images"] == card["training"]["train_original_images"]
    assert stats["rows"]["median"] == 1024 and stats["cols"]["median"] == 256 and stats["bits_stored"]["min"] == 16
    assert 0 < stats["max_count"]["min"] <= stats["max_count"]["max"]
    assert stats["thresholds"] == input_checks.THRESHOLDS.to_dict()
    tm = card["test_metrics"]
    assert tm["n_images"] == 14 and tm["n_patients"] == 7
    assert set(tm["metrics"]) >= {"accuracy", "precision", "sensitivity", "specificity", "f1", "auc"}
    assert 0 <= tm["metrics"]["accuracy"]["value"] <= 1


def test_the_card_gives_95_percent_bootstrap_intervals_of_the_test_metrics(trained):
    if importlib.util.find_spec("dspic_lib.evaluation.stats") is None:
        pytest.skip("stats not merged")
    tm = json.loads((trained / "model.json").read_text())["test_metrics"]
    assert tm["ci"]["available"] and tm["ci"]["n_boot"] == 50 and tm["ci"]["level"] == 0.95
    for name in ("accuracy", "f1"):
        m = tm["metrics"][name]
        assert m["low"] <= m["value"] <= m["high"], (name, m)


# ------------------------------------------------------------------------------------------- predict
def test_end_to_end_good_real_and_bad_files(home, trained, tmp_path):
    """Acceptance 1: the CSV holds the good and the real scans, the bad are named with reasons, exit 1."""
    from PIL import Image

    folder = tmp_path / "scans"
    folder.mkdir()
    files = cohort_files(home)
    two_frame = next(p for p in files if p.name.endswith("_wholebody.dcm"))
    good = [p for p in files if p.name.startswith("SYN0001")] + [two_frame]
    for p in good:
        shutil.copy(p, folder / p.name)
    copy_pydicom([*GE_SCANS, CORRUPT, NOT_NM], folder)
    (folder / "notes.dcm").write_text("not a scan\n")
    dicom.write_nm(folder / "flat.dcm", [("anterior", np.full((1024, 256), 7, np.uint16))],
                   dicom.PatientInfo("FLAT1", "FLAT^1", "M", 50, "20200101"), uid_seed="flat")
    (folder / "labels.json").write_text("{}")                       # not an image: skipped in a folder
    # pictures: a 16-bit PNG of another size, and an 8-bit JPEG
    rng = np.random.default_rng(1)
    Image.fromarray(rng.poisson(80, (400, 100)).astype(np.uint16)).save(folder / "pic_ant.png")
    Image.fromarray(rng.integers(0, 256, (1024, 256)).astype(np.uint8)).save(folder / "pic_post.jpg")

    proc = dspic(home, "predict", trained, folder, "--out", tmp_path / "preds.csv")
    assert proc.returncode == 1, proc.stderr[-3000:]
    df = pd.read_csv(tmp_path / "preds.csv", keep_default_na=False)
    images = df[df["level"] == "image"]
    names = sorted(Path(f).name for f in images["file"])
    assert names == sorted([p.name for p in good] + [two_frame.name] + list(GE_SCANS) + ["pic_ant.png", "pic_post.jpg"])
    assert list(df.columns) == ["level", "file", "frame", "patient", "view", "p_N", "p_M", "p_A", "top1", "top2",
                                "m_and_a", "combined", "warnings"]
    p = images[["p_N", "p_M", "p_A"]].to_numpy(float)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5) and ((p >= 0) & (p <= 1)).all()
    assert set(images["top1"]) <= set(OUTPUTS) and (images["top1"] != images["top2"]).all()
    assert (images["m_and_a"].astype(str).isin(["True", "False"])).all()
    two = images[images["file"].str.endswith(two_frame.name)]
    assert sorted(two["view"]) == ["anterior", "posterior"] and sorted(two["frame"].astype(int)) == [0, 1]
    ge = images[images["file"].str.endswith(GE_SCANS)]
    assert (ge["view"] == "unknown").all() and ge["patient"].nunique() == 1
    by_name = {Path(f).name: w for f, w in zip(images["file"], images["warnings"])}
    assert by_name["SYN0001_anterior.dcm"] == ""                      # a training-like scan: no warning
    assert "clipped to 0" in by_name["JPEG2000.dcm"]
    assert "size:" in by_name["pic_ant.png"] and "modality: a PNG picture" in by_name["pic_ant.png"]
    assert "bit depth: 8 bits stored, 8 fewer than the training scans' 16" in by_name["pic_post.jpg"]
    # patient rows: the mean of the patient's images, by the same rules
    patients = df[df["level"] == "patient"]
    assert patients["patient"].is_unique and set(patients["patient"]) == set(images["patient"])
    syn1 = images[images["file"].str.contains("SYN0001")]
    row = patients[patients["patient"] == syn1["patient"].iloc[0]].iloc[0]
    assert np.allclose(row[["p_N", "p_M", "p_A"]].to_numpy(float), syn1[["p_N", "p_M", "p_A"]].to_numpy(float).mean(0))
    assert row["combined"] == "mean of 2 images" and row["view"] == "anterior+posterior"
    # the bad ones, each with its reason, on stderr
    err = proc.stderr
    assert f"{CORRUPT}: corrupt compressed pixel data" in err
    assert f"{NOT_NM}: expected a nuclear-medicine (NM) image, got modality 'CT'" in err
    assert "notes.dcm: not a DICOM file" in err and "flat.dcm: constant image" in err
    assert "4 failed" in err and "labels.json" not in err


def test_json_output_lists_failures_and_an_all_good_run_exits_0(home, trained, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    for p in cohort_files(home)[:3]:
        shutil.copy(p, folder / p.name)
    assert cli.main(["predict", str(trained), str(folder), "--out", str(tmp_path / "ok.json")]) == 0
    out = json.loads((tmp_path / "ok.json").read_text())
    assert out["failed"] == [] and out["summary"]["images"] == len(out["images"]) >= 3
    assert out["combine_rule"].startswith("patient rows: the mean") and out["classes"] == list(OUTPUTS)
    copy_pydicom([NOT_NM], folder)
    assert cli.main(["predict", str(trained), str(folder), str(tmp_path / "missing.dcm"),
                     "--out", str(tmp_path / "bad.json")]) == 1
    failed = {Path(f["file"]).name: f["reason"] for f in json.loads((tmp_path / "bad.json").read_text())["failed"]}
    assert failed[NOT_NM].startswith("expected a nuclear-medicine") and failed["missing.dcm"] == "no such file or folder"


def test_model_dir_problems_and_bad_options_exit_2(home, trained, tmp_path, capsys):
    scan = cohort_files(home)[0]
    assert cli.main(["predict", str(tmp_path / "nowhere"), str(scan)]) == 2
    assert "no such model folder" in capsys.readouterr().err
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(trained / "model.json", half / "model.json")
    assert cli.main(["predict", str(half), str(scan)]) == 2
    assert "no model.keras" in capsys.readouterr().err
    other = tmp_path / "other"
    shutil.copytree(trained, other)
    card = json.loads((other / "model.json").read_text())
    card["model"]["sha256"] = "0" * 64
    (other / "model.json").write_text(json.dumps(card))
    assert cli.main(["predict", str(other), str(scan)]) == 2
    assert "does not match" in capsys.readouterr().err
    card = json.loads((trained / "model.json").read_text())
    card["model"]["config"]["reduction"] = 8
    (other / "model.json").write_text(json.dumps(card))
    assert cli.main(["predict", str(other), str(scan)]) == 2
    assert "is not the one model.json describes" in capsys.readouterr().err
    assert cli.main(["predict", str(trained), str(scan), "--out", str(tmp_path / "p.txt")]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["predict", str(trained)])                        # no INPUT: argparse
    assert exc.value.code == 2


def test_a_fresh_process_predicts_from_the_folder_exactly_what_the_store_weights_give(home, trained, tmp_path):
    """Acceptance 4: model.json + model.keras rebuild the preprocessing and the network exactly."""
    from dspic_lib import models
    from dspic_lib.config import get_profile
    from dspic_lib.pipeline import train
    from dspic_lib.pipeline.preprocess import preprocess_image
    from dspic_lib.store import Store

    files = [p for p in cohort_files(home) if not p.name.endswith("_wholebody.dcm")][:6]
    copy_pydicom(GE_SCANS, tmp_path)
    files += [tmp_path / n for n in GE_SCANS]
    proc = dspic(home, "predict", trained, *files, "--out", tmp_path / "p.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((tmp_path / "p.json").read_text())["images"]
    assert [r["file"] for r in rows] == [str(f) for f in files]
    from_cli = np.array([[r["p_N"], r["p_M"], r["p_A"]] for r in rows])

    profile = get_profile("smoke")
    card = json.loads((trained / "model.json").read_text())
    entry = Store(home / "results" / "smoke" / "store").find(card["training"]["store_entry"])
    model = models.build("dSPIC-AM", input_shape=profile.input_shape, seed=profile.seed)
    model.load_weights(entry.file("model.weights.h5"))
    X = np.stack([preprocess_image(dicom.read_frame(f, shape=None), (profile.rows, profile.cols)) for f in files])
    in_process = predict.predict_arrays(model, X, predict.BATCH_SIZE)
    assert np.array_equal(from_cli, in_process.astype(np.float64))
    # and the training engine's own (eager) prediction agrees to float32 rounding
    assert np.allclose(train.predict(model, X, 4), in_process, atol=1e-6, rtol=0)


def test_reader_threads_and_batch_size_change_no_probability(home, trained):
    loaded = modelcard.load(trained)
    sources, _ = predict.find_inputs(cohort_files(home)[:7])
    key = predict.pseudonymizer(b"k")
    runs = [predict.predict_files(loaded, sources, workers=w, batch_size=b, progress=False, pseudonym=key).images
            for w, b in ((0, 32), (1, 32), (2, 32), (2, 2))]
    assert len(runs[0]) == 8            # one of the seven files (SYN0004_wholebody) holds two views
    for other in runs[1:3]:
        pd.testing.assert_frame_equal(runs[0], other)
    # another batch size may round the last bits differently (oneDNN picks kernels per batch size)
    assert np.allclose(runs[3][["p_N", "p_M", "p_A"]], runs[0][["p_N", "p_M", "p_A"]], atol=1e-6, rtol=0)


def test_names_ids_and_dates_from_headers_appear_only_with_keep_ids(home, trained, tmp_path, capfd):
    """Acceptance 5, in every output: CSV, JSON, stdout, stderr (in process: the fresh-process runs
    are the two tests above; the same code writes the outputs)."""
    folder = tmp_path / "Scans"
    folder.mkdir()
    write_identified(folder / "a.dcm", seed=1)
    write_identified(folder / "b.dcm", seed=2)
    write_identified(folder / "c.dcm", seed=3, modality="CT")       # a failure carrying the same header
    outputs = []
    for args in (["--out", tmp_path / "p.csv", "--explain", tmp_path / "cams"], ["--out", tmp_path / "p.json"], []):
        assert cli.main(["predict", str(trained), str(folder), *map(str, args)]) == 1
        captured = capfd.readouterr()
        outputs += [captured.out, captured.err]
    outputs += [(tmp_path / "p.csv").read_text(), (tmp_path / "p.json").read_text()]
    assert "c.dcm: expected a nuclear-medicine (NM) image" in outputs[1]
    for text in outputs:
        for secret in SECRET_STRINGS:
            assert secret not in text, (secret, text[:2000])
    df = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert "patient_id" not in df and df["patient"].nunique() == 1 and df["patient"].iloc[0].startswith("P")
    # --explain: one Grad-CAM PNG per image, named by row, pseudonym and view, listed in the CSV
    pngs = sorted(p.name for p in (tmp_path / "cams").iterdir())
    assert pngs == sorted(df.loc[df["level"] == "image", "explain"]) and len(pngs) == 2
    assert all(n.startswith("img0000") and n.endswith("_anterior.png") for n in pngs)
    assert " ".join(pngs).count(df["patient"].iloc[0]) == 2
    assert not [n for n in pngs for secret in SECRET_STRINGS if secret in n]

    assert cli.main(["predict", str(trained), str(folder), "--keep-ids", "--out", str(tmp_path / "k.csv")]) == 1
    df = pd.read_csv(tmp_path / "k.csv")
    assert (df["patient_id"] == SECRET["id"]).all() and len(df) == 3      # 2 images + their patient
    text = (tmp_path / "k.csv").read_text() + capfd.readouterr().err
    for secret in ("Zebediah", "Quuxworth", SECRET["study"], SECRET["birth"]):
        assert secret not in text


# ------------------------------------------------------------------------------------------- parts
def test_pseudonyms_are_keyed_stable_and_never_the_id(tmp_path, monkeypatch):
    from dspic_lib.data.cohort import pseudonym as scans_pseudonym

    monkeypatch.setenv("DSPIC_HOME", str(tmp_path))
    monkeypatch.delenv(predict.KEY_ENV, raising=False)
    a, b = predict.pseudonymizer(), predict.pseudonymizer()
    assert a("12345") == b("12345") != a("12346") and "12345" not in a("12345")
    assert (tmp_path / predict.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert predict.pseudonymizer(b"other")("12345") != a("12345") == scans_pseudonym("12345")   # one function
    monkeypatch.setenv(predict.KEY_ENV, "shared secret")
    assert predict.pseudonymizer()("12345") == predict.pseudonymizer(b"shared secret")("12345")


def test_pictures_take_patient_and_view_from_the_public_layouts_or_their_name():
    ident = predict._picture_identity
    assert ident(Path("BS-80K/wholeBodyANT/123.jpg")) == ("123", "anterior")
    assert ident(Path("data/NoMetastasis/Posterior/P7.png")) == ("NoMetastasis/7", "posterior")
    assert ident(Path("x/0001_ant.png")) == ident(Path("x/0001_post.png"))[:1] + ("anterior",)
    assert ident(Path("x/0001_post.png"))[1] == "posterior" and ident(Path("x/scan.png"))[1] == "unknown"


def test_input_checks_say_what_is_far_off_and_by_how_much():
    import pandas as pd

    train = input_checks.training_stats(pd.DataFrame({"rows": [1024] * 3, "cols": [256] * 3,
                                                      "max_count": [60.0, 100.0, 300.0],
                                                      "total_counts": [1e6, 1.5e6, 2e6]}), [16, 16, 16])
    like = input_checks.image_stats(np.full((1024, 256), 5.0), fmt="DICOM", bits_stored=12)
    like["max_count"] = 200.0
    assert input_checks.check(like, train) == []
    far = {"rows": 512, "cols": 256, "format": "JPEG", "bits_stored": 8, "max_count": 2400.0, "mean_count": 0.5}
    text = " | ".join(input_checks.check(far, train))
    assert "aspect ratio 2.00 (rows / columns) is -50% off the training scans' 4.00" in text
    assert "modality: a JPEG picture" in text and "bit depth: 8 bits stored, 8 fewer" in text
    assert "maximum count 2400 is 8.0x above the training's largest (300)" in text
    assert "mean count per pixel 0.5 is 7.6x below the training's smallest (3.815)" in text
    small = dict(far, rows=256, cols=64, format="DICOM", bits_stored=16, max_count=100.0, mean_count=5.0)
    assert input_checks.check(small, train) == [
        "size: 256 x 64 (rows x columns), 256 rows is 4.0x fewer than the training scans' 1024 (threshold 2x)",
        "size: 256 x 64 (rows x columns), 64 columns is 4.0x fewer than the training scans' 256 (threshold 2x)"]


def test_bench_predict_prints_images_per_second(capsys):
    from dspic_lib.predict import bench as bench_predict

    report = bench_predict.run(n=12, batch_size=4, repeats=1)
    text = bench_predict.format_report(report)
    assert "img/s" in text and "target >= 50 img/s" in text and report["img_s"][0] > 0
