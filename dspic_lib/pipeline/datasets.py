"""The three datasets of the paper, built without leakage by default.

* **D1**: every image after Eq. 1 at the profile's resolution (:func:`load_d1`).
* **D2**: the training part of D1 plus mirror/translate/rotate copies of its diseased images, to the
  class proportions of Table 1 (:mod:`dspic_lib.pipeline.augment`).
* **D3**: the training part of D1 plus DCGAN samples of its diseased classes, to the class proportions
  of Table 2 (:mod:`dspic_lib.pipeline.gan`).

Under the default ``patient`` protocol (:mod:`dspic_lib.pipeline.split`) the test part is always the untouched
D1 images of the test patients, and copies and generators only ever see training patients. Under the
``paper`` protocol the whole D1 is augmented first and the images are then split 7:3 at random.

Every dataset carries arrays for Keras and a ``meta`` table that says where each row came from:

``X``    float32 ``(n, rows, cols, 1)`` in [0, 1];
``y``    float32 ``(n, 3)`` targets over (N, M, A); an M&A image has the two-hot target split equally
         over M and A, ``(0, 0.5, 0.5)`` (ARCHITECTURE.md, "Decisions");
``meta`` ``image`` (an id), ``patient``, ``view``, ``label`` (N, M, A, M&A; unlabelled images are
         never in D1, see :func:`trainable_rows`), ``source`` (original,
         mirror, translate, rotate, mirror+translate, mirror+rotate, dcgan), ``parent`` (the id of the
         D1 image a copy was made from; empty for originals and DCGAN samples), ``transform``, and the
         lesion ``boxes`` (float32 ``(k, 4)`` in the profile's pixels) with their ``diseases``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.config import Profile
from dspic_lib.errors import DataError, DataWarning
from dspic_lib.options import look_up_option
from dspic_lib.pipeline import augment, gan, split
from dspic_lib.store import for_results
from dspic_lib.vocab import BINARY_CLASSES, CLASSES, TASK_CLASSES

NAMES = ("D1", "D2", "D3")
# a binary cohort (normal / abnormal: BS-80K, the PNG folders) only ever gives D1: D2 and D3 enlarge
# the training part to the class proportions of the paper's four-class Tables 1 and 2
BINARY_DATASETS = ("D1",)
_TARGET = {"N": (1.0, 0.0, 0.0), "M": (0.0, 1.0, 0.0), "A": (0.0, 0.0, 1.0), "M&A": (0.0, 0.5, 0.5)}
META_COLUMNS = ["image", "patient", "view", "label", "source", "parent", "transform", "boxes", "diseases"]


def task_of(labels) -> str:
    """``binary`` when every label is normal or abnormal (and there is one), else ``four-class``."""
    labs = set(map(str, labels))
    return "binary" if labs and labs <= set(BINARY_CLASSES) else "four-class"


def targets_for(labels) -> np.ndarray:
    """Softmax targets over (N, M, A); M&A is ``(0, 0.5, 0.5)``. Labels of the binary task (all normal or
    abnormal) give one-hot targets over :data:`~dspic_lib.vocab.BINARY_CLASSES`, 2 columns."""
    labels = list(labels)
    if task_of(labels) == "binary":
        eye = np.eye(len(BINARY_CLASSES), dtype=np.float32)
        return eye[[BINARY_CLASSES.index(str(lab)) for lab in labels]].reshape(-1, len(BINARY_CLASSES))
    try:
        return np.array([_TARGET[lab] for lab in labels], dtype=np.float32).reshape(-1, 3)
    except KeyError as err:
        raise DataError(f"unknown class label {err.args[0]!r}; expected one of {list(_TARGET)}") from None


@dataclass(frozen=True)
class Dataset:
    name: str
    X: np.ndarray
    y: np.ndarray
    meta: pd.DataFrame

    def __post_init__(self):
        if not (len(self.X) == len(self.y) == len(self.meta)):
            raise DataError(f"{self.name}: {len(self.X)} images, {len(self.y)} targets, {len(self.meta)} meta rows")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def labels(self) -> np.ndarray:
        return self.meta["label"].to_numpy(dtype=object)

    @property
    def task(self) -> str:
        """``binary`` (2 target columns: normal, abnormal) or ``four-class`` (3 columns: N, M, A)."""
        return "binary" if self.y.ndim == 2 and self.y.shape[1] == len(BINARY_CLASSES) else "four-class"

    def counts(self) -> dict[str, int]:
        if self.task == "binary":
            s = pd.Series(self.labels).value_counts()
            return {c: int(s.get(c, 0)) for c in BINARY_CLASSES}
        return augment.class_counts(self.labels)

    def subset(self, idx, name: str | None = None) -> "Dataset":
        idx = np.asarray(idx, dtype=np.int64)
        return Dataset(name or self.name, self.X[idx], self.y[idx], self.meta.iloc[idx].reset_index(drop=True))


def concat(name: str, *parts: Dataset) -> Dataset:
    return Dataset(name, np.concatenate([p.X for p in parts]), np.concatenate([p.y for p in parts]),
                   pd.concat([p.meta for p in parts], ignore_index=True))


def from_arrays(X: np.ndarray, meta: pd.DataFrame, name: str = "D1") -> Dataset:
    """A dataset from images ``(n, rows, cols)`` and a meta table (missing columns get defaults)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 3:
        X = X[..., None]
    meta = meta.reset_index(drop=True).copy()
    n = len(meta)
    if "image" not in meta:
        meta["image"] = [f"{p}/{v}" for p, v in zip(meta["patient"], meta.get("view", [""] * n))]
    defaults = {"view": "", "source": "original", "parent": "", "transform": "",
                "boxes": [np.zeros((0, 4), np.float32)] * n, "diseases": [[] for _ in range(n)]}
    for col, value in defaults.items():
        if col not in meta:
            meta[col] = value
    return Dataset(name, X, targets_for(meta["label"]), meta[META_COLUMNS + [c for c in meta if c not in META_COLUMNS]])


