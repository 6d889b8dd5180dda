"""The paper's numbers next to this run's, each with a verdict computed here, never typed.

**Did the network learn?** (:func:`learned`). Before any number of a run is compared with the paper's,
the run must pass the *learned gate*: the lower end of the patient-bootstrap 95 % interval of its
balanced accuracy (the macro sensitivity over N, M, A; M&A images left out, as
:mod:`dspic_lib.evaluation.metrics` leaves them out) lies above chance (1/3), AND the paired bootstrap
(the same resampled test patients) of its accuracy minus that of an always-majority predictor (the test
part's most frequent class) has its 95 % lower end above 0. AUC never serves as the gate (a network
stuck on one class can still rank scans). A cell (model, dataset) with ANY seed not learned "did not
learn": it gets that verdict, and no difference to the paper is shown.

**Equivalence verdicts** (:func:`verdicts`), with margins fixed before any run (:data:`MARGINS`: 0.05
for the accuracy-type metrics, 0.03 for AUC). For a learned cell, the difference is this run's mean
over its seeds minus the paper's value, and its 90 % interval is the normal approximation
``difference +- z_0.95 * sqrt(var_boot + var_seed / k)``: ``var_boot`` the variance of the seed-mean
over patient-bootstrap resamples of the test patients (every seed scored on the same resamples),
``var_seed`` the sample variance of the metric over the cell's ``k`` seeds; a cell with one seed borrows
``var_seed`` from the variance cell (dSPIC-AM on D2, 3 seeds). *reproduced*: the interval lies inside
``[-margin, +margin]``; *not reproduced*: it lies wholly outside; else *inconclusive*. A wider interval
(more noise) can turn "reproduced" or "not reproduced" into "inconclusive", never the other way.

**Text claims** (:func:`text_claims`): the five claims of targets.json ``text_claims``, each a set of
differences between learned cells on the same test patients, with a paired patient-bootstrap 95 %
interval each: *supported* (every interval wholly on the paper's side of 0), *contradicted* (one wholly
on the other side), *not settled* (else); "did not learn" when a cell it needs did not learn.

Tables are named as the experiments are (``table5``, ``table6``, ``table8``, ``table9``, see
:data:`dspic_lib.pipeline.experiments.EXPERIMENTS`); models and datasets as there (``dSPIC-AM``, ``D2``, ...).
Table 9's row "with pooling" is model ``dSPIC-AM``, "without pooling" is ``dSPIC-AM-nopool``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as sps

from dspic_lib.errors import DataError
from dspic_lib.evaluation import metrics, stats
from dspic_lib.paper import targets
from dspic_lib.vocab import OUTPUTS

KEYS = ["table", "model", "dataset", "metric"]
THIS_RUN = "this run"

REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED = "reproduced", "inconclusive", "not reproduced"
DID_NOT_LEARN, NOT_COMPUTED = "did not learn", "not computed"
VERDICTS = (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED, DID_NOT_LEARN, NOT_COMPUTED)
SUPPORTED, CONTRADICTED, NOT_SETTLED = "supported", "contradicted", "not settled"
CLAIM_VERDICTS = (SUPPORTED, CONTRADICTED, NOT_SETTLED, DID_NOT_LEARN, NOT_COMPUTED)
REFERENCE = "reference, no paper value"           # the verdict column of the reference rows of a table

TABLE9_MODELS = {"with_pooling": "dSPIC-AM", "without_pooling": "dSPIC-AM-nopool"}

# fixed before any run was compared (README, "Verdicts"); never derived from the runs
ACCURACY_MARGIN = 0.05     # accuracy, precision, sensitivity (recall), specificity, F1
AUC_MARGIN = 0.03
MARGINS = {"accuracy": ACCURACY_MARGIN, "precision": ACCURACY_MARGIN, "sensitivity": ACCURACY_MARGIN,
           "specificity": ACCURACY_MARGIN, "f1": ACCURACY_MARGIN, "auc": AUC_MARGIN}
CHANCE = 1 / 3             # balanced accuracy of guessing among N, M, A
GATE_LEVEL = 0.95          # the learned gate's intervals (lower ends)
VERDICT_LEVEL = 0.90       # the equivalence interval (two one-sided 5 % tests)
CLAIM_LEVEL = 0.95         # the text claims' paired intervals
N_BOOT = 1000


# ---------------------------------------------------------------------------------------- paper

def paper_values() -> pd.DataFrame:
    """Every number of Tables 5, 6, 8 and 9 of the paper, one row each (table, model, dataset,
    metric, paper), copied from targets.json, never recomputed.

    ``table5`` / ``table6``: dSPIC-AM / dSPIC-RM on D1, D2, D3, the metrics of ``metric_names``;
    ``table8``: the AUC of each model on D2; ``table9``: dSPIC-AM and dSPIC-AM-nopool on D2, the
    metrics of its ``_columns``. A number printed in two tables (dSPIC-AM on D2) has a row in each."""
    t = targets()
    rows = []
    for table, key, model in (("table5", "table5_dSPIC_AM", "dSPIC-AM"), ("table6", "table6_dSPIC_RM", "dSPIC-RM")):
        for dataset, values in t[key].items():
            rows += [(table, model, dataset, m, v) for m, v in zip(t["metric_names"], values, strict=True)]
    rows += [("table8", model, "D2", "auc", v) for model, v in t["table8_auc_D2"].items()]
    t9 = t["table9_pooling_D2"]
    for row, model in TABLE9_MODELS.items():
        rows += [("table9", model, "D2", m, v) for m, v in zip(t9["_columns"], t9[row], strict=True)]
    out = pd.DataFrame(rows, columns=[*KEYS, "paper"])
    out["paper"] = out["paper"].astype(float)
    return out


def repeated(v: pd.DataFrame) -> pd.Series:
    """True for each row whose paper value was printed already in an earlier table: the same model,
    dataset, metric and number (Table 9's "with pooling" row repeats Table 5's D2 row and Table 8's
    dSPIC-AM AUC). A tally of the paper's values counts each once: ``v[~repeated(v)]``. Rows without
    a numeric paper value (text claims) and tables without those columns are never repeats."""
    if not {*KEYS, "paper"} <= set(v.columns):
        return pd.Series(False, index=v.index)
    number = pd.to_numeric(v["paper"], errors="coerce")
    key = v[["model", "dataset", "metric"]].astype(str).assign(paper=number.round(6), table=v["table"].astype(str))
    key = key[number.notna()].sort_values("table", kind="stable")       # Table 5 before 8 before 9
    first = ~key.drop(columns="table").duplicated(keep="first")
    return pd.Series(True, index=v.index).where(v.index.isin(key.index[~first]), False).astype(bool)



# ---------------------------------------------------------------------------------------- the learned gate

def test_groups(run) -> np.ndarray:
    """The patient of each test image of a run (``run.test_meta["patient"]``, or ``run.groups``)."""
    meta = getattr(run, "test_meta", None)
    if meta is not None and "patient" in meta:
        return meta["patient"].astype(str).to_numpy()
    groups = getattr(run, "groups", None)
    if groups is None:
        raise DataError(f"run {_name(run)}: no patient per test image (test_meta['patient'] or groups); "
                        "the verdicts resample test patients")
    return np.asarray(groups, dtype=object).astype(str)


def _name(run) -> str:
    model, dataset = getattr(run, "model", "?"), getattr(run, "dataset", "?")
    seed = getattr(run, "seed", None)
    return f"{model} on {dataset}" + ("" if seed is None else f" seed {seed}")


def majority(y_true) -> tuple[str, float]:
    """The most frequent class among the 3-class test images (M&A left out; a tie goes to the earlier of
    N, M, A) and its share of them: the accuracy of always predicting it."""
    y = metrics.check_labels(y_true)
    y = y[y != metrics.BOTH]
    if not len(y):
        raise DataError("majority: no N, M or A test image (only M&A or none)")
    counts = [int((y == c).sum()) for c in OUTPUTS]
    k = int(np.argmax(counts))
    return OUTPUTS[k], counts[k] / len(y)


def majority_proba(y_true) -> np.ndarray:
    """The probabilities of the always-majority predictor: 1 on the test part's majority class."""
    cls, _ = majority(y_true)
    return np.tile(np.eye(len(OUTPUTS))[OUTPUTS.index(cls)], (len(np.asarray(y_true)), 1))


