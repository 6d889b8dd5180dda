"""The binary task (normal / abnormal) of the public whole-body collections (issue 17): D1 of a binary
cohort, its metrics, `dspic train` on it and `dspic predict` with its card. Fixtures in the two public
layouts, written by the writers of test_public_layouts (real size, 1024 x 256; nothing downloaded)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_public_layouts import voc, write_jpeg, write_png16

from dspic_lib import cli
from dspic_lib.config import get_profile
from dspic_lib.errors import ConfigError, DataError
from dspic_lib.evaluation import metrics, stats
from dspic_lib.pipeline import datasets, lineage
from dspic_lib.predict import card as modelcard
from dspic_lib.vocab import BINARY_CLASSES

N_PER_CLASS = 6


def png_folders(root: Path) -> Path:
    """N_PER_CLASS abnormal and N_PER_CLASS normal patients, two views each, and one unknown class folder."""
    for k, cls in enumerate(("Metastasis_Yes", "Metastasis_No")):
        for n in range(1, N_PER_CLASS + 1):
            write_png16(root / cls / "Anterior" / f"A{n}.png", 100 * k + 2 * n)
            write_png16(root / cls / "Posterior" / f"P{n}.png", 100 * k + 2 * n + 1)
    return root


def bs80k(root: Path) -> Path:
    """Eight exams, 4 normal and 4 abnormal (in the txt files), and one that is not listed (unlabelled)."""
    exams = [f"{i:03d}" for i in range(1, 10)]
    for k, exam in enumerate(exams):
        write_jpeg(root / "wholeBodyANT" / f"{exam}.jpg", 10 + k)
        write_jpeg(root / "wholeBodyPOST" / f"{exam}.jpg", 50 + k)
    lines = "".join(f"{e}.jpg\t{int(i >= 4)}\n" for i, e in enumerate(exams[:8]))
    (root / "wholeBodyANT.txt").write_text(lines)
    (root / "wholeBodyPOST.txt").write_text(lines)
    (root / "wholeBodyANT" / "ant").mkdir()
    (root / "wholeBodyANT" / "ant" / "005.xml").write_text(voc([("Abnormal", (101, 201, 120, 230))]))
    return root


@pytest.fixture(scope="module")
def pngs(home) -> Path:
    return png_folders(home / "png")


@pytest.fixture(scope="module")
def trained(home, pngs) -> Path:
    """`dspic train --profile smoke --dataset D1 --data-dir PNGS --out DIR` (the layout found by itself)."""
    out = home / "model"
    assert cli.main(["train", "--model", "dSPIC-AM", "--dataset", "D1", "--profile", "smoke", "--data-dir",
                     str(pngs), "--results-dir", str(home / "results"), "--n-boot", "50", "--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------------------------------ metrics
def test_binary_summary_against_hand_computed_values():
    y = ["abnormal", "abnormal", "abnormal", "normal", "normal"]
    p_abn = np.array([0.9, 0.6, 0.3, 0.7, 0.1])
    s = metrics.binary_summary(y, np.column_stack([1 - p_abn, p_abn]))
    # predicted abnormal: 1, 2, 4 -> TP 2, FN 1, FP 1, TN 1; AUC: 4 of the 6 (abnormal, normal) pairs ordered
    assert s["accuracy"] == pytest.approx(3 / 5) and s["precision"] == pytest.approx(2 / 3)
    assert s["sensitivity"] == pytest.approx(2 / 3) and s["specificity"] == pytest.approx(1 / 2)
    assert s["f1"] == pytest.approx(2 / 3) and s["auc"] == pytest.approx(4 / 6) and s["n_images"] == 5
    assert list(s)[:6] == list(metrics.METRICS)


def test_binary_summary_with_one_class_absent_and_bad_input():
    s = metrics.binary_summary(["abnormal"] * 3, [[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])   # a tie is normal
    assert s["accuracy"] == pytest.approx(1 / 3) and s["sensitivity"] == pytest.approx(1 / 3)
    assert math.isnan(s["auc"]) and math.isnan(s["specificity"]) and s["precision"] == 1.0
    s = metrics.binary_summary(["normal"] * 2, [[0.9, 0.1], [0.8, 0.2]])
    assert s["specificity"] == 1.0 and s["precision"] == 0.0 and s["f1"] == 0.0 and math.isnan(s["sensitivity"])
    assert all(math.isnan(metrics.binary_summary([], np.zeros((0, 2)))[m]) for m in metrics.METRICS)
    with pytest.raises(DataError, match="unknown label"):
        metrics.binary_summary(["N"], [[1.0, 0.0]])
    with pytest.raises(DataError, match=r"expected shape \(1, 2\)"):
        metrics.binary_summary(["normal"], [[1.0, 0.0, 0.0]])


def test_binary_summary_matches_confusion_counts_by_hand():
    # 3 abnormal, 4 normal; a tie (0.5, 0.5) is predicted normal
    y = ["abnormal", "abnormal", "abnormal", "normal", "normal", "normal", "normal"]
    p_abn = np.array([0.8, 0.5, 0.2, 0.9, 0.4, 0.3, 0.1])
    s = metrics.binary_summary(y, np.column_stack([1 - p_abn, p_abn]))
    tp, fn, fp, tn = 1, 2, 1, 3
    assert s["accuracy"] == (tp + tn) / 7 and s["precision"] == tp / (tp + fp)
    assert s["sensitivity"] == tp / (tp + fn) and s["specificity"] == tn / (tn + fp)
    assert s["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # AUC: pairs (abnormal, normal) ordered: 0.8 beats 3 of 4, 0.5 beats 3, 0.2 beats 1 -> 7 of 12
    assert s["auc"] == pytest.approx(7 / 12)
    with pytest.raises(DataError, match="row 0 has values outside"):
        metrics.binary_summary(["normal"], [[1.5, -0.5]])
    with pytest.raises(DataError, match="do not sum to 1"):
        metrics.binary_summary(["normal"], [[0.5, 0.2]])


def _binary_sample(n_patients=10, seed=0):
    y = np.array(["abnormal", "abnormal", "normal", "normal"] * (n_patients // 2))
    rng = np.random.default_rng(seed)
    p_abn = np.clip(np.where(y == "abnormal", 0.7, 0.3) + rng.normal(0, 0.25, len(y)), 0, 1)
    p_abn[:4] = 0.5                                      # ties: predicted normal, half a pair in the AUC
    groups = np.repeat(np.arange(n_patients), 2)         # two views of one class per patient
    return y, np.column_stack([1 - p_abn, p_abn]), groups


def test_binary_bootstrap_draws_patients_and_brackets_the_value():
    y, proba, groups = _binary_sample()

    def boot(seed=1):
        return stats.bootstrap_metrics(y, proba, groups, n_boot=200, seed=seed, classes=BINARY_CLASSES,
                                       positive="abnormal")

    t = boot()
    assert list(t.index) == list(metrics.METRICS)
    point = metrics.binary_summary(y, proba)
    for m, r in t.iterrows():
        assert r["value"] == pytest.approx(point[m], rel=0, abs=1e-12)
        assert r["low"] <= r["value"] + 1e-12 and r["value"] <= r["high"] + 1e-12, m
        assert 0 < r["n_boot"] <= 200
    pd.testing.assert_frame_equal(t, boot())
    assert not t.equals(boot(seed=2))
    with pytest.raises(DataError, match="unknown label"):
        stats.bootstrap_metrics(["N"], [[1.0, 0.0]], [1], classes=BINARY_CLASSES, positive="abnormal")


def test_binary_bootstrap_by_counts_equals_binary_summary_on_every_resample():
    """The weighted counts give, on every resample, what metrics.binary_summary gives on its images
    (NaNs where it has them: a resample without a normal or an abnormal patient)."""
    y, proba, groups = _binary_sample(n_patients=6, seed=3)
    kw = dict(n_boot=300, seed=4, classes=BINARY_CLASSES)
    fast = stats.bootstrap_metrics(y, proba, groups, positive="abnormal", **kw)
    slow = stats.bootstrap_metrics(y, proba, groups, score=metrics.binary_summary, **kw)
    pd.testing.assert_frame_equal(fast, slow, rtol=0, atol=1e-12)
    assert (fast["n_boot"] < 300).any()                  # some resamples drew one class only
    with pytest.raises(ConfigError, match="either positive .* or score"):
        stats.bootstrap_metrics(y, proba, groups, **kw)
    with pytest.raises(ConfigError, match="'M' is not one of the outputs"):
        stats.bootstrap_metrics(y, proba, groups, positive="M", **kw)


# ------------------------------------------------------------------------------------------ D1
@pytest.mark.parametrize("layout", ["png-folders", "bs80k"])
def test_d1_of_a_binary_cohort_has_two_column_targets_and_a_patient_split(home, tmp_path, layout):
    folder = png_folders(tmp_path / "png") if layout == "png-folders" else bs80k(tmp_path / "BS-80K")
    assert datasets.resolve_layout(folder) == layout
    profile = get_profile("smoke")
    with pytest.warns(Warning) if layout == "bs80k" else _nothing():     # exam 009 is unlabelled
        cohort, d1 = lineage.cohort_and_d1(profile, folder, results_dir=tmp_path / "res", layout="auto")
    assert cohort.task == "binary" and d1.task == "binary" and d1.y.shape == (len(d1), 2)
    assert set(d1.labels) == set(BINARY_CLASSES) and len(d1) == (24 if layout == "png-folders" else 16)
    expected = np.array([[1, 0] if lab == "normal" else [0, 1] for lab in d1.labels], np.float32)
    np.testing.assert_array_equal(d1.y, expected)
    b = datasets.build("D1", profile, d1=d1, results_dir=tmp_path / "res")
    assert not b.leaked_patients()
    assert not set(b.train.meta["patient"]) & set(b.test.meta["patient"])
    assert len(b.train) + len(b.test) == len(d1) and b.train.y.shape[1] == b.test.y.shape[1] == 2
    assert set(b.test.labels) == set(BINARY_CLASSES)                  # stratified: both classes tested
    assert b.train.counts() == {c: int((b.train.labels == c).sum()) for c in BINARY_CLASSES}
    for name in ("D2", "D3"):
        with pytest.raises(DataError, match=f"{name} of a binary cohort .* gives D1 only"):
            datasets.build(name, profile, d1=d1, results_dir=tmp_path / "res")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ------------------------------------------------------------------------------------------ train, predict
def test_dspic_train_on_png_folders_writes_a_binary_card(trained):
    card = json.loads((trained / modelcard.CARD_FILE).read_text())
    assert card["task"] == "binary" and card["classes"] == ["normal", "abnormal"]
    assert card["class_names"] == {"normal": "normal", "abnormal": "abnormal"} and card["m_and_a_rule"] is None
    assert card["data"]["layout"] == "png-folders" and card["training"]["dataset"] == "D1"
    assert set(card["training"]["class_counts"]) == set(BINARY_CLASSES)
    m = card["test_metrics"]
    assert m["positive_class"] == "abnormal" and m["ci"]["available"] and m["ci"]["n_boot"] == 50
    assert list(m["metrics"]) == list(metrics.METRICS) and m["n_patients"] == 4
    assert card["input_statistics"]["format"] == "PNG" and card["input_statistics"]["bits_stored"]["min"] == 16
    loaded = modelcard.load(trained)                                   # weights and card agree: 2 outputs
    assert loaded.model.output_shape[-1] == 2 and loaded.classes == ["normal", "abnormal"]


def test_dspic_train_refuses_d2_of_a_binary_cohort(home, pngs, capsys):
    assert cli.main(["train", "--model", "dSPIC-AM", "--dataset", "D2", "--profile", "smoke", "--data-dir",
                     str(pngs), "--layout", "png-folders", "--results-dir", str(home / "results"),
                     "--out", str(home / "d2")]) == 1
    assert "D2 of a binary cohort" in capsys.readouterr().err
    assert not (home / "d2" / modelcard.MODEL_FILE).exists()


def test_dspic_predict_with_a_binary_card_gives_p_abnormal_per_image(trained, pngs, tmp_path):
    out = tmp_path / "preds.csv"
    assert cli.main(["predict", str(trained), str(pngs / "Metastasis_Yes"), str(pngs / "Metastasis_No" / "Anterior"),
                     "--out", str(out)]) == 0
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == ["level", "file", "frame", "patient", "view", "p_normal", "p_abnormal", "top1",
                                "combined", "warnings"]
    images, patients = df[df["level"] == "image"], df[df["level"] == "patient"]
    assert len(images) == 2 * N_PER_CLASS + N_PER_CLASS and len(patients) == 2 * N_PER_CLASS
    p = images[["p_normal", "p_abnormal"]].to_numpy(float)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5) and set(images["top1"]) <= set(BINARY_CLASSES)
    assert (images["top1"] == np.where(p[:, 1] > p[:, 0], "abnormal", "normal")).all()
    assert (images["warnings"] == "").all()              # 16-bit PNGs like the training pictures
    js = tmp_path / "preds.json"
    assert cli.main(["predict", str(trained), str(pngs / "Metastasis_Yes" / "Anterior" / "A1.png"),
                     "--out", str(js)]) == 0
    doc = json.loads(js.read_text())
    assert doc["classes"] == ["normal", "abnormal"] and doc["m_and_a_rule"] is None
    assert set(doc["images"][0]) >= {"p_normal", "p_abnormal", "top1"} and "top2" not in doc["images"][0]
