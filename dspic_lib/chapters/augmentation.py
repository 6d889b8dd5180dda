"""The tables and selections of chapter 02 (normalization and augmentation: D1, D2, D3).

Each function takes what the chapter already holds (the cohort table, a built dataset, the DCGAN
runs) and returns a table or the images a figure shows; the chapter only calls them and puts the
result on the page (:mod:`dspic_lib.chapters.present`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from dspic_lib.vocab import CLASSES

SWEEP_COLUMNS = {"t": "t (px)", "r": "r (degrees)", "macro_f1_mean": "macro F1, mean",
                 "macro_f1_sd": "macro F1, sd"}


def raw_max_table(table: pd.DataFrame) -> pd.DataFrame:
    """The maximum count per image, by class (count, min, median, max as integers; classes in the
    order of :data:`~dspic_lib.vocab.CLASSES`, those without an image left out)."""
    raw_max = table.groupby("label")["max_count"].describe()[["count", "min", "50%", "max"]]
    raw_max = raw_max.reindex([c for c in CLASSES if c in raw_max.index]).astype(int)
    return raw_max.rename(columns={"50%": "median"}).rename_axis("class")


def eq1_check(X: np.ndarray) -> str:
    """One line saying whether every image of ``X`` spans exactly [0, 1] (Eq. 1), and its dtype."""
    span = X.reshape(len(X), -1)
    return (f"after Eq. 1: min of every image = 0: {bool((span.min(1) == 0).all())}; "
            f"max of every image = 1: {bool((span.max(1) == 1).all())}; dtype {X.dtype}")


def spread_picks(max_count, n: int = 4) -> np.ndarray:
    """Positions of ``n`` images from the lowest to the highest maximum count, evenly spaced by rank."""
    order = np.argsort(np.asarray(max_count))
    return order[np.linspace(0, len(order) - 1, n).round().astype(int)]


def raw_in_order(pixels: Iterable[tuple[int, np.ndarray]], picks) -> list[np.ndarray]:
    """The images of ``picks`` in the order of ``picks``, from ``(position, image)`` pairs in any order
    (:func:`dspic_lib.data.cohort.iter_pixels` yields them grouped by file, which is neither the order
    of ``picks`` in general nor the sorted positions that chapter 02 once assumed)."""
    got = dict(pixels)
    missing = [int(i) for i in picks if int(i) not in got]
    if missing:
        raise KeyError(f"no pixels for the images at positions {missing}")
    return [got[int(i)] for i in picks]


def pick_names(table: pd.DataFrame, picks) -> list[str]:
    """``"<class>, max <count>"`` for each picked image."""
    return [f"{table['label'].iloc[i]}, max {int(table['max_count'].iloc[i]):,}" for i in picks]


def sweep_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The (t, r) sweep's summary with the column names the page shows."""
    return summary.rename(columns=SWEEP_COLUMNS)


def transform_example(meta: pd.DataFrame):
    """The index of the original (not augmented) diseased training image with the most lesion boxes:
    the scan the transform figure shows."""
    diseased = meta[(meta["source"] == "original") & (meta["label"] != "N")]
    if diseased.empty:
        raise ValueError("no original diseased image in the training part to show the transforms on")
    return diseased["boxes"].map(len).idxmax()


def gan_runs_table(runs: Mapping) -> pd.DataFrame:
    """One row per class's DCGAN: training images, steps and training seconds."""
    return pd.DataFrame({"training images": {c: r.n_train for c, r in runs.items()},
                         "steps": {c: len(r.history) for c, r in runs.items()},
                         "training seconds": {c: r.seconds for c, r in runs.items()}}).rename_axis("class")


def real_and_generated(part, classes: Iterable[str]) -> tuple[dict, dict]:
    """``(real, generated)``: per class, the original and the DCGAN images of a dataset part (its
    ``X`` and ``meta``)."""
    meta = part.meta

    def rows(c, source):
        return part.X[((meta["label"] == c) & (meta["source"] == source)).to_numpy()]

    classes = list(classes)
    return {c: rows(c, "original") for c in classes}, {c: rows(c, "dcgan") for c in classes}


def gan_check_inputs(part) -> tuple:
    """The arguments of :func:`dspic_lib.pipeline.gan_checks.realism_table` and ``distance_frame``:
    real images, their labels and patients, generated images and their labels."""
    meta = part.meta
    orig = (meta["source"] == "original").to_numpy()
    gen = (meta["source"] == "dcgan").to_numpy()
    return part.X[orig], meta["label"][orig], meta["patient"][orig], part.X[gen], meta["label"][gen]


def leakage_table(builds) -> pd.DataFrame:
    """Per built dataset: train and test images, whether the test part is untouched D1 images, and
    how many patients stand on both sides."""
    return pd.DataFrame({
        "train images": {b.name: len(b.train) for b in builds},
        "test images": {b.name: len(b.test) for b in builds},
        "test = untouched D1": {b.name: set(b.test.meta["source"]) == {"original"} for b in builds},
        "patients on both sides": {b.name: len(b.leaked_patients()) for b in builds}}).rename_axis("dataset")