@dataclass(frozen=True)
class Learned:
    """The learned gate of one run (:func:`learned`); the numbers pages print."""
    run: str                      # "model on dataset seed s"
    balanced_accuracy: float      # macro sensitivity over N, M, A on the test images
    balanced_low: float           # lower end of its patient-bootstrap 95 % interval
    accuracy: float
    majority_class: str           # the test part's most frequent class
    majority_rate: float          # its share: the accuracy of always predicting it
    gain: float                   # accuracy - majority_rate
    gain_low: float               # lower end of the paired bootstrap 95 % interval of the gain
    n_patients: int

    @property
    def learned(self) -> bool:
        return bool(self.balanced_low > CHANCE and self.gain_low > 0)

    def columns(self) -> dict:
        """The gate's numbers as the columns of a gate table (the results chapters' and chapter 07's)."""
        return {"balanced accuracy": self.balanced_accuracy, "its 95 % lower end": self.balanced_low,
                "majority class": self.majority_class, "accuracy - always the majority class": self.gain,
                "its lower end": self.gain_low}

    def why(self) -> str:
        """The gate in words, with its numbers."""
        return (f"balanced accuracy {self.balanced_accuracy:.3f} (95 % lower end {self.balanced_low:.3f}, "
                f"needs > 1/3); accuracy {self.accuracy:.3f} against {self.majority_rate:.3f} for always "
                f"{self.majority_class} (gain {self.gain:+.3f}, lower end {self.gain_low:+.3f}, needs > 0)")


