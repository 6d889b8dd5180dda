"""A trained model as a folder anyone can predict with: ``model.keras`` + ``model.json`` (the card).

``dspic train`` writes the folder (:func:`export`); ``dspic predict`` reads it (:func:`load`). The card
says everything a prediction needs and everything a reader needs to judge one:

* ``model``: the zoo name, the builder config (``model.get_config()``, which rebuilds the network),
  the parameter count and the SHA-256 of ``model.keras`` (a card never describes other weights);
* ``task`` and ``classes``: the softmax outputs in order (N, M, A) and the top-2 rule for M&A; for a
  model trained on a binary cohort (the public layouts, ``task`` ``binary``) normal, abnormal and no
  top-2 rule (``m_and_a_rule`` null), its ``test_metrics`` from :func:`dspic_lib.evaluation.metrics.binary_summary`;
* ``input`` and ``preprocessing``: the model's input shape and the exact function that makes it from
  decoded counts (:data:`PREPROCESSING`: a name looked up in this module, never code read from the
  card), with its parameters and its steps in words;
* ``profile``, ``training`` (dataset, store entry, epochs, seed), ``split`` (the protocol), ``data``
  (fingerprint, synthetic or not: never a path), ``input_statistics`` (for the input checks of
  :mod:`dspic_lib.predict.checks`), ``test_metrics`` (with 95 % bootstrap CIs over patients) and
  ``provenance`` (git commit and dirty flag, package versions, when).
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.store import file_digest
from dspic_lib.vocab import BINARY_CLASSES, CLASS_NAMES, OUTPUTS

CARD_FILE = "model.json"
MODEL_FILE = "model.keras"
CARD_FORMAT = 1
N_BOOT = 1000
CI_LEVEL = 0.95
TOP2_RULE = ("an image is flagged M&A when its two most probable outputs are M and A, in either order "
             "(ties ranked N, M, A; dspic_lib.evaluation.metrics.top2); top-1 is the arg-max")


def _preprocess_image(image, shape, name="image"):
    from dspic_lib.pipeline.preprocess import preprocess_image

    return preprocess_image(image, shape, name)


# name in the card -> function(counts, shape, name) -> (rows, cols) float32 in [0, 1]
PREPROCESSING = {"dspic_lib.pipeline.preprocess.preprocess_image": _preprocess_image}
PREPROCESSING_STEPS = [
    "decoded counts as float32 (DICOM rescale slope/intercept applied)",
    "negative values clipped to 0",
    "resize to (rows, cols) with skimage.transform.resize(order=1, mode='reflect', "
    "anti_aliasing=True when shrinking, preserve_range=True)",
    "Eq. 1: per-image min-max to [0, 1], x_N = (x - x_min) / (x_max - x_min), float32",
    "one channel: the model input is (rows, cols, 1)",
]


def _versions() -> dict[str, str]:
    from dspic_lib.provenance import PACKAGES, versions

    return versions(PACKAGES)


def _commit() -> dict:
    from dspic_lib.provenance import git_commit

    text = git_commit()
    return {"git_commit": text.removesuffix("+dirty"), "dirty": text.endswith("+dirty")}


def _bits_stored(cohort, table) -> list[int]:
    """BitsStored of each training file's header (the cohort table does not keep it); of a PNG or JPEG
    picture (the public layouts) the bits of its mode."""
    import io

    import pydicom

    from dspic_lib.data.pictures import picture_bits

    out = []
    for rel in table["path"]:
        path = Path(cohort.data_dir) / rel
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            bits = picture_bits(path.read_bytes())
            if bits is not None:
                out.append(bits)
            continue
        try:
            ds = pydicom.dcmread(io.BytesIO(path.read_bytes()), stop_before_pixels=True)
            out.append(int(ds.get("BitsStored", ds.get("BitsAllocated", 16))))
        except Exception:            # the scan read it; a header that fails here says nothing new
            continue
    return out or [16]


def metrics_with_ci(run, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Test metrics of ``run`` with 95 % CIs from a bootstrap over test patients
    (``dspic_lib.evaluation.stats.bootstrap_metrics``); point values only when that module is absent."""
    from dspic_lib.evaluation import metrics

    y, proba = run.y_true, run.proba
    groups = run.test_meta["patient"].astype(str).to_numpy()
    point = metrics.summary(y, proba)
    out = {"n_images": int(len(y)), "n_patients": int(len(set(groups))),
           "n_scored_3class": int(point.get("n_images", 0)), "n_left_out_M&A": int(point.get("n_left_out", 0)),
           "top2_accuracy_M&A": _num(metrics.top2_accuracy(y, proba))}
    try:
        from dspic_lib.evaluation import stats
    except ImportError:
        stats = None
    if stats is None:
        out["ci"] = {"available": False, "why": "dspic_lib.evaluation.stats (bootstrap CIs) is not in this checkout"}
        out["metrics"] = {m: {"value": _num(point[m]), "low": None, "high": None} for m in metrics.METRICS}
        return out
    table = stats.bootstrap_metrics(y, proba, groups=groups, n_boot=n_boot, seed=seed, level=CI_LEVEL)
    out["ci"] = {"available": True, "level": CI_LEVEL, "method": "bootstrap over test patients "
                 "(dspic_lib.evaluation.stats.bootstrap_metrics)", "n_boot": int(n_boot), "seed": int(seed)}
    out["metrics"] = {str(m): {"value": _num(r["value"]), "low": _num(r["low"]), "high": _num(r["high"]),
                               "n_boot": int(r["n_boot"]) if "n_boot" in r and np.isfinite(r["n_boot"]) else None}
                      for m, r in table.iterrows()}
    return out


