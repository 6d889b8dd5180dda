"""Fit and evaluate one experiment: one model of the zoo on one dataset build, one profile, one seed.

The loop, short enough to read in one screen (:func:`fit`):

1. **Validation patients from the training patients.** A stratified ``VAL_FRACTION`` of the training
   patients is held out; their original images are the validation set, and nothing of theirs
   (originals or geometric copies) is trained on. The test patients are never looked at before the
   final prediction. DCGAN samples (D3) are trained on; their generators saw every training patient,
   validation ones included, so D3's validation scores can be a little optimistic (its test scores
   cannot: the generators never saw a test patient).
2. **Adam** with the profile's learning rate, the profile's batch size, categorical cross-entropy on
   the three softmax outputs (an M&A image has the target ``(0, 0.5, 0.5)``, see ``datasets``). With the
   profile's ``class_weight="cohort"`` each class's loss is weighted by its share among the fitted rows'
   original images over its share among all fitted rows (:func:`cohort_class_weights`): D2 and D3 enlarge
   the classes unevenly (Table 1) while a patient split leaves the test part at the cohort's shares (the
   paper's protocol, which splits after enlarging, is trained unweighted: its test part has D2's shares).
   The network starts from the profile's initialisation (``init``, He-normal by default, see
   :mod:`dspic_lib.models.zoo`) and its input standardisation is set from the mean and SD of the
   training images' pixels (validation images excluded), under the profile's ``precision``
   (:func:`precision_policy`: bfloat16 mixed precision where the CPU has it in hardware, for ``auto``).
3. **Epochs** through the ``tf.data`` input of :mod:`dspic_lib.pipeline.inputs` (a seeded new order each epoch);
   after each, loss, accuracy and balanced accuracy on the validation images. The weights kept are those
   of the best epoch by the profile's ``select_on`` (``val_loss``; ``val_balanced_accuracy``, ties going
   to the lower validation loss; or ``last``: the last epoch); with ``early_stopping_patience > 0`` the
   run also stops when that score has not improved for that many epochs, counted only once the
   validation images get more than one class (a run still on the one-class plateau is never cut: the
   budget's first rule, patience 3 on the validation loss, stopped such runs before they started).
   Model selection looks at validation patients only.
4. **Prediction** of the test part: softmax probabilities per image, kept with the image ids; the
   validation images' probabilities are kept too (chapter 07 fits a temperature on them).

``head="sigmoid"`` trains the same network with independent sigmoid outputs for M and A (binary
cross-entropy; N is "neither", M&A "both") instead of the paper's softmax: the multi-label alternative
that chapter 07 compares with the paper's top-2 rule. Its probabilities are ``(n, 2)`` over
:data:`SIGMOID_OUTPUTS`.

Determinism: the seed fixes the initial weights (``models.build(..., seed=...)``), Keras' random state,
the validation split and every epoch's order; TensorFlow's op determinism is switched on, so on a CPU
the same seed gives the same numbers. Results (weights, history, test and validation probabilities
with their images' meta, the build's counts) are an entry of the result store, keyed by everything
above and the build's lineage id (:mod:`dspic_lib.pipeline.lineage`; a build made in memory: its
arrays' fingerprint), so a second run reads them, and a :class:`Run` is read from its entry alone.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.config import Profile
from dspic_lib.errors import DataError
from dspic_lib.store import Store, as_store, fingerprint

VAL_FRACTION = 0.15
HEADS = ("softmax", "sigmoid")
SIGMOID_OUTPUTS = ("M", "A")            # the outputs of a sigmoid head (N = neither)


def head_targets(y: np.ndarray, head: str) -> np.ndarray:
    """Training targets of a head from the softmax targets over (N, M, A) of :mod:`dspic_lib.pipeline.datasets`:
    unchanged for ``softmax``; for ``sigmoid`` one 0/1 column per disease of :data:`SIGMOID_OUTPUTS`
    (an M&A image, softmax target (0, 0.5, 0.5), is (1, 1))."""
    return y if head == "softmax" else (y[:, 1:] > 0).astype(np.float32)


@dataclass
class Run:
    """One trained and evaluated experiment."""

    model: str
    dataset: str
    seed: int
    history: pd.DataFrame          # epoch, loss, val_loss, val_accuracy
    proba: np.ndarray              # (n_test, 3) softmax over OUTPUTS; (n_test, 2) for a sigmoid head
    test_meta: pd.DataFrame        # image, patient, view, label of each test row
    best_epoch: int
    seconds: float
    entry_id: str
    cached: bool
    val_proba: np.ndarray          # the validation images' probabilities (the kept weights)
    val_meta: pd.DataFrame         # image, patient, view, label of each validation row
    head: str = "softmax"
    protocol: str = "patient"
    build_stats: dict | None = None   # the build's counts (train/test images, leaked patients, ...)
    policy: str = "float32"           # the Keras dtype policy it was trained under
    fit_counts: dict | None = None    # {"fitted": {label: n}, "original": {label: n}} of the rows fitted on
    class_weights: list | None = None  # the loss's weight of N, M, A (None: unweighted)

    @property
    def y_true(self) -> np.ndarray:
        return self.test_meta["label"].to_numpy(dtype=object)


def validation_split(meta: pd.DataFrame, seed: int, fraction: float = VAL_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """``(train_rows, val_rows)`` of a training part: validation = original images of a stratified
    ``fraction`` of its patients; training = every row not belonging to those patients (rows without a
    patient, DCGAN samples, always train)."""
    from dspic_lib.pipeline.split import patient_split

    originals = meta[(meta["source"] == "original") & meta["patient"].notna()]
    if originals["patient"].nunique() < 4:
        raise DataError(f"training part has {originals['patient'].nunique()} patients; a validation split "
                        "needs at least 4")
    part = patient_split(originals.reset_index(drop=True), fraction, seed)
    val_patients = set(originals["patient"].iloc[part.test])
    in_val = meta["patient"].isin(val_patients).to_numpy()
    is_orig = (meta["source"] == "original").to_numpy()
    return np.flatnonzero(~in_val), np.flatnonzero(in_val & is_orig)


def fit_counts(meta: pd.DataFrame, seed: int) -> dict:
    """Label counts of the rows a run with ``seed`` fits on (:func:`validation_split`'s training rows)
    and of the original images among them: the class priors the network learned and those of the data
    before augmentation (chapter 07's prior correction reads them from the run)."""
    rows, _ = validation_split(meta, seed)
    fitted = meta.iloc[rows]
    original = fitted[fitted["source"] == "original"]
    return {"fitted": {str(k): int(v) for k, v in fitted["label"].value_counts().sort_index().items()},
            "original": {str(k): int(v) for k, v in original["label"].value_counts().sort_index().items()}}


def cohort_class_weights(targets: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Per output (column of ``targets``): the class's share among the fitted rows' original images over
    its share among all fitted rows. ``targets``: the fitted rows' softmax targets
    (:func:`dspic_lib.pipeline.datasets.targets_for`, so an M&A image counts half for M and half for A);
    ``original``: which of those rows are original images. Weighting each row's loss by its class's factor
    makes the loss the one of a training part with the originals' class shares: D2 and D3 enlarge the
    classes unevenly (Table 1), and with a patient split the test part keeps the cohort's shares."""
    original = np.asarray(original, dtype=bool)
    if not original.any():
        raise DataError("class weights need original images among the fitted rows")
    fitted, originals = targets.mean(axis=0), targets[original].mean(axis=0)
    if (fitted <= 0).any() or (originals <= 0).any():
        raise DataError(f"class weights need every class among the fitted images and their originals "
                        f"(shares {fitted.round(3).tolist()} and {originals.round(3).tolist()})")
    return originals / fitted


def _evaluate(model, X, y, rows, batch_size: int, head: str = "softmax") -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy and accuracy on ``rows``, and their probabilities. ``y`` holds the head's
    targets; softmax: categorical cross-entropy, accuracy of the 3-class images; sigmoid: binary
    cross-entropy, share of images whose two 0.5-thresholded outputs are both right."""
    proba = predict(model, X[rows], batch_size)
    target = y[rows]
    p = np.clip(proba, 1e-7, 1.0 - 1e-7)
    if head == "sigmoid":
        loss = float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
        acc = float(np.mean(np.all((proba >= 0.5) == (target > 0.5), axis=1))) if len(rows) else float("nan")
        return loss, acc, proba
    loss = float(-np.mean(np.sum(target * np.log(p), axis=1)))
    single = target.max(axis=1) == 1.0
    acc = float(np.mean(proba[single].argmax(1) == target[single].argmax(1))) if single.any() else float("nan")
    return loss, acc, proba


def predict(model, X: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The model's outputs (n, k): softmax probabilities over OUTPUTS, or a sigmoid head's; in batches
    (a whole cohort never goes through at once)."""
    X = X[..., None] if X.ndim == 3 else X
    out = [np.asarray(model(np.asarray(X[i:i + batch_size], np.float32), training=False))
           for i in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, int(model.output_shape[-1])), np.float32)


def check_room_for_weights(model, folder: Path) -> None:
    """Raise :class:`~dspic_lib.errors.OutputError` when the filesystem of ``folder`` cannot hold the
    model's weights (4 bytes per parameter, plus a margin): said before TensorFlow / h5py writes, which
    on a full disk could end the process with a segfault instead of an error."""
    from dspic_lib.outputs import check_free_space

    n = int(model.count_params())
    check_free_space(folder, 4 * n, f"the weights of {n} parameters")


DISTRIBUTE = ("auto", "mirrored", "none")


def strategy():
    """The ``tf.distribute`` strategy training runs under, from ``DSPIC_DISTRIBUTE``:

    * ``auto`` (default): ``MirroredStrategy`` over every GPU when several are visible (each batch of
      the profile's size is split between them, gradients are summed across them), else the default
      strategy (one device);
    * ``mirrored``: ``MirroredStrategy`` over whatever devices TensorFlow sees (also on one device);
    * ``none``: always the default strategy.
    """
    import os

    from dspic_lib._tf import tf
    from dspic_lib.options import look_up_option

    mode = look_up_option(os.environ.get("DSPIC_DISTRIBUTE", "auto"), DISTRIBUTE, what="DSPIC_DISTRIBUTE")
    gpus = tf.config.list_logical_devices("GPU")
    if mode == "mirrored" or (mode == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy([d.name for d in gpus] or None)
    return tf.distribute.get_strategy()


PRECISIONS = ("float32", "bf16", "auto")
CLASS_WEIGHTS = ("none", "cohort")
SELECT_ON = ("val_loss", "val_balanced_accuracy", "last")


@functools.lru_cache(maxsize=1)
def hardware_bf16() -> bool:
    """True on a CPU that computes bfloat16 in hardware (Intel AMX or AVX512-BF16), read from
    ``/proc/cpuinfo``; False elsewhere (and where that file does not exist)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("amx_bf16", "avx512_bf16"))


def precision_policy(precision: str) -> str:
    """The Keras dtype policy of a profile's ``precision``: ``float32``; ``bf16`` = ``mixed_bfloat16``
    (weights in float32, most arithmetic in bfloat16, the output layer in float32); ``auto`` = bf16 on a
    CPU with bfloat16 in hardware and no GPU visible, float32 anywhere else. The resolved policy is part
    of every training key, so a store never mixes the two."""
    from dspic_lib.options import look_up_option
    from dspic_lib.provenance import device_kind

    look_up_option(precision, PRECISIONS, what="precision")
    if precision == "auto":   # decided without TensorFlow: every training key asks, also on the read path
        precision = "bf16" if hardware_bf16() and device_kind() == "cpu" else "float32"
    return "mixed_bfloat16" if precision == "bf16" else "float32"


def standardization(X: np.ndarray, rows: np.ndarray, chunk: int = 256) -> tuple[float, float]:
    """Mean and SD of the pixels of images ``rows`` of ``X`` (the training images only), in float64,
    a chunk of images at a time (``X`` may be a memory map)."""
    rows = np.sort(np.asarray(rows))
    n = total = total_sq = 0.0
    for i in range(0, len(rows), chunk):
        part = np.asarray(X[rows[i:i + chunk]], dtype=np.float64)
        n, total, total_sq = n + part.size, total + part.sum(), total_sq + np.square(part).sum()
    mean = total / n
    return float(mean), float(np.sqrt(max(total_sq / n - mean * mean, 0.0)))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray, head: str) -> float:
    """Balanced accuracy (mean recall over the classes present) of the single-label images; for a
    sigmoid head, of the four label combinations."""
    from sklearn.metrics import balanced_accuracy_score

    if head == "sigmoid":
        truth = (y > 0.5).astype(int) @ np.array([1, 2])
        pred = (proba >= 0.5).astype(int) @ np.array([1, 2])
        return float(balanced_accuracy_score(truth, pred)) if len(y) else float("nan")
    single = y.max(axis=1) == 1.0
    if not single.any():
        return float("nan")
    return float(balanced_accuracy_score(y[single].argmax(1), proba[single].argmax(1)))


def _predicted_classes(proba: np.ndarray, head: str) -> int:
    """How many different classes (softmax: arg-max over N, M, A; sigmoid: label combinations) the
    validation images get: 1 while a network sits on the one-class plateau."""
    if not len(proba):
        return 0
    if head == "sigmoid":
        return int(len(np.unique((proba >= 0.5).astype(int) @ np.array([1, 2]))))
    return int(len(np.unique(proba.argmax(1))))


def _train(model_name: str, build, profile: Profile, seed: int, progress: bool, head: str = "softmax"):
    """The loop of the module docstring. Returns (model, history, best_epoch, validation rows, the
    input standardisation (mean, SD), the dtype policy, the class weights or None)."""
    from tqdm import tqdm  # tqdm.auto warns in a kernel without ipywidgets

    from dspic_lib import models
    from dspic_lib._tf import keras, tf
    from dspic_lib.models.zoo import set_standardization
    from dspic_lib.options import look_up_option
    from dspic_lib.pipeline.inputs import batches, train_one_epoch

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    train, val = validation_split(build.train.meta, seed)
    X, y = build.train.X, head_targets(build.train.y, head)
    mean, sd = standardization(X, train)
    weights = None
    # only under the patient protocol: the paper's protocol splits after enlarging, so its test part has the
    # enlarged shares too, and weighting back to the originals' would create the shift it removes elsewhere
    # and only for the N/M/A task (a binary task of a public collection has its own two classes, unweighted)
    from dspic_lib.vocab import OUTPUTS

    if (look_up_option(profile.class_weight, CLASS_WEIGHTS, what="class_weight") == "cohort" and head == "softmax"
            and getattr(build, "protocol", "patient") == "patient" and y.shape[1] == len(OUTPUTS)):
        weights = cohort_class_weights(y[train], build.train.meta["source"].to_numpy()[train] == "original")
    # the loss's targets: each row's scaled by its classes' weights (categorical cross-entropy is linear in
    # the target, so this is the class-weighted loss); validation is scored on the plain targets
    y_fit = y if weights is None else (y * weights[None, :]).astype(np.float32)
    policy = precision_policy(profile.precision)
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        with strategy().scope():
            model = models.build(model_name, input_shape=profile.input_shape, seed=seed, output=head,
                                 num_classes=y.shape[1], init=profile.init)
            set_standardization(model, mean, sd)
            model.compile(optimizer=keras.optimizers.Adam(profile.learning_rate),
                          loss="categorical_crossentropy" if head == "softmax" else "binary_crossentropy")
    finally:
        keras.config.set_dtype_policy(before)
    select = look_up_option(profile.select_on, SELECT_ON, what="select_on")
    rows, best, best_weights, wait, left = [], ((-np.inf, -np.inf), 0), None, 0, False
    bar = tqdm(range(1, profile.epochs + 1), desc=f"{model_name} on {build.name}", unit="epoch",
               disable=not progress, leave=False)
    for epoch in bar:
        loss = train_one_epoch(model, batches(X, y_fit, train, batch_size=profile.batch_size, seed=seed * 1000 + epoch))
        val_loss, val_acc, val_proba = _evaluate(model, X, y, val, profile.batch_size, head)
        val_bacc = _balanced_accuracy(y[val], val_proba, head)
        classes = _predicted_classes(val_proba, head)
        rows.append({"epoch": epoch, "loss": loss, "val_loss": val_loss, "val_accuracy": val_acc,
                     "val_balanced_accuracy": val_bacc, "val_classes_predicted": classes})
        bar.set_postfix(loss=f"{loss:.3f}", val_loss=f"{val_loss:.3f}", val_bacc=f"{val_bacc:.3f}")
        left = left or classes > 1      # the run has left the one-class plateau
        score = {"val_loss": (-val_loss, 0.0), "val_balanced_accuracy": (np.nan_to_num(val_bacc, nan=-np.inf), -val_loss),
                 "last": (epoch, 0.0)}[select]
        if score > best[0]:        # ties keep the earlier epoch
            best, best_weights, wait = (score, epoch), model.get_weights(), 0
        elif left:                 # patience runs only once the validation images get more than one class
            wait += 1
            if profile.early_stopping_patience and wait >= profile.early_stopping_patience:
                break
    if best_weights is not None and select != "last":
        model.set_weights(best_weights)
    chosen = best[1] if select != "last" else len(rows)
    return model, pd.DataFrame(rows), chosen, val, (mean, sd), policy, weights


META = ["image", "patient", "view", "label"]
FIELDS = ("rows", "cols", "epochs", "batch_size", "learning_rate", "early_stopping_patience", "select_on", "init",
          "class_weight")


def train_key(st: Store, model_name: str, build, profile: Profile, seed: int, head: str = "softmax"):
    """The key of one run. ``build``: a dataset build, or a plan of one
    (:class:`dspic_lib.pipeline.lineage.BuildPlan`); with a lineage id that id is the parent, and no
    array is touched; a build made in memory is keyed by its arrays."""
    args = {"model": model_name, "dataset": build.name, "protocol": build.protocol, "seed": seed,
            "val_fraction": VAL_FRACTION, "head": head, **{f: getattr(profile, f) for f in FIELDS},
            "policy": precision_policy(profile.precision), "standardize": True}
    lineage = getattr(build, "lineage_id", None)
    if lineage:
        return st.key("train", args, code=[_train, fit], parents=[lineage], profile=profile.name)
    args.update(t=build.t, r=build.r)
    data = fingerprint(build.train.X, build.train.y, build.train.meta[["image", "patient", "source"]].astype(str),
                       build.test.X, build.test.meta[["image", "label"]].astype(str))
    return st.key("train", args, code=[_train, fit], data=data, profile=profile.name)


def fit(model_name: str, build, profile: Profile, *, seed: int | None = None,
        store: Store | Path | None = None, progress: bool = True, head: str = "softmax") -> Run:
    """Train ``model_name`` on ``build.train`` and predict ``build.test`` (or read both from the store).
    ``build``: a :class:`~dspic_lib.pipeline.datasets.Build` or a plan of one, which is built only when
    the run is not in the store yet."""
    from dspic_lib.options import look_up_option

    look_up_option(head, HEADS, what="head")
    seed = profile.seed if seed is None else int(seed)
    st = as_store(store)
    key = train_key(st, model_name, build, profile, seed, head)

    def compute(folder: Path) -> None:
        b = build.materialize() if hasattr(build, "materialize") else build
        test_meta = b.test.meta[META].reset_index(drop=True)
        start = time.perf_counter()
        model, history, best_epoch, val, (mean, sd), policy, weights = _train(model_name, b, profile, seed, progress, head)
        proba = predict(model, b.test.X, profile.batch_size)
        val_proba = predict(model, b.train.X[val], profile.batch_size)
        check_room_for_weights(model, folder)
        model.save_weights(folder / "model.weights.h5")
        history.to_csv(folder / "history.csv", index=False)
        np.savez(folder / "predictions.npz", proba=proba, image=test_meta["image"].to_numpy(dtype=str),
                 val_proba=val_proba, val_image=b.train.meta["image"].iloc[val].to_numpy(dtype=str))
        test_meta.to_csv(folder / "test_meta.csv", index=False)
        b.train.meta[META].iloc[val].to_csv(folder / "val_meta.csv", index=False)
        made_of = build.key().describe() if hasattr(build, "key") else None   # a plan: its parents and arguments
        (folder / "run.json").write_text(json.dumps(
            {"best_epoch": int(best_epoch), "seconds": time.perf_counter() - start, "build": b.stats(),
             "build_key": made_of, "input_mean": mean, "input_sd": sd, "policy": policy,
             "fit_counts": fit_counts(b.train.meta, seed),
             "class_weights": None if weights is None else [float(w) for w in weights]}, indent=2))

    cached = st.get(key) is not None
    entry = st.get_or_compute(key, compute)
    run = read_run(entry, model_name, build.name, seed, head, build.protocol, cached)
    if hasattr(build, "test") and run.test_meta["image"].tolist() != build.test.meta["image"].tolist():
        raise DataError(f"store entry {entry.id}: its predictions are for other test images; delete {entry.path}")
    return run


def read_run(entry, model_name: str, dataset: str, seed: int, head: str = "softmax", protocol: str = "patient",
             cached: bool = True) -> Run:
    """A :class:`Run` from its store entry alone (nothing is built, scanned or decoded)."""
    def meta(name):
        return pd.read_csv(entry.file(name), dtype=str, keep_default_na=False)[META]

    with np.load(entry.file("predictions.npz")) as z:
        proba, images = z["proba"], z["image"].tolist()
        val_proba, val_images = z["val_proba"], z["val_image"].tolist()
    test_meta, val_meta = meta("test_meta.csv"), meta("val_meta.csv")
    if images != test_meta["image"].tolist() or val_images != val_meta["image"].tolist():
        raise DataError(f"store entry {entry.id}: predictions and meta disagree on the images; delete {entry.path}")
    info = json.loads(entry.file("run.json").read_text())
    return Run(model=model_name, dataset=dataset, seed=seed, history=pd.read_csv(entry.file("history.csv")),
               proba=proba, test_meta=test_meta, best_epoch=int(info["best_epoch"]),
               seconds=float(info["seconds"]), entry_id=entry.id, cached=cached,
               val_proba=val_proba, val_meta=val_meta, head=head, protocol=protocol,
               build_stats=info.get("build"), policy=info.get("policy", "float32"),
               fit_counts=info.get("fit_counts"), class_weights=info.get("class_weights"))
