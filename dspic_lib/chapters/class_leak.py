"""Chapter 01's class-leak check: does the hottest pixel give the class away?

Eq. 1 divides every image by its maximum. If the hottest pixel were a lesion in most abnormal scans
and the bladder in normal ones, the scale of the normalized image, or the maximum itself, would tell
the classes apart without a model ever looking at a lesion. Two measurements:

- :func:`hottest_locations` / :func:`hottest_table`: per class, the share of images whose hottest
  pixel lies inside a lesion box, in the bladder or kidneys, or elsewhere (bones, an injection site,
  urine contamination). Only the synthetic cohort knows where its organs are (the phantom's truth
  table holds their boxes, :func:`organ_boxes`); in a user's folder only lesion boxes are known, and
  the rest is "organ unknown".
- :func:`max_classifier`: how well the image maximum alone predicts the class: a logistic regression
  on log(maximum), cross-validated with each patient's views kept together, its accuracy over N/M/A
  with a patient bootstrap interval, beside the share of the most frequent class (what always
  answering that class scores).

:func:`class_leak_text` says what the numbers find, from the numbers.
"""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.data import phantom
from dspic_lib.data.cohort import Cohort, pseudonym
from dspic_lib.data.identity import SYNTHETIC_KEY
from dspic_lib.vocab import OUTPUTS

LESION, ORGAN, ELSEWHERE, UNKNOWN = "lesion", "bladder or kidneys", "elsewhere", "elsewhere (organ unknown)"
PLACES = (LESION, ORGAN, ELSEWHERE, UNKNOWN)
MAX_CLASSES = OUTPUTS              # the classes the one-feature classifier is scored on (M&A: 4 patients)
LEAK_MARGIN = 0.10                  # accuracy above the majority share that counts as a leak


def _inside(boxes, row: int, col: int) -> bool:
    y, x = row + 0.5, col + 0.5          # the pixel's centre, in LabelMe's coordinates
    return any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)


def organ_boxes(cohort: Cohort) -> dict[tuple[str, str], list[tuple[float, float, float, float]]] | None:
    """(patient pseudonym, view) -> the bladder and kidney boxes (x0, y0, x1, y1) of that view, from the
    phantom's truth table; None for a folder that is not a phantom cohort (or an older one without
    organ boxes). The truth table holds anterior boxes; a posterior view is seen from behind, so its
    boxes are mirrored left-right."""
    path = Path(cohort.data_dir) / phantom.TRUTH_CSV
    if not cohort.synthetic or not path.exists():
        return None
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "organ_boxes" not in rows[0]:
        return None
    cols = {v: c for v, c in zip(cohort.table["view"], cohort.table["cols"])} if len(cohort.table) else {}
    width = float(next(iter(cols.values()), phantom.PhantomConfig().cols))
    out = {}
    for row in rows:
        ant = [tuple(float(v) for v in part.split()) for part in row["organ_boxes"].split("|") if part.strip()]
        pid = pseudonym(row["patient"], SYNTHETIC_KEY)   # a truth table exists only in a phantom folder,
        #                                                  whose scan names patients with the public key
        out[(pid, "anterior")] = ant
        out[(pid, "posterior")] = [(width - x1, y0, width - x0, y1) for x0, y0, x1, y1 in ant]
    return out


def hottest_locations(table: pd.DataFrame, organs: dict | None) -> pd.DataFrame:
    """Per image: ``label``, ``patient``, ``view``, ``max_count`` and ``place``, where its hottest pixel
    (``max_row``, ``max_col``) lies: inside a lesion box (checked first), in the bladder or kidneys,
    elsewhere, or, when ``organs`` is None (a user's folder), "elsewhere (organ unknown)".

    ``table`` needs the cohort table's columns ``label``, ``patient``, ``view``, ``max_row``,
    ``max_col``, ``max_count`` and ``lesions`` (each with a ``box``)."""
    places = []
    for rec in table[["patient", "view", "max_row", "max_col", "lesions"]].itertuples(index=False):
        r, c = int(rec.max_row), int(rec.max_col)
        if _inside([les.box for les in rec.lesions], r, c):
            places.append(LESION)
        elif organs is None:
            places.append(UNKNOWN)
        else:
            places.append(ORGAN if _inside(organs.get((rec.patient, rec.view), []), r, c) else ELSEWHERE)
    out = table[["label", "patient", "view", "max_count"]].copy()
    out["place"] = places
    return out.reset_index(drop=True)


def hottest_table(locations: pd.DataFrame, classes) -> pd.DataFrame:
    """Per class (rows, in ``classes`` order, those present): the number of images and the share whose
    hottest pixel lies in each place (columns: the places that occur)."""
    shares = pd.crosstab(locations["label"], locations["place"], normalize="index")
    shares = shares.reindex(columns=[p for p in PLACES if p in shares.columns])
    shares.columns.name = None
    shares.insert(0, "images", locations["label"].value_counts())
    return shares.reindex([c for c in classes if c in shares.index]).rename_axis("class")


