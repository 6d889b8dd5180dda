"""The learned gate and the equivalence verdicts (dspic_lib.evaluation.claims, .results), on crafted runs:
one stuck on a class (did not learn, no comparison), one learned and within the margin (reproduced),
one learned and far off (not reproduced), one learned on too few patients to tell (inconclusive); the
sentences the pages print for each; and the rule that more noise never makes a number reproduced."""
import numpy as np
import pandas as pd
import pytest

from dspic_lib.config import get_profile
from dspic_lib.evaluation import claims, results
from dspic_lib.pipeline.train import Run

P = get_profile("smoke", use_env=False)          # seed 0, 200 bootstrap resamples
PAPER = claims.paper_values().set_index(KEYS := ["table", "model", "dataset", "metric"])["paper"]
PAPER_ACC = PAPER[("table5", "dSPIC-AM", "D2", "accuracy")]


def crafted(model="dSPIC-AM", dataset="D2", seed=0, *, patients=3000, accuracy=0.8, stuck=None, rng=0):
    """Two views per patient, both right or both wrong; classes N, M, A in turn by patient. Exactly
    ``round(accuracy * patients)`` patients right (chosen at random); a wrong patient gets the next class.
    ``stuck``: that class predicted for every image instead."""
    r = np.random.default_rng(rng)
    labels = np.array(list("NMA"))[np.arange(patients) % 3]
    right = np.zeros(patients, bool)
    right[r.permutation(patients)[:round(accuracy * patients)]] = True
    k = np.array(["NMA".index(c) for c in labels])
    pred = np.where(right, k, (k + 1) % 3)
    if stuck is not None:
        pred[:] = "NMA".index(stuck)
    proba = np.full((patients, 3), 0.1)
    proba[np.arange(patients), pred] = 0.8
    rep = np.repeat(np.arange(patients), 2)
    meta = pd.DataFrame({"image": [f"i{i}" for i in range(2 * patients)], "patient": [f"p{i}" for i in rep],
                         "view": "anterior", "label": labels[rep]})
    hist = pd.DataFrame({"epoch": [1], "loss": [1.0], "val_loss": [1.0], "val_accuracy": [0.5]})
    return Run(model=model, dataset=dataset, seed=seed, history=hist, proba=proba[rep], test_meta=meta,
               best_epoch=1, seconds=1.0, entry_id=f"train/{model}-{dataset}-{seed}", cached=False,
               val_proba=proba[:0], val_meta=meta.iloc[:0])


def as_results(run, *, seeds=3) -> results.Results:
    """Results with ``run`` as dSPIC-AM on D2 for each seed of the variance cell (identical seeds: no seed
    spread, so only the test-patient bootstrap makes the interval)."""
    runs = {("dSPIC-AM", "D2", s): run for s in range(seeds)}
    return results.Results(profile=P, runs=runs)


def row(v: pd.DataFrame, table="table5", metric="accuracy") -> pd.Series:
    return v.set_index(KEYS).loc[(table, "dSPIC-AM", "D2", metric)]


# ---------------------------------------------------------------------------------------- the gate

def test_a_run_stuck_on_one_class_did_not_learn_and_gets_no_comparison():
    res = as_results(crafted(stuck="N"))
    g = res.gate("dSPIC-AM", "D2")
    assert not g.learned and g.majority_class == "N"
    assert g.balanced_accuracy == pytest.approx(1 / 3) and g.gain == pytest.approx(0)
    v = res.verdicts(["table5"])
    mine = v[(v["model"] == "dSPIC-AM") & (v["dataset"] == "D2")]
    assert (mine["verdict"] == claims.DID_NOT_LEARN).all()
    assert mine[["difference", "low", "high"]].isna().all().all()           # no comparison
    shown = results.verdict_table(v).loc[("D2", "accuracy")]
    assert shown["difference"] == "" and shown[results.INTERVAL] == ""     # blank on the page
    assert shown["verdict"] == "did not learn"
    # the sentences the pages print for it
    assert results.learned_sentence(res) .endswith(
        "0 passed the learned gate (every seed's balanced accuracy above chance, 1/3, and its accuracy above "
        "always predicting the test part's majority class, both at the lower end of a 95 % patient-bootstrap "
        "interval); 1 did not learn (dSPIC-AM on D2), and none of their numbers is compared with the paper's.")
    assert "5 not compared because the cell did not learn" in results.verdict_sentence(res, ["table5"])
    said = " ".join(results.findings(res, ["table5"]))
    assert "dSPIC-AM on D2 did not learn (seed 0: balanced accuracy 0.333" in said
    assert "It predicted N for every test image." in said
    claim = res.text_claims().set_index("claim").iloc[3]                    # normal vs arthritic, on AM/D2
    assert claim["verdict"] == claims.DID_NOT_LEARN
    assert claims.claim_sentence(claim.rename(None).to_dict() | {"claim": "x"}) == (
        "The paper's claim \u201cx\u201d is not settled: dSPIC-AM on D2 did not learn.")


