"""dspic_lib.evaluation.claims: the paper's numbers copied exactly, the tolerance measured from seeds, verdicts at
their boundaries, and each text claim holding on results that satisfy it and failing on results that
break it."""
import re

import numpy as np
import pandas as pd
import pytest

from dspic_lib.errors import DataError
from dspic_lib.evaluation import claims as C
from dspic_lib.evaluation import metrics
from dspic_lib.paper import leaves, targets

T = targets()


def _flat_numbers(obj):
    return (round(float(v), 6) for v in leaves(obj) if isinstance(v, (int, float)) and not isinstance(v, bool))


# ---------------------------------------------------------------------------------------- paper values

def test_paper_values_has_every_number_of_tables_5_6_8_9_once():
    p = C.paper_values()
    assert list(p.columns) == ["table", "model", "dataset", "metric", "paper"]
    # 3 datasets x 5 metrics (Tables 5, 6) + 6 AUCs (Table 8) + 2 rows x 6 columns (Table 9)
    assert len(p) == 15 + 15 + 6 + 12 == 48
    assert p.groupby("table").size().to_dict() == {"table5": 15, "table6": 15, "table8": 6, "table9": 12}
    assert not p.duplicated(C.KEYS).any()
    assert set(p.loc[p.table == "table8", "metric"]) == {"auc"}
    assert set(p.loc[p.table != "table5", "dataset"]) - {"D1", "D3"} == {"D2"}


def test_paper_values_spot_values_equal_targets_json():
    p = C.paper_values().set_index(C.KEYS)["paper"]
    assert p[("table5", "dSPIC-AM", "D2", "accuracy")] == 0.7747
    assert p[("table6", "dSPIC-RM", "D3", "f1")] == 0.7680
    assert p[("table8", "AlexNet", "D2", "auc")] == 0.8756
    assert p[("table9", "dSPIC-AM-nopool", "D2", "auc")] == 0.906
    assert p[("table9", "dSPIC-AM", "D2", "specificity")] == 0.8820


def test_paper_values_are_copied_not_recomputed():
    names = T["metric_names"]
    p = C.paper_values().set_index(C.KEYS)["paper"]
    for table, key, model in (("table5", "table5_dSPIC_AM", "dSPIC-AM"), ("table6", "table6_dSPIC_RM", "dSPIC-RM")):
        for d, values in T[key].items():
            assert [p[(table, model, d, m)] for m in names] == values
    for model, v in T["table8_auc_D2"].items():
        assert p[("table8", model, "D2", "auc")] == v
    t9 = T["table9_pooling_D2"]
    assert [p[("table9", "dSPIC-AM", "D2", m)] for m in t9["_columns"]] == t9["with_pooling"]
    assert [p[("table9", "dSPIC-AM-nopool", "D2", m)] for m in t9["_columns"]] == t9["without_pooling"]


# ---------------------------------------------------------------------------------------- tolerance

def test_tolerance_is_twice_the_sample_sd_over_seeds():
    by_seed = pd.DataFrame({"accuracy": [0.70, 0.72, 0.74],       # sd (ddof=1) = 0.02
                            "f1": [0.50, 0.50, 0.50],              # no spread
                            "auc": [0.90, np.nan, 0.94],           # NaN skipped: sd of (0.90, 0.94)
                            "n_images": [100, 100, 100]})          # a count, not a metric
    tol = C.tolerance(by_seed)
    assert set(tol.index) == {"accuracy", "f1", "auc"}
    assert tol["accuracy"] == pytest.approx(0.04, abs=1e-12)
    assert tol["f1"] == 0
    assert tol["auc"] == pytest.approx(2 * np.sqrt(0.0008), abs=1e-12)   # (0.02^2 * 2) / 1


def test_tolerance_two_seeds_and_a_metric_with_one_value():
    tol = C.tolerance(pd.DataFrame({"accuracy": [0.6, 0.8], "auc": [np.nan, 0.9]}))
    assert tol["accuracy"] == pytest.approx(2 * np.sqrt(0.02), abs=1e-12)
    assert np.isnan(tol["auc"])


