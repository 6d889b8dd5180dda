"""What the paper did not measure (chapter 07): leakage, confidence intervals, paired tests,
calibration and a multi-label head.

Every analysis reuses the runs of the results chapters from the result store and trains only what
they lack (:func:`run`):

* **Leakage.** dSPIC-AM on D2 under the paper's protocol (augment every image, then split the *images*
  7:3) against the same network on the same data under the patient protocol (split the patients,
  then augment the training part). Everything else is equal: profile, seed, augmentation parameters.
  The two test sets differ (that is the point), so the difference of a metric gets an *unpaired*
  bootstrap interval, each test set resampled by its own patients.
* **Intervals.** Each metric of the :data:`CV_CELLS` gets a 95 % interval from a bootstrap over the test
  *patients* (both views of a patient move together). The first ``profile.cv_cells`` of them also get
  a repeated grouped stratified K-fold (``profile.cv_folds`` x ``profile.cv_repeats``) with the
  Nadeau-Bengio corrected t interval, so a reader sees whether the two kinds of interval agree. The
  bootstrap measures how much the *test patients* move a number; the CV also moves the training
  patients and the initial weights, and so is the fuller (and costlier) answer.
* **Paired comparisons** (:data:`COMPARISONS`): the paper's claims as differences of two cells on the
  same test patients, with a paired patient bootstrap interval and p-value (a corrected resampled
  t-test over folds where both cells have CV runs).
* **Calibration** of dSPIC-AM on D2: reliability and expected calibration error on the test images,
  before and after a temperature fitted on the validation patients' images.
* **Multi-label.** :data:`MULTILABEL_CELL` trained with independent sigmoid outputs for M and A
  (:mod:`dspic_lib.pipeline.train`, ``head="sigmoid"``) against the paper's softmax and top-2 rule.
* **Prior shift.** D2 is enlarged to the class shares of the paper's Table 1 (N about a fifth), while its
  test part keeps the cohort's. Every D2 cell of the results (:data:`PRIOR_DATASET`) is read for its
  predicted-class shares against the true ones, and again after the known-priors correction of Saerens,
  Latinne & Decaestecker (2002) (:func:`dspic_lib.evaluation.metrics.prior_correct`), with accuracy and
  balanced accuracy (macro sensitivity) before and after, each with its patient-bootstrap interval and a
  paired interval of the change. The two priors are the class shares of the images the network was fitted
  on (the D2 build's training rows, validation patients left out) and of those images' originals (before
  the copies were added), over the outputs N, M, A with an M&A image counting half for M and half for A,
  as the softmax targets do (:func:`dspic_lib.evaluation.metrics.output_priors`).

Sentences for the book are generated here from the numbers (:func:`leakage_sentence` and friends), so
no number in chapter 07's prose is typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dspic_lib.config import Profile
from dspic_lib.errors import DataError
from dspic_lib.evaluation import metrics, results, stats
from dspic_lib.pipeline.train import SIGMOID_OUTPUTS
from dspic_lib.vocab import CLASSES, OUTPUTS

LEVEL = 0.95
LEAKAGE_CELL = ("dSPIC-AM", "D2")
# D1, not D2: the multi-label run is an extra training run of the cpu build's 30 minutes, and D1 costs
# half of D2 per epoch; its softmax twin (Table 5's D1 cell) is trained anyway.
MULTILABEL_CELL = ("dSPIC-AM", "D1")
CALIBRATION_CELL = ("dSPIC-AM", "D2")
CV_CELLS = (("dSPIC-AM", "D1"), ("dSPIC-AM", "D2"), ("dSPIC-RM", "D1"), ("dSPIC-RM", "D2"))
COMPARISONS = (
    ("dSPIC-AM beats dSPIC-RM on D2", ("dSPIC-AM", "D2"), ("dSPIC-RM", "D2")),
    ("D2 beats D1 (dSPIC-AM)", ("dSPIC-AM", "D2"), ("dSPIC-AM", "D1")),
    ("D2 beats D3 (dSPIC-AM)", ("dSPIC-AM", "D2"), ("dSPIC-AM", "D3")),
    ("pooling helps (dSPIC-AM on D2)", ("dSPIC-AM", "D2"), ("dSPIC-AM-nopool", "D2")),
)
COMPARE_METRICS = ("accuracy", "f1", "auc")
INTERVAL_METRICS = ("accuracy", "precision", "sensitivity", "specificity", "f1", "auc")
EXPERIMENTS = ("table5", "table6", "table8", "table9")      # the stored runs chapter 07 reads
PRIOR_DATASET = "D2"           # its training part is enlarged to Table 1's class shares, its test part is not
PRIOR_UNWEIGHTED = ("dSPIC-AM", "D2")   # trained once more without class weights, when the profile weights
UNWEIGHTED_LABEL = "dSPIC-AM, no class weights"


@dataclass
class Fold:
    """One CV fold's run and its sizes (the corrected t needs them)."""

    run: object
    n_train: int
    n_test: int


@dataclass
class Priors:
    """The class priors a network trained on a D2 build learned and those of its original images, over
    OUTPUTS (N, M, A), and the image counts per class they come from."""

    trained: np.ndarray            # the images the network was fitted on (originals + copies)
    original: np.ndarray           # their originals, before the copies were added
    counts: pd.DataFrame           # per class of CLASSES: "original images", "fitted images"
    test_images: tuple             # the build's test images, in order (each cell's must be these)


