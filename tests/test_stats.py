"""dspic_lib.evaluation.stats and dspic_lib.plots.stats: the patient-level bootstrap against the analytic (Wald)
interval of a known proportion, equality with metrics.summary, pairing, the Nadeau-Bengio corrected t
against hand computations, ECE on crafted cases, temperature scaling recovering a known T, degenerate and
bad inputs, and the figures fitting the column. Everything synthetic and seeded; a few seconds in all."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")   # tests only: the library leaves the backend to the notebook

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import assert_fits_the_column  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats as sps  # noqa: E402

from dspic_lib.errors import ConfigError, DataError  # noqa: E402
from dspic_lib.evaluation import metrics, stats  # noqa: E402
from dspic_lib.plots import stats as ps  # noqa: E402
from dspic_lib.vocab import OUTPUTS  # noqa: E402

Z975 = sps.norm.ppf(0.975)
RIGHT, WRONG = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]      # for a true N image: top-1 N (right) or M (wrong)


def _known_sample():
    """400 images of class N in 200 patients of 2 views; the first 140 patients right on both views, the
    other 60 wrong on both: accuracy 0.7, and a patient's views always agree (intra-class correlation 1)."""
    right = np.repeat(np.arange(200) < 140, 2)
    y = np.array(["N"] * 400)
    proba = np.where(right[:, None], RIGHT, WRONG)
    return y, proba, np.repeat(np.arange(200), 2)


