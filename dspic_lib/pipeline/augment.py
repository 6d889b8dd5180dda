"""Data augmentation by parameter variation (Eq. 2-4): mirror, translate, rotate; D2 to Table 1's counts.

Coordinates are continuous image coordinates: ``x`` along the columns, ``y`` down the rows, pixel
``(row, col)`` covering ``[col, col + 1) x [row, row + 1)``; LabelMe boxes ``(x0, y0, x1, y1)`` live in
the same frame. Every transform is one 3 x 3 affine matrix ``A`` acting on ``(x, y, 1)``:

* mirror (Eq. 2): ``x_o = -x_i + w``, ``y_o = y_i`` (``w`` = image width);
* translate (Eq. 4): ``x_o = x_i +- t_x`` or ``y_o = y_i +- t_y``, by ``t`` whole pixels, zeros shifted in;
* rotate: by ``+-r`` degrees about the image centre, positive = counter-clockwise as displayed,
  bilinear interpolation, zeros outside (the background level after Eq. 1).

Images move by ``A`` and their boxes by the same ``A`` (the four corners, then their bounding box,
clipped to the image; a box pushed entirely out of the frame is dropped), so a box always covers its
lesion. Mirror and translation are exact array operations (a pixel moves by exactly ``t``).

Only the diseased classes are augmented, until the class counts requested (Table 1 of the paper,
scaled to the training part by :func:`scaled_targets`) are met exactly. Each original gets its share of
copies (the remainder spread at random), drawn without repetition from its 13 distinct transforms
(7 single ones, then mirror combined with each of the 6 others) in a random order per image, so two
copies of one image are never identical while the 13 last; beyond that magnitudes are drawn at random.

The paper says ``t`` and ``r`` were "experimentally determined" without giving them:
:func:`sweep` chooses them on a validation part of the training patients (see its docstring).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.paper import targets as paper_targets
from dspic_lib.store import Store, as_store, fingerprint
from dspic_lib.vocab import CLASSES, OUTPUTS

# --------------------------------------------------------------------------------------------------
# Transforms


@dataclass(frozen=True)
class Transform:
    """Mirror (optional), then translate by ``(dx, dy)`` whole pixels, then rotate by ``angle`` degrees."""

    mirror: bool = False
    dx: int = 0
    dy: int = 0
    angle: float = 0.0

    @property
    def source(self) -> str:
        """Provenance name: ``mirror``, ``translate``, ``rotate`` or a ``+``-joined combination."""
        parts = (["mirror"] if self.mirror else []) + (["translate"] if (self.dx or self.dy) else []) \
            + (["rotate"] if self.angle else [])
        return "+".join(parts) or "identity"

    def describe(self) -> str:
        parts = (["mirror"] if self.mirror else [])
        if self.dx:
            parts.append(f"x{self.dx:+d}px")
        if self.dy:
            parts.append(f"y{self.dy:+d}px")
        if self.angle:
            parts.append(f"rot{self.angle:+g}deg")
        return " ".join(parts) or "identity"

    def matrix(self, shape: Sequence[int]) -> np.ndarray:
        """The forward 3 x 3 affine matrix on continuous ``(x, y, 1)`` for an image of ``shape`` (rows, cols)."""
        h, w = float(shape[0]), float(shape[1])
        m = np.array([[-1.0, 0.0, w], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) if self.mirror else np.eye(3)
        t = np.array([[1.0, 0.0, self.dx], [0.0, 1.0, self.dy], [0.0, 0.0, 1.0]])
        a = math.radians(self.angle)
        c, s = math.cos(a), math.sin(a)
        cx, cy = w / 2.0, h / 2.0
        # counter-clockwise on screen with y pointing down
        r = np.array([[c, s, cx - c * cx - s * cy], [-s, c, cy + s * cx - c * cy], [0.0, 0.0, 1.0]])
        return r @ t @ m


# (row, col, 1) index -> (x, y, 1) continuous, pixel centres at +0.5
_S = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5], [0.0, 0.0, 1.0]])
_S_INV = np.linalg.inv(_S)


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    h, w = image.shape
    out = np.zeros_like(image)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def apply_image(image: np.ndarray, tf: Transform) -> np.ndarray:
    """Transform one 2-D float image; exact for mirror and whole-pixel shifts, bilinear for rotations."""
    x = np.asarray(image, dtype=np.float32)
    if x.ndim != 2:
        raise DataError(f"augment: expected a 2-D image, got shape {x.shape}")
    if not tf.angle:
        out = x[:, ::-1] if tf.mirror else x
        return np.ascontiguousarray(_shift(out, int(tf.dx), int(tf.dy)) if (tf.dx or tf.dy) else out.copy())
    # scipy maps each output index to an input index: index -> (x, y) -> A^-1 -> index
    inv = _S_INV @ np.linalg.inv(tf.matrix(x.shape)) @ _S
    return ndimage.affine_transform(x, inv, order=1, mode="constant", cval=0.0, output=np.float32)


def apply_points(points: np.ndarray, tf: Transform, shape: Sequence[int]) -> np.ndarray:
    """Transform ``(k, 2)`` continuous ``(x, y)`` points (LabelMe polygon vertices)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    hom = np.c_[p, np.ones(len(p))] @ tf.matrix(shape).T
    return hom[:, :2]


