"""The paper's numbers next to this run's, each with a verdict computed here, never typed.

* :func:`paper_values`: every number of Tables 5, 6, 8 (AUC) and 9, copied from targets.json.
* :func:`tolerance`: the seed-to-seed spread this run measured, per metric (2 x the sample standard
  deviation over seeds).
* :func:`verdicts`: paper beside this run, difference and verdict ("reproduced" / "close" /
  "not reproduced" / "not computed" / "no tolerance").
* :func:`text_claims`: the five claims of targets.json ``text_claims``, each made machine-checkable
  ("holds" / "does not hold" / "not computed").
* :func:`all_verdicts`: both in one table, for the book's overview page.

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

from dspic_lib.errors import DataError
from dspic_lib.paper import targets
from dspic_lib.vocab import OUTPUTS

KEYS = ["table", "model", "dataset", "metric"]
THIS_RUN = "this run"

REPRODUCED, CLOSE, NOT_REPRODUCED = "reproduced", "close", "not reproduced"
NOT_COMPUTED, NO_TOLERANCE = "not computed", "no tolerance"
VERDICTS = (REPRODUCED, CLOSE, NOT_REPRODUCED, NOT_COMPUTED, NO_TOLERANCE)
HOLDS, DOES_NOT_HOLD = "holds", "does not hold"
CLAIM_VERDICTS = (HOLDS, DOES_NOT_HOLD, NOT_COMPUTED)

TABLE9_MODELS = {"with_pooling": "dSPIC-AM", "without_pooling": "dSPIC-AM-nopool"}
COUNT_COLUMNS = ("n_images", "n_left_out", "seed")   # columns of a summary that are not metrics
TOLERANCE_SDS = 2.0                                  # tolerance = this many sample SDs over seeds
_RTOL, _ATOL = 1e-9, 1e-12                           # float slack at the verdict boundaries


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


# ---------------------------------------------------------------------------------------- tolerance

def tolerance(by_seed: pd.DataFrame) -> pd.Series:
    """The seed-to-seed spread of this run, per metric: ``2 x`` the sample standard deviation
    (``ddof=1``) of the metric over seeds.

    If the runs' metric is roughly normal over seeds, one run lands within this band of the seeds'
    mean about 95 % of the time; so a paper value (one run, as far as the paper says) further than
    that from this run is unlikely to differ by seed alone. It is measured, never a constant picked
    by hand: with identical seeds it is 0, and only an exact match counts as reproduced.

    ``by_seed``: one row per seed, one column per metric (e.g. ``pd.DataFrame([summary, ...])`` of
    :func:`dspic_lib.evaluation.metrics.summary`; its count columns ``n_images``, ``n_left_out`` and a ``seed``
    column are left out). NaN values are skipped; a metric with fewer than 2 finite values gets a NaN
    tolerance (which :func:`verdicts` reports as "no tolerance").

    Raises DataError for fewer than 2 seeds, a non-numeric metric column or no metric column."""
    if not isinstance(by_seed, pd.DataFrame):
        raise DataError(f"tolerance: expected a DataFrame with one row per seed, got {type(by_seed).__name__}")
    if len(by_seed) < 2:
        raise DataError(f"tolerance: needs at least 2 seeds (rows) to measure a spread, got {len(by_seed)}")
    metrics = by_seed.drop(columns=[c for c in COUNT_COLUMNS if c in by_seed.columns])
    if metrics.shape[1] == 0:
        raise DataError("tolerance: no metric column (expected one column per metric, e.g. accuracy, f1)")
    bad = [str(c) for c in metrics.columns if not pd.api.types.is_numeric_dtype(metrics[c])]
    if bad:
        raise DataError(f"tolerance: non-numeric metric column(s) {', '.join(bad)}")
    finite = metrics.astype(float).where(np.isfinite(metrics.astype(float)))
    sd = finite.std(ddof=1)                         # NaN where fewer than 2 finite values
    sd[finite.count() < 2] = np.nan
    out = TOLERANCE_SDS * sd
    out.name = "tolerance"
    out.index.name = "metric"
    return out


# ---------------------------------------------------------------------------------------- verdicts

def _within(diff: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """|diff| <= bound, with float slack so that a difference of exactly the bound (up to rounding)
    is within it."""
    a = np.abs(diff)
    return (a <= bound) | np.isclose(a, bound, rtol=_RTOL, atol=_ATOL)


def verdicts(this_run: pd.DataFrame, tol: pd.Series) -> pd.DataFrame:
    """Every number of :func:`paper_values` beside this run's, with a verdict computed from them.

    ``this_run``: long table with columns table, model, dataset, metric and ``this run`` (see
    :func:`this_run_values`); rows for cells the paper does not report are ignored. ``tol``: a
    tolerance per metric (:func:`tolerance`).

    Columns: table, model, dataset, metric, paper, this run, difference (this run - paper),
    tolerance, verdict:

    * "not computed": no this-run value (missing row or NaN); not an error;
    * "no tolerance": no measured spread for the metric (NaN or absent from ``tol``), so nothing is
      called reproduced without one;
    * "reproduced": |difference| <= tolerance; "close": <= 2 x tolerance; else "not reproduced".
    """
    missing = [c for c in [*KEYS, THIS_RUN] if c not in this_run.columns]
    if missing:
        raise DataError(f"verdicts: this_run lacks column(s) {', '.join(missing)}; "
                        f"expected {', '.join([*KEYS, THIS_RUN])}")
    dup = this_run[this_run.duplicated(KEYS, keep=False)]
    if len(dup):
        raise DataError(f"verdicts: this_run has {len(dup)} rows sharing a (table, model, dataset, metric), "
                        f"e.g. {tuple(dup.iloc[0][KEYS])}")
    try:
        values = pd.to_numeric(this_run[THIS_RUN])
    except (TypeError, ValueError) as err:
        raise DataError(f"verdicts: non-numeric '{THIS_RUN}' value ({err})") from None
    tol = pd.Series(tol, dtype=float)
    if (tol < 0).any():
        raise DataError(f"verdicts: negative tolerance for {', '.join(map(str, tol.index[tol < 0]))}")
    ours = this_run[KEYS].assign(**{THIS_RUN: values.astype(float)})
    out = paper_values().merge(ours, on=KEYS, how="left", validate="one_to_one")
    out["difference"] = out[THIS_RUN] - out["paper"]
    out["tolerance"] = out["metric"].map(tol).astype(float)
    d, t = out["difference"].to_numpy(), out["tolerance"].to_numpy()
    with np.errstate(invalid="ignore"):
        out["verdict"] = np.select(
            [np.isnan(d), np.isnan(t), _within(d, t), _within(d, 2 * t)],
            [NOT_COMPUTED, NO_TOLERANCE, REPRODUCED, CLOSE], default=NOT_REPRODUCED)
    return out


def this_run_values(summary: Mapping) -> pd.DataFrame:
    """The long ``this run`` table :func:`verdicts` takes, from ``summary[(model, dataset)] -> {metric:
    value}`` (:func:`dspic_lib.evaluation.metrics.summary`, e.g. averaged over seeds): one row per number of
    :func:`paper_values`, NaN where this run has no value."""
    def value(model, dataset, metric):
        v = (summary.get((model, dataset)) or {}).get(metric, np.nan)
        return float(v) if v is not None else np.nan

    keys = paper_values()[KEYS]
    cells = keys[["model", "dataset", "metric"]].itertuples(index=False)
    return keys.assign(**{THIS_RUN: [value(m, d, k) for m, d, k in cells]})


# ---------------------------------------------------------------------------------------- text claims

@dataclass
class Results:
    """This run's results by (model, dataset): ``summary`` -> dict of metric -> value
    (:func:`dspic_lib.evaluation.metrics.summary`), ``confusion`` -> 3x3 DataFrame over N, M, A, rows true,
    columns predicted (:func:`dspic_lib.evaluation.metrics.confusion`)."""
    summary: dict = field(default_factory=dict)
    confusion: dict = field(default_factory=dict)


def _as_results(results) -> Results:
    if isinstance(results, Results):
        return results
    if isinstance(results, Mapping):
        unknown = set(results) - {"summary", "confusion"}
        if unknown:
            raise DataError(f"results: unknown key(s) {', '.join(map(repr, sorted(map(str, unknown))))}; "
                            "expected 'summary' and 'confusion'")
        return Results(summary=dict(results.get("summary") or {}), confusion=dict(results.get("confusion") or {}))
    if hasattr(results, "summary") or hasattr(results, "confusion"):
        return Results(summary=dict(getattr(results, "summary", None) or {}),
                       confusion=dict(getattr(results, "confusion", None) or {}))
    raise DataError(f"results: expected a Results, a dict or an object with summary and confusion, "
                    f"got {type(results).__name__}")


def _get(summary, model, dataset, metric) -> float | None:
    """This run's value, or None when missing or NaN."""
    v = (summary.get((model, dataset)) or {}).get(metric)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _t5(dataset, metric, table="table5_dSPIC_AM") -> float:
    t = targets()
    return t[table][dataset][t["metric_names"].index(metric)]


