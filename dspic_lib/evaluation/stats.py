"""How sure are the numbers? Confidence intervals, paired and unpaired comparisons, and calibration of the
paper's metrics (:mod:`dspic_lib.evaluation.metrics`), as pure functions of arrays.

The paper reports each metric as one number on one test set. A test set of a few hundred images from a
few hundred patients leaves several points of accuracy to chance; this module says how many.

**Resample patients, not images.** The two views of a patient, and under the paper's protocol the
augmented copies of an image, are not independent: they share a skeleton, a disease and a camera. A
bootstrap that draws images treats them as independent evidence and gives intervals that are too narrow.
Here every bootstrap draws *patients* with replacement (a cluster bootstrap, Davison & Hinkley 1997,
Sect. 3.8) and keeps all images of each drawn patient, as many times as the patient was drawn. ``groups``
gives each image's patient id.

**Fast and identical.** A patient drawn ``c`` times contributes its images with weight ``c``; every metric
of :func:`dspic_lib.evaluation.metrics.summary` is a function of weighted counts (the confusion matrix, and for AUC
the weighted Mann-Whitney count of positive/negative pairs, ties counted one half), so a thousand
resamples are a few matrix products instead of a thousand calls (about 4 ms each). The values are those
:func:`~dspic_lib.evaluation.metrics.summary` gives on the resampled images (the tests check it, to 1e-12).

**Cross-validation.** Fold scores share most of their training images, so they are correlated and the
naive t interval over folds is too narrow; :func:`cv_interval` and :func:`corrected_t_test` use the
corrected resampled t of Nadeau & Bengio (2003).

**Calibration.** Does a top-1 probability of 0.9 come true nine times in ten? :func:`reliability`,
:func:`ece` (Guo et al. 2017) and temperature scaling (:func:`fit_temperature`, :func:`apply_temperature`).
M&A images have no single right class (two of three outputs are right), so calibration leaves them out,
as the 3-class metrics do.

Every function that draws randomness takes ``seed`` (an int, or a :class:`numpy.random.Generator`, passed
to :func:`numpy.random.default_rng`). Bad input raises :class:`~dspic_lib.errors.DataError` (arrays) or
:class:`~dspic_lib.errors.ConfigError` (options: a metric name, a level, a number of resamples).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as sps

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.evaluation import metrics
from dspic_lib.evaluation import metrics as metrics_mod  # ``metrics`` is also an argument below
from dspic_lib.evaluation.metrics import METRICS
from dspic_lib.options import look_up_option
from dspic_lib.vocab import OUTPUTS

T_BOUNDS = (0.05, 20.0)     # temperatures searched; a fit on a bound means the validation set cannot tell
_LOG_FLOOR = 1e-12          # probabilities of exactly 0 (rounded tables) get this before the log
_CHUNK = 256                # resamples scored at once: bounds the (resamples x images) weight matrix


# ---------------------------------------------------------------------------------------- checks

def _check_level(level) -> float:
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ConfigError(f"level: expected a confidence level strictly between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(level)


def _check_n_boot(n_boot) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ConfigError(f"n_boot: expected a positive whole number of resamples, got {n_boot!r}")
    return int(n_boot)


def _check_metric(name) -> str:
    if not isinstance(name, str):
        raise ConfigError(f"metric: expected a metric name, got {name!r}; valid: "
                          + ", ".join(map(repr, metrics.METRICS)))
    return look_up_option(name, metrics.METRICS, what="metric")


def _check_groups(groups, n: int, what: str = "groups") -> np.ndarray:
    """Patient ids as integer codes 0..G-1 (one per image); DataError for a length mismatch or a missing id."""
    arr = np.asarray(groups, dtype=object)
    if arr.ndim != 1:
        raise DataError(f"{what}: expected a 1-D sequence of patient ids, got shape {arr.shape}")
    if len(arr) != n:
        raise DataError(f"length mismatch: {n} label(s) in y_true but {len(arr)} patient id(s) in {what}")
    codes, _ = pd.factorize(pd.Series(arr, dtype=object))
    if (codes < 0).any():
        raise DataError(f"{what}: image {int(np.flatnonzero(codes < 0)[0])} has no patient id")
    return codes


def _checked(y_true, proba, groups, what: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = metrics.check_labels(y_true, what=f"y_true{what}")
    p = metrics.check_proba(proba, n=len(y))
    return y, p, _check_groups(groups, len(y), what=f"groups{what}")


# ---------------------------------------------------------------------------------------- weighted metrics

class _Scorer:
    """The metrics of :func:`metrics.summary` (or, with ``positive``, of :func:`metrics.binary_summary`) for
    many weightings of one test set at once.

    ``scorer(W)`` with ``W`` of shape (resamples, images) gives ``{metric: array(resamples)}``: the
    metrics of the sample in which image ``i`` occurs ``W[r, i]`` times. Integer weights make every
    count exact, so accuracy, precision, sensitivity, specificity and F1 are computed by the same
    divisions as scikit-learn, in the same order (N, M, A); AUC is the Mann-Whitney form of the area under
    the ROC curve, equal to scikit-learn's trapezoids up to rounding.

    ``outputs``: the columns of ``p`` (default N, M, A; M&A images are left out). ``positive``: score one
    class of ``outputs`` against the rest, as :func:`metrics.binary_summary` does (sensitivity and
    specificity NaN without positives, respectively negatives; AUC of the raw column)."""

    def __init__(self, y: np.ndarray, p: np.ndarray, outputs=OUTPUTS, positive: str | None = None):
        self.outputs, self.positive = tuple(outputs), positive
        self.keep = y != metrics.BOTH
        y3, p3 = y[self.keep], p[self.keep]
        k = len(self.outputs)
        true = np.array([self.outputs.index(c) for c in y3], dtype=int)
        pred = np.argmax(p3, axis=1) if len(p3) else np.zeros(0, dtype=int)   # ties: the first output
        self.cell = np.eye(k * k)[true * k + pred]                # (images, k*k): cell of the confusion matrix
        self.pos = np.eye(k, dtype=bool)[true]                    # (images, k): one vs rest labels
        if positive is None and len(p3):                          # as metrics.summary feeds roc_auc_score
            p3 = p3 / p3.sum(axis=1, keepdims=True)
        # per class: the images in order of score, and for each the first and one-past-last position of
        # the run of images tied with it (memory linear in the images, not images x distinct scores)
        self.order, self.tie_start, self.tie_end = [], [], []
        for c in range(k):
            order = np.argsort(p3[:, c], kind="stable")
            v = p3[order, c]
            first = np.r_[True, v[1:] != v[:-1]] if len(v) else np.zeros(0, dtype=bool)
            run = np.cumsum(first) - 1                            # which run of ties each position is in
            starts = np.flatnonzero(first)
            ends = np.r_[starts[1:], len(v)]
            self.order.append(order)
            self.tie_start.append(starts[run])
            self.tie_end.append(ends[run])

    def __call__(self, W: np.ndarray, names=metrics.METRICS) -> dict:
        k = len(self.outputs)
        w = np.asarray(W, dtype=float)[:, self.keep]
        cm = (w @ self.cell).reshape(len(w), k, k)
        total = cm.sum(axis=(1, 2))
        tp = np.diagonal(cm, axis1=1, axis2=2)
        true_sum, pred_sum = cm.sum(axis=2), cm.sum(axis=1)
        fp, fn = pred_sum - tp, true_sum - tp
        tn = total[:, None] - tp - fp - fn

        def ratio(num, den):                                      # 0 where the denominator is 0 (zero_division=0)
            return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

        if self.positive is None:                                 # macro means over the outputs
            def of(values, undefined=None):
                return values.mean(axis=1)
        else:                                                     # the positive class only
            j = self.outputs.index(self.positive)

            def of(values, undefined=None):
                return values[:, j] if undefined is None else np.where(undefined[:, j], np.nan, values[:, j])

        out = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            if "accuracy" in names:
                out["accuracy"] = tp.sum(axis=1) / total
            if "precision" in names:
                out["precision"] = of(ratio(tp, pred_sum))
            if "sensitivity" in names:
                out["sensitivity"] = of(ratio(tp, true_sum), undefined=true_sum == 0)
            if "specificity" in names:
                out["specificity"] = of(ratio(tn, tn + fp), undefined=tn + fp == 0)
            if "f1" in names:
                out["f1"] = of(ratio(2.0 * tp, true_sum + pred_sum))
            if "auc" in names:
                out["auc"] = self._auc(w, true_sum)
        empty = total == 0                                        # no image drawn: every metric NaN
        for name in out:
            out[name] = np.where(empty, np.nan, out[name])
        return out

    def _class_auc(self, w: np.ndarray, c: int) -> np.ndarray:
        """One-vs-rest AUC of output ``c`` per weighting (0 where it has no positive or no negative)."""
        ws = w[:, self.order[c]]                                  # weights in order of the class's score
        pos = self.pos[self.order[c], c]
        pos_w, neg_w = ws * pos, ws * ~pos
        # negatives up to each position (0 before the first), read at the ends of each run of ties
        cum_neg = np.concatenate([np.zeros((len(ws), 1)), np.cumsum(neg_w, axis=1)], axis=1)
        below = cum_neg[:, self.tie_start[c]]                     # negatives scored strictly lower
        tied = cum_neg[:, self.tie_end[c]] - below                # negatives with the same score: half a pair
        pairs = pos_w.sum(axis=1) * neg_w.sum(axis=1)
        return (pos_w * (below + 0.5 * tied)).sum(axis=1) / np.where(pairs > 0, pairs, 1.0)

    def _auc(self, w: np.ndarray, true_sum: np.ndarray) -> np.ndarray:
        """Macro one-vs-rest AUC, NaN unless every class has a positive (then each has a negative too); with
        ``positive``, that class's AUC, NaN unless it has a positive and a negative."""
        if self.positive is not None:
            j = self.outputs.index(self.positive)
            defined = (true_sum[:, j] > 0) & (true_sum[:, j] < true_sum.sum(axis=1))
            return np.where(defined, self._class_auc(w, j), np.nan)
        # scikit-learn averages the classes in sorted label order (A, M, N): the same order here
        order = sorted(range(len(self.outputs)), key=lambda c: self.outputs[c])
        auc = np.stack([self._class_auc(w, c) for c in order], axis=1).mean(axis=1)
        return np.where((true_sum > 0).all(axis=1), auc, np.nan)