def apply_boxes(boxes: np.ndarray, tf: Transform, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Transform boxes ``(k, 4)``; returns the boxes still inside the image and a mask of which survived."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(b):
        return np.zeros((0, 4), np.float32), np.zeros(0, bool)
    corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [0, 3]], b[:, [2, 3]]], axis=1)  # (k, 4, 2)
    moved = apply_points(corners.reshape(-1, 2), tf, shape).reshape(-1, 4, 2)
    lo, hi = moved.min(axis=1), moved.max(axis=1)
    h, w = shape[0], shape[1]
    lo = np.clip(lo, 0, [w, h])
    hi = np.clip(hi, 0, [w, h])
    keep = (hi[:, 0] > lo[:, 0]) & (hi[:, 1] > lo[:, 1])
    out = np.c_[lo, hi][keep].astype(np.float32)
    return out, keep


def candidate_transforms(t: int, r: float) -> list[Transform]:
    """The 13 distinct transforms of one image: mirror, +-t along x, +-t along y, +-r; mirror + each other."""
    t = int(t)
    if t < 1 or not r > 0:
        raise ConfigError(f"augmentation needs t >= 1 pixel and r > 0 degrees, got t={t}, r={r}")
    others = [Transform(dx=t), Transform(dx=-t), Transform(dy=t), Transform(dy=-t),
              Transform(angle=float(r)), Transform(angle=-float(r))]
    combos = [Transform(mirror=True, dx=o.dx, dy=o.dy, angle=o.angle) for o in others]
    return [Transform(mirror=True), *others, *combos]


def _random_transform(rng: np.random.Generator, t: int, r: float) -> Transform:
    """Beyond the 13 distinct copies: a random kind with a random magnitude up to t or r."""
    kind = rng.integers(3)
    sign = 1 if rng.random() < 0.5 else -1
    mirror = bool(rng.random() < 0.5)
    if kind == 0:
        return Transform(mirror=mirror, dx=sign * int(rng.integers(1, t + 1)))
    if kind == 1:
        return Transform(mirror=mirror, dy=sign * int(rng.integers(1, t + 1)))
    return Transform(mirror=mirror, angle=sign * float(np.round(rng.uniform(0.2, 1.0) * r, 2)))


# --------------------------------------------------------------------------------------------------
# Class counts


def paper_table(which: str) -> dict[str, int]:
    """``"table1"`` (D2) or ``"table2"`` (D3) counts of the paper, or ``"original"`` (the 768 images)."""
    t = paper_targets()
    key = {"table1": "table1_D2_parametric_variation", "table2": "table2_D3_dcgan"}.get(which)
    if which == "original":
        return dict(t["cohort"]["classes_images"])
    if key is None:
        raise ConfigError(f"unknown paper table {which!r}; valid: 'table1', 'table2', 'original'")
    return dict(t[key])


