"""Train/test splits: by patient (the default), or by image as the paper did.

``patient`` protocol (default)
    The cohort is split 7:3 **by patient**, stratified by the patient's class: both views of a patient
    fall on the same side. Augmentation (D2) and the DCGAN (D3) only ever see the training part, so no
    test image, nor any copy of it, nor the other view of a test patient, is seen in training.
    :func:`patient_kfold` gives repeated grouped stratified K-fold splits for confidence intervals.

``paper`` protocol
    What the paper describes: augment every image first, then split the *images* 7:3 at random.
    Augmented copies of a test image and the other view of a test patient can then sit in training;
    chapter 07 measures how much that inflates the scores. :func:`image_split` is that split.

A patient's class for stratification is the union of the diseases of its views (a patient with an M
view and an A view counts as M&A), so the split also works on real data where views disagree. A
binary cohort (normal / abnormal: BS-80K, the PNG folders) is stratified on those two labels, a patient
with one abnormal view being abnormal. A class with too few patients to be spread over the folds is
stratified together with the largest class.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit, train_test_split

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.options import look_up_option
from dspic_lib.vocab import BINARY_CLASSES, CLASSES, UNLABELLED

PROTOCOLS = ("patient", "paper")


@dataclass(frozen=True)
class Split:
    """Row positions (into the table or dataset that was split) of the training and test parts."""

    train: np.ndarray
    test: np.ndarray
    protocol: str = "patient"
    repeat: int = 0
    fold: int = 0

    def __post_init__(self):
        if np.intersect1d(self.train, self.test).size:
            raise DataError("split: an index is on both sides")


def check_protocol(protocol: str) -> str:
    return look_up_option(protocol, PROTOCOLS, what="split protocol")


def _union_label(labels) -> str:
    has_m = any(lab in ("M", "M&A") for lab in labels)
    has_a = any(lab in ("A", "M&A") for lab in labels)
    return {(False, False): "N", (True, False): "M", (False, True): "A", (True, True): "M&A"}[(has_m, has_a)]


def _union_binary(labels) -> str:
    return "abnormal" if any(lab == "abnormal" for lab in labels) else "normal"


def patient_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per patient, in order of first appearance: ``patient``, ``label`` (union over views:
    of the paper's classes, or of normal / abnormal for a binary cohort)."""
    for col in ("patient", "label"):
        if col not in table.columns:
            raise DataError(f"cohort table: missing column {col!r}")
    labels = set(table["label"])
    binary = bool(labels) and labels <= set(BINARY_CLASSES)
    bad = sorted(labels - set(BINARY_CLASSES if binary else CLASSES))
    if UNLABELLED in bad:
        raise DataError(f"cohort table: {int((table['label'] == UNLABELLED).sum())} unlabelled images cannot be "
                        "split; leave them out first (Cohort.labelled(), or D1, which never holds them)")
    if bad:
        raise DataError(f"cohort table: unknown class labels {bad}; expected {list(CLASSES)} "
                        f"(or only {list(BINARY_CLASSES)})")
    grouped = table.groupby("patient", sort=False)["label"].agg(_union_binary if binary else _union_label)
    return grouped.rename("label").reset_index()


def _strata(labels: pd.Series, min_count: int) -> np.ndarray:
    """Class labels for stratification; classes with fewer than ``min_count`` members join the largest."""
    counts = labels.value_counts()
    if len(counts) == 0:
        return labels.to_numpy()
    largest = counts.index[0]
    rare = set(counts[counts < min_count].index)
    return np.array([largest if lab in rare else lab for lab in labels], dtype=object)


def _rows_of(table: pd.DataFrame, patients) -> np.ndarray:
    return np.flatnonzero(table["patient"].isin(set(patients)).to_numpy())


def patient_split(table: pd.DataFrame, test_fraction: float = 0.3, seed: int = 0) -> Split:
    """Stratified split by patient: ``test_fraction`` of the patients (and all their images) go to test."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    pt = patient_table(table)
    if len(pt) < 2:
        raise DataError(f"cohort has {len(pt)} patient(s); a split needs at least 2")
    strata = _strata(pt["label"], 2)
    n_test = max(1, int(round(test_fraction * len(pt))))
    n_test = min(n_test, len(pt) - 1)
    try:
        sss = StratifiedShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
        tr, te = next(sss.split(np.zeros(len(pt)), strata))
    except ValueError:  # too few patients per class for the requested test size: plain grouped split
        tr, te = train_test_split(np.arange(len(pt)), test_size=n_test, random_state=seed)
    return Split(train=_rows_of(table, pt["patient"].iloc[np.sort(tr)]),
                 test=_rows_of(table, pt["patient"].iloc[np.sort(te)]), protocol="patient")


def patient_kfold(table: pd.DataFrame, n_splits: int = 5, n_repeats: int = 1, seed: int = 0) -> list[Split]:
    """Repeated grouped stratified K-fold over images, grouped by patient (scikit-learn StratifiedGroupKFold).

    Repeat ``r`` shuffles with ``seed + r``. Every image is in the test part of exactly one fold per repeat.
    """
    if n_splits < 2:
        raise ConfigError(f"n_splits must be >= 2, got {n_splits}")
    pt = patient_table(table)
    if len(pt) < n_splits:
        raise DataError(f"cohort has {len(pt)} patients; {n_splits}-fold CV needs at least {n_splits}")
    # stratify images by their patient's (union) class, so both views carry the same stratum
    stratum_of = dict(zip(pt["patient"], _strata(pt["label"], n_splits)))
    y = table["patient"].map(stratum_of).to_numpy()
    groups = table["patient"].to_numpy()
    out = []
    for r in range(n_repeats):
        sgkf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed + r)
        with warnings.catch_warnings():
            # rare classes were merged above; what remains is sklearn noting an imperfect stratification
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            for k, (tr, te) in enumerate(sgkf.split(np.zeros(len(table)), y, groups)):
                out.append(Split(train=np.sort(tr), test=np.sort(te), protocol="patient", repeat=r, fold=k))
    return out


def image_split(labels, test_fraction: float = 0.3, seed: int = 0) -> Split:
    """The paper's protocol: images (originals and copies alike) split 7:3 at random, stratified by class."""
    labels = pd.Series(np.asarray(labels, dtype=object))
    n = len(labels)
    if n < 2:
        raise DataError(f"{n} image(s); a split needs at least 2")
    n_test = min(max(1, int(round(test_fraction * n))), n - 1)
    idx = np.arange(n)
    try:
        tr, te = train_test_split(idx, test_size=n_test, random_state=seed, stratify=_strata(labels, 2))
    except ValueError:
        tr, te = train_test_split(idx, test_size=n_test, random_state=seed)
    return Split(train=np.sort(tr), test=np.sort(te), protocol="paper")


def leaked_patients(train_meta: pd.DataFrame, test_meta: pd.DataFrame) -> set[str]:
    """Patients with an image (original, copy or the other view) on both sides of a split."""
    return set(train_meta["patient"].dropna()) & set(test_meta["patient"].dropna())


def assert_no_leakage(train_meta: pd.DataFrame, test_meta: pd.DataFrame) -> None:
    leaked = leaked_patients(train_meta, test_meta)
    if leaked:
        some = ", ".join(sorted(map(str, leaked))[:5])
        raise DataError(f"split leaks {len(leaked)} patient(s) into both train and test: {some}")