def _cohort(n_patients=115, seed=0, both=0.1, ties=True):
    """A test set like the cohort's: 2 views per patient, all four labels, probabilities leaning towards the
    true class(es), correlated within a patient; rounded so that some scores tie."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["N", "M", "A", "M&A"], n_patients, p=[0.45, 0.25, 0.30 - both, both])
    y = np.repeat(labels, 2)
    groups = np.repeat([f"P{i:03d}" for i in range(n_patients)], 2)
    z = np.repeat(rng.normal(0, 0.8, (n_patients, 3)), 2, axis=0) + rng.normal(0, 0.8, (len(y), 3))
    for i, lab in enumerate(y):
        for c in lab.split("&"):
            z[i, OUTPUTS.index(c)] += 1.3
    if ties:
        z = np.round(z, 1)
    proba = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return y, proba, groups


# ---------------------------------------------------------------------------------------- bootstrap


def test_cluster_bootstrap_matches_the_wald_interval_with_the_design_effect():
    """Both views of a patient agree, so the 400 images carry the evidence of 200 patients: the Wald
    interval of a proportion over 200 independent units, 0.7 +- 1.96 sqrt(0.7 * 0.3 / 200) (design effect
    1 + (m - 1) ICC = 2 for m = 2 views, ICC = 1). The percentile bootstrap agrees within 0.01 at each end
    (its resampling error with 4000 resamples is a few thousandths; the proportion moves in steps of 0.005)."""
    y, proba, groups = _known_sample()
    table = stats.bootstrap_metrics(y, proba, groups, n_boot=4000, seed=1, metrics=("accuracy",))
    row = table.loc["accuracy"]
    assert row["value"] == 0.7 and row["n_boot"] == 4000
    half = Z975 * math.sqrt(0.7 * 0.3 / 200)
    assert row["low"] == pytest.approx(0.7 - half, abs=0.01)
    assert row["high"] == pytest.approx(0.7 + half, abs=0.01)


def test_images_as_their_own_patients_match_the_independent_wald_interval_and_are_narrower():
    """The same images, each taken as its own patient (what an image-level bootstrap assumes): the Wald
    interval over 400 independent images, narrower by sqrt(2): grouping matters."""
    y, proba, groups = _known_sample()
    alone = stats.bootstrap_metrics(y, proba, np.arange(400), n_boot=4000, seed=1, metrics="accuracy")
    half = Z975 * math.sqrt(0.7 * 0.3 / 400)
    assert alone.loc["accuracy", "low"] == pytest.approx(0.7 - half, abs=0.01)
    assert alone.loc["accuracy", "high"] == pytest.approx(0.7 + half, abs=0.01)
    grouped = stats.bootstrap_metrics(y, proba, groups, n_boot=4000, seed=1, metrics="accuracy")
    ratio = ((grouped["high"] - grouped["low"]) / (alone["high"] - alone["low"])).iloc[0]
    assert ratio == pytest.approx(math.sqrt(2), rel=0.12)


def test_value_is_metrics_summary_on_the_whole_test_set():
    for seed in range(4):
        y, proba, groups = _cohort(seed=seed)
        table = stats.bootstrap_metrics(y, proba, groups, n_boot=20, seed=seed)
        assert list(table.index) == list(metrics.METRICS)
        assert list(table.columns) == ["value", "low", "high", "n_boot"]
        expected = metrics.summary(y, proba)
        for name in metrics.METRICS:
            assert table.loc[name, "value"] == pytest.approx(expected[name], rel=0, abs=1e-12), name
            assert table.loc[name, "low"] <= table.loc[name, "high"]


def test_weighted_resamples_equal_metrics_summary_on_the_drawn_images():
    """The fast path (a patient drawn c times = its images weighted c) gives what metrics.summary gives on
    the resampled images themselves, duplicates and all, for every metric, AUC with tied scores included."""
    y, proba, groups = _cohort(n_patients=60, seed=3)
    proba[10:40] = proba[60:90]                  # tied scores across patients and classes
    codes = pd.factorize(pd.Series(groups))[0]
    counts = stats._patient_counts(codes, 25, np.random.default_rng(7))
    assert (counts.sum(axis=1) == 60).all()
    weights = counts[:, codes]
    fast = stats._Scorer(y, proba)(weights)
    for b in range(len(weights)):
        drawn = np.repeat(np.arange(len(y)), weights[b].astype(int))
        slow = metrics.summary(y[drawn], proba[drawn])
        for name in metrics.METRICS:
            assert fast[name][b] == pytest.approx(slow[name], rel=0, abs=1e-12, nan_ok=True), (b, name)


def test_same_seed_same_table_other_seed_other_table():
    y, proba, groups = _cohort()
    a = stats.bootstrap_metrics(y, proba, groups, n_boot=200, seed=5)
    pd.testing.assert_frame_equal(a, stats.bootstrap_metrics(y, proba, groups, n_boot=200, seed=5))
    pd.testing.assert_frame_equal(a, stats.bootstrap_metrics(y, proba, groups, n_boot=200,
                                                             seed=np.random.default_rng(5)))
    b = stats.bootstrap_metrics(y, proba, groups, n_boot=200, seed=6)
    assert not np.allclose(a[["low", "high"]], b[["low", "high"]])
    pd.testing.assert_series_equal(a["value"], b["value"])


def test_a_score_function_draws_the_same_patients_as_the_four_class_bootstrap():
    """The generic path (any labels, any score function) resamples exactly as the fast one does: with
    ``metrics.summary`` as the score it gives the fast path's table to 1e-12."""
    from dspic_lib.vocab import CLASSES, OUTPUTS

    y, proba, groups = _cohort()
    fast = stats.bootstrap_metrics(y, proba, groups, n_boot=60, seed=3)
    slow = stats.bootstrap_metrics(y, proba, groups, n_boot=60, seed=3, classes=CLASSES, outputs=OUTPUTS,
                                   score=metrics.summary)
    pd.testing.assert_frame_equal(fast, slow, rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match="need classes"):
        stats.bootstrap_metrics(y, proba, groups, score=metrics.summary)


