"""This run's results, as the result chapters show them: the runs of the experiments (from the store),
their metrics, the learned gate and the verdicts beside the paper's numbers.

:func:`load` reads from the result store (or trains, when missing) the runs of the named experiments and of the
variance cell (:data:`dspic_lib.pipeline.experiments.VARIANCE_CELL`, trained with
:func:`~dspic_lib.pipeline.experiments.variance_seeds`), and returns a :class:`Results`. Everything else here is
a pure function of those runs:

* every run passes or fails the learned gate (:func:`dspic_lib.evaluation.claims.learned`); a cell with any
  seed that failed "did not learn", and none of its numbers is compared with the paper's;
* "this run" of a cell is the mean over its seeds (one seed for every cell but the variance cell); the
  verdict is an equivalence test with fixed margins (:data:`dspic_lib.evaluation.claims.MARGINS`), its
  interval combining the test-patient bootstrap and the seed spread (measured on the variance cell,
  borrowed by cells with one seed), see :mod:`dspic_lib.evaluation.claims`;
* metrics are :func:`dspic_lib.evaluation.metrics.summary` of the test images (M&A left out, scored by the top-2
  rule separately).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def run(self, model: str, dataset: str, seed: int | None = None):
        """The :class:`~dspic_lib.pipeline.train.Run` of a cell (default: the profile's seed)."""
        key = (model, dataset, self.profile.seed if seed is None else int(seed))
        if key not in self.runs:
            raise DataError(f"no run of {key[0]} on {key[1]} with seed {key[2]} in these results "
                            f"(have: {', '.join(f'{m} on {d} seed {s}' for m, d, s in self.runs)})")
        return self.runs[key]

    def has(self, model: str, dataset: str) -> bool:
        return (model, dataset, self.profile.seed) in self.runs

    def cells(self) -> list[tuple[str, str]]:
        """The (model, dataset) cells with a run at the profile's seed, in training order."""
        return [(m, d) for m, d, s in self.runs if s == self.profile.seed]

    def seeds(self, model: str, dataset: str) -> list[int]:
        return sorted(s for m, d, s in self.runs if (m, d) == (model, dataset))

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
        rows = [{"seed": s, **self.summary(model, dataset, s)} for s in self.seeds(model, dataset)]
        return pd.DataFrame(rows).set_index("seed")

    # ------------------------------------------------------------------ the learned gate

    @property
    def n_boot(self) -> int:
        return int(self.profile.bootstrap_resamples)

    def gate(self, model: str, dataset: str, seed: int | None = None) -> claims.Learned:
        """:func:`dspic_lib.evaluation.claims.learned` of one run (computed once)."""
        seed = self.profile.seed if seed is None else int(seed)
        return self._gate(("gate", model, dataset, seed), self.run(model, dataset, seed))

    def gate_of(self, run) -> claims.Learned:
        """The learned gate of any run, with these results' bootstrap and cache: one of their runs is
        judged once whichever way it is asked for; another (chapter 07's) once per store entry and head."""
        cell = next((k for k, r in self.runs.items() if r is run), None)
        return self.gate(*cell) if cell else self._gate(("gate", run.entry_id, run.head), run)

    def _gate(self, key, run) -> claims.Learned:
        if key not in self._cache:
            self._cache[key] = claims.learned(run, self.n_boot, self.profile.seed)
        return self._cache[key]

    def learned(self, model: str, dataset: str) -> bool:
        """True when EVERY seed of the cell passed the learned gate."""
        return all(self.gate(model, dataset, s).learned for s in self.seeds(model, dataset))

    def gate_table(self, cells=None) -> pd.DataFrame:
        """Every run of ``cells`` (default: all) with the numbers of its learned gate."""
        cells = self.cells() if cells is None else list(cells)
        rows = []
        for m, d in cells:
            for s in self.seeds(m, d):
                g = self.gate(m, d, s)
                rows.append({"model": m, "dataset": d, "seed": s, **g.columns(), "learned": g.learned})
        return pd.DataFrame(rows).set_index(["model", "dataset", "seed"])

    # ------------------------------------------------------------------ verdicts

    def seed_variance(self) -> pd.Series:
        """Per metric, the sample variance over the variance cell's seeds (NaN with fewer than 2): what a
        cell with one seed borrows for its equivalence interval."""
        if len(self.seeds(*VARIANCE_CELL)) < 2:
            return pd.Series(np.nan, index=list(claims.MARGINS))
        return self.by_seed()[list(claims.MARGINS)].astype(float).var(ddof=1)

    def estimates(self, cells=None) -> pd.DataFrame:
        """:func:`dspic_lib.evaluation.claims.cell_estimate` of every cell, seed variance borrowed where a
        cell has one seed; long table (model, dataset, metric, value, var_boot, var_seed, seeds)."""
        cells = self.cells() if cells is None else list(cells)
        borrowed = self.seed_variance()
        parts = []
        for m, d in cells:
            key = ("estimate", m, d)
            if key not in self._cache:
                runs = [self.run(m, d, s) for s in self.seeds(m, d)]
                self._cache[key] = claims.cell_estimate(runs, n_boot=self.n_boot, seed=self.profile.seed)
            e = self._cache[key].copy()
            if len(self.seeds(m, d)) < 2:
                e["var_seed"] = e.index.map(borrowed).astype(float)
            parts.append(e.reset_index().assign(model=m, dataset=d))
        cols = ["model", "dataset", "metric", "value", "var_boot", "var_seed", "seeds"]
        return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)

    def learned_cells(self, cells=None) -> dict:
        cells = self.cells() if cells is None else list(cells)
        return {c: self.learned(*c) for c in cells}

    def claims_input(self) -> claims.Runs:
        """The runs by (model, dataset) and their gate, as :func:`dspic_lib.evaluation.claims.text_claims` takes them."""
        return claims.Runs(runs={c: self.run(*c) for c in self.cells()}, learned=self.learned_cells(),
                           n_boot=self.n_boot, seed=self.profile.seed)

    def verdicts(self, tables=None) -> pd.DataFrame:
        """:func:`dspic_lib.evaluation.claims.verdicts` for the numbers of ``tables`` (default: all four)."""
        tables = list(EXPERIMENTS) if tables is None else list(tables)
        wanted = [c for c in self.cells() if c in cells(tables)]
        out = claims.verdicts(self.estimates(wanted), self.learned_cells(wanted))
        return out[out["table"].isin(tables)].reset_index(drop=True)

    def text_claims(self) -> pd.DataFrame:
        key = ("claims",)
        if key not in self._cache:
            self._cache[key] = claims.text_claims(self.claims_input())
        return self._cache[key]

    def all_verdicts(self) -> pd.DataFrame:
        return claims.all_verdicts(self.estimates(), self.learned_cells(), self.claims_input())

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


