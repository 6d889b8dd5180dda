"""How the DCGANs of :mod:`dspic_lib.pipeline.gan` did: loss histories, whether the discriminator won, and how
novel and how realistic the generated scans are.

Kept apart from the training code on purpose: the result store keys a trained DCGAN by the source of
``gan.py`` and of every module it imports, so editing these diagnostics must not retrain any DCGAN.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dspic_lib.pipeline.gan import GAN_CLASSES, GanRun


def histories(runs: Mapping[str, GanRun]) -> pd.DataFrame:
    """Loss histories of all classes in one long table (``label`` column added)."""
    frames = [r.history.assign(label=c) for c, r in runs.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------------------------
# Realism and novelty of the generated samples


def nearest_distances(samples: np.ndarray, reference: np.ndarray, *, exclude_groups=None,
                      reference_groups=None) -> np.ndarray:
    """Root-mean-square pixel distance from each sample to its nearest reference image.

    With ``exclude_groups`` (one per sample) and ``reference_groups``, a sample's own group (its patient)
    is skipped, so a real image is not matched with itself or its other view.
    """
    A = np.asarray(samples, dtype=np.float32).reshape(len(samples), -1)
    B = np.asarray(reference, dtype=np.float32).reshape(len(reference), -1)
    if not len(A) or not len(B):
        return np.full(len(A), np.nan)
    d2 = (A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2.0 * A @ B.T
    d2 = np.maximum(d2, 0.0) / A.shape[1]
    if exclude_groups is not None:
        same = np.asarray(exclude_groups, dtype=object)[:, None] == np.asarray(reference_groups, dtype=object)[None, :]
        d2 = np.where(same, np.inf, d2)
    return np.sqrt(d2.min(axis=1))


def real_vs_generated_auc(real: np.ndarray, fake: np.ndarray, *, real_groups=None, seed: int = 0,
                          n_splits: int = 5) -> float:
    """Cross-validated ROC AUC of a linear classifier telling real from generated (0.5 = cannot tell).

    Features are the same block means and maxima as the t/r sweep; the two views of a patient stay in one
    fold. NaN when there are fewer than two images on either side.
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from dspic_lib.pipeline.augment import features
    n_real, n_fake = len(real), len(fake)
    k = min(n_splits, n_real, n_fake)
    if k < 2:
        return float("nan")
    F = np.concatenate([features(real), features(fake)])
    y = np.r_[np.ones(n_real), np.zeros(n_fake)]
    rg = np.asarray(real_groups if real_groups is not None else np.arange(n_real)).astype(str)
    groups = np.r_[rg, np.array([f"fake{i}" for i in range(n_fake)])]
    score = np.zeros(len(y))
    for tr, te in StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(F, y, groups):
        clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=100.0)).fit(F[tr], y[tr])
        score[te] = clf.decision_function(F[te])
    return float(roc_auc_score(y, score))


def _per_class_distances(train, train_labels, train_groups, generated, generated_labels):
    """For each class with generated samples: (class, real, fake, groups, real_nn, gen_nn), where
    real_nn are the finite nearest-distances of real images to another patient's image and gen_nn
    those of generated samples to the nearest training image."""
    train = np.asarray(train)[..., 0] if np.asarray(train).ndim == 4 else np.asarray(train)
    generated = np.asarray(generated)[..., 0] if np.asarray(generated).ndim == 4 else np.asarray(generated)
    tl, gl = np.asarray(train_labels, dtype=object), np.asarray(generated_labels, dtype=object)
    groups = np.asarray(train_groups, dtype=object)
    for c in GAN_CLASSES:
        real, fake, g = train[tl == c], generated[gl == c], groups[tl == c]
        if not len(fake):
            continue
        real_nn = nearest_distances(real, real, exclude_groups=g, reference_groups=g)
        yield c, real, fake, g, real_nn[np.isfinite(real_nn)], nearest_distances(fake, real)


def realism_table(train: np.ndarray, train_labels, train_groups, generated: np.ndarray, generated_labels,
                  *, seed: int = 0) -> pd.DataFrame:
    """Per class: nearest-training-image distances of generated samples against those of real training
    images (to another patient's image), and the real-vs-generated AUC.

    ``gen_nn / real_nn`` well below 1 means samples sit closer to a training image than real scans sit
    to each other (copying); well above 1, they are off the data (unrealistic).
    """
    rows = []
    for c, real, fake, g, real_nn, gen_nn in _per_class_distances(
            train, train_labels, train_groups, generated, generated_labels):
        rows.append({
            "class": c, "train images": len(real), "generated": len(fake),
            "real: median NN distance": float(np.median(real_nn)) if len(real_nn) else np.nan,
            "generated: median NN distance": float(np.median(gen_nn)),
            "gen_nn / real_nn": float(np.median(gen_nn) / np.median(real_nn)) if len(real_nn) else np.nan,
            "generated closer than any real pair": float(np.mean(gen_nn < real_nn.min())) if len(real_nn) else np.nan,
            "real vs generated AUC": real_vs_generated_auc(real, fake, real_groups=g, seed=seed),
        })
    return pd.DataFrame(rows).set_index("class")