def test_resamples_where_a_metric_is_undefined_are_dropped_for_that_metric_only():
    """Class A in a single patient of 40: the resamples that miss it (about (1 - 1/40)^40, 36 %) have no AUC."""
    y, proba, groups = _cohort(n_patients=40, seed=2, both=0.0)
    y = np.where(y == "A", "M", y)
    y[:2] = "A"
    table = stats.bootstrap_metrics(y, proba, groups, n_boot=400, seed=0)
    assert table.loc["accuracy", "n_boot"] == 400
    assert 0.55 * 400 < table.loc["auc", "n_boot"] < 0.73 * 400
    assert np.isfinite(table.loc["auc", ["low", "high"]].astype(float)).all()


def test_only_both_images_gives_nan_not_an_error():
    y, proba = np.array(["M&A"] * 6), np.tile([0.2, 0.4, 0.4], (6, 1))
    table = stats.bootstrap_metrics(y, proba, np.repeat([1, 2, 3], 2), n_boot=50)
    assert table[["value", "low", "high"]].isna().all().all()
    assert (table["n_boot"] == 0).all()


def test_bootstrap_of_230_images_and_1000_resamples_takes_well_under_a_few_seconds():
    import time
    y, proba, groups = _cohort(n_patients=115)
    start = time.perf_counter()
    stats.bootstrap_metrics(y, proba, groups, n_boot=1000, seed=0)
    assert time.perf_counter() - start < 2.0     # ~0.03 s here; one metrics.summary call per resample: ~4 s


# ---------------------------------------------------------------------------------------- differences


def _flip(proba, rows):
    """Right rows made wrong (for true N images: top-1 moved from N to M)."""
    out = proba.copy()
    out[rows] = WRONG
    return out


def test_paired_bootstrap_of_a_model_against_itself_is_zero_with_p_one():
    y, proba, groups = _cohort()
    for metric in ("accuracy", "auc"):
        res = stats.paired_bootstrap(y, proba, proba, groups, metric=metric, n_boot=200, seed=0, level=0.95)
        assert (res["diff"], res["low"], res["high"], res["p"]) == (0.0, 0.0, 0.0, 1.0)


def test_pairing_cancels_what_both_models_share():
    """B = A with 10 of 400 images made wrong: the paired difference is 10/400 = 0.025 with a tight
    interval above 0 (every resample has B no better than A: p = 2 / (n_boot + 1)); scoring the two as
    independent test sets gives an interval about 0.065 wide on each side that straddles 0."""
    y, a, groups = _known_sample()
    b = _flip(a, np.arange(0, 20, 2))
    paired = stats.paired_bootstrap(y, a, b, groups, metric="accuracy", n_boot=1000, seed=0, level=0.95)
    assert paired["diff"] == pytest.approx(0.025)
    assert 0 < paired["low"] < paired["diff"] < paired["high"] < 0.05
    assert paired["p"] == pytest.approx(2 / 1001)
    unpaired = stats.unpaired_bootstrap_diff((y, a, groups), (y, b, groups), metric="accuracy", n_boot=1000,
                                             seed=0, level=0.95)
    assert unpaired["diff"] == pytest.approx(0.025)
    assert unpaired["low"] < 0 < unpaired["high"]
    assert unpaired["high"] - unpaired["low"] > 4 * (paired["high"] - paired["low"])
    assert unpaired["p"] > 0.3


def test_unpaired_difference_of_two_known_proportions_matches_wald():
    """A: accuracy 0.7 over 200 patients (views agree); B: accuracy 0.6 over 100 patients. The Wald
    interval of the difference: 0.1 +- 1.96 sqrt(0.21/200 + 0.24/100)."""
    y, a, ga = _known_sample()
    yb = np.array(["N"] * 200)
    b = np.where(np.repeat(np.arange(100) < 60, 2)[:, None], RIGHT, WRONG)
    res = stats.unpaired_bootstrap_diff((y, a, ga), (yb, b, np.repeat(np.arange(100), 2)),
                                        metric="accuracy", n_boot=4000, seed=3)
    half = Z975 * math.sqrt(0.21 / 200 + 0.24 / 100)
    assert res["diff"] == pytest.approx(0.1)
    assert res["low"] == pytest.approx(0.1 - half, abs=0.012)
    assert res["high"] == pytest.approx(0.1 + half, abs=0.012)
    # the two-sided p of the normal approximation, 2 * (1 - Phi(0.1 / se)), within resampling error
    assert res["p"] == pytest.approx(2 * sps.norm.sf(0.1 / math.sqrt(0.21 / 200 + 0.24 / 100)), abs=0.02)
    again = stats.unpaired_bootstrap_diff((y, a, ga), (yb, b, np.repeat(np.arange(100), 2)),
                                          metric="accuracy", n_boot=4000, seed=3)
    assert again == res


