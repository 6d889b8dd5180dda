"""dspic_lib.evaluation.metrics: hand-computed cases, agreement with scikit-learn and NumPy, the top-2 rule, errors."""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

from dspic_lib.errors import DataError
from dspic_lib.evaluation import metrics
from dspic_lib.paper import targets
from dspic_lib.vocab import CLASSES, OUTPUTS


def one_hot_proba(pred, hi=0.8, lo=0.1):
    """Probabilities whose arg-max is ``pred``: ``hi`` on the predicted output, ``lo`` on the others."""
    p = np.full((len(pred), 3), lo)
    p[np.arange(len(pred)), [OUTPUTS.index(c) for c in pred]] = hi
    return p


# A crafted example (10 images, no ties):
#   true  N N N N M M M A A A
#   pred  N N N M M M A N N A
# Confusion matrix (rows true N, M, A; columns predicted N, M, A):
#   N [3 1 0]   row sum 4
#   M [0 2 1]   row sum 3
#   A [2 0 1]   row sum 3
#   column sums 5, 3, 2; diagonal 3 + 2 + 1 = 6 -> accuracy 6/10
# One-vs-rest counts, TN = 10 - TP - FP - FN:
#   N: TP 3, FP 2, FN 1, TN 4 -> precision 3/5, sensitivity 3/4, specificity 4/6, F1 2*3/(6+2+1) = 6/9
#   M: TP 2, FP 1, FN 1, TN 6 -> precision 2/3, sensitivity 2/3, specificity 6/7, F1 4/(4+1+1) = 2/3
#   A: TP 1, FP 1, FN 2, TN 6 -> precision 1/2, sensitivity 1/3, specificity 6/7, F1 2/(2+1+2) = 2/5
# Macro means: precision (3/5 + 2/3 + 1/2)/3 = 53/90, sensitivity (3/4 + 2/3 + 1/3)/3 = 7/12,
#   specificity (4/6 + 6/7 + 6/7)/3 = 50/63, F1 (2/3 + 2/3 + 2/5)/3 = 26/45
TRUE = ["N", "N", "N", "N", "M", "M", "M", "A", "A", "A"]
PRED = ["N", "N", "N", "M", "M", "M", "A", "N", "N", "A"]
CM = [[3, 1, 0], [0, 2, 1], [2, 0, 1]]
HAND = pd.DataFrame({"precision": [3 / 5, 2 / 3, 1 / 2], "sensitivity": [3 / 4, 2 / 3, 1 / 3],
                     "specificity": [4 / 6, 6 / 7, 6 / 7], "f1": [6 / 9, 2 / 3, 2 / 5]}, index=list(OUTPUTS))


def test_confusion_by_hand():
    cm = metrics.confusion(TRUE, PRED)
    assert list(cm.index) == list(OUTPUTS) and list(cm.columns) == list(OUTPUTS)
    assert (cm.index.name, cm.columns.name) == ("true", "predicted")
    np.testing.assert_array_equal(cm.to_numpy(), CM)


def test_predict_is_the_argmax_in_outputs_order():
    assert list(metrics.predict(one_hot_proba(PRED))) == PRED
    assert list(metrics.predict([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [1 / 3] * 3])) == ["N", "M", "N"]  # ties


def test_per_class_by_hand():
    table = metrics.per_class(TRUE, one_hot_proba(PRED))
    assert list(table.index) == list(OUTPUTS)
    assert list(table.columns) == ["precision", "sensitivity", "specificity", "f1", "support", "auc"]
    np.testing.assert_allclose(table[HAND.columns].to_numpy(), HAND.to_numpy(), rtol=1e-12)
    assert list(table["support"]) == [4, 3, 3]


def test_summary_by_hand():
    s = metrics.summary(TRUE, one_hot_proba(PRED))
    assert list(s)[:6] == list(metrics.METRICS)
    expected = {"accuracy": 6 / 10, "precision": 53 / 90, "sensitivity": 7 / 12,
                "specificity": 50 / 63, "f1": 26 / 45}
    for name, value in expected.items():
        assert s[name] == pytest.approx(value, rel=1e-12), name
    assert (s["n_images"], s["n_left_out"]) == (10, 0)