def resolve_layout(folder: str | Path, layout: str = "auto") -> str:
    """``layout`` itself, or for ``auto`` the public layout the folder looks like (a ``wholeBodyANT`` or
    ``wholeBodyPOST`` folder: ``bs80k``; class folders holding ``Anterior``/``Posterior``:
    ``png-folders``; :func:`dspic_lib.data.public.guess_layout`), else ``dicom``."""
    from dspic_lib.data.cohort import LAYOUTS
    from dspic_lib.data.public import guess_layout

    if layout == "auto":
        return guess_layout(Path(folder)) or "dicom"
    return look_up_option(layout, LAYOUTS, what="layout")


def trainable_rows(cohort) -> np.ndarray:
    """Positions in ``cohort.table`` of the images D1 may hold: those with one of the task's classes
    (the paper's N, M, A, M&A; normal or abnormal for a binary cohort such as BS-80K, whose D1 then has
    2-column targets and only ever gives D1, see :data:`BINARY_DATASETS`). Unlabelled images are left
    out with a :class:`~dspic_lib.errors.DataWarning` saying how many."""
    if cohort.task not in TASK_CLASSES:
        raise DataError(f"{cohort.data_dir}: a cohort of task {cohort.task!r}; expected one of {', '.join(TASK_CLASSES)}")
    labels = cohort.table["label"].astype(str)
    keep = np.flatnonzero(labels.isin(TASK_CLASSES[cohort.task]).to_numpy())
    left = len(labels) - len(keep)
    if left:
        warnings.warn(DataWarning(
            f"{left} of {len(labels)} images have no label (no LabelMe annotation, not in labels.csv): "
            "left out of D1, so of every training, test and metric set; they are never taken as N"),
            stacklevel=4)
    return keep