def _patient_counts(codes: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, patients): how often each patient is drawn when drawing as many patients as there are,
    with replacement."""
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    if n_groups == 0:
        return np.zeros((n_boot, 0))
    draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
    flat = (draws + n_groups * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_groups).reshape(n_boot, n_groups).astype(float)


def _resampled(scorer: _Scorer, codes: np.ndarray, counts: np.ndarray, names) -> dict:
    """Each metric of ``names`` on every resample given by the patient ``counts``."""
    parts = [scorer(counts[i:i + _CHUNK][:, codes], names) for i in range(0, len(counts), _CHUNK)]
    return {name: np.concatenate([part[name] for part in parts]) for name in names}


def _full(scorer: _Scorer, n: int, names) -> dict:
    return {name: float(v[0]) for name, v in scorer(np.ones((1, n)), names).items()}


def _percentile_interval(values: np.ndarray, level: float) -> tuple[float, float, int]:
    valid = values[np.isfinite(values)]
    if not len(valid):
        return float("nan"), float("nan"), 0
    tail = (1 - level) / 2
    low, high = np.quantile(valid, [tail, 1 - tail])
    return float(low), float(high), int(len(valid))


def _bootstrap_p(diffs: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from bootstrap differences (NaN ones dropped): the share of
    differences at or beyond 0 on the side away from the observed one, each tail counted with +1 (a
    resample that reaches 0 is not rare if it is the only one drawn), doubled, at most 1."""
    d = diffs[np.isfinite(diffs)]
    if not len(d):
        return float("nan")
    tail = min(int((d <= 0).sum()), int((d >= 0).sum()))
    return float(min(1.0, 2 * (tail + 1) / (len(d) + 1)))