def _missing(what: list[str]) -> tuple[str, str]:
    return "missing: " + "; ".join(what), NOT_COMPUTED


def _claim_augmentation(r: Results):
    """D1 -> D2 raises dSPIC-AM accuracy and F1: holds when both differences (D2 - D1) are > 0."""
    paper = ("Table 5, dSPIC-AM: accuracy " + ", ".join(f"{_t5(d, 'accuracy'):.4f} ({d})" for d in ("D1", "D2"))
             + "; F1 " + ", ".join(f"{_t5(d, 'f1'):.4f} ({d})" for d in ("D1", "D2")))
    got = {(m, d): _get(r.summary, "dSPIC-AM", d, m) for m in ("accuracy", "f1") for d in ("D1", "D2")}
    absent = [f"dSPIC-AM on {d} {m}" for (m, d), v in got.items() if v is None]
    if absent:
        return (paper, *_missing(absent))
    diff = {m: 100 * (got[(m, "D2")] - got[(m, "D1")]) for m in ("accuracy", "f1")}
    text = "; ".join(f"{name} {diff[m]:+.2f} points ({got[(m, 'D1')]:.4f} on D1, {got[(m, 'D2')]:.4f} on D2)"
                     for m, name in (("accuracy", "accuracy"), ("f1", "F1")))
    return paper, text, HOLDS if all(v > 0 for v in diff.values()) else DOES_NOT_HOLD