def _d1_from(cohort, pre) -> Dataset:
    keep = trainable_rows(cohort)
    t = cohort.table.reset_index(drop=True)
    X = pre.X
    if len(keep) < len(t):
        t, X = t.iloc[keep].reset_index(drop=True), np.asarray(pre.X[keep])
    boxes = [pre.boxes[i] for i in keep]
    diseases = [pre.diseases[i] for i in keep]
    meta = pd.DataFrame({
        "image": [f"{p}/{v}" for p, v in zip(t["patient"].astype(str), t["view"].astype(str))],
        "patient": t["patient"].astype(str), "view": t["view"].astype(str), "label": t["label"].astype(str),
        "boxes": boxes, "diseases": diseases,
    })
    return from_arrays(X, meta, "D1")


# --------------------------------------------------------------------------------------------------
# D2 and D3 from a part of D1


def add_copies(part: Dataset, requested: dict[str, int], *, t: int, r: float, seed: int, name: str = "D2") -> Dataset:
    """``part`` plus geometric copies of its diseased images until each class totals ``requested``."""
    aug = augment.augment_to_counts(part.X, part.labels, requested, t=t, r=r, seed=seed,
                                    boxes=list(part.meta["boxes"]))
    parents = part.meta.iloc[aug.parent].reset_index(drop=True)
    n_copy: dict[str, int] = {}
    ids = []
    for pid in parents["image"]:
        n_copy[pid] = n_copy.get(pid, 0) + 1
        ids.append(f"{pid}#copy{n_copy[pid]}")
    meta = pd.DataFrame({
        "image": ids, "patient": parents["patient"], "view": parents["view"], "label": aug.labels,
        "source": aug.sources, "parent": parents["image"], "transform": [tf.describe() for tf in aug.transforms],
        "boxes": aug.boxes,
        "diseases": [[d for d, k in zip(ds, keep) if k] for ds, keep in zip(parents["diseases"], aug.kept)],
    })
    return concat(name, part, from_arrays(aug.X, meta, name))


def add_generated(part: Dataset, requested: dict[str, int], *, profile: Profile, store, seed: int,
                  t: int, r: float, name: str = "D3", parents=None) -> tuple[Dataset, gan.Generated]:
    """``part`` plus DCGAN samples of its diseased classes until each class totals ``requested``."""
    g = gan.generate_to_counts(part.X, part.labels, requested, steps=profile.gan_steps,
                               batch_size=profile.gan_batch_size, seed=seed, store=store, t=t, r=r,
                               parents=parents)
    k = len(g.labels)
    meta = pd.DataFrame({
        "image": [f"dcgan/{lab}/{i}" for i, lab in enumerate(g.labels)], "patient": [None] * k,
        "view": [None] * k, "label": g.labels, "source": ["dcgan"] * k, "parent": [""] * k,
        "transform": [""] * k, "boxes": [np.zeros((0, 4), np.float32)] * k, "diseases": [[] for _ in range(k)],
    })
    return concat(name, part, from_arrays(g.X, meta, name)), g


# --------------------------------------------------------------------------------------------------
# The whole build


@dataclass
class Build:
    """What :func:`build` returns: the two parts, and how they were made."""

    name: str
    train: Dataset
    test: Dataset
    protocol: str
    t: int
    r: float
    requested: dict[str, int] = field(default_factory=dict)
    sweep: augment.SweepResult | None = None
    generated: gan.Generated | None = None
    gan_train_patients: frozenset = frozenset()
    lineage_id: str | None = None      # its id from lineage alone (:mod:`dspic_lib.pipeline.lineage`), if planned

    def stats(self) -> dict:
        """What a run keeps of its build (chapter 07 reads these from the run's entry)."""
        return {"train_images": int(len(self.train)), "test_images": int(len(self.test)),
                "leaked_patients": len(self.leaked_patients()),
                "test_patients": int(self.test.meta["patient"].nunique()),
                "copies_in_test": int((self.test.meta["source"] != "original").sum())}

    def leaked_patients(self) -> set:
        """Patients whose images (or copies, or DCGAN trained on them) reach both sides."""
        leaked = split.leaked_patients(self.train.meta, self.test.meta)
        return leaked | (set(self.gan_train_patients) & set(self.test.meta["patient"].dropna()))