# ---------------------------------------------------------------------------------------- bootstrap

def bootstrap_metrics(y_true, proba, groups, *, n_boot: int = 1000, seed=0, level: float = 0.95,
                      metrics: tuple = METRICS, classes=None, outputs=None, positive: str | None = None,
                      score=None) -> pd.DataFrame:
    """Patient-level (cluster) bootstrap confidence intervals of the paper's metrics, or of any task's.

    ``y_true``, ``proba`` as for :func:`dspic_lib.evaluation.metrics.summary`; ``groups`` the patient id of each image.
    Each of ``n_boot`` resamples draws as many patients as the test set has, with replacement, and keeps
    every image of a drawn patient (twice if drawn twice). The interval is the percentile interval: the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled metric (Efron & Tibshirani 1993,
    Ch. 13). Resamples in which a metric is undefined (NaN: AUC when a class was not drawn, every metric when
    only M&A images were drawn) are dropped for that metric; ``n_boot`` in the table says how many were kept.

    Another task: ``classes``, the labels ``y_true`` may hold (e.g. :data:`~dspic_lib.vocab.BINARY_CLASSES`),
    ``outputs``, the columns of ``proba`` (default ``classes``), and either ``positive``, one class scored
    against the rest as :func:`~dspic_lib.evaluation.metrics.binary_summary` scores ``abnormal`` (from
    weighted counts, all resamples at once, like the four-class metrics), or ``score(y, proba) -> {metric:
    value}``, any metric function, called once per resample on its images. Every way draws the same
    patients for the same ``seed``.

    Why patients: a patient's two views (and under the paper's protocol, augmented copies of one scan) are
    mostly right or wrong together, so a test set of ``n`` images carries less than ``n`` images'
    worth of evidence. Drawing images would ignore that and give intervals too narrow.

    Returns a table indexed by metric (in the order asked) with ``value`` (on the whole test set, as
    :func:`~dspic_lib.evaluation.metrics.summary` or ``score`` gives it), ``low``, ``high`` and ``n_boot``.
    """
    names = [_check_metric(m) for m in ((metrics,) if isinstance(metrics, str) else metrics)]
    if not names:
        raise ConfigError(f"metrics: expected at least one of {', '.join(map(repr, METRICS))}")
    if classes is None and (positive is not None or score is not None or outputs is not None):
        raise ConfigError("bootstrap_metrics: positive, score and outputs need classes (the task's labels)")
    if classes is not None and (positive is None) == (score is None):
        raise ConfigError("bootstrap_metrics: with classes, give either positive (one class against the rest) "
                          "or score (a metric function)")
    n_boot, level = _check_n_boot(n_boot), _check_level(level)
    rng = np.random.default_rng(seed)
    if classes is None:
        y, p, codes = _checked(y_true, proba, groups)
    else:
        outputs = tuple(classes if outputs is None else outputs)
        y = metrics_mod.check_labels(y_true, allowed=tuple(classes))
        p = metrics_mod.check_proba(proba, n=len(y), outputs=outputs)
        codes = _check_groups(groups, len(y))
    if score is None:
        if positive is not None and positive not in outputs:
            raise ConfigError(f"positive: {positive!r} is not one of the outputs {', '.join(outputs)}")
        scorer = _Scorer(y, p) if classes is None else _Scorer(y, p, outputs, positive)
        value = _full(scorer, len(y), names)
        boot = _resampled(scorer, codes, _patient_counts(codes, n_boot, rng), names)
    else:
        value = score(y, p)
        boot = {name: np.empty(n_boot) for name in names}
        for r, weight in enumerate(_patient_counts(codes, n_boot, rng)):
            pick = np.repeat(np.arange(len(y)), weight[codes].astype(int))
            s = score(y[pick], p[pick])
            for name in names:
                boot[name][r] = s[name]
    rows = {}
    for name in names:
        low, high, kept = _percentile_interval(boot[name], level)
        rows[name] = {"value": float(value[name]), "low": low, "high": high, "n_boot": kept}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return table.astype({"n_boot": int})