def priors_of(build, seed: int) -> Priors:
    """:class:`Priors` of a D2 build: the rows :func:`~dspic_lib.pipeline.train.validation_split` leaves for
    fitting with ``seed`` (what :func:`~dspic_lib.pipeline.train.fit` fits on), and their originals."""
    from dspic_lib.pipeline.train import fit_counts

    return _priors(fit_counts(build.train.meta, seed), tuple(build.test.meta["image"]))


def priors_of_run(run) -> Priors:
    """:class:`Priors` of a stored run, from the label counts it recorded when it was trained (nothing is
    built again)."""
    if not run.fit_counts:
        raise DataError(f"store entry {run.entry_id}: the run recorded no label counts; delete it to retrain")
    return _priors(run.fit_counts, tuple(run.test_meta["image"]))


def _priors(counts: dict, test_images: tuple) -> Priors:
    def labels(which):
        return np.repeat(np.array(list(counts[which]), dtype=object), list(counts[which].values()))

    table = pd.DataFrame({"original images": pd.Series(counts["original"]),
                          "fitted images": pd.Series(counts["fitted"])}).reindex(list(CLASSES)).fillna(0).astype(int)
    return Priors(trained=metrics.output_priors(labels("fitted")), original=metrics.output_priors(labels("original")),
                  counts=table.rename_axis("class"), test_images=test_images)


@dataclass
class Beyond:
    profile: Profile
    res: results.Results                       # tables 5, 6, 9 with the variance seeds
    leak: dict = field(default_factory=dict)   # "patient", "paper" runs; "leaked patients", ...
    multilabel: dict = field(default_factory=dict)   # "softmax", "sigmoid" runs
    cv: dict = field(default_factory=dict)     # (model, dataset) -> list[Fold]
    priors: "Priors | None" = None             # the class priors of the D2 build (prior shift)
    prior_runs: dict = field(default_factory=dict)   # label -> D2 run of the prior-shift section

    def entry_ids(self) -> list[str]:
        ids = self.res.entry_ids() + [r.entry_id for r in (*self.leak_runs(), *self.multilabel.values())]
        return ids + [f.run.entry_id for folds in self.cv.values() for f in folds]

    def leak_runs(self) -> list:
        return [self.leak[k] for k in ("patient", "paper") if k in self.leak]

    @property
    def n_boot(self) -> int:
        return self.profile.bootstrap_resamples


def run(ctx, *, data_dir=None, results_dir=None, progress: bool = True) -> Beyond:
    """Read the stored runs of the results chapters and of chapter 07's extra runs by their lineage keys
    (nothing scanned, decoded or augmented); runs missing from the store are trained, once, with a
    progress bar. ``ctx``: a :class:`~dspic_lib.pipeline.context.Context` (or a profile, with the
    folders as keywords)."""
    from tqdm import tqdm

    from dspic_lib.pipeline import lineage, train
    from dspic_lib.pipeline.context import of

    c = of(ctx, data_dir, results_dir)
    profile, lin, store = c.profile, lineage.of(c), c.store
    res = results.load(list(EXPERIMENTS), c, progress=progress)
    out = Beyond(profile, res)
    if any(d == PRIOR_DATASET for _, d in res.cells()):
        first = next(r for (_, d, s), r in res.runs.items() if d == PRIOR_DATASET and s == profile.seed)
        out.priors = priors_of_run(first)    # every D2 cell shares its build and validation split (profile seed)
        out.prior_runs = {m: res.run(m, d) for m, d in res.cells() if d == PRIOR_DATASET}
        if profile.class_weight != "none":   # what the shift does to a network trained without class weights
            plain = profile.override(class_weight="none")
            out.prior_runs[UNWEIGHTED_LABEL] = train.fit(PRIOR_UNWEIGHTED[0], lin.plan(PRIOR_UNWEIGHTED[1]), plain,
                                                         store=store, progress=progress)
    cv_cells = CV_CELLS[:max(0, profile.cv_cells)]
    todo = [("leakage", None, "softmax"), ("multilabel", None, "sigmoid")] + \
        [(cell, f, "softmax") for cell in cv_cells for f in range(lin.n_folds())]

    def plan_of(what, fold):
        if what == "leakage":
            return LEAKAGE_CELL[0], lin.plan(LEAKAGE_CELL[1], protocol="paper")
        if what == "multilabel":
            return MULTILABEL_CELL[0], lin.plan(MULTILABEL_CELL[1])
        return what[0], lin.plan(what[1], fold=fold)

    missing = [t for t in todo if store.get(train.train_key(store, plan_of(t[0], t[1])[0], plan_of(t[0], t[1])[1],
                                                             profile, profile.seed, t[2])) is None]
    for what, fold, head in tqdm(missing, desc="chapter 07 runs", unit="run", disable=not (progress and missing)):
        model, plan = plan_of(what, fold)
        train.fit(model, plan, profile, store=store, progress=progress, head=head)
    for what, fold, head in todo:
        model, plan = plan_of(what, fold)
        r = train.fit(model, plan, profile, store=store, progress=False, head=head)
        st = r.build_stats or {}
        if what == "leakage":
            out.leak = {"patient": res.run(*LEAKAGE_CELL), "paper": r,
                        "leaked patients": int(st.get("leaked_patients", 0)),
                        "test patients": int(st.get("test_patients", 0)),
                        "test images": int(st.get("test_images", len(r.test_meta))),
                        "copies in test": int(st.get("copies_in_test", 0))}
        elif what == "multilabel":
            out.multilabel = {"softmax": res.run(*MULTILABEL_CELL), "sigmoid": r}
        else:
            out.cv.setdefault(what, []).append(Fold(r, int(st.get("train_images", 0)),
                                                    int(st.get("test_images", len(r.test_meta)))))
    return out