def scaled_targets(counts: Mapping[str, int], table: Mapping[str, int]) -> dict[str, int]:
    """Per-class totals that reproduce ``table``'s class proportions on a part with ``counts`` originals.

    The normal class is never augmented (as in the paper), so the table is scaled by
    ``counts["N"] / table["N"]`` (by the total image count when there is no N image). A class whose
    originals already exceed its scaled count keeps its originals; a class with no original stays at 0.
    """
    n_total = sum(int(counts.get(c, 0)) for c in CLASSES)
    if counts.get("N", 0):
        scale = counts["N"] / table["N"]
    else:
        scale = n_total / sum(paper_table("original").values())
    out = {}
    for c in CLASSES:
        have = int(counts.get(c, 0))
        out[c] = 0 if have == 0 else max(have, int(round(table[c] * scale)))
    out["N"] = int(counts.get("N", 0))
    return out


def class_counts(labels) -> dict[str, int]:
    s = pd.Series(np.asarray(labels, dtype=object)).value_counts()
    return {c: int(s.get(c, 0)) for c in CLASSES}


# --------------------------------------------------------------------------------------------------
# Augmenting to requested counts


@dataclass(frozen=True)
class Augmented:
    """The copies only (the originals are not repeated); ``parent[i]`` is the input row of copy ``i``."""

    X: np.ndarray                       # (k, rows, cols) float32
    parent: np.ndarray                  # (k,) int
    transforms: list[Transform]
    labels: np.ndarray                  # (k,) object
    boxes: list[np.ndarray] = field(default_factory=list)
    kept: list[np.ndarray] = field(default_factory=list)   # which boxes of the parent survived

    @property
    def sources(self) -> list[str]:
        return [tf.source for tf in self.transforms]