@pytest.mark.parametrize("rows", [0, 1])
def test_tolerance_refuses_fewer_than_two_seeds(rows):
    with pytest.raises(DataError, match="at least 2 seeds"):
        C.tolerance(pd.DataFrame({"accuracy": [0.7] * rows}))


def test_tolerance_refuses_non_numeric_or_no_metric():
    with pytest.raises(DataError, match="non-numeric"):
        C.tolerance(pd.DataFrame({"accuracy": ["a", "b"]}))
    with pytest.raises(DataError, match="no metric"):
        C.tolerance(pd.DataFrame({"n_images": [1, 2]}))


# ---------------------------------------------------------------------------------------- verdicts

def _this_run(shift: dict) -> pd.DataFrame:
    """Paper values, shifted by ``shift[(table, model, dataset, metric)]`` where given; other rows absent."""
    p = C.paper_values().set_index(C.KEYS)["paper"]
    rows = [(*k, p[k] + d) for k, d in shift.items()]
    return pd.DataFrame(rows, columns=[*C.KEYS, C.THIS_RUN])


def test_verdict_boundaries():
    tol = pd.Series({"accuracy": 0.01, "precision": 0.02, "f1": np.nan})
    acc = lambda d: ("table5", "dSPIC-AM", d, "accuracy")          # noqa: E731
    prec = lambda d: ("table6", "dSPIC-RM", d, "precision")        # noqa: E731
    shift = {acc("D1"): 0.01, acc("D2"): -0.015, acc("D3"): 0.03,  # at tol, 1.5 tol, 3 tol
             prec("D1"): -0.02, prec("D2"): 0.04, prec("D3"): 0.0401,   # at tol, at 2 tol, just past
             ("table5", "dSPIC-AM", "D2", "f1"): 0.0,              # exact, but NaN tolerance
             ("table8", "AlexNet", "D2", "auc"): 0.0}              # auc not in tol at all
    out = C.verdicts(_this_run(shift), tol).set_index(C.KEYS)
    v = out["verdict"]
    assert v[acc("D1")] == "reproduced"
    assert v[acc("D2")] == "close"
    assert v[acc("D3")] == "not reproduced"
    assert v[prec("D1")] == "reproduced"
    assert v[prec("D2")] == "close"
    assert v[prec("D3")] == "not reproduced"
    assert v[("table5", "dSPIC-AM", "D2", "f1")] == "no tolerance"
    assert v[("table8", "AlexNet", "D2", "auc")] == "no tolerance"
    assert v[("table9", "dSPIC-AM", "D2", "accuracy")] == "not computed"       # no row given
    assert (v == "not computed").sum() == 48 - len(shift)
    assert out.loc[acc("D2"), "difference"] == pytest.approx(-0.015)           # this run - paper
    assert out.loc[acc("D2"), "this run"] == pytest.approx(0.7747 - 0.015)
    assert out.loc[acc("D2"), "paper"] == 0.7747
    assert out.loc[acc("D2"), "tolerance"] == 0.01


def test_verdict_nan_this_run_is_not_computed_and_zero_tolerance_needs_exact_match():
    this = _this_run({("table5", "dSPIC-AM", "D1", "accuracy"): 0.0, ("table5", "dSPIC-AM", "D2", "accuracy"): 1e-4})
    this.loc[len(this)] = ["table5", "dSPIC-AM", "D3", "accuracy", np.nan]
    v = C.verdicts(this, pd.Series({"accuracy": 0.0})).set_index(C.KEYS)["verdict"]
    assert v[("table5", "dSPIC-AM", "D1", "accuracy")] == "reproduced"
    assert v[("table5", "dSPIC-AM", "D2", "accuracy")] == "not reproduced"
    assert v[("table5", "dSPIC-AM", "D3", "accuracy")] == "not computed"