# ---------------------------------------------------------------------------------------- intervals

def _groups(r) -> np.ndarray:
    return r.test_meta["patient"].astype(str).to_numpy()


def _three_class_run(r):
    """``r`` as a 3-class run: a sigmoid head's (M, A) outputs turned into probabilities of N (neither),
    M (M only) and A (A only), the two diseases taken as independent; a softmax run unchanged."""
    import dataclasses

    if r.head != "sigmoid":
        return r
    p = np.clip(np.asarray(r.proba, dtype=float), 0.0, 1.0)
    m, a = p[:, 0], p[:, 1]
    three = np.stack([(1 - m) * (1 - a), m * (1 - a), a * (1 - m)], axis=1)
    three /= np.maximum(three.sum(axis=1, keepdims=True), 1e-12)
    return dataclasses.replace(r, proba=three, head="softmax")


def gate(b: Beyond, r):
    """The learned gate of one run of this chapter (:meth:`~dspic_lib.evaluation.results.Results.gate_of`:
    the results chapters' bootstrap and cache, so a run they judged is not judged again); a sigmoid head
    is judged on its 3-class reading (:func:`_three_class_run`)."""
    return b.res.gate_of(_three_class_run(r))


def gate_runs(b: Beyond) -> list[tuple[str, object]]:
    """(what it is for, run) of every run this chapter's analyses rest on."""
    out = []
    if b.leak:
        out += [("leakage: patient protocol", b.leak["patient"]), ("leakage: paper protocol", b.leak["paper"])]
    out.append(("calibration", b.res.run(*CALIBRATION_CELL)))
    if b.multilabel:
        out += [("multi-label: softmax head", b.multilabel["softmax"]),
                ("multi-label: sigmoid head", b.multilabel["sigmoid"])]
    for (m, d), folds in b.cv.items():
        out += [(f"CV of {m} on {d}: fold {i + 1}", f.run) for i, f in enumerate(folds)]
    if UNWEIGHTED_LABEL in b.prior_runs:
        out.append((f"prior shift: {UNWEIGHTED_LABEL}", b.prior_runs[UNWEIGHTED_LABEL]))
    return out


def gate_table(b: Beyond) -> pd.DataFrame:
    """The learned gate of every run of :func:`gate_runs`, one row each."""
    rows = []
    for what, r in gate_runs(b):
        g = gate(b, r)
        rows.append({"analysis": what, "network": f"{r.model} on {r.dataset}" + (f", {r.head} head" if r.head != "softmax" else ""),
                     **g.columns(), "learned": "yes" if g.learned else "did not learn"})
    return pd.DataFrame(rows).set_index("analysis")


def gate_sentence(b: Beyond) -> str:
    """How many of this chapter's runs passed the gate, and which did not."""
    runs = gate_runs(b)
    failed = [what for what, r in runs if not gate(b, r).learned]
    if not failed:
        return f"All {len(runs)} runs this chapter's analyses rest on passed the learned gate."
    return (f"Of the {len(runs)} runs this chapter's analyses rest on, {len(runs) - len(failed)} passed the learned "
            f"gate; {len(failed)} did not learn ({'; '.join(failed)}), and the analyses built on them compare nothing.")


def bootstrap(r, b: Beyond, metric_names=INTERVAL_METRICS) -> pd.DataFrame:
    """Patient-bootstrap intervals of one run's metrics (index metric; value, low, high, n_boot)."""
    table = stats.bootstrap_metrics(r.y_true, r.proba, _groups(r), n_boot=b.n_boot, seed=b.profile.seed,
                                    level=LEVEL)
    return table.loc[list(metric_names)]


def cv_scores(folds: list[Fold], metric: str) -> np.ndarray:
    return np.array([metrics.summary(f.run.y_true, f.run.proba)[metric] for f in folds], dtype=float)


def cv_table(folds: list[Fold], metric_names=INTERVAL_METRICS) -> pd.DataFrame:
    """Corrected-t CV intervals of each metric over the folds (index metric). The t interval is
    symmetric and can reach past the metric's range with few folds; its ends are clipped to [0, 1]."""
    n_train = float(np.mean([f.n_train for f in folds]))
    n_test = float(np.mean([f.n_test for f in folds]))
    rows = {}
    for m in metric_names:
        s = cv_scores(folds, m)
        s = s[np.isfinite(s)]
        rows[m] = (stats.cv_interval(s, n_train, n_test, level=LEVEL) if len(s) >= 2
                   else {"mean": float(np.mean(s)) if len(s) else np.nan, "low": np.nan, "high": np.nan,
                         "sd": np.nan, "k": len(s)})
    out = pd.DataFrame(rows).T[["mean", "low", "high", "sd", "k"]].astype(float)
    out[["low", "high"]] = out[["low", "high"]].clip(0.0, 1.0)
    return out