def choose_t_r(d1: Dataset, profile: Profile, *, results_dir: Path, seed: int, part: split.Split | None = None,
               n_folds: int = 3, parents=None) -> augment.SweepResult:
    """The (t, r) sweep on the training patients of ``part`` (default: the 7:3 patient split of ``d1``),
    so that a CV fold's choice never sees its own test patients; cached in the result store
    (``parents``: the lineage of those images, see :func:`dspic_lib.pipeline.augment.sweep_key`)."""
    sp = part if part is not None and part.protocol == "patient" else \
        split.patient_split(d1.meta, profile.test_fraction, seed)
    train = d1.subset(sp.train)
    return augment.select_parameters(train.X, train.labels, train.meta["patient"], cols=profile.cols,
                                     store=for_results(results_dir), n_folds=n_folds, seed=seed, parents=parents)


def _enlarge(name, part, table, *, profile, t, r, seed, results_dir, parents=None):
    """Scale the paper's table to ``part`` and add what ``name`` adds to it: nothing for D1,
    mirror/translate/rotate copies for D2, DCGAN samples for D3. Returns (data, requested, generated)."""
    requested = augment.scaled_targets(part.counts(), table) if name != "D1" else part.counts()
    generated = None
    if name == "D2":
        part = add_copies(part, requested, t=t, r=r, seed=seed)
    elif name == "D3":
        part, generated = add_generated(part, requested, profile=profile, seed=seed, t=t, r=r,
                                        store=for_results(results_dir), parents=parents)
    return part, requested, generated


def build(name: str, profile: Profile, *, d1: Dataset | None = None, data_dir=None, results_dir=None,
          protocol: str = "patient", seed: int | None = None, part: split.Split | None = None,
          t: int | None = None, r: float | None = None, parents=None, sweep_parents=None,
          lineage_id: str | None = None) -> Build:
    """Build D1, D2 or D3 as a train/test pair.

    ``part``: a precomputed patient split of ``d1`` (e.g. one CV fold); default the 7:3 patient split.
    ``t``, ``r``: augmentation parameters; default chosen by :func:`choose_t_r` on the training patients
    of ``part`` (under the ``paper`` protocol: of the default patient split, as the paper's protocol
    has no patient-level training part).
    ``parents``: the lineage of the images the DCGANs train on, ``sweep_parents`` that of the sweep's
    (ids of the preprocessed images and of the split; :mod:`dspic_lib.pipeline.lineage` passes them, and
    the build's own id as ``lineage_id``); without them those steps are keyed by their arrays.
    """
    from dspic_lib.pipeline.context import results_dir_of

    look_up_option(name, NAMES, what="dataset")
    split.check_protocol(protocol)
    seed = profile.seed if seed is None else int(seed)
    if d1 is None:
        raise DataError(f"datasets.build({name!r}): pass D1 (d1=...); lineage.build(ctx, {name!r}) reads it "
                        "from a run context")
    results_dir = results_dir_of(profile, results_dir)
    binary = d1.task == "binary"
    if binary and name not in BINARY_DATASETS:
        raise DataError(f"{name} of a binary cohort (normal / abnormal): {name} enlarges the training part to the "
                        "class proportions of the paper's four-class Table 1 (D2) or Table 2 (D3), which "
                        "'abnormal' has no place in; a binary cohort gives D1 only")
    sweep = None
    if name != "D1" and (t is None or r is None):
        sweep = choose_t_r(d1, profile, results_dir=results_dir, seed=seed,
                           part=part if protocol == "patient" else None, parents=sweep_parents)
        t, r = (sweep.t if t is None else t), (sweep.r if r is None else r)
    t, r = int(t or 0), float(r or 0.0)
    table = augment.paper_table("table1" if name == "D2" else "table2")

    if protocol == "patient":
        part = part if part is not None else split.patient_split(d1.meta, profile.test_fraction, seed)
        train, test = d1.subset(part.train, name), d1.subset(part.test, name)
        train, requested, generated = _enlarge(name, train, table, profile=profile, t=t, r=r,
                                               seed=seed, results_dir=results_dir, parents=parents)
        gan_patients = frozenset(d1.subset(part.train).meta["patient"]) if name == "D3" else frozenset()
        out = Build(name, train, test, protocol, t, r, requested, sweep, generated, gan_patients, lineage_id)
        split.assert_no_leakage(out.train.meta, out.test.meta)
        return out

    # the paper's protocol: augment (or generate from) all of D1, then split the images at random
    full = d1.subset(np.arange(len(d1)), name)
    full, requested, generated = _enlarge(name, full, table, profile=profile, t=t, r=r, seed=seed,
                                          results_dir=results_dir, parents=parents)
    sp = split.image_split(full.labels, profile.test_fraction, seed)
    gan_patients = frozenset(d1.meta["patient"]) if name == "D3" else frozenset()
    return Build(name, full.subset(sp.train), full.subset(sp.test), protocol, t, r, requested, sweep,
                 generated, gan_patients, lineage_id)