def learned(run, n_boot: int = N_BOOT, seed=0) -> Learned:
    """The learned gate of a run (``y_true``, ``proba`` and the test patients, :func:`test_groups`):
    learned when the lower end of the patient-bootstrap 95 % interval of its balanced accuracy is above
    1/3 and the paired bootstrap 95 % interval of (its accuracy - the always-majority predictor's) lies
    above 0. AUC plays no part."""
    y, p, g = run.y_true, run.proba, test_groups(run)
    ba = stats.bootstrap_metrics(y, p, g, n_boot=n_boot, seed=seed, level=GATE_LEVEL,
                                 metrics=("sensitivity",)).loc["sensitivity"]
    gain = stats.paired_bootstrap(y, p, majority_proba(y), g, metric="accuracy", n_boot=n_boot, seed=seed,
                                  level=GATE_LEVEL)
    cls, rate = majority(y)
    low = float(ba["low"]) if np.isfinite(ba["low"]) else -np.inf
    gain_low = float(gain["low"]) if np.isfinite(gain["low"]) else -np.inf
    return Learned(_name(run), float(ba["value"]), low, float(gain["diff"]) + rate, cls, rate,
                   float(gain["diff"]), gain_low, int(len(set(g))))


# ---------------------------------------------------------------------------------------- equivalence

def _same_test(runs) -> np.ndarray:
    """The test patients shared by the seeds of a cell; DataError when the seeds saw different tests."""
    groups = [test_groups(r) for r in runs]
    labels = [metrics.check_labels(r.y_true) for r in runs]
    for r, g, y in zip(runs[1:], groups[1:], labels[1:]):
        if len(g) != len(groups[0]) or (g != groups[0]).any() or (y != labels[0]).any():
            raise DataError(f"{_name(r)}: its test images differ from {_name(runs[0])}'s; the seeds of a cell "
                            "must share the test patients")
    return groups[0]