def paired_bootstrap(y_true, proba_a, proba_b, groups, *, metric: str = "accuracy", n_boot: int = 1000,
                     seed=0, level: float = 0.95) -> dict:
    """Is model A better than model B on the same test images? Patient-level bootstrap of the difference
    ``metric(A) - metric(B)``.

    Both models are scored on the *same* resampled patients in each resample, so what the test set
    happens to contain (easy or hard patients) cancels in the difference; that makes a paired comparison
    far more sensitive than comparing two separate intervals.

    Returns ``diff`` (on the whole test set), ``low``, ``high`` (percentile interval of the resampled
    differences), ``p`` (two-sided: the share of resampled differences at or beyond 0 on the side away from
    ``diff``, with one added to that count and to the number of resamples, doubled and capped at 1; the
    smallest ``1 - level`` at which the percentile interval would exclude 0) and ``n_boot`` (resamples in
    which both metrics are defined).
    """
    name, n_boot, level = _check_metric(metric), _check_n_boot(n_boot), _check_level(level)
    y, pa, codes = _checked(y_true, proba_a, groups)
    pb = metrics.check_proba(proba_b, n=len(y))
    sa, sb = _Scorer(y, pa), _Scorer(y, pb)
    diff = _full(sa, len(y), [name])[name] - _full(sb, len(y), [name])[name]
    counts = _patient_counts(codes, n_boot, np.random.default_rng(seed))
    d = _resampled(sa, codes, counts, [name])[name] - _resampled(sb, codes, counts, [name])[name]
    return _difference(diff, d, level)


