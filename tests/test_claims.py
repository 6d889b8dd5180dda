"""dspic_lib.evaluation.claims: the paper's numbers copied exactly, and each text claim supported on runs that
satisfy it, contradicted on runs that break it, not settled where the paired interval straddles 0.
The learned gate and the equivalence verdicts: tests/test_verdicts_learned.py."""
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dspic_lib.errors import DataError
from dspic_lib.evaluation import claims as C
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


# ---------------------------------------------------------------------------------------- text claims

def from_confusion(rows, reps: int = 1, model="dSPIC-AM", dataset="D2"):
    """A run-like object whose 3-class confusion matrix is ``rows`` x ``reps`` (rows true, columns
    predicted, over N, M, A), one image per patient, images named by position."""
    y, pred = [], []
    for i, t in enumerate("NMA"):
        for j, p in enumerate("NMA"):
            y += [t] * rows[i][j] * reps
            pred += [j] * rows[i][j] * reps
    proba = np.full((len(y), 3), 0.1)
    proba[np.arange(len(y)), pred] = 0.8
    meta = pd.DataFrame({"image": [f"i{k}" for k in range(len(y))], "patient": [f"p{k}" for k in range(len(y))],
                         "label": y})
    return SimpleNamespace(model=model, dataset=dataset, seed=0, y_true=np.array(y, dtype=object), proba=proba,
                           test_meta=meta)


GOOD = [[40, 2, 8], [3, 30, 1], [7, 1, 35]]          # N-A the most confused pair


def _runs(**cells) -> C.Runs:
    return C.Runs(runs={tuple(k.split("__")): v for k, v in cells.items()}, n_boot=200)


def test_pair_confusion_hand_computed():
    rates = C.pair_confusion(pd.DataFrame(GOOD, index=list("NMA"), columns=list("NMA")))
    # supports N 50, M 34, A 43
    assert rates["N-M"] == pytest.approx(5 / 84)
    assert rates["N-A"] == pytest.approx(15 / 93)
    assert rates["M-A"] == pytest.approx(2 / 77)
    with pytest.raises(DataError, match="3x3"):
        C.pair_confusion(pd.DataFrame([[1, 2], [3, 4]], index=list("NM"), columns=list("NM")))


def _claim(runs: C.Runs, key: str) -> pd.Series:
    return C.text_claims(runs, [next(c for c in T["text_claims"] if key in c)]).iloc[0]


def test_claim_normal_vs_arthritic_by_its_interval():
    good = _claim(_runs(**{"dSPIC-AM__D2": from_confusion(GOOD, reps=10)}), "normal vs arthritic")
    assert good["verdict"] == C.SUPPORTED
    assert good["this run"].startswith("N-M 0.060, N-A 0.161, M-A 0.026")        # pair_confusion's numbers
    # M-A the most confused pair, by far
    worse = _claim(_runs(**{"dSPIC-AM__D2": from_confusion([[45, 2, 3], [1, 20, 9], [2, 8, 30]], reps=10)}),
                   "normal vs arthritic")
    assert worse["verdict"] == C.CONTRADICTED
    # a tie between N-A and N-M: neither side
    tie = _claim(_runs(**{"dSPIC-AM__D2": from_confusion([[40, 5, 5], [5, 40, 0], [5, 0, 40]], reps=3)}),
                 "normal vs arthritic")
    assert tie["verdict"] == C.NOT_SETTLED


def test_claim_pooling_needs_every_metric_lower_without_pooling():
    better = from_confusion([[45, 2, 3], [2, 30, 2], [3, 2, 38]], reps=10)
    worse = from_confusion([[30, 10, 10], [10, 14, 10], [10, 10, 23]], reps=10, model="dSPIC-AM-nopool")
    runs = _runs(**{"dSPIC-AM__D2": better, "dSPIC-AM-nopool__D2": worse})
    assert _claim(runs, "pooling")["verdict"] == C.SUPPORTED
    swapped = _runs(**{"dSPIC-AM__D2": worse, "dSPIC-AM-nopool__D2": better})
    assert _claim(swapped, "pooling")["verdict"] == C.CONTRADICTED