def test_verdicts_from_measured_seeds_end_to_end():
    tol = C.tolerance(pd.DataFrame({"auc": [0.90, 0.92, 0.94]}))           # 0.04
    this = _this_run({("table8", "SI_CLF", "D2", "auc"): 0.05, ("table8", "AlexNet", "D2", "auc"): -0.03})
    v = C.verdicts(this, tol).set_index("model").loc[["SI_CLF", "AlexNet"], "verdict"]
    assert v.tolist() == ["close", "reproduced"]


def test_verdicts_rejects_bad_input():
    good = _this_run({("table8", "SI_CLF", "D2", "auc"): 0.0})
    with pytest.raises(DataError, match="lacks column"):
        C.verdicts(good.drop(columns="this run"), pd.Series(dtype=float))
    with pytest.raises(DataError, match="sharing"):
        C.verdicts(pd.concat([good, good]), pd.Series(dtype=float))
    with pytest.raises(DataError, match="negative"):
        C.verdicts(good, pd.Series({"auc": -0.1}))


def test_this_run_values_reads_summary_per_cell():
    summary = {("dSPIC-AM", "D2"): {"accuracy": 0.8, "auc": 0.93, "n_images": 10}}
    long = C.this_run_values(summary).set_index(C.KEYS)[C.THIS_RUN]
    assert len(long) == 48
    assert long[("table5", "dSPIC-AM", "D2", "accuracy")] == 0.8
    assert long[("table9", "dSPIC-AM", "D2", "accuracy")] == 0.8
    assert long[("table8", "dSPIC-AM", "D2", "auc")] == 0.93
    assert long.notna().sum() == 4          # table5 + table9 accuracy, table8 + table9 auc


# ---------------------------------------------------------------------------------------- text claims

METRIC_NAMES = ("accuracy", "precision", "sensitivity", "specificity", "f1", "auc")


def _satisfying() -> C.Results:
    """Crafted results on which every claim holds (not the paper's numbers)."""
    summary = {
        ("dSPIC-AM", "D1"): {"accuracy": 0.60, "f1": 0.62},
        ("dSPIC-AM", "D2"): dict(zip(METRIC_NAMES, (0.70, 0.71, 0.72, 0.85, 0.70, 0.90))),
        ("dSPIC-AM", "D3"): {"accuracy": 0.65, "f1": 0.66},
        ("dSPIC-RM", "D2"): {"accuracy": 0.66, "f1": 0.67},
        ("dSPIC-AM-nopool", "D2"): dict(zip(METRIC_NAMES, (0.69, 0.70, 0.71, 0.84, 0.69, 0.89))),
    }
    cm = pd.DataFrame([[40, 2, 8], [3, 30, 1], [7, 1, 35]], index=list("NMA"), columns=list("NMA"))
    return C.Results(summary=summary, confusion={("dSPIC-AM", "D2"): cm})


def _verdicts(results) -> list[str]:
    return C.text_claims(results)["verdict"].tolist()


def _with(results: C.Results, cell, **metrics_) -> C.Results:
    summary = {k: dict(v) for k, v in results.summary.items()}
    summary[cell] = {**summary.get(cell, {}), **metrics_}
    return C.Results(summary=summary, confusion=dict(results.confusion))


def test_text_claims_follow_targets_json_and_all_hold_on_satisfying_results():
    out = C.text_claims(_satisfying())
    assert list(out.columns) == ["claim", "paper", "this run", "verdict"]
    assert out["claim"].tolist() == T["text_claims"]
    assert out["verdict"].tolist() == ["holds"] * 5


def test_text_claims_paper_column_only_copies_targets_json_numbers():
    allowed = set(_flat_numbers(T))
    out = C.text_claims(_satisfying())
    for text in out["paper"]:
        for num in re.findall(r"\b\d\.\d+\b", text):
            assert round(float(num), 6) in allowed, (num, text)
    assert "0.6910" in out.loc[0, "paper"] and "0.7747" in out.loc[0, "paper"]
    assert "0.9060" in out.loc[4, "paper"]