# AUC by hand (4 images, the columns of proba are N, M, A):
#   r0 N [0.6 0.3 0.1]   r1 M [0.5 0.4 0.1]   r2 A [0.2 0.2 0.6]   r3 N [0.4 0.5 0.1]
#   N: positives 0.6, 0.4 vs negatives 0.5, 0.2 -> pairs won 0.6>0.5, 0.6>0.2, 0.4>0.2 = 3/4
#   M: positive 0.4 vs negatives 0.3, 0.2, 0.5 -> 2/3
#   A: positive 0.6 vs negatives 0.1, 0.1, 0.1 -> 1
#   macro (3/4 + 2/3 + 1)/3 = 29/36 (a column-order mix-up, e.g. sorted A, M, N, gives other numbers)
AUC_TRUE = ["N", "M", "A", "N"]
AUC_PROBA = [[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6], [0.4, 0.5, 0.1]]


def test_auc_by_hand():
    np.testing.assert_allclose(metrics.per_class(AUC_TRUE, AUC_PROBA)["auc"], [3 / 4, 2 / 3, 1], rtol=1e-12)
    assert metrics.summary(AUC_TRUE, AUC_PROBA)["auc"] == pytest.approx(29 / 36, rel=1e-12)


def random_case(seed, n=150, with_ma=True):
    rng = np.random.default_rng(seed)
    labels = CLASSES if with_ma else OUTPUTS
    y = rng.choice(labels, n, p=[0.4, 0.25, 0.3, 0.05] if with_ma else [0.4, 0.3, 0.3])
    proba = rng.dirichlet(rng.uniform(0.3, 3, 3), n)
    return y, proba


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_sklearn_and_numpy(seed):
    y_all, p_all = random_case(seed)
    keep = y_all != "M&A"
    y, p = y_all[keep], p_all[keep]
    pred = np.array(OUTPUTS)[np.argmax(p, axis=1)]
    s, table = metrics.summary(y_all, p_all), metrics.per_class(y_all, p_all)

    # the scikit-learn-backed numbers
    assert s["accuracy"] == pytest.approx(accuracy_score(y, pred))
    prec, rec, f1, _ = precision_recall_fscore_support(y, pred, labels=list(OUTPUTS), average="macro",
                                                       zero_division=0)
    assert (s["precision"], s["sensitivity"], s["f1"]) == pytest.approx((prec, rec, f1))
    prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=list(OUTPUTS), zero_division=0)
    np.testing.assert_allclose(table[["precision", "sensitivity", "f1"]].to_numpy(), np.c_[prec, rec, f1])
    np.testing.assert_array_equal(table["support"], sup)
    ovr = [roc_auc_score(y == c, p[:, k]) for k, c in enumerate(OUTPUTS)]
    np.testing.assert_allclose(table["auc"], ovr)
    assert s["auc"] == pytest.approx(np.mean(ovr))
    assert s["auc"] == pytest.approx(roc_auc_score(y, p[:, [2, 1, 0]], multi_class="ovr", labels=["A", "M", "N"]))

    # specificity against an independent NumPy computation
    spec = [np.sum((y != c) & (pred != c)) / np.sum(y != c) for c in OUTPUTS]
    np.testing.assert_allclose(table["specificity"], spec)
    assert s["specificity"] == pytest.approx(np.mean(spec))

    # the macro means of the per-class table are the summary's
    for name in ("precision", "sensitivity", "specificity", "f1", "auc"):
        assert s[name] == pytest.approx(table[name].mean()), name
    assert (s["n_images"], s["n_left_out"]) == (keep.sum(), (~keep).sum())
    np.testing.assert_array_equal(metrics.confusion(y_all, metrics.predict(p_all)).to_numpy().sum(), keep.sum())


def test_metric_names_are_the_papers():
    assert list(metrics.METRICS) == [*targets()["metric_names"], "auc"]
    assert list(metrics.METRICS) == targets()["table9_pooling_D2"]["_columns"]