def distance_frame(train: np.ndarray, train_labels, train_groups, generated: np.ndarray,
                   generated_labels) -> pd.DataFrame:
    """Long table (class, kind, distance) of the nearest-training-image distances behind
    :func:`realism_table`, for plotting."""
    frames = []
    for c, _, _, _, real_nn, gen_nn in _per_class_distances(
            train, train_labels, train_groups, generated, generated_labels):
        frames.append(pd.DataFrame({"class": c, "kind": "real (other patient)", "distance": real_nn}))
        frames.append(pd.DataFrame({"class": c, "kind": "generated", "distance": gen_nn}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["class", "kind", "distance"])


WON_BELOW = 0.2   # D(generated) below this, for good, counts as the discriminator having won


def smoothing_window(n_steps: int) -> int:
    """The rolling-mean window of the loss figure (Fig 2.5) for a history of ``n_steps`` steps, so a
    sentence about the curves reads them exactly as the figure draws them."""
    return max(1, n_steps // 50)


def dominance(history: pd.DataFrame, *, threshold: float = WON_BELOW, window: int | None = None) -> dict:
    """When the discriminator won: the first step after which D(generated), smoothed as the figure
    smooths it (rolling mean over ``window`` steps, :func:`smoothing_window` by default), stays below
    ``threshold`` to the end (None if it ends above), and the median outputs over the last ``window``
    steps."""
    window = window or smoothing_window(len(history))
    fake = history["d_fake"].rolling(window, min_periods=1).mean().to_numpy()
    below = fake < threshold
    above = np.flatnonzero(~below)
    first = (int(above[-1]) + 1 if len(above) else 0) if len(below) and below[-1] else None
    tail = history.tail(window)
    return {"steps": len(history),
            "won from step": None if first is None else int(history["step"].iloc[first]),
            "window": window,
            "D(real), last steps": float(tail["d_real"].median()),
            "D(generated), last steps": float(tail["d_fake"].median())}


def outcome(runs: Mapping[str, GanRun], realism: pd.DataFrame, *, threshold: float = WON_BELOW) -> tuple[pd.DataFrame, list[str]]:
    """What happened in this run's DCGAN training, per class, as a table and as sentences written from
    its numbers: whether and when the discriminator won, and how separable generated scans are."""
    rows = {c: dominance(r.history, threshold=threshold) for c, r in runs.items()}
    windows = {c: r.pop("window") for c, r in rows.items()}
    table = pd.DataFrame(rows).T.astype({"steps": "Int64", "won from step": "Int64",
                                         "D(real), last steps": float, "D(generated), last steps": float})
    if len(realism):
        table = table.join(realism[["gen_nn / real_nn", "real vs generated AUC"]], how="left")
    sentences = []
    for c, row in table.iterrows():
        won = row["won from step"]
        part = (f"{c}: the discriminator won from step {int(won)} of {int(row['steps'])} (its output on "
                f"generated scans, a rolling mean of {windows[c]} steps as in the loss figure, stayed below "
                f"{threshold:g} after that step; median {row['D(generated), last steps']:.3f} over the last steps)"
                if won is not None and not pd.isna(won) else
                f"{c}: the discriminator did not win outright (its output on generated scans ended at "
                f"{row['D(generated), last steps']:.2f}, on real ones at {row['D(real), last steps']:.2f})")
        auc = row.get("real vs generated AUC", np.nan)
        if auc is not None and np.isfinite(auc):
            verdict = ("a linear classifier tells generated from real scans almost perfectly" if auc >= 0.95 else
                       "a linear classifier separates generated from real scans well" if auc >= 0.8 else
                       "a linear classifier separates them only partly")
            part += f"; real-vs-generated AUC {auc:.2f}: {verdict}"
        sentences.append(part + ".")
    aucs = table["real vs generated AUC"].dropna() if "real vs generated AUC" in table else pd.Series(dtype=float)
    if len(aucs) and (aucs >= 0.95).all():
        sentences.append("So the scans D3 adds are recognisably not real scans: they enlarge the training set "
                         "with images from another distribution than the test scans, and D3 should be "
                         "expected to help less than the geometric copies of D2.")
    return table, sentences
