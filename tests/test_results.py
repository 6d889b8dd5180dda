"""The results layer between the runs and the chapters: which runs exist, this run's values, the seed
spread of the variance cell, verdict tables and the sentences of "what happened", on fake runs."""
import zlib

import numpy as np
import pandas as pd
import pytest

from dspic_lib.config import get_profile
from dspic_lib.errors import DataError
from dspic_lib.evaluation import claims, results
from dspic_lib.pipeline import experiments
from dspic_lib.pipeline.train import Run

P = get_profile("smoke", use_env=False)
LABELS = ["N"] * 12 + ["M"] * 10 + ["A"] * 10 + ["M&A"] * 2


def fake_run(model, dataset, seed, *, skill=3.0, epochs=3):
    """A run that learned (``skill`` 3: every seed passes the learned gate), the same in every process."""
    rng = np.random.default_rng(zlib.crc32(f"{model}|{dataset}|{seed}".encode()))
    y = np.array(LABELS, dtype=object)
    logits = rng.normal(size=(len(y), 3))
    for k, c in enumerate("NMA"):
        logits[y == c, k] += skill
    logits[y == "M&A", 1:] += skill
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    hist = pd.DataFrame({"epoch": range(1, epochs + 1), "loss": np.linspace(1.1, 0.8, epochs),
                         "val_loss": np.linspace(1.2, 0.9, epochs), "val_accuracy": np.linspace(0.3, 0.6, epochs)})
    meta = pd.DataFrame({"image": [f"i{k}" for k in range(len(y))], "patient": [f"p{k // 2}" for k in range(len(y))],
                         "view": "anterior", "label": y})
    return Run(model=model, dataset=dataset, seed=seed, history=hist, proba=p.astype(np.float32), test_meta=meta,
               best_epoch=epochs, seconds=3.0 * epochs, entry_id=f"train/{model}-{dataset}-{seed}", cached=False,
               val_proba=p[:0].astype(np.float32), val_meta=meta.iloc[:0])


@pytest.fixture(scope="module")
def res():
    todo = experiments.plan(list(experiments.EXPERIMENTS), P)
    return results.Results(profile=P, runs={(m, d, s): fake_run(m, d, s) for m, d, s in todo})


def test_the_plan_trains_each_cell_once_and_the_variance_cell_with_its_seeds():
    todo = experiments.plan(list(experiments.EXPERIMENTS), P)
    assert len(todo) == len(set(todo)) == (len(experiments.cells(list(experiments.EXPERIMENTS))) + 2
                                           + len(experiments.REFERENCE_CELLS))
    assert [(m, d) for m, d, _ in todo[-len(experiments.REFERENCE_CELLS):]] == list(experiments.REFERENCE_CELLS)
    assert [s for m, d, s in todo if (m, d) == experiments.VARIANCE_CELL] == experiments.variance_seeds(P.seed)
    assert all(s == P.seed for m, d, s in experiments.plan(["table8"], P))
    assert experiments.plan(["table9"], P, seeds=[4, 5]) == [("dSPIC-AM", "D2", 4), ("dSPIC-AM", "D2", 5),
                                                            ("dSPIC-AM-nopool", "D2", 4),
                                                            ("dSPIC-AM-nopool", "D2", 5)]


def test_this_run_is_the_profile_seed_and_the_seed_variance_comes_from_the_variance_seeds(res):
    assert res.run("dSPIC-AM", "D2") is res.runs[("dSPIC-AM", "D2", P.seed)]
    by_seed = res.by_seed()
    assert list(by_seed.index) == experiments.variance_seeds(P.seed)
    np.testing.assert_allclose(res.seed_variance()["accuracy"], by_seed["accuracy"].var(ddof=1))
    est = res.estimates([("dSPIC-AM", "D1"), ("dSPIC-AM", "D2")]).set_index(["dataset", "metric"])
    assert est.at[("D1", "accuracy"), "var_seed"] == res.seed_variance()["accuracy"]     # borrowed
    assert est.at[("D2", "accuracy"), "seeds"] == 3
    assert est.at[("D2", "accuracy"), "value"] == pytest.approx(by_seed["accuracy"].mean())   # mean over seeds
    with pytest.raises(DataError, match="no run of SI_CLF on D1"):
        res.run("SI_CLF", "D1")


def test_every_paper_number_gets_a_computed_verdict(res):
    v = res.verdicts()
    assert len(v) == len(claims.paper_values()) and v["this run"].notna().all()
    assert set(v["verdict"]) <= {claims.REPRODUCED, claims.INCONCLUSIVE, claims.NOT_REPRODUCED, claims.DID_NOT_LEARN}
    for (m, d), cell in v.groupby(["model", "dataset"]):
        assert (cell["verdict"] == claims.DID_NOT_LEARN).all() == (not res.learned(m, d))
    am = res.summary("dSPIC-AM", "D1")["accuracy"]
    assert v.query("table == 'table5' and dataset == 'D1' and metric == 'accuracy'")["this run"].item() == am
    n = len(v) - 6                           # Table 9's "with pooling" row: 6 values printed before
    assert results.range_check(v).splitlines()[:2] == [
        f"{n} paper values (6 more printed in two tables, counted once), {n} computed in this run",
        f"{n} of them in [0, 1]"]
    counts, numbers, claim_rows = results.overview(res)
    assert counts.loc["Table 5", "values"] == 15 and counts.loc["text claims", "values"] == 5
    assert "paper" not in claim_rows.columns and len(numbers) == len(v)