def _beats(r: Results, a: tuple[str, str], b: tuple[str, str], paper: str):
    """``a`` beats ``b`` (each (model, dataset)): higher accuracy AND higher F1, both strictly."""
    got = {(cell, m): _get(r.summary, *cell, m) for cell in (a, b) for m in ("accuracy", "f1")}
    absent = [f"{cell[0]} on {cell[1]} {m}" for (cell, m), v in got.items() if v is None]
    if absent:
        return (paper, *_missing(absent))
    text = "; ".join(f"{cell[0]} on {cell[1]}: accuracy {got[(cell, 'accuracy')]:.4f}, F1 {got[(cell, 'f1')]:.4f}"
                     for cell in (a, b))
    ok = all(got[(a, m)] > got[(b, m)] for m in ("accuracy", "f1"))
    return paper, text, HOLDS if ok else DOES_NOT_HOLD


def _claim_am_beats_rm(r: Results):
    """dSPIC-AM beats dSPIC-RM on D2: higher accuracy AND higher F1 (Tables 5 and 6)."""
    paper = (f"Tables 5 and 6, D2: dSPIC-AM accuracy {_t5('D2', 'accuracy'):.4f}, F1 {_t5('D2', 'f1'):.4f}; "
             f"dSPIC-RM accuracy {_t5('D2', 'accuracy', 'table6_dSPIC_RM'):.4f}, "
             f"F1 {_t5('D2', 'f1', 'table6_dSPIC_RM'):.4f}")
    return _beats(r, ("dSPIC-AM", "D2"), ("dSPIC-RM", "D2"), paper)


def _claim_d2_beats_d3(r: Results):
    """D2 (parametric variation) beats D3 (DCGAN) for dSPIC-AM: higher accuracy AND higher F1 (Table 5).
    Only dSPIC-AM: for dSPIC-RM the paper's own Table 6 has D3's F1 above D2's."""
    paper = ("Table 5, dSPIC-AM: " + "; ".join(f"{d} accuracy {_t5(d, 'accuracy'):.4f}, F1 {_t5(d, 'f1'):.4f}"
                                                for d in ("D2", "D3")))
    return _beats(r, ("dSPIC-AM", "D2"), ("dSPIC-AM", "D3"), paper)


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


def _claim_normal_vs_arthritic(r: Results):
    """N vs A is the hardest distinction: in dSPIC-AM's D2 confusion matrix, the pair {N, A} has the
    strictly largest :func:`pair_confusion` (a tie for the largest does not hold)."""
    paper = "Fig. 9: confusion matrix of dSPIC-AM on D2 (printed as an image; its counts are not transcribed)"
    cm = r.confusion.get(("dSPIC-AM", "D2"))
    if cm is None:
        return (paper, *_missing(["confusion matrix of dSPIC-AM on D2"]))
    rates = pair_confusion(cm)
    if rates.isna().all():
        return (paper, *_missing(["images in the confusion matrix of dSPIC-AM on D2"]))
    order = rates.sort_values(ascending=False, na_position="last")
    text = ", ".join(f"{k} {v:.3f}" for k, v in order.items()) + " (misclassified share, both directions)"
    others = rates.drop("N-A").fillna(-np.inf)
    ok = bool(np.isfinite(rates["N-A"]) and (rates["N-A"] > others).all())
    return paper, text, HOLDS if ok else DOES_NOT_HOLD