def unpaired_bootstrap_diff(a, b, *, metric: str = "accuracy", n_boot: int = 1000, seed=0,
                            level: float = 0.95) -> dict:
    """The difference ``metric(A) - metric(B)`` between two *different* test sets, e.g. the paper's
    image-level split against the patient-level split: ``a`` and ``b`` are each ``(y_true, proba, groups)``.

    Each resample draws the patients of A from A and those of B from B, independently (there is nothing
    to pair), so the interval carries the chance of both test sets. Returns ``diff``, ``low``, ``high``,
    ``p`` and ``n_boot`` as :func:`paired_bootstrap` does.
    """
    name, n_boot, level = _check_metric(metric), _check_n_boot(n_boot), _check_level(level)
    rng = np.random.default_rng(seed)
    values, resampled = [], []
    for what, part in ((" of a", a), (" of b", b)):
        if not isinstance(part, (tuple, list)) or len(part) != 3:
            raise DataError(f"test set{what}: expected a tuple (y_true, proba, groups)")
        y, p, codes = _checked(*part, what=what)
        scorer = _Scorer(y, p)
        values.append(_full(scorer, len(y), [name])[name])
        resampled.append(_resampled(scorer, codes, _patient_counts(codes, n_boot, rng), [name])[name])
    return _difference(values[0] - values[1], resampled[0] - resampled[1], level)


def _difference(diff: float, d: np.ndarray, level: float) -> dict:
    low, high, kept = _percentile_interval(d, level)
    return {"diff": float(diff), "low": low, "high": high, "p": _bootstrap_p(d), "n_boot": kept}


# ---------------------------------------------------------------------------------------- cross-validation

def _check_sizes(n_train, n_test) -> float:
    for what, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) or not n > 0:
            raise ConfigError(f"{what}: expected a positive number of training/test images per fold, got {n!r}")
    return float(n_test) / float(n_train)