def test_the_gate_ignores_auc_a_perfect_ranking_stuck_on_n_did_not_learn():
    run = crafted(accuracy=1.0, patients=300)
    y = run.y_true
    p = np.full((len(y), 3), 0.2)
    p[:, 0] = 0.6                                         # N always first ...
    for k, c in enumerate("NMA"):
        p[y == c, k] += 0.05                              # ... but each class ranks its own scans on top
    p /= p.sum(1, keepdims=True)
    run.proba = p
    from dspic_lib.evaluation import metrics
    assert metrics.summary(y, p)["auc"] == pytest.approx(1.0)
    assert not claims.learned(run, n_boot=200).learned


def test_a_learned_run_passes_the_gate_with_its_numbers():
    g = claims.learned(crafted(patients=300, accuracy=0.7), n_boot=200)
    assert g.learned and g.balanced_low > 1 / 3 and g.gain_low > 0
    assert g.majority_rate == pytest.approx(1 / 3) and g.n_patients == 300
    assert "needs > 1/3" in g.why() and "always N" in g.why()


def test_a_cell_with_one_stuck_seed_did_not_learn():
    good, bad = crafted(accuracy=0.8), crafted(stuck="M")
    res = results.Results(profile=P, runs={("dSPIC-AM", "D2", 0): good, ("dSPIC-AM", "D2", 1): good,
                                           ("dSPIC-AM", "D2", 2): bad})
    assert res.gate("dSPIC-AM", "D2", 0).learned and not res.learned("dSPIC-AM", "D2")
    assert set(res.verdicts(["table5"])["verdict"]) <= {claims.DID_NOT_LEARN, claims.NOT_COMPUTED}


# ---------------------------------------------------------------------------------------- the four verdicts

def test_learned_and_within_the_margin_is_reproduced():
    res = as_results(crafted(accuracy=PAPER_ACC))
    r = row(res.verdicts(["table5"]))
    assert r["verdict"] == claims.REPRODUCED
    assert -0.05 <= r["low"] <= r["high"] <= 0.05 and abs(r["difference"]) < 0.001
    n = int((res.verdicts(["table5"])["verdict"] == claims.REPRODUCED).sum())
    assert f": {n} reproduced," in results.verdict_sentence(res, ["table5"])
    shown = results.verdict_table(res.verdicts(["table5"])).loc[("D2", "accuracy")]
    assert shown["verdict"] == "reproduced" and shown["margin"] == "\u00b10.05"
    assert shown[results.INTERVAL] == f"{r['low']:+.4f} to {r['high']:+.4f}"


def test_learned_and_outside_the_margin_is_not_reproduced():
    res = as_results(crafted(accuracy=0.55))
    r = row(res.verdicts(["table5"]))
    assert res.learned("dSPIC-AM", "D2")
    assert r["verdict"] == claims.NOT_REPRODUCED and r["high"] < -0.05
    assert "not reproduced" in results.verdict_sentence(res, ["table5"])


def test_learned_on_too_few_patients_is_inconclusive():
    res = as_results(crafted(accuracy=PAPER_ACC, patients=30))
    r = row(res.verdicts(["table5"]))
    assert res.learned("dSPIC-AM", "D2")
    assert r["verdict"] == claims.INCONCLUSIVE and r["low"] < -0.05 < 0.05 < r["high"]
    assert "inconclusive" in results.verdict_sentence(res, ["table5"])


# ---------------------------------------------------------------------------------------- more noise

def test_more_noise_can_only_give_inconclusive_never_reproduced():
    margin = 0.05
    for diff in np.linspace(-0.2, 0.2, 81):
        before = None
        for sd in np.linspace(0, 0.2, 41):                         # ever noisier
            lo, hi = claims.equivalence_interval(diff, sd ** 2, 0.0, 1)
            v = claims.equivalence_verdict(float(lo), float(hi), margin)
            if before is not None and before != v:
                assert v == claims.INCONCLUSIVE, (diff, sd, before, v)   # only ever towards inconclusive
            before = v