def test_claim_a_reports_points_and_the_paper_numbers_give_the_claimed_gain():
    p = C.paper_values()
    summary = {}
    for table, model, dataset, metric, v in p.itertuples(index=False):
        summary.setdefault((model, dataset), {})[metric] = v
    out = C.text_claims(C.Results(summary=summary))
    assert "+8.37 points" in out.loc[0, "this run"] and "+6.30 points" in out.loc[0, "this run"]
    assert out["verdict"].tolist() == ["holds", "holds", "holds", "not computed", "holds"]


def test_claim_a_augmentation_breaks():
    r = _satisfying()
    assert _verdicts(_with(r, ("dSPIC-AM", "D1"), accuracy=0.75))[0] == "does not hold"   # accuracy down
    assert _verdicts(_with(r, ("dSPIC-AM", "D1"), f1=0.70))[0] == "does not hold"         # F1 equal
    assert "-5.00 points" in C.text_claims(_with(r, ("dSPIC-AM", "D1"), accuracy=0.75)).loc[0, "this run"]


def test_claim_b_am_beats_rm_needs_both_accuracy_and_f1():
    r = _satisfying()
    assert _verdicts(_with(r, ("dSPIC-RM", "D2"), f1=0.75)) == ["holds", "does not hold", "holds", "holds", "holds"]
    assert _verdicts(_with(r, ("dSPIC-RM", "D2"), accuracy=0.71))[1] == "does not hold"


def test_claim_c_d2_beats_d3_needs_both_accuracy_and_f1():
    r = _satisfying()
    assert _verdicts(_with(r, ("dSPIC-AM", "D3"), accuracy=0.75)) == \
        ["holds", "holds", "does not hold", "holds", "holds"]
    assert _verdicts(_with(r, ("dSPIC-AM", "D3"), f1=0.70))[2] == "does not hold"


def _with_cm(rows) -> C.Results:
    r = _satisfying()
    cm = pd.DataFrame(rows, index=list("NMA"), columns=list("NMA"))
    return C.Results(summary=r.summary, confusion={("dSPIC-AM", "D2"): cm})


def test_pair_confusion_hand_computed():
    rates = C.pair_confusion(pd.DataFrame([[40, 2, 8], [3, 30, 1], [7, 1, 35]], index=list("NMA"), columns=list("NMA")))
    # supports N 50, M 34, A 43
    assert rates["N-M"] == pytest.approx(5 / 84)
    assert rates["N-A"] == pytest.approx(15 / 93)
    assert rates["M-A"] == pytest.approx(2 / 77)
    with pytest.raises(DataError, match="3x3"):
        C.pair_confusion(pd.DataFrame([[1, 2], [3, 4]], index=list("NM"), columns=list("NM")))


def test_claim_d_normal_vs_arthritic_breaks():
    assert _verdicts(_with_cm([[40, 2, 8], [3, 30, 1], [7, 1, 35]]))[3] == "holds"
    # M-A the most confused pair
    assert _verdicts(_with_cm([[45, 2, 3], [1, 20, 9], [2, 8, 30]]))[3] == "does not hold"
    # a tie between N-A and N-M is not "the hardest"
    assert _verdicts(_with_cm([[40, 5, 5], [5, 40, 0], [5, 0, 40]]))[3] == "does not hold"


def test_claim_d_normalizes_by_support():
    # raw counts: N-M 12 > N-A 10; normalized: N-M 12/520 < N-A 10/60, so N vs A is hardest
    assert _verdicts(_with_cm([[20, 6, 5], [6, 470, 0], [5, 0, 24]]))[3] == "holds"
    # raw counts: N-A 12 > N-M 10; normalized: N-A 12/520 < N-M 10/60
    assert _verdicts(_with_cm([[20, 5, 6], [5, 24, 0], [6, 0, 470]]))[3] == "does not hold"