def binary_metrics_with_ci(run, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Test metrics of a binary model (normal / abnormal, ``abnormal`` positive:
    :func:`dspic_lib.evaluation.metrics.binary_summary`) with 95 % CIs from a bootstrap over test patients
    (:func:`dspic_lib.evaluation.stats.bootstrap_metrics`, ``abnormal`` against ``normal``)."""
    from dspic_lib.evaluation import metrics, stats
    from dspic_lib.vocab import BINARY_CLASSES

    y, proba = run.y_true, run.proba
    groups = run.test_meta["patient"].astype(str).to_numpy()
    table = stats.bootstrap_metrics(y, proba, groups, n_boot=n_boot, seed=seed, level=CI_LEVEL,
                                    classes=BINARY_CLASSES, positive=metrics.POSITIVE)
    return {"n_images": int(len(y)), "n_patients": int(len(set(groups))), "positive_class": metrics.POSITIVE,
            "ci": {"available": True, "level": CI_LEVEL, "method": "bootstrap over test patients "
                   "(dspic_lib.evaluation.stats.bootstrap_metrics)", "n_boot": int(n_boot), "seed": int(seed)},
            "metrics": {str(m): {"value": _num(r["value"]), "low": _num(r["low"]), "high": _num(r["high"]),
                                 "n_boot": int(r["n_boot"])} for m, r in table.iterrows()}}


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def make_card(model, *, model_name: str, profile, run, build, cohort, n_boot: int = N_BOOT) -> dict:
    """The card of a model trained by :func:`dspic_lib.pipeline.train.fit` (``run``) on ``build`` of ``cohort``."""
    from dspic_lib.models import summary
    from dspic_lib.predict import checks as input_checks

    rows, cols = int(profile.rows), int(profile.cols)
    train_meta = build.train.meta
    originals = train_meta[train_meta["source"] == "original"]
    train_patients = set(originals["patient"].dropna().astype(str))
    table = cohort.table[cohort.table["patient"].astype(str).isin(train_patients)]
    binary = build.train.task == "binary"
    stats = input_checks.training_stats(table, _bits_stored(cohort, table))
    formats = {Path(str(p)).suffix.lower().lstrip(".").upper().replace("JPG", "JPEG") for p in table["path"]}
    if binary and len(formats) == 1 and formats <= {"PNG", "JPEG"}:   # the public layouts: pictures
        stats.update(format=formats.pop(), modality="picture")
    if binary:
        classes, names, rule = list(BINARY_CLASSES), {c: c for c in BINARY_CLASSES}, None
        test_metrics = binary_metrics_with_ci(run, n_boot=n_boot, seed=int(run.seed))
    else:
        classes, names, rule = list(OUTPUTS), {k: CLASS_NAMES[k] for k in OUTPUTS}, TOP2_RULE
        test_metrics = metrics_with_ci(run, n_boot=n_boot, seed=int(run.seed))
    return {
        "card_format": CARD_FORMAT,
        "task": "binary" if binary else "four-class",
        "model": {"name": model_name, "file": MODEL_FILE,
                  "config": model.get_config(), "parameters": int(model.count_params()),
                  "flops_per_image": int(summary.flops(model))},
        "classes": classes, "class_names": names, "m_and_a_rule": rule,
        "input": {"rows": rows, "cols": cols, "channels": 1, "dtype": "float32", "range": [0.0, 1.0]},
        "preprocessing": {"function": "dspic_lib.pipeline.preprocess.preprocess_image",
                          "parameters": {"shape": [rows, cols]}, "steps": PREPROCESSING_STEPS},
        "profile": profile.to_dict(),
        "training": {"dataset": build.name, "protocol": build.protocol, "augmentation_t": int(build.t),
                     "augmentation_r": float(build.r), "seed": int(run.seed), "store_entry": run.entry_id,
                     "epochs_run": int(len(run.history)), "best_epoch": int(run.best_epoch),
                     "seconds": float(run.seconds), "train_images": int(len(build.train)),
                     "train_original_images": int(len(originals)), "train_patients": len(train_patients),
                     "class_counts": build.train.counts()},
        "split": {"protocol": build.protocol, "test_fraction": float(profile.test_fraction),
                  "seed": int(run.seed), "validation_fraction_of_training_patients": _val_fraction(),
                  "description": _split_text(build.protocol)},
        "data": {"fingerprint": cohort.fingerprint, "synthetic": bool(cohort.synthetic), "layout": cohort.layout,
                 "images": int(len(cohort.table)), "patients": int(cohort.table["patient"].nunique())},
        "input_statistics": stats,
        "test_metrics": test_metrics,
        "provenance": {**_commit(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "python": platform.python_version(), "packages": _versions()},
    }


def _val_fraction() -> float:
    from dspic_lib.pipeline.train import VAL_FRACTION

    return float(VAL_FRACTION)


def _split_text(protocol: str) -> str:
    if protocol == "patient":
        return ("7:3 by patient, stratified by class (dspic_lib.pipeline.split.patient_split); augmentation, DCGANs "
                "and the t/r choice saw training patients only; a stratified share of the training "
                "patients was held out for validation (early stopping); test patients were only predicted")
    return "the paper's protocol: augment all of D1, then split the images 7:3 at random (leaks patients)"


def export(model, card: dict, out: Path) -> Path:
    """Write ``out/model.keras`` and ``out/model.json`` (the card, with the weights file's SHA-256)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    card = {**card, "model": {**card["model"], "sha256": file_digest(out / MODEL_FILE)}}
    (out / CARD_FILE).write_text(json.dumps(card, indent=1, sort_keys=False) + "\n")
    return out


# ------------------------------------------------------------------------------------------ loading
class ModelDirError(ConfigError):
    """A model folder that cannot be predicted with (``dspic predict`` exits 2)."""


@dataclass
class Loaded:
    model: object
    card: dict
    preprocess: object               # function(counts, shape, name) -> (rows, cols) float32
    shape: tuple[int, int]
    cache: dict = field(default_factory=dict, repr=False)   # e.g. the traced inference function

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])