def _claim_pooling(r: Results):
    """Removing the two pooling layers lowers every metric: every metric of Table 9 of
    dSPIC-AM-nopool on D2 strictly below dSPIC-AM's."""
    t9 = targets()["table9_pooling_D2"]
    metrics = t9["_columns"]
    paper = "Table 9, D2, with -> without pooling: " + ", ".join(
        f"{m} {a:.4f} -> {b:.4f}" for m, a, b in zip(metrics, t9["with_pooling"], t9["without_pooling"], strict=True))
    got = {(model, m): _get(r.summary, model, "D2", m) for model in TABLE9_MODELS.values() for m in metrics}
    absent = [f"{model} on D2 {m}" for (model, m), v in got.items() if v is None]
    if absent:
        return (paper, *_missing(absent))
    diff = {m: got[("dSPIC-AM-nopool", m)] - got[("dSPIC-AM", m)] for m in metrics}
    text = "without - with pooling: " + ", ".join(f"{m} {d:+.4f}" for m, d in diff.items())
    not_lower = [m for m, d in diff.items() if not d < 0]
    if not_lower:
        text += f" (not lower: {', '.join(not_lower)})"
    return paper, text, HOLDS if not not_lower else DOES_NOT_HOLD


# A distinctive substring of each claim of targets.json ``text_claims`` -> its check.
CLAIM_CHECKS: dict[str, Callable[[Results], tuple[str, str, str]]] = {
    "D1->D2": _claim_augmentation,
    "beats dSPIC-RM": _claim_am_beats_rm,
    "beats DCGAN generation (D3)": _claim_d2_beats_d3,
    "normal vs arthritic": _claim_normal_vs_arthritic,
    "removing the two pooling layers": _claim_pooling,
}


def claim_check(claim: str) -> Callable[[Results], tuple[str, str, str]]:
    """The check of a claim text: the one :data:`CLAIM_CHECKS` key it contains. DataError when it
    contains none (a claim this module does not know, so it cannot be skipped silently) or several."""
    keys = [k for k in CLAIM_CHECKS if k in claim]
    if len(keys) != 1:
        why = "no check knows it" if not keys else f"it matches several checks ({', '.join(map(repr, keys))})"
        raise DataError(f"text claim {claim!r} of targets.json: {why}; add exactly one entry for it to "
                        "dspic_lib.evaluation.claims.CLAIM_CHECKS")
    return CLAIM_CHECKS[keys[0]]


def text_claims(results, claims: list[str] | None = None) -> pd.DataFrame:
    """Each claim of targets.json ``text_claims``, in order, checked on this run.

    Columns: claim (its text, from targets.json), paper (the paper's values it rests on, copied from
    targets.json, as text), this run (the corresponding quantity computed from ``results``, as text),
    verdict ("holds" / "does not hold" / "not computed" when an input is missing). The checks:

    * D1 -> D2 augmentation: dSPIC-AM's accuracy and F1 both higher on D2 than on D1 (differences
      reported in points);
    * dSPIC-AM beats dSPIC-RM on D2; D2 beats D3 (for dSPIC-AM). "Beats" means a strictly higher
      accuracy AND a strictly higher F1;
    * normal vs arthritic is hardest: {N, A} has the strictly largest :func:`pair_confusion` in
      dSPIC-AM's D2 confusion matrix;
    * removing the pooling layers lowers every metric: each metric of Table 9 strictly lower for
      dSPIC-AM-nopool than for dSPIC-AM on D2.

    ``results``: a :class:`Results`, a dict with keys ``summary`` and ``confusion``, or an object with
    those attributes. ``claims``: the claim texts (default: targets.json's). DataError, before anything
    is computed, for a claim no check knows."""
    res = _as_results(results)
    claims = list(targets()["text_claims"] if claims is None else claims)
    checks = [claim_check(c) for c in claims]          # every claim known, or fail before computing
    rows = [(c, *check(res)) for c, check in zip(claims, checks, strict=True)]
    return pd.DataFrame(rows, columns=["claim", "paper", THIS_RUN, "verdict"])


# ---------------------------------------------------------------------------------------- overview

def all_verdicts(results, tol: pd.Series | None = None) -> pd.DataFrame:
    """One table of every number of Tables 5, 6, 8 and 9 (:func:`verdicts` on
    :func:`this_run_values` of ``results.summary``) followed by every text claim
    (:func:`text_claims`), for the book's overview page.

    Columns: table (``table5`` ... ``table9``, or ``text claims``), model, dataset, metric, claim,
    paper, this run, difference, tolerance, verdict; for a text claim, model/dataset/metric/difference/
    tolerance are empty and paper/this run are text. ``tol``: per metric (:func:`tolerance`); None
    gives "no tolerance" for every table number."""
    res = _as_results(results)
    tol = pd.Series(dtype=float) if tol is None else tol
    numbers = verdicts(this_run_values(res.summary), tol).assign(claim=None)
    claims = text_claims(res).assign(table="text claims", model=None, dataset=None, metric=None,
                                     difference=np.nan, tolerance=np.nan)
    cols = [*KEYS, "claim", "paper", THIS_RUN, "difference", "tolerance", "verdict"]
    return pd.concat([numbers[cols].astype({"paper": object, THIS_RUN: object}), claims[cols]],
                     ignore_index=True)