@pytest.mark.parametrize("seed", range(3))
def test_ma_rows_change_no_3class_metric(seed):
    y, p = random_case(seed, n=80, with_ma=False)
    rng = np.random.default_rng(100 + seed)
    n_ma = 7
    at = np.sort(rng.choice(len(y) + n_ma, n_ma, replace=False))       # M&A rows at random positions
    y_ma, p_ma = np.empty(len(y) + n_ma, dtype=object), np.empty((len(y) + n_ma, 3))
    rest = np.setdiff1d(np.arange(len(y_ma)), at)
    y_ma[at], p_ma[at] = "M&A", rng.dirichlet(np.ones(3), n_ma)
    y_ma[rest], p_ma[rest] = y, p

    before, after = metrics.summary(y, p), metrics.summary(y_ma, p_ma)
    assert after.pop("n_left_out") == n_ma and before.pop("n_left_out") == 0
    assert after == before
    pd.testing.assert_frame_equal(metrics.per_class(y_ma, p_ma), metrics.per_class(y, p))
    pd.testing.assert_frame_equal(metrics.confusion(y_ma, metrics.predict(p_ma)),
                                  metrics.confusion(y, metrics.predict(p)))
    assert list(metrics.top2(y_ma, p_ma).index) == list(at)


def test_auc_nan_without_warning_when_a_class_is_absent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no UndefinedMetricWarning either
        s = metrics.summary(["M", "M", "M"], [[0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
        assert np.isnan(s["auc"]) and s["accuracy"] == pytest.approx(1 / 3)
        assert metrics.per_class(["M", "M"], [[0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])["auc"].isna().all()
        # two classes of three: the absent one's AUC is undefined, so is the macro mean
        two = metrics.per_class(["N", "M"], [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
        assert list(two["auc"].isna()) == [False, False, True]
        assert np.isnan(metrics.summary(["N", "M"], [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])["auc"])


def test_no_3class_image_gives_nan_not_an_error():
    s = metrics.summary(["M&A"], [[0.1, 0.5, 0.4]])
    assert all(np.isnan(s[m]) for m in metrics.METRICS) and (s["n_images"], s["n_left_out"]) == (0, 1)
    table = metrics.per_class(["M&A"], [[0.1, 0.5, 0.4]])
    assert table.drop(columns="support").isna().all().all() and (table["support"] == 0).all()
    assert metrics.confusion([], []).to_numpy().sum() == 0
    assert np.isnan(metrics.top2_accuracy(["N"], [[0.6, 0.3, 0.1]]))


def test_probabilities_as_stored_pass():
    y, p = random_case(7, with_ma=False)
    exact = metrics.summary(y, p)
    p32 = p.astype(np.float32)                         # softmax as TensorFlow returns it
    assert metrics.summary(y, p32) == pytest.approx(exact, rel=1e-5)
    rounded = np.round(p, 3)                           # rows then sum to 1 only within 1.5e-3
    assert np.isfinite(metrics.summary(y, rounded)["auc"])


# The top-2 rule: rows are probabilities over N, M, A of M&A images.
TOP2_CASES = [
    ([0.10, 0.60, 0.30], ("M", "A"), True),       # M then A
    ([0.10, 0.30, 0.60], ("A", "M"), True),       # A then M
    ([0.30, 0.60, 0.10], ("M", "N"), False),      # M then N
    ([0.60, 0.10, 0.30], ("N", "A"), False),      # N first
    ([0.20, 0.40, 0.40], ("M", "A"), True),       # tie for first between M and A: M ranks first
    ([0.40, 0.40, 0.20], ("N", "M"), False),      # tie for first between N and M: N ranks first
    ([0.30, 0.40, 0.30], ("M", "N"), False),      # tie for second between N and A: N, so wrong
    ([1 / 3, 1 / 3, 1 / 3], ("N", "M"), False),   # all tied: OUTPUTS order
]


@pytest.mark.parametrize("row, ranked, correct", TOP2_CASES)
def test_top2_rule(row, ranked, correct):
    table = metrics.top2(["M&A"], [row])
    got = table.iloc[0]
    assert (got["top1"], got["top2"]) == ranked
    assert got["p_top1"] == row[OUTPUTS.index(ranked[0])] and got["p_top2"] == row[OUTPUTS.index(ranked[1])]
    assert bool(got["correct"]) is correct


def test_top2_table_and_accuracy():
    # the paper's Fig. 13 (two M&A images: top-1 metastasis, top-2 arthritis) among other images
    fig13 = targets()["fig13_top_probabilities"]
    ma_rows = [[1 - t1 - t2, t1, t2] for t1, t2 in zip(fig13["top1"], fig13["top2"])]
    y = ["N", "M&A", "A", "M&A", "M&A"]
    p = [[0.2, 0.1, 0.7], ma_rows[0], [0.1, 0.45, 0.45], ma_rows[1], [0.5, 0.3, 0.2]]
    table = metrics.top2(y, p)
    assert list(table.columns) == ["top1", "p_top1", "top2", "p_top2", "correct"]
    assert list(table.index) == [1, 3, 4] and table.index.name == "image"
    assert list(table["top1"]) == ["M", "M", "N"] and list(table["top2"]) == ["A", "A", "M"]
    np.testing.assert_allclose(table["p_top1"], [*fig13["top1"], 0.5])
    np.testing.assert_allclose(table["p_top2"], [*fig13["top2"], 0.3])
    assert list(table["correct"]) == [True, True, False]
    assert metrics.top2_accuracy(y, p) == pytest.approx(2 / 3)


@pytest.mark.parametrize("y, proba, match", [
    (["N", "M"], [[0.5, 0.5], [0.5, 0.5]], r"shape \(2, 3\) with columns N, M, A, got shape \(2, 2\)"),
    (["N", "M"], [[0.2, 0.2, 0.2, 0.4]] * 2, r"got shape \(2, 4\)"),
    (["N"], [0.2, 0.3, 0.5], r"got shape \(3,\)"),
    (["N", "M"], [[0.5, 0.5, 0.2], [0.2, 0.3, 0.5]], r"1 row\(s\) do not sum to 1.*row 0 sums to 1.2"),
    (["N"], [[0.3, 0.3, 0.3]], r"do not sum to 1"),
    (["N"], [[-0.1, 0.6, 0.5]], r"row 0 has values outside \[0, 1\]"),
    (["N"], [[np.nan, 0.5, 0.5]], r"row 0 is not finite"),
    (["N"], [["a", "b", "c"]], r"not a numeric array"),
    (["N", "X"], [[1, 0, 0]] * 2, r"unknown label\(s\) 'X'"),
    (["n"], [[1, 0, 0]], r"unknown label\(s\) 'n'"),
    ([None, 1], [[1, 0, 0]] * 2, r"unknown label\(s\) 1, None"),
    ([["N", "M"]], [[1, 0, 0]] * 2, r"y_true: expected a 1-D"),
    (["N", "M", "A"], [[1, 0, 0]] * 2, r"length mismatch: 3 label\(s\) in y_true but 2 row\(s\) in proba"),
])
@pytest.mark.parametrize("func", [metrics.summary, metrics.per_class, metrics.top2, metrics.top2_accuracy])
def test_errors_name_the_problem(func, y, proba, match):
    with pytest.raises(DataError, match=match):
        func(y, proba)


def test_confusion_errors():
    with pytest.raises(DataError, match=r"y_pred: unknown label\(s\) 'M&A'"):
        metrics.confusion(["N", "M&A"], ["N", "M&A"])        # predictions are outputs, never M&A
    with pytest.raises(DataError, match=r"length mismatch: 2 label\(s\) in y_true but 1 in y_pred"):
        metrics.confusion(["N", "M"], ["N"])
    with pytest.raises(DataError, match=r"y_true: unknown label\(s\) 'B'"):
        metrics.confusion(["B"], ["N"])


def test_zero_division_counts_as_zero():
    # true N M, predicted N N: M and A are never predicted, A never occurs.
    #   N: TP 1, FP 1, FN 0, TN 0 -> precision 1/2, sensitivity 1, specificity 0/(0+1) = 0, F1 2/3
    #   M: TP 0, FP 0, FN 1, TN 1 -> precision 0/0 -> 0, sensitivity 0, specificity 1, F1 0
    #   A: TP 0, FP 0, FN 0, TN 2 -> precision 0/0 -> 0, sensitivity 0/0 -> 0, specificity 1, F1 0
    s = metrics.summary(["N", "M"], one_hot_proba(["N", "N"]))
    assert (s["precision"], s["sensitivity"], s["specificity"], s["f1"]) == pytest.approx(
        (1 / 6, 1 / 3, 2 / 3, 2 / 9))
    # a class without negatives (every image N): its specificity TN/(TN+FP) = 0/0 counts as 0
    table = metrics.per_class(["N", "N"], one_hot_proba(["N", "M"]))
    assert list(table["specificity"]) == [0, pytest.approx(1 / 2), 1]