def intervals(b: Beyond) -> pd.DataFrame:
    """Every metric of every :data:`CV_CELLS` cell with its bootstrap interval, and with its CV interval
    where the profile ran CV for it. Long format: model, dataset, metric, method, value, low, high."""
    rows = []
    for cell in CV_CELLS:
        boot = bootstrap(b.res.run(*cell), b)
        for m, row in boot.iterrows():
            rows.append({"model": cell[0], "dataset": cell[1], "metric": m, "method": bootstrap_method(b),
                         "value": row["value"], "low": row["low"], "high": row["high"]})
        if cell in b.cv:
            for m, row in cv_table(b.cv[cell]).iterrows():
                rows.append({"model": cell[0], "dataset": cell[1], "metric": m, "method": cv_method(b),
                             "value": row["mean"], "low": row["low"], "high": row["high"]})
    return pd.DataFrame(rows)


def bootstrap_method(b: Beyond) -> str:
    return f"bootstrap over test patients ({b.n_boot} resamples)"


def cv_method(b: Beyond) -> str:
    p = b.profile
    return f"{p.cv_folds}-fold CV x {p.cv_repeats} (corrected t)"


def methods_note(b: Beyond) -> str:
    """What "bootstrap" and "CV" mean in this run's tables."""
    p = b.profile
    cv = (f" *CV*: grouped stratified {p.cv_folds}-fold cross-validation repeated {p.cv_repeats} "
          f"time{'s' * (p.cv_repeats != 1)}, mean over folds with the corrected t interval (ends clipped to "
          "the range of the metric)." if b.cv else " No cell was cross-validated in this run.")
    return (f"*bootstrap*: {b.n_boot} resamples of the test patients, percentile interval at "
            f"{LEVEL:.0%}." + cv)


def twin(b: Beyond) -> pd.DataFrame | None:
    """The first CV cell: each metric's CV interval beside its bootstrap twin, and whether they overlap."""
    if not b.cv:
        return None
    cell = next(c for c in CV_CELLS if c in b.cv)
    boot, cv = bootstrap(b.res.run(*cell), b), cv_table(b.cv[cell])
    out = pd.DataFrame({"bootstrap value": boot["value"], "bootstrap low": boot["low"],
                        "bootstrap high": boot["high"], "CV mean": cv["mean"], "CV low": cv["low"],
                        "CV high": cv["high"]})
    out["intervals overlap"] = (out["bootstrap low"] <= out["CV high"]) & (out["CV low"] <= out["bootstrap high"])
    out["width ratio (CV / bootstrap)"] = ((out["CV high"] - out["CV low"])
                                           / (out["bootstrap high"] - out["bootstrap low"]))
    out.attrs["cell"] = cell
    return out


def twin_sentence(b: Beyond, t: pd.DataFrame | None) -> str:
    if t is None:
        return "No cell was cross-validated in this run, so no CV interval stands beside a bootstrap one."
    m, d = t.attrs["cell"]
    ok = t.dropna(subset=["CV low", "bootstrap low"])
    if ok.empty:
        return f"The CV and bootstrap intervals of {m} on {d} could not both be computed for any metric."
    overlap = int(ok["intervals overlap"].sum())
    ratio = float(np.nanmedian(ok["width ratio (CV / bootstrap)"]))
    folds = b.cv[(m, d)]
    head = (f"For {m} on {d}, the {cv_method(b)} interval and the test-patient bootstrap interval overlap for "
            f"{overlap} of {len(ok)} metrics; the CV interval is {ratio:.1f} times as wide (median over metrics)")
    if ratio >= 1:
        return (head + ", because it also moves the training patients and the initial weights, and because "
                f"{len(folds)} folds leave a t quantile with few degrees of freedom.")
    stuck_folds = sum(not gate(b, f.run).learned for f in folds)
    why = (f": {stuck_folds} of the {len(folds)} folds did not learn (learned gate above), and folds "
           "that give the same degenerate answer agree with each other more closely than a resample of test "
           "patients moves one run's score" if stuck_folds else
           ": its folds agree with each other more closely than a resample of test patients moves one run's score")
    return head + why + "."


# ---------------------------------------------------------------------------------------- comparisons

def comparisons(b: Beyond) -> pd.DataFrame:
    """The paper's claims as paired differences (first cell minus second) on the same test patients; a claim
    on a cell that did not learn gets no numbers, its column "did not learn" names the cell."""
    rows = []
    for claim, a, c in COMPARISONS:
        ra, rc = b.res.run(*a), b.res.run(*c)
        if ra.test_meta["image"].tolist() != rc.test_meta["image"].tolist():
            raise DataError(f"{claim}: the two cells were tested on different images; a paired test needs the same")
        failed = ", ".join(f"{m} on {d}" for m, d in (a, c) if not b.res.learned(m, d))
        if failed:             # a network that did not learn is compared with nothing
            rows += [{"claim": claim, "metric": m, "difference": np.nan, "low": np.nan, "high": np.nan,
                      "p": np.nan, "method": "", "did not learn": failed} for m in COMPARE_METRICS]
            continue
        for m in COMPARE_METRICS:
            if a in b.cv and c in b.cv:
                diffs = cv_scores(b.cv[a], m) - cv_scores(b.cv[c], m)
                folds = b.cv[a]
                r = stats.corrected_t_test(diffs[np.isfinite(diffs)], np.mean([f.n_train for f in folds]),
                                           np.mean([f.n_test for f in folds]))
                method = cv_method(b)
            else:
                r = stats.paired_bootstrap(ra.y_true, ra.proba, rc.proba, _groups(ra), metric=m,
                                           n_boot=b.n_boot, seed=b.profile.seed, level=LEVEL)
                method = f"paired {bootstrap_method(b)}"
            rows.append({"claim": claim, "metric": m, "difference": r["diff"], "low": r["low"],
                         "high": r["high"], "p": r["p"], "method": method, "did not learn": ""})
    return pd.DataFrame(rows)