def test_seed_spread_turns_a_reproduced_number_inconclusive_not_the_reverse():
    run = crafted(accuracy=PAPER_ACC)
    quiet = claims.cell_estimate([run], n_boot=200).reset_index().assign(model="dSPIC-AM", dataset="D2")
    noisy = quiet.assign(var_seed=0.04 ** 2)                     # a borrowed seed SD of 0.04
    learned = {("dSPIC-AM", "D2"): True}
    assert row(claims.verdicts(quiet.assign(var_seed=0.0), learned))["verdict"] == claims.REPRODUCED
    assert row(claims.verdicts(noisy, learned))["verdict"] == claims.INCONCLUSIVE
    no_spread = row(claims.verdicts(quiet, learned))              # one seed, nothing borrowed: unknown
    assert no_spread["verdict"] == claims.INCONCLUSIVE


# ---------------------------------------------------------------------------------------- claims

def _claims_on(d1_accuracy: float, d2_accuracy: float) -> pd.Series:
    runs = {("dSPIC-AM", "D1"): crafted(dataset="D1", accuracy=d1_accuracy, patients=600, rng=1),
            ("dSPIC-AM", "D2"): crafted(dataset="D2", accuracy=d2_accuracy, patients=600, rng=2)}
    table = claims.text_claims(claims.Runs(runs=runs, n_boot=200), [targets_claim("D1->D2")])
    return table.iloc[0]


def targets_claim(key: str) -> str:
    from dspic_lib.paper import targets
    return next(c for c in targets()["text_claims"] if key in c)


def test_a_claim_is_supported_contradicted_or_not_settled_by_its_paired_interval():
    up, down, same = _claims_on(0.6, 0.85), _claims_on(0.85, 0.6), _claims_on(0.7, 0.7)
    assert up["verdict"] == claims.SUPPORTED and "accuracy +0.250 (95 % interval" in up[claims.THIS_RUN]
    assert down["verdict"] == claims.CONTRADICTED
    assert same["verdict"] == claims.NOT_SETTLED
    assert claims.claim_sentence(up).startswith(f"The paper's claim \u201c{up['claim']}\u201d is supported by "
                                                "this run: D2 - D1: accuracy +0.250")


# ---------------------------------------------------------------------------------------- reference rows

def test_tables_carry_the_majority_row_and_the_plain_cnn_row_only_when_that_run_exists():
    run = crafted(patients=300, accuracy=0.7)
    res = as_results(run)
    ref = results.reference_rows(res, "table5")
    assert list(ref.index) == [("always N (majority class of the test part)", "accuracy")]
    assert ref.iloc[0]["this run"] == pytest.approx(1 / 3) and ref.iloc[0]["verdict"] == claims.REFERENCE
    cnn = crafted("Plain CNN", "D2", patients=300, accuracy=0.6, rng=5)
    with_cnn = results.Results(profile=P, runs={**res.runs, ("Plain CNN", "D2", 0): cnn})
    ref = results.reference_rows(with_cnn, "table5")
    rows = ref.loc["Plain CNN (reference) on D2"]
    assert list(rows.index) == ["accuracy", "balanced accuracy"]
    assert rows.at["accuracy", "this run"] == pytest.approx(0.6) and rows.at["accuracy", "paper"] == ""
    assert rows.at["accuracy", results.INTERVAL].startswith("95 %: 0.")
    assert "Plain CNN (reference)" in results.reference_rows(with_cnn, "table8", by="model").index.get_level_values(0)
    table = results.verdict_table(with_cnn.verdicts(["table5"]), reference=ref)
    assert table.index[-1] == ("Plain CNN (reference) on D2", "balanced accuracy")
    assert with_cnn.verdicts(["table5"])["model"].ne("Plain CNN").all()        # no paper value, no verdict


def test_the_bar_figures_draw_the_majority_predictor_as_a_dashed_line():
    from matplotlib import pyplot as plt

    from dspic_lib.plots import results as plots
    res = as_results(crafted(patients=300, accuracy=0.7))
    ref = results.majority_reference(res, ("dSPIC-AM", "D2"))
    for fig in (plots.paper_vs_run(results.verdicts_wide(res, ["table5"]), reference=ref),
                plots.metric_bars(res.summaries(), reference=ref),
                plots.pooling_bars(res.summary("dSPIC-AM", "D2"), res.summary("dSPIC-AM", "D2"), reference=ref)):
        labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
        assert plots.MAJORITY_LABEL in labels
        plt.close(fig)
    assert results.majority_caption(ref).startswith("The dashed line marks what always predicting the test "
                                                   "part's majority class (N, 33% of the 3-class test scans)")