def plan_copies(labels, requested: Mapping[str, int], t: int, r: float, seed: int | np.random.Generator = 0
                ) -> list[tuple[int, Transform]]:
    """Which input row is copied with which transform so that each class reaches ``requested`` exactly."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels, dtype=object)
    singles = candidate_transforms(t, r)
    have = class_counts(labels)
    plan: list[tuple[int, Transform]] = []
    for c in CLASSES:
        want = int(requested.get(c, have[c]))
        if want < have[c]:
            raise DataError(f"augment: requested {want} {c} images but there are already {have[c]} originals")
        need = want - have[c]
        if need == 0:
            continue
        if c == "N":
            raise ConfigError("augment: the normal class is kept unchanged (Table 1); do not request N copies")
        rows = np.flatnonzero(labels == c)
        if not len(rows):
            raise DataError(f"augment: {need} {c} copies requested but there is no {c} image to copy")
        share = np.full(len(rows), need // len(rows))
        share[rng.choice(len(rows), need % len(rows), replace=False)] += 1
        for row, k in zip(rows, share):
            order = [singles[i] for i in rng.permutation(7)] + [singles[7 + i] for i in rng.permutation(6)]
            chosen = order[:k] + [_random_transform(rng, t, r) for _ in range(k - len(order))]
            plan.extend((int(row), tf) for tf in chosen)
    return plan


def augment_to_counts(X: np.ndarray, labels, requested: Mapping[str, int], *, t: int, r: float,
                      seed: int | np.random.Generator = 0, boxes: Sequence[np.ndarray] | None = None
                      ) -> Augmented:
    """Copies of the diseased images of ``X`` (n, rows, cols) so each class totals ``requested`` exactly."""
    X = np.asarray(X)
    if X.ndim == 4 and X.shape[-1] == 1:
        X = X[..., 0]
    if X.ndim != 3:
        raise DataError(f"augment: expected images (n, rows, cols), got shape {X.shape}")
    labels = np.asarray(labels, dtype=object)
    if len(labels) != len(X):
        raise DataError(f"augment: {len(X)} images but {len(labels)} labels")
    plan = plan_copies(labels, requested, t, r, seed)
    shape = X.shape[1:]
    out = np.empty((len(plan), *shape), dtype=np.float32)
    new_boxes, kept = [], []
    for i, (row, tf) in enumerate(plan):
        out[i] = apply_image(X[row], tf)
        if boxes is not None:
            b, k = apply_boxes(boxes[row], tf, shape)
            new_boxes.append(b)
            kept.append(k)
    parent = np.array([p for p, _ in plan], dtype=np.int64)
    return Augmented(X=out, parent=parent, transforms=[tf for _, tf in plan],
                     labels=labels[parent] if len(plan) else np.array([], dtype=object),
                     boxes=new_boxes, kept=kept)


# --------------------------------------------------------------------------------------------------
# Choosing t and r


# translation grid in pixels of the paper's 256-pixel width (scaled to the profile's width), rotations in degrees
T_GRID_FULL = (8, 16, 32)
R_GRID = (2.0, 5.0, 10.0)


def t_grid_for(cols: int, full: Sequence[int] = T_GRID_FULL) -> list[int]:
    """The translation grid at a width of ``cols`` pixels (at least 1 pixel, no duplicates)."""
    return sorted({max(1, int(round(t * cols / 256))) for t in full})


def features(X: np.ndarray, grid: tuple[int, int] = (32, 8)) -> np.ndarray:
    """Block mean and block maximum on a coarse ``grid`` (rows, cols), flattened: the input of the cheap
    classifiers (the t/r sweep, the real-vs-generated check). The maximum keeps focal hot spots that a
    mean over the block would dilute (it lifted the sweep's validation macro F1 from 0.38 to 0.50 on
    the cpu cohort)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 4:
        X = X[..., 0]
    n, h, w = X.shape
    gh, gw = min(grid[0], h), min(grid[1], w)
    if h % gh or w % gw:
        from skimage.transform import resize
        X = np.stack([resize(x, (gh * -(-h // gh), gw * -(-w // gw))) for x in X]).astype(np.float32)
        n, h, w = X.shape
    B = X.reshape(n, gh, h // gh, gw, w // gw)
    return np.concatenate([B.mean(axis=(2, 4)).reshape(n, -1), B.max(axis=(2, 4)).reshape(n, -1)], axis=1)


def _cheap_classifier():
    """Standardized block features into a ridge classifier: a closed-form linear fit, ~0.3 s per fit at
    the cpu sizes (a logistic regression on 64 x 16 block means took 7-20 s without converging). It is
    deterministic, so it takes no seed."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), RidgeClassifier(alpha=100.0))


def _score(y_true, y_pred) -> float:
    """Macro F1 over N, M, A on the validation images that are not M&A (the paper's 3-class metrics)."""
    from sklearn.metrics import f1_score
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    m = y_true != "M&A"
    if not m.any():        # a validation fold of M&A images only (a small user folder): nothing to score
        return float("nan")
    return float(f1_score(y_true[m], y_pred[m], labels=list(OUTPUTS), average="macro", zero_division=0))


def sweep(X: np.ndarray, labels, groups, *, t_grid: Sequence[int], r_grid: Sequence[float],
          table: Mapping[str, int] | None = None, n_folds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Score every (t, r) of the grids by grouped K-fold inside the given (training) images.

    For each fold, the fit part is augmented to ``table``'s proportions with that (t, r), a linear
    (ridge) classifier on 32 x 8 block means and maxima is fitted, and the macro F1 over N/M/A on the untouched validation
    patients is recorded; ``t = r = 0`` is the same classifier without augmentation, for reference.
    Patients never straddle fit and validation parts. Returns one row per (t, r, fold).
    """
    from dspic_lib.pipeline.split import patient_kfold
    table = dict(table or paper_table("table1"))
    labels = np.asarray(labels, dtype=object)
    meta = pd.DataFrame({"patient": np.asarray(groups).astype(str), "label": labels})
    folds = patient_kfold(meta, n_splits=n_folds, n_repeats=1, seed=seed)
    F_all = features(X)
    rows = []
    for sp in folds:
        Xf, yf = X[sp.train], labels[sp.train]
        F_val, y_val = F_all[sp.test], labels[sp.test]
        want = scaled_targets(class_counts(yf), table)
        settings = [(0, 0.0)] + [(int(t), float(r)) for t in t_grid for r in r_grid]
        for t, r in settings:
            if t == 0:
                F_fit, y_fit = F_all[sp.train], yf
            else:
                aug = augment_to_counts(Xf, yf, want, t=t, r=r, seed=seed + 1000 * sp.fold)
                F_fit = np.concatenate([F_all[sp.train], features(aug.X)])
                y_fit = np.concatenate([yf, aug.labels])
            clf = _cheap_classifier().fit(F_fit, y_fit.astype(str))
            rows.append({"t": t, "r": r, "fold": sp.fold, "n_fit": len(y_fit),
                         "macro_f1": _score(y_val, clf.predict(F_val))})
    return pd.DataFrame(rows)


def choose(sweep_table: pd.DataFrame) -> tuple[int, float]:
    """The (t, r) with the best mean validation score; ties go to the smaller t, then the smaller r."""
    s = sweep_table[sweep_table["t"] > 0].groupby(["t", "r"])["macro_f1"].mean().reset_index()
    if s.empty:
        raise DataError("augment: the sweep has no augmented setting to choose from")
    best = s.sort_values(["macro_f1", "t", "r"], ascending=[False, True, True]).iloc[0]
    return int(best["t"]), float(best["r"])


@dataclass(frozen=True)
class SweepResult:
    t: int
    r: float
    table: pd.DataFrame     # one row per (t, r, fold)
    cached: bool = False

    def summary(self) -> pd.DataFrame:
        """Mean and SD of the validation macro F1 per (t, r); ``t = r = 0`` = no augmentation."""
        g = self.table.groupby(["t", "r"])["macro_f1"]
        out = pd.DataFrame({"macro_f1_mean": g.mean(), "macro_f1_sd": g.std(ddof=1)}).reset_index()
        out["chosen"] = (out["t"] == self.t) & (out["r"] == self.r)
        return out


def sweep_key(store: Store, *, cols: int, n_folds: int = 3, seed: int = 0, t_grid: Sequence[int] | None = None,
              r_grid: Sequence[float] = R_GRID, parents=(), data: str | None = None):
    """The key of a (t, r) sweep: the grids, folds and seed, what it ran on (``parents``: the
    preprocessed images and the split whose training patients it used; or ``data``, a fingerprint of
    arrays handed in) and this code."""
    t_grid = list(t_grid) if t_grid is not None else t_grid_for(cols)
    args = {"t_grid": list(t_grid), "r_grid": list(r_grid), "n_folds": n_folds, "seed": seed}
    return as_store(store).key("augment.sweep", args, code=[select_parameters], data=data, parents=parents)


def select_parameters(X: np.ndarray, labels, groups, *, cols: int, store: Store | Path | None = None,
                      n_folds: int = 3, seed: int = 0, t_grid: Sequence[int] | None = None,
                      r_grid: Sequence[float] = R_GRID, parents=None) -> SweepResult:
    """:func:`sweep` then :func:`choose`, kept in the result store ``store`` (None: not kept), keyed by
    :func:`sweep_key`: the grids, the seed, the code of this module and every module it uses, and
    ``parents`` (the entries the images came from) or else a fingerprint of the arrays."""
    t_grid = list(t_grid) if t_grid is not None else t_grid_for(cols)
    labels = np.asarray(labels, dtype=object)

    def compute(folder: Path | None) -> pd.DataFrame:
        table = sweep(X, labels, groups, t_grid=t_grid, r_grid=r_grid, n_folds=n_folds, seed=seed)
        if folder is not None:
            table.to_csv(folder / "sweep.csv", index=False)
        return table

    if store is None:
        table, cached = compute(None), False
    else:
        st = as_store(store)
        data = None if parents else \
            fingerprint(np.asarray(X, dtype=np.float32), labels.astype(str), np.asarray(groups).astype(str))
        key = sweep_key(st, cols=cols, n_folds=n_folds, seed=seed, t_grid=t_grid, r_grid=r_grid,
                        parents=parents or (), data=data)
        cached = st.get(key) is not None
        table = pd.read_csv(st.get_or_compute(key, compute).file("sweep.csv"))
    t, r = choose(table)
    return SweepResult(t=t, r=r, table=table, cached=cached)