def p_text(p: float) -> str:
    """A p-value as the page prints it: three decimals, or "< 0.001" (a bootstrap of n resamples cannot
    give less than about 2 / n, so "0.00" would claim more than it measured)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def comparison_sentences(table: pd.DataFrame) -> list[str]:
    """One sentence per claim, from its accuracy row (and F1 where it says otherwise)."""
    out = []
    for claim, group in table.groupby("claim", sort=False):
        failed = group["did not learn"].iloc[0] if "did not learn" in group else ""
        if failed:
            out.append(f"**{claim}** is not settled: {failed} did not learn (learned gate), so nothing is compared.")
            continue
        parts = []
        for _, row in group.iterrows():
            if not np.isfinite(row["difference"]):
                parts.append(f"{row['metric']}: not computable")
                continue
            parts.append(f"{row['metric']} {row['difference']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}], "
                         f"{p_text(row['p'])}")
        acc = group.set_index("metric").loc["accuracy"]
        if not np.isfinite(acc["low"]):
            verdict = "cannot be judged from accuracy in this run"
        elif acc["low"] > 0:
            verdict = "is supported: the accuracy interval lies above zero"
        elif acc["high"] < 0:
            verdict = "is contradicted: the accuracy interval lies below zero"
        else:
            verdict = "is not settled: the accuracy interval contains zero"
        out.append(f"**{claim}** {verdict} ({'; '.join(parts)}; {group['method'].iloc[0]}).")
    return out


# ---------------------------------------------------------------------------------------- leakage

def leakage(b: Beyond) -> pd.DataFrame:
    """Per metric: the patient-protocol and paper-protocol values with intervals and their difference."""
    pat, pap = b.leak["patient"], b.leak["paper"]
    bp, bq = bootstrap(pat, b), bootstrap(pap, b)
    rows = []
    for m in INTERVAL_METRICS:
        d = stats.unpaired_bootstrap_diff((pap.y_true, pap.proba, _groups(pap)),
                                          (pat.y_true, pat.proba, _groups(pat)), metric=m, n_boot=b.n_boot,
                                          seed=b.profile.seed, level=LEVEL)
        rows.append({"metric": m, "patient protocol": bp.loc[m, "value"],
                     "patient low": bp.loc[m, "low"], "patient high": bp.loc[m, "high"],
                     "paper protocol": bq.loc[m, "value"], "paper low": bq.loc[m, "low"],
                     "paper high": bq.loc[m, "high"], "inflation": d["diff"], "inflation low": d["low"],
                     "inflation high": d["high"], "p": d["p"]})
    return pd.DataFrame(rows).set_index("metric")


def leakage_sentence(b: Beyond, table: pd.DataFrame) -> str:
    L = b.leak
    acc = table.loc["accuracy"]
    share = L["leaked patients"] / max(1, L["test patients"])
    head = (f"Under the paper's protocol, {L['leaked patients']} of the {L['test patients']} patients in the test "
            f"images ({share:.0%}) also have images (the other view, or copies) in training, and "
            f"{L['copies in test']} of the {L['test images']} test images are augmented copies.")
    if not np.isfinite(acc["inflation"]):
        return head + " The accuracy difference could not be computed."
    failed = [name for name in ("patient", "paper") if not gate(b, L[name]).learned]
    if failed:
        return head + (" The run under " + " and the run under ".join(
            {"patient": "patient-level splits", "paper": "the paper's protocol"}[f] for f in failed)
            + " did not learn (learned gate above), so this run cannot show what leakage does to a network "
            "that learned, and the two accuracies are not compared.")
    where = ("above zero: the protocol inflates accuracy" if acc["inflation low"] > 0 else
             "below zero: the protocol lowers accuracy here" if acc["inflation high"] < 0 else
             "contains zero: this run cannot tell the inflation from noise")
    return (head + f" The accuracy is {acc['paper protocol']:.3f} under that protocol against "
            f"{acc['patient protocol']:.3f} with patient-level splits, a difference of "
            f"{acc['inflation']:+.3f} ({LEVEL:.0%} interval {acc['inflation low']:+.3f} to {acc['inflation high']:+.3f}, "
            f"{p_text(acc['p'])}); the interval {where}.")


# ---------------------------------------------------------------------------------------- calibration

def _single(y, p):
    keep = np.asarray(y) != metrics.BOTH
    return np.asarray(y)[keep], np.asarray(p)[keep]


def calibration(b: Beyond) -> dict:
    """Reliability tables and ECE of the calibration cell's test images, before and after temperature
    scaling fitted on its validation images (M&A images left out: they have no single right answer)."""
    r = b.res.run(*CALIBRATION_CELL)
    y_val, p_val = _single(r.val_meta["label"].to_numpy(dtype=object), r.val_proba)
    y, p = _single(r.y_true, r.proba)
    T = stats.fit_temperature(p_val, y_val)
    scaled = stats.apply_temperature(p, T)
    return {"cell": CALIBRATION_CELL, "temperature": T, "validation images": len(y_val), "test images": len(y),
            "ece before": stats.ece(y, p), "ece after": stats.ece(y, scaled),
            "before": stats.reliability(y, p), "after": stats.reliability(y, scaled),
            "accuracy before": float(np.mean(metrics.predict(p) == y)) if len(y) else np.nan,
            "accuracy after": float(np.mean(metrics.predict(scaled) == y)) if len(y) else np.nan}


def calibration_sentence(c: dict, b: Beyond | None = None) -> str:
    m, d = c["cell"]
    if b is not None and not gate(b, b.res.run(m, d)).learned:
        return (f"{m} on {d} did not learn (learned gate above), so its calibration is not judged: the diagram "
                "shows how an untrained network's confidence is spread, not whether a trained one's can be trusted.")
    T = c["temperature"]
    effect = ("softens" if T > 1 else "sharpens") + " the probabilities"
    change = "lowers" if c["ece after"] < c["ece before"] else "raises"
    return (f"For {m} on {d}, the temperature fitted on {c['validation images']} validation images is "
            f"T = {T:.2f} (it {effect}); on {c['test images']} test images it {change} the expected calibration "
            f"error, from {c['ece before']:.3f} to {c['ece after']:.3f}. Accuracy does not change "
            f"({c['accuracy before']:.3f} before, {c['accuracy after']:.3f} after): a temperature rescales "
            "confidence, never the ranking.")


# ---------------------------------------------------------------------------------------- multi-label

def sigmoid_labels(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Labels from independent (M, A) outputs: each disease present when its output >= ``threshold``."""
    p = np.asarray(proba, dtype=float).reshape(-1, len(SIGMOID_OUTPUTS))
    m, a = p[:, 0] >= threshold, p[:, 1] >= threshold
    return np.where(m & a, "M&A", np.where(m, "M", np.where(a, "A", "N"))).astype(object)


