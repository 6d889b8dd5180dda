"""This run's results, as the result chapters show them: the runs of the experiments (from the store),
their metrics, the seed-to-seed tolerance and the verdicts beside the paper's numbers.

:func:`load` reads from the result store (or trains, when missing) the runs of the named experiments and of the
variance cell (:data:`dspic_lib.pipeline.experiments.VARIANCE_CELL`, trained with
:func:`~dspic_lib.pipeline.experiments.variance_seeds`), and returns a :class:`Results`. Everything else here is
a pure function of those runs:

* "this run" is the run with the profile's seed (the paper reports one run per cell, so does each table
  here); the other seeds of the variance cell only measure the spread;
* the tolerance of every verdict is :func:`dspic_lib.evaluation.claims.tolerance` of the variance cell's seeds
  (2 sample SDs per metric);
* metrics are :func:`dspic_lib.evaluation.metrics.summary` of the test images (M&A left out, scored by the top-2
  rule separately).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.config import Profile
from dspic_lib.errors import DataError
from dspic_lib.evaluation import claims, metrics
from dspic_lib.paper import targets
from dspic_lib.pipeline.experiments import EXPERIMENTS, VARIANCE_CELL, cells
from dspic_lib.pipeline.train import VAL_FRACTION as VAL_SHARE

PAPER_METRICS = ("accuracy", "precision", "sensitivity", "specificity", "f1")   # Tables 5, 6, 9
TABLE_TITLES = {"table5": "Table 5", "table6": "Table 6", "table8": "Table 8", "table9": "Table 9"}


@dataclass
class Results:
    """The runs of some experiments and of the variance cell; ``runs[(model, dataset, seed)]``."""

    profile: Profile
    runs: dict

    def run(self, model: str, dataset: str, seed: int | None = None):
        """The :class:`~dspic_lib.pipeline.train.Run` of a cell (default: the profile's seed)."""
        key = (model, dataset, self.profile.seed if seed is None else int(seed))
        if key not in self.runs:
            raise DataError(f"no run of {key[0]} on {key[1]} with seed {key[2]} in these results "
                            f"(have: {', '.join(f'{m} on {d} seed {s}' for m, d, s in self.runs)})")
        return self.runs[key]

    def cells(self) -> list[tuple[str, str]]:
        """The (model, dataset) cells with a run at the profile's seed, in training order."""
        return [(m, d) for m, d, s in self.runs if s == self.profile.seed]

    def summary(self, model: str, dataset: str, seed: int | None = None) -> dict:
        r = self.run(model, dataset, seed)
        return metrics.summary(r.y_true, r.proba)

    def summaries(self, cells=None) -> pd.DataFrame:
        """One row per cell (index model, dataset), the metrics of :func:`dspic_lib.evaluation.metrics.summary`."""
        cells = self.cells() if cells is None else list(cells)
        rows = [{"model": m, "dataset": d, **self.summary(m, d)} for m, d in cells]
        return pd.DataFrame(rows).set_index(["model", "dataset"])

    def by_seed(self, model: str = VARIANCE_CELL[0], dataset: str = VARIANCE_CELL[1]) -> pd.DataFrame:
        """The metrics of every seed trained for a cell, one row per seed (index seed)."""
        seeds = sorted(s for m, d, s in self.runs if (m, d) == (model, dataset))
        rows = [{"seed": s, **self.summary(model, dataset, s)} for s in seeds]
        return pd.DataFrame(rows).set_index("seed")

    def tolerance(self) -> pd.Series:
        """Per metric, 2 sample SDs over the seeds of the variance cell (:func:`dspic_lib.evaluation.claims.tolerance`)."""
        return claims.tolerance(self.by_seed().reset_index(drop=True))

    def claims_input(self) -> claims.Results:
        """Summaries and confusion matrices by (model, dataset), as :mod:`dspic_lib.evaluation.claims` takes them."""
        out = claims.Results()
        for m, d in self.cells():
            r = self.run(m, d)
            y, p = metrics.three_class(r.y_true, r.proba)
            out.summary[(m, d)] = metrics.summary(r.y_true, r.proba)
            out.confusion[(m, d)] = metrics.confusion(y, metrics.predict(p))
        return out

    def verdicts(self, tables=None) -> pd.DataFrame:
        """:func:`dspic_lib.evaluation.claims.verdicts` for the numbers of ``tables`` (default: all four)."""
        tables = list(EXPERIMENTS) if tables is None else list(tables)
        values = claims.this_run_values(self.claims_input().summary)
        out = claims.verdicts(values, self.tolerance())
        return out[out["table"].isin(tables)].reset_index(drop=True)

    def text_claims(self) -> pd.DataFrame:
        return claims.text_claims(self.claims_input())

    def all_verdicts(self) -> pd.DataFrame:
        return claims.all_verdicts(self.claims_input(), self.tolerance())

    def entry_ids(self) -> list[str]:
        return [r.entry_id for r in self.runs.values()]


def load(names, ctx, *, data_dir=None, results_dir=None, progress: bool = True) -> Results:
    """Read the runs of the named experiments and of the variance cell by their lineage keys; runs
    missing from the store are trained through :func:`dspic_lib.pipeline.experiments.run` (what
    ``dspic run`` does), once, with a progress bar. ``ctx``: a
    :class:`~dspic_lib.pipeline.context.Context` (or a profile, with the folders as keywords)."""
    from dspic_lib.pipeline.context import of
    from dspic_lib.pipeline.experiments import run

    c = of(ctx, data_dir, results_dir)
    return Results(profile=c.profile, runs=run(names, c, variance=True, progress=progress))


# ---------------------------------------------------------------------------------------- for the page

def load_model(run, profile, results_dir=None):
    """The network of a stored run with its kept weights: rebuilt from the zoo with the run's head and
    number of outputs, the weights read from its store entry (never unpickled). ``profile``: a
    :class:`~dspic_lib.pipeline.context.Context`, or a profile and its results folder."""
    from dspic_lib import models
    from dspic_lib.store import for_results

    st = profile.store if hasattr(profile, "store") else for_results(Path(results_dir))
    profile = getattr(profile, "profile", profile)
    from dspic_lib._tf import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(run.policy)       # the precision it was trained (and predicted) in
    try:
        model = models.build(run.model, input_shape=profile.input_shape, num_classes=int(run.proba.shape[1]),
                             output=run.head, seed=run.seed, init=profile.init)   # as the training run built it
    finally:
        keras.config.set_dtype_policy(before)
    weights = st.root / run.entry_id / "model.weights.h5"            # the entry's folder is its id
    model.load_weights(weights if weights.is_file() else st.find(run.entry_id).file("model.weights.h5"))
    return model


def verdict_table(v: pd.DataFrame, by: str = "dataset") -> pd.DataFrame:
    """A verdict table for reading: ``by`` (dataset or model) and metric as index; paper, this run,
    difference, tolerance, verdict as columns."""
    cols = ["paper", claims.THIS_RUN, "difference", "tolerance", "verdict"]
    return v.set_index([by, "metric"])[cols]


def verdict_counts(v: pd.DataFrame, column: str = "table") -> pd.DataFrame:
    """How many values got each verdict, per ``column`` (table), verdicts in their fixed order."""
    # "not computed" is a verdict of values and of claims alike: once in the order, or pandas refuses it
    order = [x for x in dict.fromkeys((*claims.VERDICTS, *claims.CLAIM_VERDICTS)) if x in set(v["verdict"])]
    v = v.assign(**{column: v[column].map(lambda t: TABLE_TITLES.get(t, t))})
    counts = pd.crosstab(v[column], pd.Categorical(v["verdict"], categories=order, ordered=True), dropna=False)
    counts.columns = list(counts.columns.astype(str))
    counts.columns.name = None
    counts["values"] = counts.sum(axis=1)
    again = claims.repeated(v)
    if again.any():      # a value printed in two tables is in each table's row, and once in the total
        once = v[~again]["verdict"].value_counts()
        total = [int(once.get(c, 0)) for c in counts.columns[:-1]]
        counts.loc[f"all, each value once ({int(again.sum())} printed twice)"] = [*total, sum(total)]
    return counts


def run_costs(res: Results) -> pd.DataFrame:
    """One row per run: epochs run and selected, seconds, seconds per epoch, training images per second."""
    rows = []
    for (m, d, s), r in res.runs.items():
        epochs = len(r.history)
        rows.append({"model": m, "dataset": d, "seed": s, "epochs run": epochs, "selected epoch": r.best_epoch,
                     "seconds": r.seconds, "s / epoch": r.seconds / epochs if epochs else np.nan})
    return pd.DataFrame(rows)


def top2_table(res: Results, cells=None) -> pd.DataFrame:
    """M&A test images scored by the top-2 rule, per cell: images and share correct."""
    cells = res.cells() if cells is None else cells
    rows = []
    for m, d in cells:
        r = res.run(m, d)
        t = metrics.top2(r.y_true, r.proba)
        rows.append({"model": m, "dataset": d, "M&A images": len(t),
                     "correct by the top-2 rule": metrics.top2_accuracy(r.y_true, r.proba)})
    return pd.DataFrame(rows).set_index(["model", "dataset"])


def range_check(v: pd.DataFrame) -> str:
    """What nbval compares for a verdict table: the values that do not depend on the seed or the CPU
    (which numbers exist, their count, whether each lies in [0, 1] and got a known verdict), never the
    values themselves (training numbers differ between CPU models at the last bits and beyond)."""
    again = claims.repeated(v)
    v = v[~again]                          # a value printed in two tables is counted once
    ours = pd.to_numeric(v[claims.THIS_RUN], errors="coerce")
    computed = int(ours.notna().sum())
    inside = int(((ours >= 0) & (ours <= 1)).sum())
    known = bool(v["verdict"].isin(claims.VERDICTS).all())
    twice = f" ({int(again.sum())} more printed in two tables, counted once)" if again.any() else ""
    return (f"{len(v)} paper values{twice}, {computed} computed in this run\n"
            f"{inside} of them in [0, 1]\n"
            f"every verdict a known one: {'yes' if known else 'NO'}")


ALL_METRICS = (*PAPER_METRICS, "auc")


def training_settings(profile: Profile) -> pd.DataFrame:
    """This run's training settings beside the paper's (targets.json ``table4_training``; the paper's
    image size from the `paper` profile)."""
    from dspic_lib.config import PROFILES

    t4, paper = targets()["table4_training"], PROFILES["paper"]
    rows = {
        "model input (rows x cols)": (f"{paper.rows} x {paper.cols}", f"{profile.rows} x {profile.cols}"),
        "optimizer": (t4["optimizer"], "Adam"),
        "learning rate": (f"{t4['learning_rate']:g}", f"{profile.learning_rate:g}"),
        "batch size": (" or ".join(map(str, t4["batch_size"])), str(profile.batch_size)),
        "epochs": (str(t4["epochs"]), f"at most {profile.epochs}"),
        "early stopping": ("not reported",
                           f"after {profile.early_stopping_patience} epochs without a lower validation loss"
                           if profile.early_stopping_patience else "none"),
        "test part": (f"{t4['train_test_split']} split of the images, at random",
                      f"{profile.test_fraction:.0%} of the patients"),
        "validation": ("not reported", f"{VAL_SHARE:.0%} of the training patients"),
    }
    return pd.DataFrame(rows, index=[SETTINGS_PAPER, claims.THIS_RUN]).T.rename_axis("setting")


SETTINGS_PAPER = "the paper (Table 4)"


def cost_estimates(res: Results) -> pd.DataFrame:
    """Measured and estimated hours per dSPIC run: this run's setting, the paper's epochs at this
    resolution, and the paper's epochs at the paper's resolution (scaled by the FLOP ratio)."""
    from dspic_lib.config import PROFILES
    from dspic_lib.models import summary

    paper, p = PROFILES["paper"], res.profile
    rows = []
    for (m, d, s), r in res.runs.items():
        if s != p.seed or not m.startswith("dSPIC") or not len(r.history):
            continue
        per_epoch = r.seconds / len(r.history)
        ratio = summary.flops(summary.built(m, paper.input_shape)) / summary.flops(summary.built(m, p.input_shape))
        rows.append({"model": m, "dataset": d,
                     "this run (min, measured)": r.seconds / 60,
                     f"{paper.epochs} epochs at {p.rows} x {p.cols} (h, estimated)": per_epoch * paper.epochs / 3600,
                     f"{paper.epochs} epochs at {paper.rows} x {paper.cols} (h, estimated)":
                         per_epoch * paper.epochs * ratio / 3600})
    return pd.DataFrame(rows).set_index(["model", "dataset"])


def verdicts_wide(res: Results, tables) -> pd.DataFrame:
    """Paper and this run side by side for plotting: rows (table, model, dataset, metric)."""
    v = res.verdicts(tables)
    return v[["table", "model", "dataset", "metric", "paper", claims.THIS_RUN]]


def per_class_table(run) -> pd.DataFrame:
    """:func:`dspic_lib.evaluation.metrics.per_class` of a run's test images."""
    return metrics.per_class(run.y_true, run.proba)


def claims_for(res: Results, keys) -> pd.DataFrame:
    """The text claims whose check is one of ``keys`` (keys of :data:`dspic_lib.evaluation.claims.CLAIM_CHECKS`),
    with the paper's numbers in a column named so that no one mistakes it for a value column."""
    table = res.text_claims()
    keep = [any(k in c for k in keys) for c in table["claim"]]
    return (table[keep].rename(columns={"paper": "what the paper reports"})
            .reset_index(drop=True).rename_axis(None))


def findings(res: Results, tables) -> list[str]:
    """Sentences on what happened in this run, every number computed from the runs."""
    out = []
    p = res.profile
    wanted = cells(tables)
    for (m, d, s), r in res.runs.items():
        if s != p.seed or (m, d) not in wanted:
            continue
        n = len(r.history)
        ran = (f"stopped early after {n} epoch{'s' * (n != 1)}" if n < p.epochs
               else f"ran all {n} epochs allowed" if n > 1 else "ran the 1 epoch allowed")
        out.append(f"{m} on {d}: {ran}, kept epoch {r.best_epoch}; "
                   f"test accuracy {res.summary(m, d)['accuracy']:.3f}, macro F1 {res.summary(m, d)['f1']:.3f}.")
    for m, d in [c for c in res.cells() if c in wanted]:
        cls = one_class(res.run(m, d))
        if cls is not None:
            out.append(f"{m} on {d} predicted one class ({cls}) for every test image: it did not "
                       "learn to separate the classes within this budget.")
    out += prior_notes(res, wanted)
    out += tolerance_notes(res)
    return out


def verdict_sentence(res: Results, tables) -> str:
    """How many of the paper's numbers of ``tables`` this run reproduces, one sentence."""
    v = res.verdicts(tables)
    again = claims.repeated(v)
    v = v[~again]                          # a value printed in two tables is counted once
    counts = v["verdict"].value_counts()
    names = " and ".join(dict.fromkeys(TABLE_TITLES[t] for t in tables))
    twice = f" ({int(again.sum())} printed twice, counted once)" if again.any() else ""
    return (f"Of the paper's {len(v)} {'distinct ' if again.any() else ''}numbers in {names}{twice}: " + ", ".join(
        f"{counts.get(k, 0)} {k}" for k in claims.VERDICTS if counts.get(k, 0)) + ".")


def claim_sentences(table: pd.DataFrame) -> list[str]:
    """One sentence per checked text claim (a table of :func:`claims_for`)."""
    return [f"The paper's claim \u201c{r['claim']}\u201d {r['verdict']} in this run ({r[claims.THIS_RUN]})."
            for _, r in table.iterrows()]


def prior_notes(res: Results, cells) -> list[str]:
    """How D2's and D3's class proportions (Tables 1 and 2, which they are built to) differ from the
    test part's, and how often the cells trained on them called a normal test scan normal."""
    t = targets()
    shares = {"D2": t["table1_D2_parametric_variation"], "D3": t["table2_D3_dcgan"]}
    out = []
    for dataset, counts in shares.items():
        runs = [(m, res.run(m, d)) for m, d in cells if d == dataset]
        if not runs:
            continue
        test = runs[0][1].test_meta["label"]
        three = test[test != metrics.BOTH]
        normal = int((three == "N").sum())
        recalls = ", ".join(f"{m} {int(round(metrics.per_class(r.y_true, r.proba).loc['N', 'sensitivity'] * normal))}"
                            for m, r in runs)
        out.append(f"{dataset} is built to the class proportions of the paper's Table "
                   f"{'1' if dataset == 'D2' else '2'}, where N is {counts['N'] / sum(counts.values()):.0%} of the "
                   f"training images; among the 3-class test scans N is {normal / max(len(three), 1):.0%}. "
                   f"Normal test scans called normal, of {normal}: {recalls}.")
    return out


def one_class(run) -> str | None:
    """The class a run predicted for every 3-class test image, or None when it predicted several."""
    pred = pd.Series(metrics.predict(metrics.three_class(run.y_true, run.proba)[1]))
    return str(pred.iloc[0]) if len(pred) and pred.nunique() == 1 else None


def tolerance_notes(res: Results) -> list[str]:
    """What the tolerance is made of, in sentences: its size, and any seed of the variance cell that
    never left the one-class plateau (which widens it, so that "reproduced" then only means "within
    this run's noise")."""
    model, dataset = VARIANCE_CELL
    tol = res.tolerance()
    out = [f"The tolerance, from {len(res.by_seed())} seeds of {model} on {dataset}, is "
           + ", ".join(f"{tol[m]:.3f} in {m}" for m in ALL_METRICS if m in tol.index) + "."]
    stuck = [(s, c) for (m, d, s), r in res.runs.items() if (m, d) == VARIANCE_CELL
             for c in [one_class(r)] if c is not None]
    seeds = ", ".join(f"{s} (always {c})" for s, c in stuck)
    if stuck and len(stuck) == len(res.by_seed()):
        out.append(f"Every seed predicted one class for every test image ({seeds}): the spread measures no "
                   "learning at all, and where it is 0 only an exact match could count as reproduced.")
    elif stuck:
        out.append("Seed" + "s" * (len(stuck) > 1) + f" {seeds} predicted one class for every test image, "
                   "while the other seeds did not, which widens the tolerance: a value called reproduced here "
                   "is within this run's seed-to-seed noise, not necessarily as good as the paper's.")
    return out


def table9_paper() -> pd.DataFrame:
    """The paper's Table 9 (:func:`dspic_lib.evaluation.claims.paper_values`), rows "with pooling" and "without
    pooling", one column per metric."""
    rows = {model: row.replace("_", " ") for row, model in claims.TABLE9_MODELS.items()}
    t9 = claims.paper_values().query("table == 'table9'")
    return t9.pivot(index="model", columns="metric", values="paper").rename(index=rows).rename_axis(None)


def overview(res: Results) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """For the build record: verdict counts per table (claims included), every number of Tables 5, 6, 8,
    9 with its verdict (the tolerance per metric is chapter 04's table, not repeated on every row), and
    every text claim with its verdict."""
    numbers = res.verdicts()
    claim_rows = claims_for(res, list(claims.CLAIM_CHECKS))
    both = pd.concat([numbers[[*claims.KEYS, "paper", "verdict"]],
                      claim_rows[["verdict"]].assign(table="text claims")], ignore_index=True)
    numbers = numbers.assign(table=numbers["table"].map(TABLE_TITLES))
    return (verdict_counts(both),
            numbers.set_index(["table", "model", "dataset", "metric"]).drop(columns="tolerance"), claim_rows)