def test_bootstrap_p_counts_the_far_side_of_zero_with_one_added():
    # 1 of 4 differences at or below 0 (the side away from the positive ones): 2 * (1 + 1) / (4 + 1)
    assert stats._bootstrap_p(np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(0.8)
    assert stats._bootstrap_p(np.array([1.0, 2.0, np.nan])) == pytest.approx(2 / 3)
    assert stats._bootstrap_p(np.array([-3.0, -2.0, 0.0, 1.0])) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------- cross-validation

FOLDS = [0.70, 0.74, 0.68, 0.72, 0.76]     # mean 0.72; deviations -2, 2, -4, 0, 4 (x 0.01): variance 0.001


def test_cv_interval_by_hand():
    # 5-fold CV of 500 images: 400 to train, 100 to test per fold; factor 1/5 + 100/400 = 0.45
    res = stats.cv_interval(FOLDS, n_train=400, n_test=100)
    half = 2.7764451051977987 * math.sqrt(0.45 * 0.001)        # t(4) 97.5 % quantile, from tables
    assert res["k"] == 5
    assert res["mean"] == pytest.approx(0.72)
    assert res["sd"] == pytest.approx(math.sqrt(0.001))
    assert (res["low"], res["high"]) == (pytest.approx(0.72 - half), pytest.approx(0.72 + half))
    naive = 2.7764451051977987 * math.sqrt(0.001 / 5)          # the uncorrected interval: 1.5 x narrower
    assert res["high"] - res["mean"] == pytest.approx(naive * math.sqrt(0.45 * 5))
    wider = stats.cv_interval(FOLDS, n_train=400, n_test=100, level=0.99)
    assert wider["low"] < res["low"] and wider["high"] > res["high"]


def test_corrected_t_test_by_hand_and_more_cautious_than_the_naive_test():
    diffs = [0.02, 0.01, 0.03, -0.01, 0.02]
    d = np.array(diffs)
    t = d.mean() / math.sqrt((1 / 5 + 100 / 400) * d.var(ddof=1))
    res = stats.corrected_t_test(diffs, n_train=400, n_test=100)
    assert res["diff"] == pytest.approx(0.014)
    assert res["t"] == pytest.approx(t)
    assert res["p"] == pytest.approx(2 * sps.t.sf(abs(t), df=4))
    assert res["low"] < 0 < res["high"]                         # p > 0.05 and the interval holds 0
    naive = sps.ttest_1samp(d, 0.0)
    assert naive.pvalue < res["p"]
    # with test parts negligible against the training parts the correction vanishes: the naive test
    limit = stats.corrected_t_test(diffs, n_train=1e12, n_test=1)
    assert limit["p"] == pytest.approx(naive.pvalue, rel=1e-6)
    assert limit["t"] == pytest.approx(naive.statistic, rel=1e-6)


def test_corrected_t_test_without_spread():
    assert stats.corrected_t_test([0.0, 0.0, 0.0], 80, 20) == {
        "diff": 0.0, "low": 0.0, "high": 0.0, "t": 0.0, "p": 1.0}
    res = stats.corrected_t_test([0.01, 0.01, 0.01], 80, 20)
    assert res["t"] == math.inf and res["p"] == 0.0


# ---------------------------------------------------------------------------------------- calibration


def _at(conf, n, n_right, true="N"):
    """``n`` images with top-1 N at confidence ``conf``, ``n_right`` of them truly ``true``, the others M."""
    rest = (1 - conf) / 2
    proba = np.tile([conf, rest, rest], (n, 1))
    return [true] * n_right + ["M"] * (n - n_right), proba


def _join(*parts):
    return (sum((list(p[0]) for p in parts), []), np.vstack([p[1] for p in parts]))


def test_ece_of_a_calibrated_model_is_zero():
    y, proba = _join(_at(0.7, 10, 7), _at(0.9, 20, 18), _at(0.5, 4, 2))
    assert stats.ece(y, proba) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_an_always_confident_always_wrong_model():
    y, proba = _at(0.98, 30, 0)
    assert stats.ece(y, proba) == pytest.approx(0.98)


def test_ece_by_hand_and_bins_closed_on_the_right():
    # 10 at 0.9 with 6 right (gap 0.3), 10 at 0.6 with 6 right (gap 0): ECE = 0.5 * 0.3
    y, proba = _join(_at(0.9, 10, 6), _at(0.6, 10, 6))
    assert stats.ece(y, proba) == pytest.approx(0.15)
    table = stats.reliability(y, proba, n_bins=10)
    assert list(table.columns) == ["bin_low", "bin_high", "count", "confidence", "accuracy"]
    assert len(table) == 10 and table["count"].sum() == 20
    assert table.loc[8, "count"] == 10 and table.loc[5, "count"] == 10     # 0.9 in (0.8, 0.9], 0.6 in (0.5, 0.6]
    assert table.loc[8, "accuracy"] == pytest.approx(0.6)
    assert table.loc[8, "confidence"] == pytest.approx(0.9)
    assert table.loc[0, ["confidence", "accuracy"]].isna().all()
    # five bins: 0.6 now in (0.4, 0.6], 0.9 in (0.8, 1]
    assert stats.reliability(y, proba, n_bins=5)["count"].tolist() == [0, 0, 10, 0, 10]


def test_calibration_leaves_out_both_images():
    y, proba = _join(_at(0.9, 10, 6), _at(0.6, 10, 6))
    more_y = y + ["M&A"] * 5
    more_p = np.vstack([proba, np.tile([0.9, 0.05, 0.05], (5, 1))])
    pd.testing.assert_frame_equal(stats.reliability(more_y, more_p), stats.reliability(y, proba))
    assert math.isnan(stats.ece(["M&A", "M&A"], [[0.1, 0.5, 0.4]] * 2))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("t_true", [2.5, 0.6])
def test_temperature_scaling_recovers_a_known_temperature(t_true):
    """Labels drawn from softmax(z); the model reports softmax(z * T): fitting recovers T (within 10 %) and
    temperature scaling then brings the ECE down to sampling noise."""
    rng = np.random.default_rng(11)
    z = rng.normal(0, 1.5, (3000, 3))
    y = np.asarray(OUTPUTS)[[rng.choice(3, p=row) for row in _softmax(z)]]
    proba = _softmax(z * t_true)
    t_fit = stats.fit_temperature(proba, y)
    assert t_fit == pytest.approx(t_true, rel=0.1)
    scaled = stats.apply_temperature(proba, t_fit)
    assert (scaled.argmax(axis=1) == proba.argmax(axis=1)).all()
    assert stats.ece(y, scaled) < 0.03 < stats.ece(y, proba)
    np.testing.assert_allclose(scaled, _softmax(z * t_true / t_fit), atol=1e-9)


def test_temperature_one_changes_nothing():
    _, proba, _ = _cohort(n_patients=10)
    np.testing.assert_allclose(stats.apply_temperature(proba, 1.0), proba, atol=1e-12)


def test_degenerate_validation_sets_still_give_a_finite_temperature():
    lo, hi = stats.T_BOUNDS
    uniform = np.full((6, 3), 1 / 3)
    assert stats.fit_temperature(uniform, ["N", "M", "A", "N", "M", "A"]) == 1.0           # NLL flat in T
    assert stats.fit_temperature(np.tile([0.1, 0.45, 0.45], (4, 1)), ["M&A"] * 4) == 1.0   # nothing to fit
    always_right = np.tile([0.9, 0.05, 0.05], (50, 1))                                     # all N, all right
    assert lo <= stats.fit_temperature(always_right, ["N"] * 50) < 0.1     # towards the lower bound
    always_wrong = np.tile([1.0, 0.0, 0.0], (50, 1))                                       # exact zeros too
    t = stats.fit_temperature(always_wrong, ["A"] * 50)
    assert math.isfinite(t) and lo <= t <= hi
    one_class = np.tile([0.8, 0.15, 0.05], (50, 1))                                        # one class predicted
    t = stats.fit_temperature(one_class, ["N"] * 30 + ["M"] * 20)
    assert math.isfinite(t) and lo < t < hi
    assert math.isfinite(stats.fit_temperature([[0.6, 0.3, 0.1]], ["M"]))                  # a single image


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, error, words", [
    (lambda y, p, g: stats.bootstrap_metrics(y, p, g[:-1]), DataError, "length mismatch"),
    (lambda y, p, g: stats.bootstrap_metrics(y, p[:-1], g), DataError, "length mismatch"),
    (lambda y, p, g: stats.bootstrap_metrics(y, p, [None] + list(g[1:])), DataError, "no patient id"),
    (lambda y, p, g: stats.bootstrap_metrics(y, p, g, metrics=("accuracy", "kappa")), ConfigError,
     "unknown metric 'kappa'; valid: 'accuracy'"),
    (lambda y, p, g: stats.bootstrap_metrics(y, p, g, metrics=()), ConfigError, "at least one"),
    (lambda y, p, g: stats.bootstrap_metrics(y, p, g, n_boot=0), ConfigError, "n_boot"),
    (lambda y, p, g: stats.bootstrap_metrics(y, p, g, level=95), ConfigError, "between 0 and 1"),
    (lambda y, p, g: stats.paired_bootstrap(y, p, p[:-1], g, metric="f1"), DataError, "length mismatch"),
    (lambda y, p, g: stats.paired_bootstrap(y, p, p, g, metric="F1"), ConfigError, "unknown metric 'F1'"),
    (lambda y, p, g: stats.unpaired_bootstrap_diff((y, p, g), (y, p), metric="f1"), DataError, "of b"),
    (lambda y, p, g: stats.unpaired_bootstrap_diff((y, p, g), (y, p, g[:3]), metric="f1"), DataError,
     "groups of b"),
    (lambda y, p, g: stats.cv_interval([0.7], 80, 20), DataError, "at least 2"),
    (lambda y, p, g: stats.cv_interval([0.7, float("nan")], 80, 20), DataError, "not finite"),
    (lambda y, p, g: stats.cv_interval([0.7, 0.8], 0, 20), ConfigError, "n_train"),
    (lambda y, p, g: stats.corrected_t_test([[0.1, 0.2]], 80, 20), DataError, "1-D"),
    (lambda y, p, g: stats.reliability(y, p, n_bins=0), ConfigError, "n_bins"),
    (lambda y, p, g: stats.ece(y[:-1], p), DataError, "length mismatch"),
    (lambda y, p, g: stats.fit_temperature(p, y[:-1]), DataError, "length mismatch"),
    (lambda y, p, g: stats.apply_temperature(p, 0.0), ConfigError, "temperature > 0"),
    (lambda y, p, g: stats.apply_temperature(np.log(p), 2.0), DataError, "proba"),
])
def test_bad_input_fails_with_a_clear_message(call, error, words):
    y, proba, groups = _cohort(n_patients=8)
    with pytest.raises(error, match=words.replace("(", r"\(")):
        call(y, proba, groups)