def _norm(value):
    return json.loads(json.dumps(value))


def load(folder: str | Path) -> Loaded:
    """The model and card of a folder written by :func:`export`, checked against each other; raises
    :class:`ModelDirError` naming what is missing or does not match."""
    from dspic_lib.models import load as load_model

    folder = Path(folder)
    card_path, model_path = folder / CARD_FILE, folder / MODEL_FILE
    if not folder.is_dir():
        raise ModelDirError(f"{folder}: no such model folder (make one with `dspic train ... --out DIR`)")
    for p in (card_path, model_path):
        if not p.is_file():
            raise ModelDirError(f"{folder}: no {p.name} (a model folder holds {CARD_FILE} and {MODEL_FILE}, "
                                "as `dspic train --out` writes them)")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as err:
        raise ModelDirError(f"{card_path}: not a readable model card ({err})") from None
    if not isinstance(card, dict) or card.get("card_format") != CARD_FORMAT:
        raise ModelDirError(f"{card_path}: card_format {card.get('card_format') if isinstance(card, dict) else None!r}, "
                            f"this version reads {CARD_FORMAT}")
    try:
        digest, fn_name = card["model"]["sha256"], card["preprocessing"]["function"]
        shape = tuple(int(v) for v in card["preprocessing"]["parameters"]["shape"])
        classes = list(card["classes"])
        card["input_statistics"]["rows"]
    except (KeyError, TypeError, ValueError) as err:
        raise ModelDirError(f"{card_path}: incomplete model card (missing or bad {err})") from None
    if file_digest(model_path) != digest:
        raise ModelDirError(f"{folder}: {MODEL_FILE} does not match {CARD_FILE} (SHA-256 differs): the card "
                            "describes other weights")
    if fn_name not in PREPROCESSING:
        raise ModelDirError(f"{card_path}: unknown preprocessing {fn_name!r}; this version knows "
                            f"{', '.join(PREPROCESSING)}")
    try:
        model = load_model(model_path)
    except DataError as err:
        raise ModelDirError(str(err)) from None
    if _norm(model.get_config()) != _norm(card["model"]["config"]):
        raise ModelDirError(f"{folder}: the network in {MODEL_FILE} is not the one {CARD_FILE} describes "
                            "(builder config differs)")
    expect = (*shape, 1)
    if tuple(model.input_shape[1:]) != expect or int(model.output_shape[-1]) != len(classes):
        raise ModelDirError(f"{folder}: the model takes {tuple(model.input_shape[1:])} and gives "
                            f"{model.output_shape[-1]} outputs; the card says {expect} and {len(classes)}")
    return Loaded(model=model, card=card, preprocess=PREPROCESSING[fn_name], shape=shape)