def _check_scores(scores, what: str) -> np.ndarray:
    try:
        s = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{what}: expected numbers, one per fold") from None
    if s.ndim != 1 or len(s) < 2:
        raise DataError(f"{what}: expected at least 2 fold scores in a 1-D sequence, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise DataError(f"{what}: fold {int(np.flatnonzero(~np.isfinite(s))[0])} is not finite ({s.tolist()})")
    return s


def _corrected(s: np.ndarray, ratio: float, level: float) -> tuple[float, float, float, float, int]:
    """mean, sd, corrected standard error, t quantile, k."""
    k = len(s)
    sd = float(s.std(ddof=1))
    se = math.sqrt(1.0 / k + ratio) * sd
    return float(s.mean()), sd, se, float(sps.t.ppf(0.5 + level / 2, df=k - 1)), k


def cv_interval(scores, n_train, n_test, level: float = 0.95) -> dict:
    """Confidence interval of a metric's mean over cross-validation folds, by the corrected resampled t of
    Nadeau & Bengio (2003, Machine Learning 52:239).

    The folds of a cross-validation share most of their training images (with 5 folds, any two training
    sets share three quarters of the data), so their scores are positively correlated. The naive
    interval, mean +- t * sd / sqrt(k), assumes k independent scores and is too narrow: its variance
    factor 1/k shrinks with k however much the folds overlap. Nadeau & Bengio replace 1/k by
    ``1/k + n_test/n_train``, which does not vanish as folds are added:

        mean +- t(k-1, (1 + level)/2) * sqrt(1/k + n_test/n_train) * sd

    ``scores``: one score per fold; for r-times repeated k-fold CV pass all r*k scores (Bouckaert & Frank
    2004). ``n_train``, ``n_test``: the sizes of one fold's training and test parts (images or patients,
    the same unit for both). Returns ``mean``, ``low``, ``high``, ``sd`` (of the scores, ddof 1) and ``k``.
    """
    level = _check_level(level)
    ratio = _check_sizes(n_train, n_test)
    mean, sd, se, q, k = _corrected(_check_scores(scores, "scores"), ratio, level)
    return {"mean": mean, "low": mean - q * se, "high": mean + q * se, "sd": sd, "k": k}


def corrected_t_test(diffs, n_train, n_test, level: float = 0.95) -> dict:
    """Paired comparison of two models over the same cross-validation folds: the corrected resampled t
    test (Nadeau & Bengio 2003) on the fold-wise differences ``score(A) - score(B)``.

    t = mean / (sqrt(1/k + n_test/n_train) * sd), two-sided p from Student's t with k - 1 degrees of
    freedom. The naive paired t test (variance factor 1/k) rejects a true "no difference" far more often
    than it says, because the folds' training sets overlap (see :func:`cv_interval`).

    Returns ``diff`` (mean difference), ``low``, ``high`` (its corrected interval at ``level``), ``t`` and
    ``p``. Differences with no spread give t = 0, p = 1 when their mean is 0, and t = +-inf, p = 0 otherwise.
    """
    level = _check_level(level)
    ratio = _check_sizes(n_train, n_test)
    mean, _, se, q, k = _corrected(_check_scores(diffs, "diffs"), ratio, level)
    if se > 0:
        t = mean / se
    else:
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    p = float(2 * sps.t.sf(abs(t), df=k - 1))
    return {"diff": mean, "low": mean - q * se, "high": mean + q * se, "t": float(t), "p": p}


# ---------------------------------------------------------------------------------------- calibration

def _top1(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 confidence and whether the top-1 output is right, for the 3-class images (M&A left out)."""
    y, p = metrics.three_class(y_true, proba)
    if not len(y):
        return np.zeros(0), np.zeros(0, dtype=bool)
    truth = np.array([OUTPUTS.index(c) for c in y])
    return p.max(axis=1), np.argmax(p, axis=1) == truth


def _check_bins(n_bins) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ConfigError(f"n_bins: expected a positive whole number of bins, got {n_bins!r}")
    return int(n_bins)


def reliability(y_true, proba, n_bins: int = 10) -> pd.DataFrame:
    """The reliability table: the 3-class images binned by their top-1 confidence (the largest of the
    three probabilities) into ``n_bins`` equal-width bins of [0, 1], each bin ``(bin_low, bin_high]`` (the
    first also holds 0), as Guo et al. (2017) bin them.

    One row per bin, empty bins included: ``bin_low``, ``bin_high``, ``count`` (images), ``confidence`` (their
    mean top-1 confidence) and ``accuracy`` (share whose top-1 output is the true class); both NaN for an
    empty bin. A calibrated model has accuracy = confidence in every bin. With three outputs the top-1
    confidence is at least 1/3, so the lowest bins stay empty.

    M&A images are left out: both M and A are right for them, so "the top-1 output is right" does not apply
    (they are scored by the top-2 rule, :func:`dspic_lib.evaluation.metrics.top2`).
    """
    n_bins = _check_bins(n_bins)
    conf, correct = _top1(y_true, proba)
    edges = np.arange(n_bins + 1) / n_bins
    # bin b holds (edges[b], edges[b+1]]: searchsorted "left" puts a confidence equal to an edge below it
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct.astype(float), minlength=n_bins) / count
    return pd.DataFrame({"bin_low": edges[:-1], "bin_high": edges[1:], "count": count.astype(int),
                         "confidence": mean_conf, "accuracy": accuracy},
                        index=pd.RangeIndex(n_bins, name="bin"))


def ece(y_true, proba, n_bins: int = 10) -> float:
    """Expected calibration error (Guo et al. 2017): the gap between accuracy and mean top-1 confidence in
    each bin of :func:`reliability`, averaged over bins weighted by their share of images,
    ``sum_b (n_b / n) * |accuracy_b - confidence_b|``. 0 for a calibrated model; at most 1. NaN when there is
    no 3-class image (M&A images are left out, see :func:`reliability`).

    Equal-width bins make ECE depend on ``n_bins`` and, on small test sets, biased upwards (a bin of a few
    images has a large gap by chance alone): compare ECEs at the same ``n_bins`` and test set size only.
    """
    table = reliability(y_true, proba, n_bins=n_bins)
    filled = table[table["count"] > 0]
    if not len(filled):
        return float("nan")
    gaps = (filled["accuracy"] - filled["confidence"]).abs()
    return float(np.average(gaps, weights=filled["count"]))


def _log_proba(proba) -> np.ndarray:
    return np.log(np.clip(np.asarray(proba, dtype=float), _LOG_FLOOR, 1.0))


def _check_temperature(T) -> float:
    if isinstance(T, bool) or not isinstance(T, (int, float, np.integer, np.floating)) \
            or not math.isfinite(T) or not T > 0:
        raise ConfigError(f"T: expected a finite temperature > 0, got {T!r}")
    return float(T)


def apply_temperature(proba, T: float) -> np.ndarray:
    """Probabilities rescaled by the temperature ``T``: softmax(log(proba) / T). The log of a softmax is
    the logits up to a constant per row, so this is softmax(logits / T): ``T > 1`` softens overconfident
    outputs, ``T < 1`` sharpens them, ``T = 1`` changes nothing, and the arg-max (hence accuracy and every
    confusion-based metric) never changes. Probabilities of 0 are taken as 1e-12."""
    T = _check_temperature(T)
    p = metrics.check_proba(proba)
    return special.softmax(_log_proba(p) / T, axis=1) if len(p) else p.copy()


def fit_temperature(proba_val, y_val) -> float:
    """Temperature scaling (Guo et al. 2017): the one number ``T > 0`` that minimizes the negative
    log-likelihood of the validation labels under softmax(log(proba) / T), found by a bounded scalar search
    over log T within :data:`T_BOUNDS`. One parameter cannot overfit a validation set of 50 images the way a
    per-class or per-bin recalibration would, and it leaves the predicted classes unchanged.

    M&A images are left out (no single true class; see :func:`reliability`). Degenerate validation sets
    still give a finite T: no 3-class image, or a likelihood that does not depend on T (e.g. every row
    uniform) give 1.0 (no change); a set the model gets all right pushes T towards the lower bound (the
    likelihood keeps growing as T shrinks, until it is 1 to machine precision), all wrong towards the upper
    one. A T at or near a bound says the validation set cannot tell.
    """
    y, p = metrics.three_class(y_val, proba_val)
    if not len(y):
        return 1.0
    logp = _log_proba(p)
    own = logp[np.arange(len(y)), [OUTPUTS.index(c) for c in y]]

    def nll(log_t):
        t = math.exp(log_t)
        return float(np.mean(special.logsumexp(logp / t, axis=1) - own / t))

    lo, hi = math.log(T_BOUNDS[0]), math.log(T_BOUNDS[1])
    probe = np.array([nll(u) for u in np.linspace(lo, hi, 9)])
    if np.ptp(probe) <= 1e-12 * (1 + abs(probe).max()):       # flat: T does not matter
        return 1.0
    res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    best = res.x if np.isfinite(res.fun) and res.fun <= probe.min() else np.linspace(lo, hi, 9)[probe.argmin()]
    return float(min(max(math.exp(best), T_BOUNDS[0]), T_BOUNDS[1]))


# ---------------------------------------------------------------------------------------- shared resamples

def patient_weights(groups, *, n_boot: int = 1000, seed=0) -> np.ndarray:
    """``(n_boot, images)``: how often each image is in each patient-bootstrap resample (its patient's
    draw count), the resamples :func:`bootstrap_metrics` and :func:`paired_bootstrap` draw for the same
    ``seed``. Scoring several models (or several seeds of one) with the same weights pairs them on the
    same resampled test patients (:func:`weighted_metrics`)."""
    n_boot = _check_n_boot(n_boot)
    codes = _check_groups(groups, len(np.asarray(groups, dtype=object)))
    return _patient_counts(codes, n_boot, np.random.default_rng(seed))[:, codes]


def weighted_metrics(y_true, proba, weights, metrics=METRICS) -> dict:
    """Each metric of :func:`dspic_lib.evaluation.metrics.summary` on every weighting of the test images
    (rows of ``weights``, e.g. :func:`patient_weights`): ``{metric: array(rows)}``, NaN where undefined."""
    names = [_check_metric(m) for m in ((metrics,) if isinstance(metrics, str) else metrics)]
    y = metrics_mod.check_labels(y_true)
    p = metrics_mod.check_proba(proba, n=len(y))
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    if w.shape[1] != len(y):
        raise DataError(f"weights: {w.shape[1]} column(s) for {len(y)} image(s)")
    scorer = _Scorer(y, p)
    parts = [scorer(w[i:i + _CHUNK], names) for i in range(0, len(w), _CHUNK)]
    return {name: np.concatenate([part[name] for part in parts]) for name in names}