def max_classifier(locations: pd.DataFrame, *, folds: int = 5, seed: int = 0, n_boot: int = 2000,
                   classes=MAX_CLASSES) -> dict:
    """Can the image maximum alone tell N, M and A apart? Logistic regression on log(1 + maximum),
    out-of-fold predictions from a patient-grouped stratified k-fold; its accuracy with a 95 %
    percentile interval from ``n_boot`` bootstrap resamples of patients, and the majority share.
    Keys: ``accuracy``, ``low``, ``high``, ``majority``, ``majority_class``, ``images``, ``patients``,
    ``folds``; accuracy NaN when fewer than 2 classes or 4 patients are there."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

    part = locations[locations["label"].isin(classes)].reset_index(drop=True)
    y = part["label"].to_numpy()
    groups = part["patient"].to_numpy()
    counts = pd.Series(y).value_counts()
    out = {"images": len(part), "patients": int(pd.Series(groups).nunique()),
           "majority": float(counts.iloc[0] / len(part)) if len(part) else np.nan,
           "majority_class": str(counts.index[0]) if len(part) else "-",
           "accuracy": np.nan, "low": np.nan, "high": np.nan, "folds": 0}
    if len(counts) < 2 or out["patients"] < 4:
        return out
    patient_class = part.groupby("patient")["label"].first().value_counts()
    n_splits = int(max(2, min(folds, patient_class.min())))
    x = np.log1p(part[["max_count"]].to_numpy(float))
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pred = cross_val_predict(LogisticRegression(max_iter=1000), x, y, groups=groups, cv=cv)
        except ValueError:      # a training fold with a single class (a tiny cohort): nothing to say
            return out
    correct = pd.Series(pred == y).groupby(groups)
    hits, n = correct.sum().to_numpy(float), correct.size().to_numpy(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(hits), size=(n_boot, len(hits)))
    boot = hits[idx].sum(axis=1) / n[idx].sum(axis=1)
    out.update(accuracy=float(hits.sum() / n.sum()), low=float(np.percentile(boot, 2.5)),
               high=float(np.percentile(boot, 97.5)), folds=n_splits)
    return out


def max_classifier_table(result: dict) -> pd.DataFrame:
    """:func:`max_classifier`'s result as a one-row-per-model table for the chapter."""
    rows = [{"model": "logistic regression on log(image maximum)", "accuracy": result["accuracy"],
             "95 % interval (patient bootstrap)": (f"{result['low']:.3f}-{result['high']:.3f}"
                                                   if np.isfinite(result["low"]) else "-"),
             "images": result["images"], "folds": result["folds"]},
            {"model": f"always the most frequent class ({result['majority_class']})", "accuracy": result["majority"],
             "95 % interval (patient bootstrap)": "-", "images": result["images"], "folds": "-"}]
    return pd.DataFrame(rows).set_index("model")


def class_leak_text(table: pd.DataFrame, result: dict, margin: float = LEAK_MARGIN) -> str:
    """What the check finds, in sentences written from its numbers."""
    def share(cls, place):
        return table.at[cls, place] if cls in table.index and place in table.columns else 0.0

    parts = []
    if ORGAN in table.columns:
        lowest = min(table.index, key=lambda c: share(c, ORGAN))
        highest = max(table.index, key=lambda c: share(c, ORGAN))
        parts.append(f"Per class, the hottest pixel lies in the bladder or kidneys in {share(lowest, ORGAN):.0%} "
                     f"({lowest}) to {share(highest, ORGAN):.0%} ({highest}) of the images")
    else:
        parts.append("Where the organs are is not known for this folder, so only lesion boxes are checked")
    if "M" in table.index:
        parts.append(f"inside a lesion box in {share('M', LESION):.0%} of the M images")
    head = "; ".join(parts) + ". "
    if not np.isfinite(result["accuracy"]):
        return head + "The one-feature classifier was not computed: too few patients or a single class."
    acc = (f"The image maximum alone predicts N/M/A with accuracy {result['accuracy']:.3f} (95 % interval "
           f"{result['low']:.3f}-{result['high']:.3f}, {result['folds']} patient-grouped folds) against "
           f"{result['majority']:.3f} for always answering {result['majority_class']}. ")
    if result["accuracy"] <= result["majority"] + margin:
        return head + acc + (f"That is within {margin:.2f} of the majority share: the maximum that Eq. 1 divides "
                             "by does not give the class away.")
    return head + acc + (f"**That is more than {margin:.2f} above the majority share: the maximum that Eq. 1 "
                         "divides by carries the class**, and a network could use it without finding a lesion.")


def class_leak(cohort: Cohort, *, folds: int = 5, seed: int = 0) -> tuple[pd.DataFrame, dict, str]:
    """The whole check on a cohort: (where-the-hottest-pixel-lies table, max-classifier result, text)."""
    loc = hottest_locations(cohort.table, organ_boxes(cohort))
    table = hottest_table(loc, cohort.classes)
    result = max_classifier(loc, folds=folds, seed=seed)
    return table, result, class_leak_text(table, result)