# --------------------------------------------------------------------------------------------------
# Tables for the book


def counts_table(build: Build, d1: Dataset) -> pd.DataFrame:
    """Table 1 (D2) or Table 2 (D3) of the paper beside this run, at full size and for the training part.

    ``this run, full size`` is what the same rule requests on the whole cohort (the paper augmented
    all 768 images); ``training part`` columns are the originals of the training patients, the counts
    requested for them (the table's proportions, N kept), and the counts actually built.
    """
    which = {"D2": "table1", "D3": "table2"}.get(build.name)
    if which is None:
        raise DataError(f"counts_table: {build.name} has no table in the paper (D2: Table 1, D3: Table 2)")
    paper = augment.paper_table(which)
    full = augment.scaled_targets(d1.counts(), paper)
    originals = build.train.meta["source"] == "original"
    train_orig = augment.class_counts(build.train.meta.loc[originals, "label"])
    built = build.train.counts()
    rows = []
    for c in CLASSES:
        rows.append({"class": c, "paper": paper[c],
                     "this run, full size": full[c], "this run, full size %": 100 * full[c] / max(1, sum(full.values())),
                     "training part: originals": train_orig[c], "training part: requested": build.requested.get(c, 0),
                     "training part: built": built[c],
                     "training part: built %": 100 * built[c] / max(1, sum(built.values()))})
    df = pd.DataFrame(rows).set_index("class")
    df.loc["total"] = df.sum(numeric_only=True)
    df.loc["total", "paper"] = np.nan     # the paper prints no total; a sum here would be ours, not theirs
    ints = [c for c in df.columns if not c.endswith("%") and c != "paper"]
    df[ints] = df[ints].astype(int)
    df["paper"] = df["paper"].astype("Int64")
    return df.round(1)


def split_table(build: Build) -> pd.DataFrame:
    """Patients and images per class on each side of the split (originals only)."""
    rows = []
    for side, part in (("train", build.train), ("test", build.test)):
        m = part.meta[part.meta["source"] == "original"]
        for c in CLASSES:
            sel = m[m["label"] == c]
            rows.append({"class": c, "side": side, "patients": sel["patient"].nunique(), "images": len(sel)})
    df = pd.DataFrame(rows).pivot(index="class", columns="side", values=["patients", "images"])
    df = df.reindex(list(CLASSES))
    df.loc["total"] = df.sum()
    return df.astype(int)


def source_table(part: Dataset) -> pd.DataFrame:
    """Images per class and provenance (original, mirror, translate, ...)."""
    t = pd.crosstab(part.meta["label"], part.meta["source"]).reindex(list(CLASSES), fill_value=0)
    t.index.name, t.columns.name = "class", None
    t["total"] = t.sum(axis=1)
    return t