# ---------------------------------------------------------------------------------------- figures


def _reliability_tables():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 1.5, (400, 3))
    y = np.asarray(OUTPUTS)[[rng.choice(3, p=row) for row in _softmax(z)]]
    proba = _softmax(2.5 * z)
    return y, {"dSPIC-AM": stats.reliability(y, proba),
               "dSPIC-AM, temperature scaled": stats.reliability(y, stats.apply_temperature(proba, 2.5)),
               "empty": stats.reliability(["M&A"], [[0.1, 0.5, 0.4]])}


def _interval_table():
    y, proba, groups = _cohort()
    table = stats.bootstrap_metrics(y, proba, groups, n_boot=100, seed=0)
    return table.assign(paper=[0.7747, 0.7883, 0.7863, 0.8820, 0.7860, np.nan])


FIGURES = {
    "reliability_diagram": lambda: ps.reliability_diagram(_reliability_tables()[1]),
    "interval_plot": lambda: ps.interval_plot(_interval_table(), paper="paper"),
    "interval_plot_no_paper": lambda: ps.interval_plot(_interval_table(), title="Bootstrap 95 % intervals"),
    "interval_plot_classes": lambda: ps.interval_plot(
        pd.DataFrame({"value": [0.8, 0.6, 0.7], "low": [0.7, 0.5, np.nan], "high": [0.9, 0.7, np.nan]},
                     index=list(OUTPUTS)), paper={"N": 0.85, "A": 0.75}, xlabel="sensitivity"),
}


