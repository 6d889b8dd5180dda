"""Chapters 06 and 07 on crafted runs: the analyses and their generated sentences (no training)."""
import numpy as np
import pandas as pd
import pytest

from dspic_lib.chapters import beyond
from dspic_lib.chapters import misclassification as misclass
from dspic_lib.config import get_profile
from dspic_lib.errors import DataError
from dspic_lib.evaluation import results
from dspic_lib.pipeline.train import Run

P = get_profile("smoke", use_env=False)
LABELS = ["N"] * 8 + ["M"] * 6 + ["A"] * 6 + ["M&A"] * 2


def run_of(model, dataset, proba, labels=LABELS, seed=0, head="softmax", images=None):
    n = len(labels)
    meta = pd.DataFrame({"image": images or [f"i{k}" for k in range(n)],
                         "patient": [f"p{k // 2}" for k in range(n)], "view": "anterior", "label": labels})
    proba = np.asarray(proba, dtype=np.float32)
    val = proba[: n // 2]
    return Run(model=model, dataset=dataset, seed=seed, history=pd.DataFrame({"epoch": [1]}), proba=proba,
               test_meta=meta, best_epoch=1, seconds=1.0, entry_id=f"train/{model}{dataset}{seed}{head}",
               cached=True, val_proba=val, val_meta=meta.iloc[: n // 2].reset_index(drop=True), head=head)


def skilled(labels=LABELS, skill=2.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=object)
    z = rng.normal(size=(len(y), 3))
    for k, c in enumerate("NMA"):
        z[y == c, k] += skill
    z[y == "M&A", 1:] += skill
    return np.exp(z) / np.exp(z).sum(1, keepdims=True)


@pytest.fixture
def b():
    runs = {}
    for k, (m, d) in enumerate([*beyond.CV_CELLS, ("dSPIC-AM", "D3"), ("dSPIC-AM-nopool", "D2")]):
        runs[(m, d, 0)] = run_of(m, d, skilled(skill=2.5 + k, seed=k))   # every cell learns (gate)
    out = beyond.Beyond(P, results.Results(P, runs))
    out.multilabel = {"softmax": runs[("dSPIC-AM", "D1", 0)],
                      "sigmoid": run_of("dSPIC-AM", "D1", np.tile([0.9, 0.8], (len(LABELS), 1)), head="sigmoid")}
    return out


def test_sigmoid_labels_and_the_top2_rule():
    np.testing.assert_array_equal(beyond.sigmoid_labels([[0.1, 0.2], [0.7, 0.2], [0.2, 0.5], [0.9, 0.6]]),
                                  ["N", "M", "A", "M&A"])
    y = np.array(["N", "M&A", "M&A"], dtype=object)
    p = np.array([[0.6, 0.3, 0.1], [0.1, 0.5, 0.4], [0.5, 0.4, 0.1]])
    np.testing.assert_array_equal(beyond.softmax_correct(y, p), [True, True, False])


def test_multilabel_counts_each_rule_on_the_same_images(b):
    t = beyond.multilabel(b)
    # the sigmoid run says "both" for every image: right only on the M&A images
    assert t.loc["M&A", "sigmoid head, 0.5 per disease"] == 1.0
    assert t.loc["N", "sigmoid head, 0.5 per disease"] == 0.0
    assert t.loc["all", "images"] == len(LABELS)
    # a sigmoid head that says "both" for every image did not learn: the sentence compares nothing
    s = beyond.multilabel_sentence(b, t)
    assert "sigmoid head" in s and "did not learn" in s and "%" not in s
    right = {"N": [0.1, 0.1], "M": [0.9, 0.1], "A": [0.1, 0.9], "M&A": [0.9, 0.9]}
    b.multilabel["softmax"] = run_of("dSPIC-AM", "D1", skilled(skill=8.0), seed=1)   # (a new entry id: gates are cached by it)
    b.multilabel["sigmoid"] = run_of("dSPIC-AM", "D1", [right[y] for y in LABELS], head="sigmoid", seed=1)
    s = beyond.multilabel_sentence(b, beyond.multilabel(b))
    assert "On the 2 M&A images" in s and "names both diseases for 100%" in s
    b.multilabel["sigmoid"] = run_of("dSPIC-AM", "D1", np.tile([0.9, 0.8], (len(LABELS), 1)), head="sigmoid",
                                     images=[f"x{k}" for k in range(len(LABELS))])
    with pytest.raises(DataError, match="different images"):
        beyond.multilabel(b)


def test_paired_comparisons_have_one_row_per_claim_and_metric_and_a_sentence_each(b):
    t = beyond.comparisons(b)
    assert len(t) == len(beyond.COMPARISONS) * len(beyond.COMPARE_METRICS)
    assert ((t["low"] <= t["difference"]) & (t["difference"] <= t["high"])).all()
    sentences = beyond.comparison_sentences(t)
    assert len(sentences) == len(beyond.COMPARISONS)
    # dSPIC-AM on D2 was given more skill than dSPIC-RM on D2 in the fixture: the interval says so
    assert any(s.startswith("**dSPIC-AM beats dSPIC-RM on D2** is") for s in sentences)


def test_bootstrap_intervals_cover_every_cv_cell_and_cv_rows_appear_only_with_cv_runs(b):
    iv = beyond.intervals(b)
    assert set(zip(iv["model"], iv["dataset"])) == set(beyond.CV_CELLS)
    assert iv["method"].str.startswith("bootstrap").all()
    assert beyond.twin(b) is None and "No cell was cross-validated" in beyond.twin_sentence(b, None)
    folds = [beyond.Fold(run_of("dSPIC-AM", "D1", skilled(skill=s, seed=k)), 40, 20)
             for k, s in enumerate((0.5, 1.0, 3.0))]
    b.cv[("dSPIC-AM", "D1")] = folds
    iv = beyond.intervals(b)
    cv = iv[iv["method"].str.contains("CV")]
    assert set(cv["model"] + cv["dataset"]) == {"dSPIC-AMD1"}
    assert ((cv["low"] >= 0) & (cv["high"] <= 1)).all()               # clipped to the metric's range
    tw = beyond.twin(b)
    assert tw.attrs["cell"] == ("dSPIC-AM", "D1") and "intervals overlap" in tw
    assert "times as wide" in beyond.twin_sentence(b, tw)
    wide = beyond.interval_table(iv)
    assert set(wide.index.get_level_values("method")) == {"bootstrap", "CV"}


def test_leakage_sentence_reads_the_direction_from_the_interval(b):
    b.leak = {"patient": b.res.run("dSPIC-AM", "D2"),
              "paper": run_of("dSPIC-AM", "D2", skilled(skill=6.0, seed=9)),
              "leaked patients": 9, "test patients": 11, "test images": 22, "copies in test": 10}
    table = beyond.leakage(b)
    assert list(table.index) == list(beyond.INTERVAL_METRICS)
    s = beyond.leakage_sentence(b, table)
    assert s.startswith("Under the paper's protocol, 9 of the 11 patients")
    acc = table.loc["accuracy"]
    if acc["inflation low"] > 0:
        assert "inflates accuracy" in s
    else:
        assert "cannot tell" in s or "lowers" in s


def test_calibration_fits_on_validation_images_and_keeps_the_ranking(b):
    c = beyond.calibration(b)
    assert c["validation images"] == sum(1 for y in LABELS[: len(LABELS) // 2] if y != "M&A")
    assert c["accuracy before"] == c["accuracy after"] and c["temperature"] > 0
    assert "expected calibration error" in beyond.calibration_sentence(c)


def test_misclass_picks_the_most_confident_mistake_of_each_paper_type():
    labels = ["N", "N", "N", "M", "M", "A", "A", "M&A"]
    p = np.array([[0.2, 0.1, 0.7], [0.3, 0.1, 0.6], [0.8, 0.1, 0.1],     # two N called A: the first is surer
                  [0.6, 0.3, 0.1], [0.1, 0.8, 0.1],                      # one M called N
                  [0.3, 0.1, 0.6], [0.2, 0.2, 0.6],                      # no A called N
                  [0.1, 0.5, 0.4]])
    r = run_of("dSPIC-AM", "D2", p, labels=labels)
    m = misclass.most_confident_mistakes(r)
    assert m["position"].tolist() == [0, 3]
    assert m["type"].tolist() == ["normal called arthritic", "metastatic called normal"]
    assert "arthritic called normal" in misclass.missing_sentence(m)
    t = misclass.failures(r)
    assert t["in the paper's Fig. 12"].tolist()[:3] == [True] * 3 and t["images"].sum() == 7
    s = misclass.failure_sentence(r)
    assert "2 of the 3 normal test scans were called arthritic" in s and "3 of the 7 single-class" in s
    assert misclass.right_and_diseased(r).tolist() == [4, 5, 6, 7]
    ma = misclass.ma_table(r)
    assert ma.index.str.startswith("the paper").sum() == 2 and ma.loc["this run, test scan 1", "top-1"] == "M"
    assert "1 of the 1 M&A test scans has metastasis" in misclass.ma_sentence(ma)


def test_a_claim_on_a_cell_that_did_not_learn_compares_nothing(b):
    stuck = np.tile([0.0, 0.0, 1.0], (len(LABELS), 1))          # always A: fails the learned gate
    b.res.runs[("dSPIC-AM-nopool", "D2", 0)] = run_of("dSPIC-AM-nopool", "D2", stuck, seed=7)
    t = beyond.comparisons(b)
    pooling = t[t["claim"].str.startswith("pooling helps")]
    assert pooling["difference"].isna().all() and (pooling["did not learn"] == "dSPIC-AM-nopool on D2").all()
    assert t[~t["claim"].str.startswith("pooling helps")]["difference"].notna().all()
    sentence = next(s for s in beyond.comparison_sentences(t) if "pooling helps" in s)
    assert "did not learn" in sentence and not any(ch.isdigit() for ch in sentence.replace("D2", ""))