def test_claim_d_takes_metrics_confusion():
    y_true = ["N"] * 10 + ["M"] * 10 + ["A"] * 10 + ["M&A"]
    y_pred = ["N"] * 7 + ["A"] * 3 + ["M"] * 9 + ["N"] + ["A"] * 8 + ["N"] * 2 + ["M"]
    r = _satisfying()
    r = C.Results(summary=r.summary, confusion={("dSPIC-AM", "D2"): metrics.confusion(y_true, y_pred)})
    out = C.text_claims(r)
    assert out.loc[3, "verdict"] == "holds"
    assert out.loc[3, "this run"].startswith("N-A 0.250")


def test_claim_e_pooling_needs_every_metric_lower():
    r = _satisfying()
    assert _verdicts(_with(r, ("dSPIC-AM-nopool", "D2"), auc=0.95))[4] == "does not hold"
    assert _verdicts(_with(r, ("dSPIC-AM-nopool", "D2"), specificity=0.85))[4] == "does not hold"   # equal
    assert "not lower: auc" in C.text_claims(_with(r, ("dSPIC-AM-nopool", "D2"), auc=0.95)).loc[4, "this run"]


def test_claims_with_missing_inputs_are_not_computed():
    assert _verdicts(C.Results()) == ["not computed"] * 5
    assert _verdicts({"summary": {}, "confusion": {}}) == ["not computed"] * 5
    r = _satisfying()
    r.summary[("dSPIC-AM-nopool", "D2")]["auc"] = np.nan         # NaN AUC: cannot say "every metric"
    del r.summary[("dSPIC-AM", "D1")]
    out = C.text_claims(r)
    assert out["verdict"].tolist() == ["not computed", "holds", "holds", "holds", "not computed"]
    assert "dSPIC-AM on D1" in out.loc[0, "this run"]
    assert "dSPIC-AM-nopool on D2 auc" in out.loc[4, "this run"]
    empty = _with_cm([[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    assert _verdicts(empty)[3] == "not computed"


def test_unknown_or_ambiguous_claim_raises(monkeypatch):
    with pytest.raises(DataError, match="no check knows it"):
        C.text_claims(_satisfying(), claims=[*T["text_claims"], "dSPIC runs on a toaster"])
    with pytest.raises(DataError, match="several checks"):
        C.text_claims(_satisfying(), claims=["D1->D2 and normal vs arthritic"])
    # the default reads targets.json: a claim added there is refused, not skipped
    monkeypatch.setattr(C, "targets", lambda: {**T, "text_claims": [*T["text_claims"], "a new claim"]})
    with pytest.raises(DataError, match="a new claim"):
        C.text_claims(_satisfying())


def test_results_of_the_wrong_type_raise():
    with pytest.raises(DataError, match="results"):
        C.text_claims([1, 2, 3])
    with pytest.raises(DataError, match="unknown key"):
        C.text_claims({"summaries": {}})


# ---------------------------------------------------------------------------------------- overview

def test_all_verdicts_has_every_number_and_every_claim():
    r = _satisfying()
    tol = pd.Series({m: 0.02 for m in METRIC_NAMES})   # 0.70 vs 0.7747: beyond 2 tol
    out = C.all_verdicts(r, tol)
    assert len(out) == 48 + 5
    numbers, claims = out.iloc[:48], out.iloc[48:]
    assert set(numbers["verdict"]) <= set(C.VERDICTS) and set(claims["verdict"]) <= set(C.CLAIM_VERDICTS)
    assert claims["claim"].tolist() == T["text_claims"]
    assert (claims["table"] == "text claims").all()
    row = numbers.set_index(C.KEYS).loc[("table5", "dSPIC-AM", "D2", "accuracy")]
    assert row["this run"] == 0.70 and row["paper"] == 0.7747 and row["verdict"] == "not reproduced"
    assert (C.all_verdicts(r).iloc[:48]["verdict"].isin(["no tolerance", "not computed"])).all()