INTERVAL = "90 % interval of the difference"
REFERENCE_MODEL = "Plain CNN"          # the coordinator's plain-CNN reference cell, shown when present
TABLE_DATASETS = {"table5": ("D1", "D2", "D3"), "table6": ("D1", "D2", "D3"), "table8": ("D2",), "table9": ("D2",)}


def _interval_text(low, high) -> str:
    return f"{low:+.4f} to {high:+.4f}" if np.isfinite(low) and np.isfinite(high) else ""


def verdict_table(v: pd.DataFrame, by: str = "dataset", reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """A verdict table for reading: ``by`` (dataset or model) and metric as index; paper, this run,
    seeds, difference, its 90 % interval, margin and verdict as columns. A cell that did not learn has
    its difference and interval blank (no comparison). ``reference``: rows (:func:`reference_rows`)
    appended below, in the same columns."""
    compared = v["verdict"].isin([claims.REPRODUCED, claims.INCONCLUSIVE, claims.NOT_REPRODUCED])
    out = pd.DataFrame({
        "paper": v["paper"], claims.THIS_RUN: v[claims.THIS_RUN],
        "seeds": [int(k) if np.isfinite(k) else "" for k in v["seeds"].astype(float)],
        "difference": [d if ok else "" for d, ok in zip(v["difference"], compared)],
        INTERVAL: [_interval_text(lo, hi) if ok else "" for lo, hi, ok in zip(v["low"], v["high"], compared)],
        "margin": v["margin"].map(lambda m: f"\u00b1{m:.2f}"),
        "verdict": v["verdict"]}).set_axis(pd.MultiIndex.from_frame(v[[by, "metric"]]), axis=0)
    if reference is not None and len(reference):
        out = pd.concat([out.astype(object), reference.astype(object)])
    return out


def majority_reference(res: Results, cell: tuple[str, str]) -> dict:
    """Each metric of always predicting the test part's majority class (the test part of ``cell``'s
    run), and that class: ``{"class": "N", "accuracy": rate, ...}``. Its accuracy is the majority rate."""
    r = res.run(*cell)
    cls, _ = claims.majority(r.y_true)
    return {"class": cls, **metrics.summary(r.y_true, claims.majority_proba(r.y_true))}


def majority_caption(ref: dict) -> str:
    """The caption sentence of the dashed line the result figures draw (:func:`majority_reference`)."""
    return (f"The dashed line marks what always predicting the test part's majority class "
            f"({ref['class']}, {ref['accuracy']:.0%} of the 3-class test scans) scores in each metric: "
            "a bar at or below it shows no learning.")


def reference_rows(res: Results, table: str, by: str = "dataset") -> pd.DataFrame:
    """The reference rows of a results table, in :func:`verdict_table`'s columns: the accuracy of always
    predicting the test part's majority class, and, when the results hold a run of the plain-CNN
    reference model (:data:`REFERENCE_MODEL`) on the table's datasets, its accuracy and balanced accuracy
    with patient-bootstrap 95 % intervals. No paper value, no verdict."""
    present_cells = [c for c in cells([table]) if res.has(*c)]
    if not present_cells:
        return pd.DataFrame()
    ref = majority_reference(res, present_cells[0])
    rows = [((f"always {ref['class']} (majority class of the test part)", "accuracy"),
             {claims.THIS_RUN: ref["accuracy"]})]
    from dspic_lib.evaluation import stats

    for d in TABLE_DATASETS.get(table, ()):
        if not res.has(REFERENCE_MODEL, d):
            continue
        r = res.run(REFERENCE_MODEL, d)
        b = stats.bootstrap_metrics(r.y_true, r.proba, claims.test_groups(r), n_boot=res.n_boot,
                                    seed=res.profile.seed, metrics=("accuracy", "sensitivity"))
        label = f"{REFERENCE_MODEL} (reference)" + (f" on {d}" if by == "dataset" else "")
        for metric, name in (("accuracy", "accuracy"), ("sensitivity", "balanced accuracy")):
            rows.append(((label, name), {
                claims.THIS_RUN: b.at[metric, "value"], "seeds": len(res.seeds(REFERENCE_MODEL, d)),
                INTERVAL: "95 %: " + _interval_text(b.at[metric, "low"], b.at[metric, "high"]).replace("+", "")}))
    blank = {"paper": "", claims.THIS_RUN: np.nan, "seeds": "", "difference": "", INTERVAL: "", "margin": "",
             "verdict": claims.REFERENCE}
    return pd.DataFrame([blank | vals for _, vals in rows],
                        index=pd.MultiIndex.from_tuples([k for k, _ in rows], names=[by, "metric"]))


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
    """One row per run: epochs run and selected, seconds, seconds per epoch, its arithmetic (float32 or
    bfloat16 mixed precision)."""
    rows = []
    for (m, d, s), r in res.runs.items():
        epochs = len(r.history)
        rows.append({"model": m, "dataset": d, "seed": s, "epochs run": epochs, "selected epoch": r.best_epoch,
                     "seconds": r.seconds, "s / epoch": r.seconds / epochs if epochs else np.nan,
                     "arithmetic": {"mixed_bfloat16": "bfloat16 mixed"}.get(r.policy, r.policy)})
    return pd.DataFrame(rows)


def cost_ratio_sentence(res: Results, model: str, baseline: str, dataset: str) -> str:
    """Seconds per epoch of ``model`` against ``baseline`` on ``dataset`` (profile's seed), and the epochs each
    ran, read from :func:`run_costs`."""
    costs = run_costs(res).set_index(["model", "dataset", "seed"])
    a, b = costs.loc[(model, dataset, res.profile.seed)], costs.loc[(baseline, dataset, res.profile.seed)]
    return (f"{model} took {a['s / epoch']:.1f} s per epoch on {dataset}, {a['s / epoch'] / b['s / epoch']:.1f} times "
            f"{baseline}'s {b['s / epoch']:.1f} s; it ran {int(a['epochs run'])} epochs (kept epoch "
            f"{int(a['selected epoch'])}) against {int(b['epochs run'])} (kept {int(b['selected epoch'])}), "
            f"{a['seconds'] / 60:.1f} min in all.")


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
        "kept weights": ("not reported", {
            "last": "those of the last epoch",
            "val_loss": "those of the epoch with the lowest validation loss",
            "val_balanced_accuracy": "those of the epoch with the highest validation balanced accuracy",
        }.get(profile.select_on, profile.select_on)),
        "early stopping": ("not reported",
                           f"after {profile.early_stopping_patience} epochs without a better such epoch"
                           if profile.early_stopping_patience else "none"),
        "initial weights": ("not reported", {"he": "He-normal (ReLU layers)",
                                             "glorot": "Glorot-uniform (Keras' default)"}.get(profile.init, profile.init)),
        "input": ("Eq. 1", "Eq. 1, then standardised by the training images' mean and SD"),
        "arithmetic": ("not reported", "float32 or bfloat16 mixed precision; each run's is in its cost table"),
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


def _gate_failure(res: Results, model: str, dataset: str) -> str:
    """Why a cell did not learn: the first seed that failed the gate, with its numbers."""
    for s in res.seeds(model, dataset):
        g = res.gate(model, dataset, s)
        if not g.learned:
            seeds = len(res.seeds(model, dataset))
            which = f"seed {s}" if seeds > 1 else "its run"
            return f"{model} on {dataset} did not learn ({which}: {g.why()})."
    return ""


def findings(res: Results, tables) -> list[str]:
    """Sentences on what happened in this run, every number computed from the runs."""
    out = []
    p = res.profile
    wanted = [c for c in cells(tables) if res.has(*c)]
    for (m, d, s), r in res.runs.items():
        if s != p.seed or (m, d) not in wanted:
            continue
        n = len(r.history)
        ran = (f"stopped early after {n} epoch{'s' * (n != 1)}" if n < p.epochs
               else f"ran all {n} epochs allowed" if n > 1 else "ran the 1 epoch allowed")
        out.append(f"{m} on {d}: {ran}, kept epoch {r.best_epoch}; "
                   f"test accuracy {res.summary(m, d)['accuracy']:.3f}, macro F1 {res.summary(m, d)['f1']:.3f}.")
    for m, d in [c for c in res.cells() if c in wanted]:
        if not res.learned(m, d):
            cls = one_class(res.run(m, d))
            stuck = f" It predicted {cls} for every test image." if cls is not None else ""
            out.append(_gate_failure(res, m, d) + stuck)
    out += prior_notes(res, wanted)
    out += variance_notes(res)
    return out


def learned_sentence(res: Results, cells_=None) -> str:
    """Whether the networks learned, one sentence: how many of the cells trained passed the learned
    gate, and which did not learn."""
    cells_ = res.cells() if cells_ is None else list(cells_)
    stuck = [f"{m} on {d}" for m, d in cells_ if not res.learned(m, d)]
    n, k = len(cells_), len(cells_) - len(stuck)
    gate = ("(every seed's balanced accuracy above chance, 1/3, and its accuracy above always predicting the "
            "test part's majority class, both at the lower end of a 95 % patient-bootstrap interval)")
    if not stuck:
        return f"Of the {n} cells (network, dataset) trained, all {n} passed the learned gate {gate}."
    return (f"Of the {n} cells (network, dataset) trained, {k} passed the learned gate {gate}; "
            f"{len(stuck)} did not learn ({', '.join(stuck)}), and none of their numbers is compared with "
            "the paper's.")


VERDICT_WORDS = {claims.DID_NOT_LEARN: "not compared because the cell did not learn"}


def verdict_sentence(res: Results, tables) -> str:
    """How many of the paper's numbers of ``tables`` this run reproduces, one sentence."""
    v = res.verdicts(tables)
    again = claims.repeated(v)
    v = v[~again]                          # a value printed in two tables is counted once
    counts = v["verdict"].value_counts()
    names = " and ".join(dict.fromkeys(TABLE_TITLES[t] for t in tables))
    twice = f" ({int(again.sum())} printed twice, counted once)" if again.any() else ""
    return (f"Of the paper's {len(v)} {'distinct ' if again.any() else ''}numbers in {names}{twice}: " + ", ".join(
        f"{counts.get(k, 0)} {VERDICT_WORDS.get(k, k)}" for k in claims.VERDICTS if counts.get(k, 0)) + ".")


def claim_sentences(table: pd.DataFrame) -> list[str]:
    """One sentence per checked text claim (a table of :func:`claims_for`)."""
    return [claims.claim_sentence(r) for _, r in table.iterrows()]


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


def seed_spread(res: Results) -> pd.DataFrame:
    """The variance cell's metrics per seed, with rows for the SD over seeds and for the learned gate
    of each seed (chapter 04's table)."""
    spread = res.by_seed()[list(ALL_METRICS)].astype(object)
    sd = res.seed_variance().pow(0.5)
    spread.loc["SD over seeds"] = [sd.get(m, np.nan) for m in ALL_METRICS]
    spread["learned"] = [res.gate(*VARIANCE_CELL, s).learned for s in res.by_seed().index] + [""]
    return spread


def variance_notes(res: Results) -> list[str]:
    """What the seed spread every single-seed cell borrows is made of, in sentences: its size, and any
    seed of the variance cell that failed the learned gate (its spread then measures no learning; it
    can only widen intervals, turning verdicts into "inconclusive", never into "reproduced")."""
    model, dataset = VARIANCE_CELL
    seeds = res.seeds(model, dataset)
    if len(seeds) < 2:
        return [f"{model} on {dataset} has {len(seeds)} seed here, so no seed spread is measured and every "
                "verdict of a learned cell is inconclusive."]
    sd = res.seed_variance().pow(0.5)
    out = [f"The seed-to-seed SD, from {len(seeds)} seeds of {model} on {dataset}, is "
           + ", ".join(f"{sd[m]:.3f} in {m}" for m in ALL_METRICS if m in sd.index) + "; cells with one seed "
           "borrow it for their intervals."]
    failed = [s for s in seeds if not res.gate(model, dataset, s).learned]
    if failed:
        out.append("Seed" + "s" * (len(failed) > 1) + f" {', '.join(map(str, failed))} of {model} on {dataset} "
                   "did not pass the learned gate, so this spread includes runs that did not learn: it can only "
                   "widen the intervals (more \u201cinconclusive\u201d), never make a number \u201creproduced\u201d.")
    return out


def table9_paper() -> pd.DataFrame:
    """The paper's Table 9 (:func:`dspic_lib.evaluation.claims.paper_values`), rows "with pooling" and "without
    pooling", one column per metric."""
    rows = {model: row.replace("_", " ") for row, model in claims.TABLE9_MODELS.items()}
    t9 = claims.paper_values().query("table == 'table9'")
    return t9.pivot(index="model", columns="metric", values="paper").rename(index=rows).rename_axis(None)


def overview(res: Results) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """For the build record: verdict counts per table (claims included), every number of Tables 5, 6, 8,
    9 with its verdict, and every text claim with its verdict. A cell that did not learn has no
    difference or interval (blank)."""
    numbers = res.verdicts()
    claim_rows = claims_for(res, list(claims.CLAIM_CHECKS))
    both = pd.concat([numbers[[*claims.KEYS, "paper", "verdict"]],
                      claim_rows[["verdict"]].assign(table="text claims")], ignore_index=True)
    compared = numbers["verdict"].isin([claims.REPRODUCED, claims.INCONCLUSIVE, claims.NOT_REPRODUCED])
    shown = numbers.assign(table=numbers["table"].map(TABLE_TITLES),
                           difference=[d if ok else "" for d, ok in zip(numbers["difference"], compared)],
                           **{INTERVAL: [_interval_text(lo, hi) if ok else ""
                                         for lo, hi, ok in zip(numbers["low"], numbers["high"], compared)]})
    cols = ["table", "model", "dataset", "metric", "paper", claims.THIS_RUN, "difference", INTERVAL, "verdict"]
    return verdict_counts(both), shown[cols].set_index(["table", "model", "dataset", "metric"]), claim_rows


INIT_LABELS = {"he": "He-normal, standardised input", "glorot": "Glorot-uniform (Keras' default), Eq. 1 input"}


def init_table(starts: Mapping, n_boot: int, seed: int = 0) -> pd.DataFrame:
    """One row per start of :func:`dspic_lib.pipeline.experiments.init_comparison` (``{init: Run}``):
    epochs run, the kept epoch, seconds, and the numbers of its learned gate on the test patients."""
    rows = []
    for init, run in starts.items():
        g = claims.learned(run, n_boot, seed)
        rows.append({"start": INIT_LABELS.get(init, init), "epochs run": len(run.history),
                     "kept epoch": int(run.best_epoch), "seconds": run.seconds, "test accuracy": g.accuracy,
                     "balanced accuracy": g.balanced_accuracy, "its 95 % lower end": g.balanced_low,
                     "learned": "yes" if g.learned else "did not learn"})
    return pd.DataFrame(rows).set_index("start")


def init_sentence(table: pd.DataFrame) -> str:
    """What the two starts gave, read from :func:`init_table`."""
    parts = [f"from {start}, {row['test accuracy']:.3f} test accuracy and {row['balanced accuracy']:.3f} balanced "
             f"accuracy after {row['epochs run']} epochs ({'learned' if row['learned'] == 'yes' else 'did not learn'})"
             for start, row in table.iterrows()]
    return "Trained the same way on the same images: " + "; ".join(parts) + "."


def learned_caption(res: Results, cells) -> str:
    """A figure caption's sentence on whether the networks it shows learned: the cells of ``cells`` that
    did not learn are named, so a bar or curve of an untrained network is not read as a result."""
    failed = [f"{m} on {d}" for m, d in cells if not res.learned(m, d)]
    if not failed:
        return "Every network shown passed the learned gate."
    return (f"{', '.join(failed)} did not learn (learned gate): {'its' if len(failed) == 1 else 'their'} "
            "bars and curves show an untrained network and are not compared with the paper's.")