@pytest.mark.usefixtures("plot_style")
@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_fits_the_column_with_legible_text(name):
    fig = FIGURES[name]()
    assert isinstance(fig, Figure)
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    assert_fits_the_column(fig, name)


def test_every_public_figure_function_is_covered():
    import inspect
    public = {n for n, f in inspect.getmembers(ps, inspect.isfunction)
              if f.__module__ == ps.__name__ and not n.startswith("_")}
    assert public == {"reliability_diagram", "interval_plot"}
    assert public <= {n.replace("_no_paper", "").replace("_classes", "") for n in FIGURES}


def _legend_texts(fig):
    return {t.get_text() for lg in fig.legends for t in lg.get_texts()}


@pytest.mark.usefixtures("plot_style")
def test_reliability_diagram_names_each_line_with_its_ece():
    y, tables = _reliability_tables()
    fig = ps.reliability_diagram(tables)
    ax = fig.get_axes()[0]
    texts = _legend_texts(fig)
    before = next(t for t in texts if t.startswith("dSPIC-AM (ECE"))
    ece = stats.ece(y, _softmax(2.5 * np.random.default_rng(4).normal(0, 1.5, (400, 3))))
    assert f"{ece:.3f}" in before and "400 images" in before
    assert "empty (no image)" in texts and "calibrated" in texts
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    filled = tables["dSPIC-AM"].query("count > 0").sort_values("confidence")
    np.testing.assert_allclose(lines[0].get_ydata(), filled["accuracy"])
    sizes = ax.collections[0].get_sizes()
    assert sizes[np.argmax(filled["count"].to_numpy())] == sizes.max()


@pytest.mark.usefixtures("plot_style")
def test_interval_plot_draws_each_interval_and_the_paper_markers():
    table = _interval_table()
    fig = ps.interval_plot(table, paper="paper")
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["accuracy", "precision", "sensitivity",
                                                            "specificity", "F1", "AUC"]
    segments = sorted(tuple(ln.get_xdata()) for ln in ax.get_lines() if len(ln.get_xdata()) == 2)
    assert segments == sorted(zip(table["low"], table["high"]))
    (diamonds,) = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    np.testing.assert_allclose(diamonds.get_xdata(), table["paper"].to_numpy(float))
    assert {"this run, interval", "paper"} == _legend_texts(fig)
    assert _legend_texts(ps.interval_plot(table)) == {"this run, interval"}
