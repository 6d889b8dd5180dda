"""The paper's evaluation (Eqs. 13-17 and AUC), a thin layer over scikit-learn.

Pure functions of arrays: ``y_true`` holds image labels (strings of :data:`~dspic_lib.vocab.CLASSES`),
``proba`` the ``(n, 3)`` softmax probabilities over :data:`~dspic_lib.vocab.OUTPUTS` (N, M, A), one row
per image, in that column order.

Decisions (design, "Decisions on the paper's ambiguities"):

- **M&A images are left out of the 3-class metrics** (:func:`confusion`, :func:`per_class`,
  :func:`summary`) and scored separately by the **top-2 rule** (:func:`top2`): an M&A image is correct
  when its two highest probabilities are M and A, in either order.
- The predicted class is the arg-max of ``proba``.
- **accuracy** = overall multi-class accuracy (``accuracy_score``); **precision**, **sensitivity**
  (recall), **F1** = macro means over N, M, A of the one-vs-rest values
  (``precision_recall_fscore_support(labels=OUTPUTS, zero_division=0)``); **specificity** =
  TN / (TN + FP) one-vs-rest from the confusion matrix (scikit-learn has none), macro mean likewise,
  0 where a class has no negatives (as ``zero_division=0`` does for the others); **auc** = macro
  one-vs-rest ROC AUC (``roc_auc_score(multi_class="ovr", average="macro")``).
- **AUC when a class is absent**: a class's one-vs-rest AUC is undefined when the class has no
  positive or no negative image; it is NaN then, and so is the macro AUC (no exception, no warning).
- **Ties** (equal probabilities) are broken by the order of :data:`OUTPUTS`, N before M before A, both
  for the arg-max and for the top-2 ranking (a stable sort). So an M&A image whose 2nd place is tied
  between N and M or A counts as **wrong** (the conservative reading: a tie with N never earns
  credit); a tie between M and A themselves does not matter, the top-2 set is {M, A} either way.
- ``proba`` rows must sum to 1 within :data:`ROW_SUM_ATOL` (softmax outputs stored in float32 or
  rounded to a few decimals pass); they are rescaled to sum exactly to 1 for ``roc_auc_score``,
  which checks the sum more tightly.

Bad input raises :class:`~dspic_lib.errors.DataError` naming the problem.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

from dspic_lib.errors import DataError
from dspic_lib.vocab import BINARY_CLASSES, CLASSES, OUTPUTS

BOTH = "M&A"                                     # the label scored by the top-2 rule
TOP2_SET = frozenset({"M", "A"})                 # the top-2 set that makes an M&A image correct
METRICS = ("accuracy", "precision", "sensitivity", "specificity", "f1", "auc")   # targets.json order + auc
PER_CLASS = ("precision", "sensitivity", "specificity", "f1", "support", "auc")
ROW_SUM_ATOL = 0.01          # catches logits and sigmoid outputs; lets rounded tables pass


# ---------------------------------------------------------------------------------------- checks

def check_labels(y, what: str = "y_true", allowed=CLASSES) -> np.ndarray:
    """``y`` as a 1-D array of label strings; DataError for a 2-D input or labels not in ``allowed``."""
    arr = np.asarray(y, dtype=object)
    if arr.ndim != 1:
        raise DataError(f"{what}: expected a 1-D sequence of labels, got shape {arr.shape}")
    unknown = sorted({repr(v) for v in arr if not isinstance(v, str) or v not in allowed})
    if unknown:
        raise DataError(f"{what}: unknown label(s) {', '.join(unknown)}; expected one of {', '.join(allowed)}")
    return arr.astype(str) if arr.size else np.array([], dtype=str)


def check_proba(proba, n: int | None = None, outputs=OUTPUTS) -> np.ndarray:
    """``proba`` as a float ``(n, len(outputs))`` array, one column per output (default OUTPUTS: N, M, A);
    DataError for a wrong shape, values outside [0, 1], rows not summing to 1 (within
    :data:`ROW_SUM_ATOL`) or ``n`` rows expected and not found."""
    try:
        arr = np.asarray(proba, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(f"proba: not a numeric array ({err})") from None
    if arr.ndim != 2 or arr.shape[1] != len(outputs):
        raise DataError(f"proba: expected shape ({'n' if n is None else n}, {len(outputs)}) with columns "
                        f"{', '.join(outputs)}, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise DataError(f"length mismatch: {n} label(s) in y_true but {arr.shape[0]} row(s) in proba")
    if not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise DataError(f"proba: row {row} is not finite: {arr[row].tolist()}")
    bad = (arr < 0).any(axis=1) | (arr > 1).any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"proba: row {row} has values outside [0, 1]: {arr[row].tolist()}")
    off = np.abs(arr.sum(axis=1) - 1.0)
    if (off > ROW_SUM_ATOL).any():
        row = int(np.argmax(off))
        raise DataError(f"proba: {int((off > ROW_SUM_ATOL).sum())} row(s) do not sum to 1 "
                        f"(within {ROW_SUM_ATOL}), e.g. row {row} sums to {arr[row].sum():.6g}; "
                        "expected softmax probabilities")
    return arr


def _checked(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    y = check_labels(y_true)
    return y, check_proba(proba, n=len(y))


def three_class(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """The images the 3-class metrics use: those not labelled M&A (labels, probabilities)."""
    y, p = _checked(y_true, proba)
    keep = y != BOTH
    return y[keep], p[keep]


def predict(proba) -> np.ndarray:
    """Predicted class per row: the arg-max over OUTPUTS (ties go to the earlier of N, M, A)."""
    p = check_proba(proba)
    return np.asarray(OUTPUTS, dtype=str)[np.argmax(p, axis=1)] if len(p) else np.array([], dtype=str)


# ---------------------------------------------------------------------------------------- 3-class

def confusion(y_true, y_pred) -> pd.DataFrame:
    """Confusion matrix over OUTPUTS (rows: true class, columns: predicted class), image counts.

    ``y_pred`` holds predicted labels (see :func:`predict`); images whose true label is M&A are left
    out (they are scored by :func:`top2`)."""
    y = check_labels(y_true)
    pred = check_labels(y_pred, what="y_pred", allowed=OUTPUTS)
    if len(pred) != len(y):
        raise DataError(f"length mismatch: {len(y)} label(s) in y_true but {len(pred)} in y_pred")
    keep = y != BOTH
    cm = (confusion_matrix(y[keep], pred[keep], labels=list(OUTPUTS)) if keep.any()
          else np.zeros((len(OUTPUTS),) * 2, dtype=int))
    return pd.DataFrame(cm, index=pd.Index(OUTPUTS, name="true"), columns=pd.Index(OUTPUTS, name="predicted"))


def _specificity(cm: np.ndarray) -> np.ndarray:
    """One-vs-rest TN / (TN + FP) per class of a square confusion matrix; 0 where TN + FP = 0."""
    total, fp, fn = cm.sum(), cm.sum(axis=0) - np.diag(cm), cm.sum(axis=1) - np.diag(cm)
    tn = total - np.diag(cm) - fp - fn
    neg = tn + fp
    return np.divide(tn, neg, out=np.zeros(len(cm)), where=neg > 0)


def _auc_defined(y: np.ndarray) -> bool:
    """Every output class has a positive and a negative image among the 3-class images."""
    return set(y) == set(OUTPUTS)


def _ovr_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.full(len(OUTPUTS), np.nan)
    p = p / p.sum(axis=1, keepdims=True)
    for k, c in enumerate(OUTPUTS):
        pos = y == c
        if pos.any() and not pos.all():
            out[k] = roc_auc_score(pos, p[:, k])
    return out


def per_class(y_true, proba) -> pd.DataFrame:
    """One row per output class (N, M, A) of the 3-class images: precision, sensitivity (recall),
    specificity, F1, support (true images of the class) and one-vs-rest ROC AUC (NaN when the class has
    no positive or no negative image). All NaN (support 0) when there is no 3-class image."""
    y, p = three_class(y_true, proba)
    if not len(y):                                   # no 3-class image: nothing to score
        table = pd.DataFrame(np.nan, index=pd.Index(OUTPUTS, name="class"), columns=list(PER_CLASS))
        return table.assign(support=0)
    pred = predict(p)
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=list(OUTPUTS), average=None,
                                                             zero_division=0)
    cm = confusion(y, pred).to_numpy()
    table = pd.DataFrame({"precision": prec, "sensitivity": rec, "specificity": _specificity(cm),
                          "f1": f1, "support": support.astype(int), "auc": _ovr_auc(y, p)},
                         index=pd.Index(OUTPUTS, name="class"))
    return table[list(PER_CLASS)]


def summary(y_true, proba) -> dict:
    """The paper's metrics on the 3-class images (M&A left out), keys in :data:`METRICS` order:
    accuracy, macro precision, sensitivity, specificity, F1, macro one-vs-rest AUC; then ``n_images``
    (3-class images scored) and ``n_left_out`` (M&A images left out, see :func:`top2`).

    Every metric is NaN when there is no 3-class image; ``auc`` is NaN when a class of OUTPUTS is
    absent (its one-vs-rest AUC is undefined)."""
    y_all, p_all = _checked(y_true, proba)
    y, p = y_all[y_all != BOTH], p_all[y_all != BOTH]
    n_left_out = int(len(y_all) - len(y))
    out = dict.fromkeys(METRICS, float("nan"))
    if len(y):
        pred = predict(p)
        prec, rec, f1, _ = precision_recall_fscore_support(y, pred, labels=list(OUTPUTS), average="macro",
                                                           zero_division=0)
        out.update(accuracy=float(accuracy_score(y, pred)), precision=float(prec), sensitivity=float(rec),
                   specificity=float(_specificity(confusion(y, pred).to_numpy()).mean()), f1=float(f1))
        if _auc_defined(y):
            order = sorted(OUTPUTS)                  # roc_auc_score wants its labels sorted
            cols = [OUTPUTS.index(c) for c in order]
            q = p[:, cols] / p.sum(axis=1, keepdims=True)
            out["auc"] = float(roc_auc_score(y, q, multi_class="ovr", average="macro", labels=order))
    out.update(n_images=int(len(y)), n_left_out=n_left_out)
    return out


# ---------------------------------------------------------------------------------------- top-2 rule

def top2(y_true, proba) -> pd.DataFrame:
    """The M&A images, one row each (index: their positions in ``y_true``): ``top1`` and ``p_top1``,
    ``top2`` and ``p_top2`` (the two most probable outputs and their probabilities) and ``correct``
    (True when {top1, top2} = {M, A}). Ties are ranked in OUTPUTS order (N, M, A)."""
    y, p = _checked(y_true, proba)
    rows = np.flatnonzero(y == BOTH)
    q = p[rows]
    rank = np.argsort(-q, axis=1, kind="stable")[:, :2]       # stable: ties keep OUTPUTS order
    names = np.asarray(OUTPUTS, dtype=object)
    top1, top2_ = names[rank[:, 0]], names[rank[:, 1]]
    table = pd.DataFrame({
        "top1": top1.astype(str), "p_top1": np.take_along_axis(q, rank[:, :1], axis=1)[:, 0],
        "top2": top2_.astype(str), "p_top2": np.take_along_axis(q, rank[:, 1:2], axis=1)[:, 0],
        "correct": np.array([{a, b} == TOP2_SET for a, b in zip(top1, top2_)], dtype=bool),
    }, index=pd.Index(rows, name="image"))
    return table


def top2_accuracy(y_true, proba) -> float:
    """Share of M&A images correct by the top-2 rule; NaN when there is none."""
    correct = top2(y_true, proba)["correct"]
    return float(correct.mean()) if len(correct) else float("nan")


# ---------------------------------------------------------------------------------------- binary task
# The public whole-body collections (BS-80K, the PNG folders) say only normal or abnormal
# (vocab.BINARY_CLASSES); a model trained on them has two softmax outputs in that order.

POSITIVE = "abnormal"                            # the positive class of the binary task


def binary_summary(y_true, proba) -> dict:
    """Metrics of the binary task with ``abnormal`` as the positive class, keys in :data:`METRICS` order,
    then ``n_images``. ``y_true``: labels of :data:`~dspic_lib.vocab.BINARY_CLASSES`; ``proba``:
    ``(n, 2)`` probabilities over (normal, abnormal), rows summing to 1 (:func:`check_proba`).

    The prediction is the arg-max (a tie is ``normal``). **accuracy**; **precision** = TP / (TP + FP),
    0 when nothing is predicted abnormal (``zero_division=0``); **sensitivity** = TP / (TP + FN) and
    **specificity** = TN / (TN + FP), NaN when there is no abnormal, respectively no normal image;
    **f1** of the abnormal class (0 when TP = 0); **auc** = ROC AUC of P(abnormal), NaN when one class
    is absent. Every metric is NaN on an empty set. Counts from scikit-learn's ``confusion_matrix``,
    precision and F1 from ``precision_recall_fscore_support(pos_label="abnormal")``."""
    y = check_labels(y_true, allowed=BINARY_CLASSES)
    p = check_proba(proba, n=len(y), outputs=BINARY_CLASSES)
    out = dict.fromkeys(METRICS, float("nan"))
    out["n_images"] = int(len(y))
    if not len(y):
        return out
    pred = np.asarray(BINARY_CLASSES)[np.argmax(p, axis=1)]          # ties: the first, normal
    labels = list(BINARY_CLASSES)
    (tn, fp), (fn, tp) = confusion_matrix(y, pred, labels=labels)   # rows true, columns predicted
    prec, _, f1, _ = precision_recall_fscore_support(y, pred, labels=labels, pos_label=POSITIVE,
                                                     average="binary", zero_division=0)
    nan = float("nan")
    out.update(accuracy=float(accuracy_score(y, pred)), precision=float(prec),
               sensitivity=tp / (tp + fn) if tp + fn else nan, specificity=tn / (tn + fp) if tn + fp else nan,
               f1=float(f1))
    pos = y == POSITIVE
    if pos.any() and not pos.all():
        out["auc"] = float(roc_auc_score(pos, p[:, labels.index(POSITIVE)]))
    return {k: (float(v) if k != "n_images" else v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------- prior shift
# D2 and D3 are enlarged to the class proportions of the paper's Tables 1 and 2, so a network trained on
# them learns other class priors than the cohort's (and the test part's). The softmax targets over
# (N, M, A) give an M&A image half to M and half to A (pipeline.datasets.targets_for), so the prior the
# network learns for an output is the mean of those targets: an M&A image counts one half for M and one
# half for A. OUTPUT_SHARE spells that out here, so that this module stays free of the training code;
# tests/test_prior_shift.py checks it against datasets.targets_for.

OUTPUT_SHARE = {"N": (1.0, 0.0, 0.0), "M": (0.0, 1.0, 0.0), "A": (0.0, 0.0, 1.0), BOTH: (0.0, 0.5, 0.5)}


def output_priors(labels) -> np.ndarray:
    """The class priors over OUTPUTS (N, M, A) of a set of images with these labels: the mean of their
    softmax targets, an M&A image counting one half for M and one half for A (:data:`OUTPUT_SHARE`).
    DataError for no label or an unknown one."""
    y = check_labels(labels)
    if not len(y):
        raise DataError("output_priors: no label given; class priors of an empty set are undefined")
    return np.mean([OUTPUT_SHARE[c] for c in y], axis=0)


def _check_prior(prior, what: str) -> np.ndarray:
    try:
        p = np.asarray(prior, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{what}: expected {len(OUTPUTS)} class shares over {', '.join(OUTPUTS)}") from None
    if p.shape != (len(OUTPUTS),) or not np.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
        raise DataError(f"{what}: expected {len(OUTPUTS)} finite non-negative class shares over "
                        f"{', '.join(OUTPUTS)} with a positive sum, got {p.tolist()}")
    return p / p.sum()


def prior_correct(proba, trained_prior, target_prior) -> np.ndarray:
    """Posterior probabilities adjusted to new class priors, the known-priors case of Saerens, Latinne &
    Decaestecker (2002, Neural Computation 14(1):21-41, Sect. 2):

        p'(c | x) = p(c | x) * target(c) / trained(c)  /  sum_k p(k | x) * target(k) / trained(k)

    ``proba``: ``(n, 3)`` softmax outputs over OUTPUTS of a network trained on data whose class priors are
    ``trained_prior``; ``target_prior``: the priors of the data the outputs are to be read for (for D2: the
    shares of the training part's original images, which the test part shares). Both priors are over
    OUTPUTS, e.g. from :func:`output_priors` (M&A counting half for M and half for A, as the softmax is
    trained); they are normalised to sum 1. Equal priors give ``proba`` back unchanged. A class the
    training data lacked (trained prior 0) cannot be corrected: DataError. The arg-max may change, the
    ranking within a row may change; rows sum to 1. No EM is needed as both priors are known."""
    p = check_proba(proba)
    trained, target = _check_prior(trained_prior, "trained_prior"), _check_prior(target_prior, "target_prior")
    if (trained == 0).any():
        lost = ", ".join(c for c, s in zip(OUTPUTS, trained) if s == 0)
        raise DataError(f"trained_prior: class {lost} has prior 0 in the training data; its outputs cannot be "
                        "rescaled to another prior")
    w = p * (target / trained)
    s = w.sum(axis=1, keepdims=True)
    if (s <= 0).any():
        row = int(np.flatnonzero(s[:, 0] <= 0)[0])
        raise DataError(f"proba: row {row} puts all its probability on classes of target prior 0: {p[row].tolist()}")
    return w / s if len(p) else p.copy()


def predicted_shares(proba) -> pd.Series:
    """Share of the rows whose arg-max (:func:`predict`) is each output (N, M, A); all 0 without a row."""
    pred = pd.Series(predict(proba))
    n = max(len(pred), 1)
    return pd.Series({c: float((pred == c).sum()) / n for c in OUTPUTS}, name="predicted share")