def softmax_correct(y, proba) -> np.ndarray:
    """Per image, correct under the paper's rules: arg-max for N/M/A images, the top-2 rule for M&A."""
    y = np.asarray(y, dtype=object)
    ok = metrics.predict(proba).astype(object) == y
    both = np.flatnonzero(y == metrics.BOTH)
    if len(both):
        ok[both] = metrics.top2(y, proba)["correct"].to_numpy()
    return ok


def multilabel(b: Beyond) -> pd.DataFrame:
    """Images correct per class under the softmax + top-2 rule and under the sigmoid head."""
    soft, sig = b.multilabel["softmax"], b.multilabel["sigmoid"]
    y = soft.y_true
    if sig.test_meta["image"].tolist() != soft.test_meta["image"].tolist():
        raise DataError("the multi-label runs were tested on different images")
    rules = {"softmax + top-2 rule (the paper)": softmax_correct(y, soft.proba),
             "sigmoid head, 0.5 per disease": sigmoid_labels(sig.proba) == y}
    rows = []
    for label in ["all", *[c for c in CLASSES if (y == c).any()]]:
        keep = np.ones(len(y), bool) if label == "all" else (y == label)
        row = {"images": int(keep.sum())}
        for name, ok in rules.items():
            row[name] = float(np.mean(ok[keep])) if keep.any() else np.nan
        rows.append(pd.Series(row, name=label))
    return pd.DataFrame(rows).astype({"images": int}).rename_axis("true class")


def multilabel_sentence(b: Beyond, table: pd.DataFrame) -> str:
    soft, sig = table.columns[1], table.columns[2]
    m, d = MULTILABEL_CELL
    failed = [h for h in ("softmax", "sigmoid") if not gate(b, b.multilabel[h]).learned]
    if failed:
        return (f"The {' and the '.join(failed)} head{'s' * (len(failed) > 1)} of {m} on {d} did not learn "
                "(learned gate above), so the two ways of naming both diseases are not compared.")
    head = (f"On all {int(table.loc['all', 'images'])} test images of {m} on {d}, "
            f"{table.loc['all', soft]:.1%} are right under the paper's rules and {table.loc['all', sig]:.1%} "
            "with the sigmoid head.")
    if "M&A" not in table.index:
        return head + " The test part has no M&A image, so the two ways of naming both diseases cannot be compared."
    n = int(table.loc["M&A", "images"])
    return (head + f" On the {n} M&A images, the top-2 rule credits {table.loc['M&A', soft]:.0%} and the sigmoid "
            f"head names both diseases for {table.loc['M&A', sig]:.0%}. The comparison is not even: the top-2 "
            "rule is told which images are M&A and only checks the ranking, while the sigmoid head must "
            "decide on its own that both diseases are present.")


# ---------------------------------------------------------------------------------------- prior shift

PRIOR_METRICS = {"accuracy": "accuracy", "sensitivity": "balanced accuracy"}   # macro recall over N, M, A


def prior_cells(b: Beyond) -> list[str]:
    """The labels of the prior-shift section's runs (:attr:`Beyond.prior_runs`: the D2 cells of the results
    with the profile's seed, and dSPIC-AM on D2 without class weights when the profile weights classes); each
    was tested on the D2 build's test images (DataError otherwise: its priors would be another build's)."""
    for label, r in b.prior_runs.items():
        if b.priors is None or tuple(r.test_meta["image"]) != b.priors.test_images:
            raise DataError(f"{label}: its test images are not those of the {PRIOR_DATASET} build whose priors "
                            "were computed; the prior correction would use another build's class shares")
    return list(b.prior_runs)


def learned_prior(b: Beyond, label: str) -> np.ndarray:
    """The class prior a run's loss taught it over OUTPUTS: the fitted images' shares, re-weighted by its class
    weights when it had them (then the originals' shares: the loss already undid the shift)."""
    r = b.prior_runs[label]
    if not r.class_weights:
        return b.priors.trained
    w = b.priors.trained * np.asarray(r.class_weights, dtype=float)
    return w / w.sum()