def test_the_verdict_tally_counts_each_distinct_paper_value_once(res):
    """Table 9's "with pooling" row repeats Table 5's dSPIC-AM D2 row and Table 8's dSPIC-AM AUC: the
    tally of 48 counted those 6 values twice; each distinct paper value counts once (42)."""
    paper = claims.paper_values()
    again = claims.repeated(paper)
    assert len(paper) == 48 and again.sum() == 6 and (~again).sum() == 42
    assert set(paper[again]["table"]) == {"table9"} and set(paper[again]["model"]) == {"dSPIC-AM"}
    assert not paper[~again].duplicated(["model", "dataset", "metric"]).any()
    sentence = results.verdict_sentence(res, ["table8", "table9"])        # chapter 05: 6 + 12 printed
    assert sentence.startswith("Of the paper's 17 distinct numbers in Table 8 and Table 9 "
                               "(1 printed twice, counted once): ")
    assert sum(int(x.split()[0]) for x in sentence.split(": ", 1)[1].rstrip(".").split(", ")) == 17
    counts, _, claim_rows = results.overview(res)
    total = counts.loc["all, each value once (6 printed twice)"]
    assert total["values"] == 42 + len(claim_rows) and counts.loc["Table 9", "values"] == 12
    assert results.verdict_sentence(res, ["table5", "table6"]).startswith("Of the paper's 30 numbers in ")


def test_a_missing_variance_seed_gives_no_seed_spread_and_no_reproduced_not_a_crash():
    runs = {(m, d, s): fake_run(m, d, s, skill=3.0) for m, d, s in experiments.plan(["table5"], P)
            if s == P.seed}
    v = results.Results(P, runs)
    assert v.seed_variance().isna().all()
    assert not (v.verdicts(["table5"])["verdict"] == claims.REPRODUCED).any()
    assert "no seed spread is measured" in results.variance_notes(v)[0]


def test_findings_say_what_happened_with_computed_numbers(res):
    runs = dict(res.runs)
    stuck = fake_run("SI_CLF", "D2", P.seed, epochs=1)
    stuck.proba[:] = [0.2, 0.7, 0.1]                  # the same answer for every image
    runs[("SI_CLF", "D2", P.seed)] = stuck
    lines = results.findings(results.Results(P, runs), ["table8"])
    assert any(s.startswith("SI_CLF on D2 did not learn (its run: balanced accuracy 0.333")
               and s.endswith("It predicted M for every test image.") for s in lines)
    n8 = (claims.paper_values()["table"] == "table8").sum()
    assert results.verdict_sentence(results.Results(P, runs), ["table8"]).startswith(
        f"Of the paper's {n8} numbers in Table 8: ")
    assert not any(s.startswith("dSPIC-RM") for s in lines)         # not a cell of Table 8
    assert not any("did not pass the learned gate" in s for s in lines)


def test_a_variance_seed_stuck_on_one_class_is_named_and_can_only_widen_the_intervals(res):
    runs = dict(res.runs)
    stuck = fake_run(*experiments.VARIANCE_CELL, P.seed + 1)
    stuck.proba[:] = [0.1, 0.2, 0.7]
    runs[(*experiments.VARIANCE_CELL, P.seed + 1)] = stuck
    r = results.Results(P, runs)
    notes = results.variance_notes(r)
    assert notes[0].startswith("The seed-to-seed SD, from 3 seeds of dSPIC-AM on D2, is ")
    assert notes[1].startswith(f"Seed {P.seed + 1} of dSPIC-AM on D2 did not pass the learned gate")
    assert not r.learned(*experiments.VARIANCE_CELL)
    assert list(results.seed_spread(r)["learned"])[1] is False
    costs = results.run_costs(res)
    assert (costs["s / epoch"] == 3.0).all() and len(costs) == len(res.runs)


def test_prior_notes_compare_the_training_proportions_with_the_test_part(res):
    notes = results.prior_notes(res, [("dSPIC-AM", "D2"), ("SI_CLF", "D2")])
    assert len(notes) == 1 and notes[0].startswith("D2 is built to the class proportions of the paper's Table 1, "
                                                   "where N is 22% of the training images")
    n = LABELS.count("N")
    assert f"among the 3-class test scans N is {n / (len(LABELS) - 2):.0%}" in notes[0]
    called = round(results.per_class_table(res.run("SI_CLF", "D2")).loc["N", "sensitivity"] * n)
    assert notes[0].endswith(f"of {n}: dSPIC-AM " + str(round(results.per_class_table(
        res.run("dSPIC-AM", "D2")).loc["N", "sensitivity"] * n)) + f", SI_CLF {called}.")


def test_verdict_counts_takes_not_computed_once_though_values_and_claims_both_have_it():
    """A small folder leaves some values of a table not computed; the count table must still build."""
    v = pd.DataFrame({"table": ["table8", "table8", "table9", "claims"],
                      "verdict": [claims.NOT_COMPUTED, claims.REPRODUCED, claims.NOT_COMPUTED, claims.SUPPORTED]})
    counts = results.verdict_counts(v)
    assert counts.loc[results.TABLE_TITLES.get("table8", "table8"), claims.NOT_COMPUTED] == 1
    assert list(counts.columns).count(claims.NOT_COMPUTED) == 1 and counts["values"].sum() == 4