def test_claims_with_missing_or_unlearned_cells():
    out = C.text_claims(C.Runs())
    assert out["verdict"].tolist() == [C.NOT_COMPUTED] * 5
    assert "missing: dSPIC-AM on D2; dSPIC-AM on D1" == out.loc[0, "this run"]
    stuck = from_confusion([[50, 0, 0], [34, 0, 0], [43, 0, 0]])             # always N
    out = C.text_claims(_runs(**{"dSPIC-AM__D2": stuck}), [next(c for c in T["text_claims"] if "arthritic" in c)])
    assert out.loc[0, "verdict"] == C.DID_NOT_LEARN
    assert out.loc[0, "this run"] == "not settled: dSPIC-AM on D2 did not learn"


def test_a_paired_claim_refuses_runs_on_different_test_images():
    a, b = from_confusion(GOOD), from_confusion(GOOD, dataset="D1")
    b.test_meta["image"] = "other-" + b.test_meta["image"]
    with pytest.raises(DataError, match="different test images"):
        _claim(C.Runs(runs={("dSPIC-AM", "D2"): a, ("dSPIC-AM", "D1"): b},
                      learned={("dSPIC-AM", "D2"): True, ("dSPIC-AM", "D1"): True}), "D1->D2")


def test_unknown_or_ambiguous_claim_raises(monkeypatch):
    with pytest.raises(DataError, match="no check knows it"):
        C.text_claims(C.Runs(), claims=[*T["text_claims"], "dSPIC runs on a toaster"])
    with pytest.raises(DataError, match="several checks"):
        C.text_claims(C.Runs(), claims=["D1->D2 and normal vs arthritic"])
    # the default reads targets.json: a claim added there is refused, not skipped
    monkeypatch.setattr(C, "targets", lambda: {**T, "text_claims": [*T["text_claims"], "a new claim"]})
    with pytest.raises(DataError, match="a new claim"):
        C.text_claims(C.Runs())


def test_results_of_the_wrong_type_raise():
    with pytest.raises(DataError, match="claims.Runs"):
        C.text_claims({"summary": {}})


# ---------------------------------------------------------------------------------------- overview

def test_all_verdicts_has_every_number_and_every_claim():
    run = from_confusion(GOOD, reps=4)
    est = C.cell_estimate([run], n_boot=200).reset_index().assign(model="dSPIC-AM", dataset="D2", var_seed=0.0)
    out = C.all_verdicts(est, {("dSPIC-AM", "D2"): True}, C.Runs(runs={("dSPIC-AM", "D2"): run}, n_boot=200))
    assert len(out) == 48 + 5
    numbers, claims = out.iloc[:48], out.iloc[48:]
    assert set(numbers["verdict"]) <= set(C.VERDICTS) and set(claims["verdict"]) <= set(C.CLAIM_VERDICTS)
    assert claims["claim"].tolist() == T["text_claims"]
    assert (claims["table"] == "text claims").all()
    row = numbers.set_index(C.KEYS).loc[("table5", "dSPIC-AM", "D2", "accuracy")]
    assert row["this run"] == pytest.approx(105 / 127) and row["paper"] == 0.7747
    assert row["verdict"] in (C.REPRODUCED, C.INCONCLUSIVE, C.NOT_REPRODUCED)
    assert (numbers.set_index(C.KEYS).drop(index="dSPIC-AM", level="model")["verdict"] == C.NOT_COMPUTED).all()


def test_text_claims_paper_column_only_copies_targets_json_numbers():
    allowed = set(_flat_numbers(T))
    out = C.text_claims(C.Runs())
    for text in out["paper"]:
        for num in re.findall(r"\b\d\.\d+\b", text):
            assert round(float(num), 6) in allowed, (num, text)
    assert "0.6910" in out.loc[0, "paper"] and "0.7747" in out.loc[0, "paper"]
    assert "0.9060" in out.loc[4, "paper"]