def corrected(b: Beyond, label: str) -> np.ndarray:
    """The test probabilities of run ``label`` moved from the prior it learned to that of the original images."""
    return metrics.prior_correct(b.prior_runs[label].proba, learned_prior(b, label), b.priors.original)


def prior_table(b: Beyond) -> pd.DataFrame:
    """Per class: images the D2 networks were fitted on and their originals, and the two priors over the
    outputs N, M, A that the correction uses (M&A counts half for M and half for A)."""
    t = b.priors.counts.copy()
    for name, prior in (("original prior", b.priors.original), ("D2 prior", b.priors.trained)):
        t[name] = pd.Series(dict(zip(OUTPUTS, prior)))
    t.loc["total"] = t.sum()
    return t.astype({"original images": int, "fitted images": int})


def _three_class_shares(y) -> pd.Series:
    y = pd.Series(np.asarray(y, dtype=object))
    y = y[y != metrics.BOTH]
    return pd.Series({c: float((y == c).sum()) / max(len(y), 1) for c in OUTPUTS})


def prior_shares(b: Beyond) -> pd.DataFrame:
    """Per D2 cell and output class, among the 3-class test images (M&A left out, as the metrics do): the
    true share, the predicted share as trained and after the prior correction (index model, class)."""
    rows = []
    for label in prior_cells(b):
        r = b.prior_runs[label]
        y, p = metrics.three_class(r.y_true, r.proba)
        _, q = metrics.three_class(r.y_true, corrected(b, label))
        true, before, after = _three_class_shares(y), metrics.predicted_shares(p), metrics.predicted_shares(q)
        for c in OUTPUTS:
            rows.append({"model": label, "class": c, "true share": true[c], "predicted, as trained": before[c],
                         "predicted, corrected": after[c]})
    return pd.DataFrame(rows).set_index(["model", "class"])


def prior_scores(b: Beyond) -> pd.DataFrame:
    """Per D2 cell and metric (accuracy, balanced accuracy = macro sensitivity): the value as trained and
    after correction, each with its patient-bootstrap interval, and the change (after minus before) with
    a paired patient-bootstrap interval and p-value (index model, metric)."""
    rows = []
    for label in prior_cells(b):
        r = b.prior_runs[label]
        q = corrected(b, label)
        kw = {"n_boot": b.n_boot, "seed": b.profile.seed, "level": LEVEL}
        before = stats.bootstrap_metrics(r.y_true, r.proba, _groups(r), metrics=tuple(PRIOR_METRICS), **kw)
        after = stats.bootstrap_metrics(r.y_true, q, _groups(r), metrics=tuple(PRIOR_METRICS), **kw)
        for m, name in PRIOR_METRICS.items():
            d = stats.paired_bootstrap(r.y_true, q, r.proba, _groups(r), metric=m, **kw)
            rows.append({"model": label, "metric": name, "as trained": before.loc[m, "value"],
                         "as trained low": before.loc[m, "low"], "as trained high": before.loc[m, "high"],
                         "corrected": after.loc[m, "value"], "corrected low": after.loc[m, "low"],
                         "corrected high": after.loc[m, "high"], "change": d["diff"], "change low": d["low"],
                         "change high": d["high"], "p": d["p"]})
    return pd.DataFrame(rows).set_index(["model", "metric"])


def _iv(v, lo, hi, sign: str = "") -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:{sign}.3f} [{lo:{sign}.3f}, {hi:{sign}.3f}]" if np.isfinite(lo) else f"{v:{sign}.3f}"