def cell_estimate(runs, metric_names=tuple(MARGINS), *, n_boot: int = N_BOOT, seed=0) -> pd.DataFrame:
    """This run's value of each metric for one cell (the mean over its seeds ``runs``, which share the
    test images), and the two variances of the equivalence interval: ``var_boot`` (of the seed-mean
    over patient-bootstrap resamples, every seed scored on the same resamples) and ``var_seed`` (sample
    variance over the seeds, NaN for one seed). Index metric; columns value, var_boot, var_seed, seeds."""
    runs = list(runs)
    if not runs:
        raise DataError("cell_estimate: no run")
    g = _same_test(runs)
    w = stats.patient_weights(g, n_boot=n_boot, seed=seed)
    names = list(metric_names)
    full = pd.DataFrame([metrics.summary(r.y_true, r.proba) for r in runs])[names].astype(float)
    boot = [stats.weighted_metrics(r.y_true, r.proba, w, names) for r in runs]
    rows = {}
    for m in names:
        with np.errstate(invalid="ignore"):
            mean_boot = np.mean([b[m] for b in boot], axis=0)
        kept = mean_boot[np.isfinite(mean_boot)]
        rows[m] = {"value": float(full[m].mean()),
                   "var_boot": float(np.var(kept, ddof=1)) if len(kept) > 1 else np.nan,
                   "var_seed": float(full[m].var(ddof=1)) if len(runs) > 1 else np.nan,
                   "seeds": len(runs)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "metric"
    return out


def equivalence_interval(difference, var_boot, var_seed, seeds, level: float = VERDICT_LEVEL):
    """``(low, high)`` of ``difference +- z * sqrt(var_boot + var_seed / seeds)``, z the normal quantile
    of ``(1 + level) / 2`` (1.645 at 90 %). NaN where a variance is missing."""
    z = sps.norm.ppf((1 + level) / 2)
    sd = np.sqrt(np.asarray(var_boot, float) + np.asarray(var_seed, float) / np.asarray(seeds, float))
    d = np.asarray(difference, float)
    return d - z * sd, d + z * sd


def equivalence_verdict(low: float, high: float, margin: float) -> str:
    """reproduced: ``[low, high]`` inside ``[-margin, +margin]``; not reproduced: wholly outside it;
    inconclusive: else, or when the interval is unknown (NaN)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if -margin <= low and high <= margin:
        return REPRODUCED
    if high < -margin or low > margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def verdicts(estimates: pd.DataFrame, learned_cells: Mapping) -> pd.DataFrame:
    """Every number of :func:`paper_values` beside this run's, with its verdict.

    ``estimates``: one row per (model, dataset, metric) with columns model, dataset, metric, value,
    var_boot, var_seed, seeds (:func:`cell_estimate` of each cell; a cell with one seed carries the
    variance cell's ``var_seed``). ``learned_cells``: ``{(model, dataset): bool}``, False when any seed
    of the cell failed :func:`learned`.

    Columns: table, model, dataset, metric, paper, this run, seeds, difference (this run - paper), low,
    high (its 90 % interval), margin, verdict. "not computed": no value for the cell; "did not learn":
    the cell failed the gate, and difference, low and high are left empty (NaN)."""
    need = {"model", "dataset", "metric", "value", "var_boot", "var_seed", "seeds"}
    missing = sorted(need - set(estimates.columns))
    if missing:
        raise DataError(f"verdicts: estimates lack column(s) {', '.join(missing)}")
    if estimates.duplicated(["model", "dataset", "metric"]).any():
        raise DataError("verdicts: estimates have two rows for one (model, dataset, metric)")
    out = paper_values().merge(estimates[sorted(need)].rename(columns={"value": THIS_RUN}),
                               on=["model", "dataset", "metric"], how="left", validate="many_to_one")
    out[THIS_RUN] = out[THIS_RUN].astype(float)
    out["margin"] = out["metric"].map(MARGINS).astype(float)
    ok = pd.Series([bool(learned_cells.get((m, d), False)) for m, d in zip(out["model"], out["dataset"])],
                   index=out.index)
    computed = out[THIS_RUN].notna()
    out["difference"] = (out[THIS_RUN] - out["paper"]).where(ok & computed)
    low, high = equivalence_interval(out["difference"], out["var_boot"], out["var_seed"], out["seeds"])
    out["low"], out["high"] = low, high
    out["verdict"] = [NOT_COMPUTED if not c else DID_NOT_LEARN if not k else equivalence_verdict(lo, hi, mg)
                      for c, k, lo, hi, mg in zip(computed, ok, out["low"], out["high"], out["margin"])]
    return out[[*KEYS, "paper", THIS_RUN, "seeds", "difference", "low", "high", "margin", "verdict"]]


# ---------------------------------------------------------------------------------------- text claims

@dataclass
class Runs:
    """What the text claims are checked on: ``runs[(model, dataset)]`` -> the run of the profile's seed
    (``y_true``, ``proba`` and ``test_meta`` with image and patient, or ``groups``), ``learned[(model,
    dataset)]`` -> whether the cell passed the gate (every seed; computed with :func:`learned` for a run
    without an entry), and the bootstrap's resamples and seed."""
    runs: dict = field(default_factory=dict)
    learned: dict = field(default_factory=dict)
    n_boot: int = N_BOOT
    seed: int = 0

    def is_learned(self, cell) -> bool:
        if cell not in self.learned:
            self.learned[cell] = learned(self.runs[cell], self.n_boot, self.seed).learned
        return bool(self.learned[cell])


def _t5(dataset, metric, table="table5_dSPIC_AM") -> float:
    t = targets()
    return t[table][dataset][t["metric_names"].index(metric)]


def _cell(c) -> str:
    return f"{c[0]} on {c[1]}"


def _gate(r: Runs, cells) -> tuple[str, str] | None:
    """(this-run text, verdict) when a cell is missing or did not learn, else None."""
    absent = [_cell(c) for c in cells if c not in r.runs]
    if absent:
        return "missing: " + "; ".join(absent), NOT_COMPUTED
    stuck = [_cell(c) for c in cells if not r.is_learned(c)]
    if stuck:
        return f"{NOT_SETTLED}: {' and '.join(stuck)} did not learn", DID_NOT_LEARN
    return None


def _aligned(a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(y_true, proba_a, proba_b, patients)`` of two runs on the same test images (matched by image
    name where both have one); DataError when their test images differ."""
    ma, mb = getattr(a, "test_meta", None), getattr(b, "test_meta", None)
    if ma is not None and mb is not None and "image" in ma and "image" in mb:
        ia, ib = ma["image"].astype(str).to_numpy(), mb["image"].astype(str).to_numpy()
        if len(ia) != len(ib) or set(ia) != set(ib) or len(set(ia)) != len(ia):
            raise DataError(f"{_name(a)} and {_name(b)}: different test images; a paired comparison needs "
                            "the same test patients")
        order = pd.Index(ib).get_indexer(ia)
        pb = np.asarray(b.proba)[order]
    else:
        _same_test([a, b])
        pb = np.asarray(b.proba)
    return np.asarray(a.y_true), np.asarray(a.proba), pb, test_groups(a)


def _paired(r: Runs, a, b, metric: str) -> dict:
    """Paired patient-bootstrap interval of ``metric(a) - metric(b)`` on the same test patients."""
    y, pa, pb, g = _aligned(r.runs[a], r.runs[b])
    return stats.paired_bootstrap(y, pa, pb, g, metric=metric, n_boot=r.n_boot, seed=r.seed, level=CLAIM_LEVEL)


def _decide(diffs) -> str:
    """Each difference is claimed > 0: supported when every interval lies above 0, contradicted when one
    lies below 0, else not settled."""
    if all(d["low"] > 0 for d in diffs):
        return SUPPORTED
    if any(d["high"] < 0 for d in diffs):
        return CONTRADICTED
    return NOT_SETTLED


def _describe(name: str, d: dict) -> str:
    return f"{name} {d['diff']:+.3f} (95 % interval {d['low']:+.3f} to {d['high']:+.3f})"


def _better(r: Runs, a, b, metric_names, paper: str, what: str):
    """``a`` above ``b`` in every metric of ``metric_names``, on the same test patients."""
    stop = _gate(r, (a, b))
    if stop:
        return (paper, *stop)
    diffs = {m: _paired(r, a, b, m) for m in metric_names}
    text = f"{what}: " + "; ".join(_describe(m if m != "f1" else "F1", d) for m, d in diffs.items())
    return paper, text, _decide(list(diffs.values()))


def _claim_augmentation(r: Runs):
    """D1 -> D2 raises dSPIC-AM's accuracy and F1: both paired differences D2 - D1 above 0."""
    paper = ("Table 5, dSPIC-AM: accuracy " + ", ".join(f"{_t5(d, 'accuracy'):.4f} ({d})" for d in ("D1", "D2"))
             + "; F1 " + ", ".join(f"{_t5(d, 'f1'):.4f} ({d})" for d in ("D1", "D2")))
    return _better(r, ("dSPIC-AM", "D2"), ("dSPIC-AM", "D1"), ("accuracy", "f1"), paper, "D2 - D1")


def _claim_am_beats_rm(r: Runs):
    """dSPIC-AM beats dSPIC-RM on D2: higher accuracy AND higher F1 (Tables 5 and 6)."""
    paper = (f"Tables 5 and 6, D2: dSPIC-AM accuracy {_t5('D2', 'accuracy'):.4f}, F1 {_t5('D2', 'f1'):.4f}; "
             f"dSPIC-RM accuracy {_t5('D2', 'accuracy', 'table6_dSPIC_RM'):.4f}, "
             f"F1 {_t5('D2', 'f1', 'table6_dSPIC_RM'):.4f}")
    return _better(r, ("dSPIC-AM", "D2"), ("dSPIC-RM", "D2"), ("accuracy", "f1"), paper, "dSPIC-AM - dSPIC-RM")


def _claim_d2_beats_d3(r: Runs):
    """D2 (parametric variation) beats D3 (DCGAN) for dSPIC-AM: higher accuracy AND higher F1 (Table 5).
    Only dSPIC-AM: for dSPIC-RM the paper's own Table 6 has D3's F1 above D2's."""
    paper = ("Table 5, dSPIC-AM: " + "; ".join(f"{d} accuracy {_t5(d, 'accuracy'):.4f}, F1 {_t5(d, 'f1'):.4f}"
                                                for d in ("D2", "D3")))
    return _better(r, ("dSPIC-AM", "D2"), ("dSPIC-AM", "D3"), ("accuracy", "f1"), paper, "D2 - D3")


def _claim_pooling(r: Runs):
    """Removing the two pooling layers lowers every metric of Table 9: each paired difference
    with - without pooling above 0."""
    t9 = targets()["table9_pooling_D2"]
    paper = "Table 9, D2, with -> without pooling: " + ", ".join(
        f"{m} {a:.4f} -> {b:.4f}" for m, a, b in zip(t9["_columns"], t9["with_pooling"], t9["without_pooling"],
                                                     strict=True))
    return _better(r, ("dSPIC-AM", "D2"), ("dSPIC-AM-nopool", "D2"), t9["_columns"], paper,
                   "with - without pooling")


def pair_confusion(cm: pd.DataFrame) -> pd.Series:
    """Symmetric confusion of each pair of classes {i, j} of a confusion matrix over N, M, A (rows
    true, columns predicted): (cm[i, j] + cm[j, i]) / (support_i + support_j), support = row sum.
    Index "N-M", "N-A", "M-A"; NaN for a pair whose two classes have no image. DataError for a matrix
    that is not over N, M, A or has negative counts."""
    if not isinstance(cm, pd.DataFrame) or set(cm.index) != set(OUTPUTS) or set(cm.columns) != set(OUTPUTS):
        shape = (f"index {list(cm.index)}, columns {list(cm.columns)}" if isinstance(cm, pd.DataFrame)
                 else type(cm).__name__)
        raise DataError(f"confusion: expected a 3x3 DataFrame over {', '.join(OUTPUTS)}, got {shape}")
    c = cm.loc[list(OUTPUTS), list(OUTPUTS)].astype(float)
    if (c.to_numpy() < 0).any() or not np.isfinite(c.to_numpy()).all():
        raise DataError("confusion: counts must be finite and >= 0")
    support = c.sum(axis=1)
    out = {}
    for i, j in combinations(OUTPUTS, 2):
        n = support[i] + support[j]
        out[f"{i}-{j}"] = (c.at[i, j] + c.at[j, i]) / n if n > 0 else np.nan
    return pd.Series(out, name="symmetric confusion")


def _pair_rates(counts: np.ndarray) -> np.ndarray:
    """:func:`pair_confusion` of many weighted confusion matrices at once: ``counts`` (resamples, 3, 3)
    -> (resamples, 3) in the order N-M, N-A, M-A (NaN where a pair has no image)."""
    support = counts.sum(axis=2)
    out = []
    for i, j in combinations(range(len(OUTPUTS)), 2):
        n = support[:, i] + support[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(n > 0, (counts[:, i, j] + counts[:, j, i]) / np.where(n > 0, n, 1), np.nan))
    return np.stack(out, axis=1)


def _claim_normal_vs_arthritic(r: Runs):
    """N vs A is the hardest distinction: in dSPIC-AM's D2 confusion, the pair {N, A} has the largest
    :func:`pair_confusion`. The difference N-A minus the larger of the two other pairs, with a
    patient-bootstrap 95 % interval: supported above 0, contradicted below."""
    paper = "Fig. 9: confusion matrix of dSPIC-AM on D2 (printed as an image; its counts are not transcribed)"
    cell = ("dSPIC-AM", "D2")
    stop = _gate(r, (cell,))
    if stop:
        return (paper, *stop)
    run = r.runs[cell]
    y, p = metrics.check_labels(run.y_true), metrics.check_proba(run.proba)
    keep = y != metrics.BOTH
    k = len(OUTPUTS)
    true = np.array([OUTPUTS.index(c) for c in y[keep]])
    onehot = np.eye(k * k)[true * k + np.argmax(p[keep], axis=1)]
    w = stats.patient_weights(test_groups(run), n_boot=r.n_boot, seed=r.seed)[:, keep]

    def stat(weights):
        rates = _pair_rates((weights @ onehot).reshape(len(weights), k, k))
        return rates[:, 1] - np.fmax(rates[:, 0], rates[:, 2]), rates

    full, rates = stat(np.ones((1, int(keep.sum()))))
    d = stat(w)[0]
    d = d[np.isfinite(d)]
    tail = (1 - CLAIM_LEVEL) / 2
    low, high = np.quantile(d, [tail, 1 - tail]) if len(d) else (np.nan, np.nan)
    diff = {"diff": float(full[0]), "low": float(low), "high": float(high)}
    text = (", ".join(f"{n} {v:.3f}" for n, v in zip(("N-M", "N-A", "M-A"), rates[0]))
            + " (misclassified share, both directions); " + _describe("N-A minus the next largest", diff))
    return paper, text, _decide([diff])


# A distinctive substring of each claim of targets.json ``text_claims`` -> its check.
CLAIM_CHECKS: dict[str, Callable[[Runs], tuple[str, str, str]]] = {
    "D1->D2": _claim_augmentation,
    "beats dSPIC-RM": _claim_am_beats_rm,
    "beats DCGAN generation (D3)": _claim_d2_beats_d3,
    "normal vs arthritic": _claim_normal_vs_arthritic,
    "removing the two pooling layers": _claim_pooling,
}


def claim_check(claim: str) -> Callable[[Runs], tuple[str, str, str]]:
    """The check of a claim text: the one :data:`CLAIM_CHECKS` key it contains. DataError when it
    contains none (a claim this module does not know, so it cannot be skipped silently) or several."""
    keys = [k for k in CLAIM_CHECKS if k in claim]
    if len(keys) != 1:
        why = "no check knows it" if not keys else f"it matches several checks ({', '.join(map(repr, keys))})"
        raise DataError(f"text claim {claim!r} of targets.json: {why}; add exactly one entry for it to "
                        "dspic_lib.evaluation.claims.CLAIM_CHECKS")
    return CLAIM_CHECKS[keys[0]]


def text_claims(runs: Runs, claims: list[str] | None = None) -> pd.DataFrame:
    """Each claim of targets.json ``text_claims``, in order, checked on this run's learned cells with
    paired patient-bootstrap 95 % intervals on the same test patients.

    Columns: claim (its text, from targets.json), paper (the paper's values it rests on, copied from
    targets.json, as text), this run (the differences and their intervals, as text), verdict
    ("supported" / "contradicted" / "not settled" / "did not learn" when a cell it needs failed the
    learned gate / "not computed" when a cell is missing). The checks:

    * D1 -> D2 augmentation: dSPIC-AM's accuracy and F1, D2 - D1;
    * dSPIC-AM beats dSPIC-RM on D2; D2 beats D3 (for dSPIC-AM): accuracy and F1 differences;
    * normal vs arthritic is hardest: {N, A}'s :func:`pair_confusion` minus the larger other pair;
    * removing the pooling layers lowers every metric of Table 9: with - without pooling, each metric.

    DataError, before anything is computed, for a claim no check knows or ``runs`` not a :class:`Runs`."""
    if not isinstance(runs, Runs):
        raise DataError(f"text_claims: expected claims.Runs (runs by cell and the learned gate), "
                        f"got {type(runs).__name__}")
    claims = list(targets()["text_claims"] if claims is None else claims)
    checks = [claim_check(c) for c in claims]          # every claim known, or fail before computing
    rows = [(c, *check(runs)) for c, check in zip(claims, checks, strict=True)]
    return pd.DataFrame(rows, columns=["claim", "paper", THIS_RUN, "verdict"])


def claim_sentence(row) -> str:
    """The sentence a page prints for one checked claim (a row of :func:`text_claims`)."""
    claim, verdict, ours = row["claim"], row["verdict"], row[THIS_RUN]
    if verdict == DID_NOT_LEARN:
        return f"The paper's claim \u201c{claim}\u201d is {ours}."
    if verdict == NOT_COMPUTED:
        return f"The paper's claim \u201c{claim}\u201d was not computed in this run ({ours})."
    return f"The paper's claim \u201c{claim}\u201d is {verdict} by this run: {ours}."


# ---------------------------------------------------------------------------------------- overview

def all_verdicts(estimates: pd.DataFrame, learned_cells: Mapping, runs: Runs) -> pd.DataFrame:
    """One table of every number of Tables 5, 6, 8 and 9 (:func:`verdicts`) followed by every text
    claim (:func:`text_claims`), for the book's overview page. Columns: table (``table5`` ... or
    ``text claims``), model, dataset, metric, claim, paper, this run, difference, low, high, verdict;
    a text claim's paper and this run are text, its other columns empty."""
    numbers = verdicts(estimates, learned_cells).assign(claim=None)
    claims = text_claims(runs).assign(table="text claims", model=None, dataset=None, metric=None,
                                      difference=np.nan, low=np.nan, high=np.nan)
    cols = [*KEYS, "claim", "paper", THIS_RUN, "difference", "low", "high", "verdict"]
    return pd.concat([numbers[cols].astype({"paper": object, THIS_RUN: object}), claims[cols]],
                     ignore_index=True)