def prior_score_table(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`prior_scores` for reading: "value [low, high]" per column."""
    return pd.DataFrame({
        "as trained": [_iv(r["as trained"], r["as trained low"], r["as trained high"]) for _, r in scores.iterrows()],
        "corrected": [_iv(r["corrected"], r["corrected low"], r["corrected high"]) for _, r in scores.iterrows()],
        "change": [_iv(r["change"], r["change low"], r["change high"], "+") for _, r in scores.iterrows()],
        "p": [p_text(r["p"]).removeprefix("p ").removeprefix("= ") if np.isfinite(r["p"]) else "n/a"
              for _, r in scores.iterrows()],
    }, index=scores.index)


def _single_class(proba) -> str | None:
    """The class predicted for every row, or None (several)."""
    pred = set(metrics.predict(proba))
    return next(iter(pred)) if len(pred) == 1 else None


def prior_sentences(b: Beyond, shares: pd.DataFrame, scores: pd.DataFrame) -> list[str]:
    """What the shift does and what the correction changes, one sentence per D2 cell, after one on the
    priors; a cell that predicted one class for every 3-class test image "did not learn"."""
    pr, n_cells = b.priors, len(prior_cells(b))
    true_n = float(shares["true share"].xs("N", level="class").iloc[0]) if len(shares) else np.nan
    out = [f"The D2 networks were fitted on images with N at {pr.trained[0]:.0%} (M&A counted half for M and half "
           f"for A), their originals have N at {pr.original[0]:.0%}, and among the 3-class test images N is "
           f"{true_n:.0%}. The correction multiplies each output by the ratio of the two priors, "
           + ", ".join(f"{c} by {o / t:.2f}" for c, o, t in zip(OUTPUTS, pr.original, pr.trained)) + ", and renormalises."]
    stuck = 0
    weighted = [m for m in prior_cells(b) if b.prior_runs[m].class_weights]
    if weighted:
        out.append(f"{len(weighted)} of these networks were trained with the profile's class weights, which weight "
                   "each class's loss back to the originals' shares: for them the learned prior already is the "
                   "cohort's, and the correction leaves their outputs as they are. "
                   + (f"**{UNWEIGHTED_LABEL}** is dSPIC-AM trained on D2 without them, to show the shift itself."
                      if UNWEIGHTED_LABEL in b.prior_runs else ""))
    for m in prior_cells(b):
        r = b.prior_runs[m]
        _, p = metrics.three_class(r.y_true, r.proba)
        one = _single_class(p)
        sh = shares.loc[m]
        if not gate(b, r).learned:
            stuck += 1
            _, q = metrics.three_class(r.y_true, corrected(b, m))
            after = _single_class(q)
            moved = (f"; after the correction it predicts {after} for all of them instead, which follows the "
                     "priors, not the images" if one is not None and after is not None and after != one else "")
            what = f"predicted {one} for every 3-class test image" if one is not None else "failed the learned gate"
            out.append(f"**{m}** {what}: it did not learn, so its correction is not judged{moved}.")
            continue
        acc = scores.loc[(m, "accuracy")]
        bal = scores.loc[(m, "balanced accuracy")]
        out.append(
            f"**{m}** predicts N for {sh.loc['N', 'predicted, as trained']:.0%} of the 3-class test images "
            f"(true {sh.loc['N', 'true share']:.0%}) and for {sh.loc['N', 'predicted, corrected']:.0%} after the "
            f"correction; accuracy goes from {acc['as trained']:.3f} to {acc['corrected']:.3f} (change "
            f"{_iv(acc['change'], acc['change low'], acc['change high'], '+')}, {p_text(acc['p'])}), balanced "
            f"accuracy from {bal['as trained']:.3f} to {bal['corrected']:.3f} (change "
            f"{_iv(bal['change'], bal['change low'], bal['change high'], '+')}).")
    if stuck:
        out.append(f"{stuck} of the {n_cells} D2 networks did not learn, so for "
                   f"{'them' if stuck > 1 else 'it'} this section measures an untrained network (the "
                   f"{b.profile.name} profile trains for at most {b.profile.epochs} epoch"
                   f"{'s' * (b.profile.epochs != 1)}), not what a prior shift does to a classifier.")
    return out


# ---------------------------------------------------------------------------------------- for the page

def interval_table(iv: pd.DataFrame) -> pd.DataFrame:
    """:func:`intervals` as one row per cell and method, each metric as "value [low, high]"."""
    cell = iv.apply(lambda r: f"{r['value']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
                    if np.isfinite(r["low"]) else (f"{r['value']:.3f}" if np.isfinite(r["value"]) else "n/a"), axis=1)
    short = iv["method"].str.split(" ").str[0].where(iv["method"].str.startswith("bootstrap"), "CV")
    wide = iv.assign(cell=cell, method=short).pivot_table(index=["model", "dataset", "method"], columns="metric", values="cell",
                                            aggfunc="first", sort=False)
    return wide[[m for m in INTERVAL_METRICS if m in wide.columns]]


def interval_frame(iv: pd.DataFrame, metric_names=("accuracy", "f1")) -> pd.DataFrame:
    """Rows for a forest plot: one per cell, metric and method, with the paper's value where it has one."""
    from dspic_lib.evaluation import claims

    paper = claims.paper_values().drop_duplicates(["model", "dataset", "metric"]).set_index(
        ["model", "dataset", "metric"])["paper"]
    sub = iv[iv["metric"].isin(metric_names)].copy()
    sub["paper"] = [paper.get((m, d, k), np.nan) for m, d, k in zip(sub["model"], sub["dataset"], sub["metric"])]
    short = sub["method"].str.split(" ").str[0].map({"bootstrap": "bootstrap"}).fillna("CV")
    sub.index = sub["model"] + " on " + sub["dataset"] + ", " + sub["metric"] + " (" + short + ")"
    return sub[["value", "low", "high", "paper"]]


def leakage_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The two protocols' values and intervals as rows of a forest plot."""
    rows = []
    for m, r in table.iterrows():
        rows.append(pd.Series({"value": r["patient protocol"], "low": r["patient low"], "high": r["patient high"]},
                              name=f"{m}, patient split"))
        rows.append(pd.Series({"value": r["paper protocol"], "low": r["paper low"], "high": r["paper high"]},
                              name=f"{m}, paper's image split"))
    return pd.DataFrame(rows)


def stuck(b: Beyond) -> list[str]:
    """One sentence per extra run of this chapter that predicted a single class for every test image."""
    out = []  # (the learned gate, gate_table, is the stricter test; this names the plainest failure)
    for label, r in [("the paper-protocol run", b.leak.get("paper")), *[
            (f"CV fold {i + 1} of {m} on {d}", f.run) for (m, d), folds in b.cv.items()
            for i, f in enumerate(folds)]]:
        if r is not None and len(r.proba) and len(set(metrics.predict(r.proba))) == 1:
            out.append(f"{label[0].upper()}{label[1:]} predicted {metrics.predict(r.proba)[0]} for every test image.")
    sig = b.multilabel.get("sigmoid")
    if sig is not None and len(set(sigmoid_labels(sig.proba))) == 1:
        out.append(f"The sigmoid-head run named {sigmoid_labels(sig.proba)[0]} for every test image.")
    return out
