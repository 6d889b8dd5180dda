"""The lineage of every stored result, from a data folder to a trained run, as keys computed without
building anything.

    data:<fingerprint>                     the folder's bytes (Context.fingerprint; nothing decoded)
      cohort/<d>                           the scan: table, left-out rows, problems, warnings
        preprocessed/<d>                   Eq. 1 at the profile's resolution (+ each row's image id)
          split/<d>                        the 7:3 patient split (or the K folds of chapter 07)
            augment.sweep/<d>              the (t, r) sweep on the split's training patients
            gan.class/<d>, gan.samples/<d> the DCGANs of D3 and their samples
            build/<d>                      D1: preprocessed + split; D2: + sweep + augment's code;
                                           D3: + sweep + the DCGANs' arguments and code (not an entry)
              train/<d>                    one run: weights, probabilities, test and validation meta

A key is its recipe's name and arguments, the ids of its parents, the code of the recipe (see
:mod:`dspic_lib.store`) and the environment. So :meth:`Lineage.plan` gives a build's id, and
:func:`dspic_lib.pipeline.train.fit` a run's key, from the data folder's fingerprint alone: reading a
stored run scans nothing (beyond hashing the folder's bytes), decodes nothing and augments nothing.
Only when an entry is missing is its input built (:meth:`BuildPlan.materialize`: the scan and Eq. 1
once per process, the split read from its entry).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dspic_lib.pipeline import augment, gan, preprocess, split
from dspic_lib.store import code_hash

SWEEP_FOLDS = 3


class Lineage:
    """The keys and (on demand) the inputs of one :class:`~dspic_lib.pipeline.context.Context`."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.store = ctx.store
        self.profile = ctx.profile
        self._memo: dict = {}

    # ------------------------------------------------------------------------------------- keys
    def cohort_key(self):
        return preprocess.cohort_key(self.store, self.ctx.fingerprint(), self.ctx.layout, self.profile.name)

    def preprocessed_key(self):
        p = self.profile
        return preprocess.preprocessed_key(self.store, self.cohort_key().id, (p.rows, p.cols), p.name)

    def split_key(self, seed: int | None = None):
        """The 7:3 patient split of D1 (``seed``: default the profile's)."""
        p = self.profile
        seed = p.seed if seed is None else int(seed)
        return self.store.key("split", {"kind": "patient", "test_fraction": p.test_fraction, "seed": seed},
                              code=[split.patient_split], parents=[self.preprocessed_key().id], profile=p.name)

    def kfold_key(self):
        """The grouped stratified K folds of chapter 07 (the profile's cv_folds x cv_repeats)."""
        p = self.profile
        return self.store.key("split", {"kind": "kfold", "n_splits": p.cv_folds, "n_repeats": p.cv_repeats,
                                        "seed": p.seed},
                              code=[split.patient_kfold], parents=[self.preprocessed_key().id], profile=p.name)

    def _split_parent(self, protocol: str, seed: int, fold: int | None) -> str:
        if fold is not None:
            return f"{self.kfold_key().id}#{fold}"
        return self.split_key(seed).id if protocol == "patient" else "protocol:paper"

    def sweep_key(self, seed: int, split_parent: str):
        return augment.sweep_key(self.store, cols=self.profile.cols, n_folds=SWEEP_FOLDS, seed=seed,
                                 parents=[self.preprocessed_key().id, split_parent])

    def build_key(self, name: str, protocol: str = "patient", seed: int | None = None, fold: int | None = None):
        """The id of a dataset build, from lineage only (see the module text); a key never stored."""
        p = self.profile
        seed = p.seed if seed is None else int(seed)
        pre = self.preprocessed_key().id
        part = self._split_parent(protocol, seed, fold)
        args = {"dataset": name, "protocol": protocol, "seed": seed,
                "datasets_code": code_hash(["dspic_lib.pipeline.datasets"])}
        code = [split.patient_split if protocol == "patient" else split.image_split]
        parents = [pre, part]
        if protocol == "paper":
            args["test_fraction"] = p.test_fraction
        if name != "D1":
            # the sweep runs on the training patients of the build's own split (the paper's protocol:
            # of the default patient split); the build's t and r are its choice
            parents.append(self.sweep_key(seed, part if protocol == "patient" else self.split_key(seed).id).id)
            args["table"] = augment.paper_table("table1" if name == "D2" else "table2")
            code.append(augment.augment_to_counts if name == "D2" else gan.generate_to_counts)
        if name == "D3":
            args["gan"] = {"steps": p.gan_steps, "batch_size": p.gan_batch_size}
        return self.store.key("build", args, code=code, parents=parents, profile=p.name)

    def plan(self, name: str, protocol: str = "patient", seed: int | None = None, fold: int | None = None) -> "BuildPlan":
        seed = self.profile.seed if seed is None else int(seed)
        return BuildPlan(self, name, protocol, seed, fold)

    # ----------------------------------------------------------------------------------- inputs
    def cohort_and_d1(self, layout: str | None = None):
        """``(cohort, D1)``: the folder scanned and preprocessed in one pass, once per process. When the
        preprocessed arrays are already stored, the scan only makes the table (Eq. 1 and the resize are
        not run again on every image to be thrown away) and D1 is read from the store."""
        if "d1" not in self._memo:
            from dspic_lib.data.cohort import scan
            from dspic_lib.pipeline import datasets

            p = self.profile
            shape = (p.rows, p.cols)
            kw = {} if layout is None else {"layout": layout}
            if layout in (None, self.ctx.layout) and self.store.get(self.preprocessed_key()) is not None:
                cohort = scan(self.ctx.data_dir, **kw)
                pre = preprocess.preprocess_cohort(cohort, shape, store=self.store, profile=p.name)
            else:
                cohort, pre = preprocess.scan_preprocessed(self.ctx.data_dir, shape, store=self.store,
                                                           profile=p.name, **kw)
            self._memo["d1"] = (cohort.labelled(), datasets._d1_from(cohort, pre))
        return self._memo["d1"]

    def _split_entry(self, key, compute_parts):
        def compute(folder):
            (folder / "split.json").write_text(json.dumps(compute_parts(), indent=1))

        return json.loads(self.store.get_or_compute(key, compute).file("split.json").read_text())

    def _parts_of(self, sp: split.Split, meta) -> dict:
        train, test = meta.iloc[sp.train], meta.iloc[sp.test]
        return {"train": sorted(set(train["patient"].astype(str))), "test": sorted(set(test["patient"].astype(str))),
                "train_counts": train["label"].value_counts().to_dict(),
                "test_counts": test["label"].value_counts().to_dict()}

    def _rows(self, parts: dict, meta) -> split.Split:
        import numpy as np

        patients = meta["patient"].astype(str)
        return split.Split(train=np.flatnonzero(patients.isin(set(parts["train"])).to_numpy()),
                           test=np.flatnonzero(patients.isin(set(parts["test"])).to_numpy()), protocol="patient",
                           repeat=int(parts.get("repeat", 0)), fold=int(parts.get("fold", 0)))

    def patient_split(self, seed: int | None = None) -> split.Split:
        """The 7:3 patient split as rows of D1, through its entry (patients per part)."""
        p = self.profile
        seed = p.seed if seed is None else int(seed)
        d1 = self.cohort_and_d1()[1]
        parts = self._split_entry(self.split_key(seed), lambda: self._parts_of(
            split.patient_split(d1.meta, p.test_fraction, seed), d1.meta))
        return self._rows(parts, d1.meta)

    def kfold(self) -> list[split.Split]:
        """Chapter 07's folds as rows of D1, through their entry."""
        p = self.profile
        d1 = self.cohort_and_d1()[1]

        def compute():
            folds = split.patient_kfold(d1.meta, p.cv_folds, p.cv_repeats, p.seed)
            return {"folds": [{**self._parts_of(f, d1.meta), "repeat": f.repeat, "fold": f.fold} for f in folds]}

        return [self._rows(f, d1.meta) for f in self._split_entry(self.kfold_key(), compute)["folds"]]

    def n_folds(self) -> int:
        return self.profile.cv_folds * self.profile.cv_repeats

    def materialize(self, plan: "BuildPlan"):
        """The :class:`~dspic_lib.pipeline.datasets.Build` of a plan (once per process)."""
        from dspic_lib.pipeline import datasets

        key = self.build_key(plan.name, plan.protocol, plan.seed, plan.fold)
        if key.id not in self._memo:
            d1 = self.cohort_and_d1()[1]
            pre = self.preprocessed_key().id
            if plan.fold is not None:
                part = self.kfold()[plan.fold]
            else:
                part = self.patient_split(plan.seed)        # the paper's protocol: its sweep's split
            split_parent = self._split_parent(plan.protocol, plan.seed, plan.fold)
            sweep_parent = split_parent if plan.protocol == "patient" else self.split_key(plan.seed).id
            self._memo[key.id] = datasets.build(
                plan.name, self.profile, d1=d1, results_dir=self.ctx.results_dir, protocol=plan.protocol,
                seed=plan.seed, part=part, parents=[pre, split_parent], sweep_parents=[pre, sweep_parent],
                lineage_id=key.id)
        return self._memo[key.id]


@dataclass(frozen=True)
class BuildPlan:
    """A dataset build described by its lineage: its id needs no data; :meth:`materialize` builds it."""

    lineage: Lineage
    name: str
    protocol: str = "patient"
    seed: int = 0
    fold: int | None = None

    def key(self):
        """The build's key (name ``build``; never an entry: a run names it as its parent)."""
        return self.lineage.build_key(self.name, self.protocol, self.seed, self.fold)

    @property
    def lineage_id(self) -> str:
        return self.key().id

    def materialize(self):
        return self.lineage.materialize(self)


# ------------------------------------------------------------------------------ module functions
def of(ctx) -> Lineage:
    """The :class:`Lineage` of a run context (made once per context)."""
    if "lineage" not in ctx._memo:
        ctx._memo["lineage"] = Lineage(ctx)
    return ctx._memo["lineage"]


def load_d1(ctx, data_dir: str | Path | None = None, *, cohort=None, use_cache: bool = True,
            results_dir: str | Path | None = None) :
    """D1: every image of the cohort after Eq. 1 at ``profile.rows x profile.cols``, kept in the result
    store. ``ctx``: a :class:`~dspic_lib.pipeline.context.Context` (or a profile, with the folders as
    keywords). With ``cohort`` (a scanned table) only that is preprocessed."""
    from dspic_lib.pipeline import datasets
    from dspic_lib.pipeline.context import of as context_of
    from dspic_lib.pipeline.preprocess import preprocess_cohort

    if cohort is None:
        return cohort_and_d1(ctx, data_dir, results_dir=results_dir, use_cache=use_cache)[1]
    c = context_of(ctx, data_dir, results_dir)
    pre = preprocess_cohort(cohort, (c.profile.rows, c.profile.cols), use_cache=use_cache, store=c.store,
                            profile=c.profile.name)
    return datasets._d1_from(cohort, pre)


def cohort_and_d1(ctx, data_dir: str | Path | None = None, *,
                  results_dir: str | Path | None = None, use_cache: bool = True, layout: str | None = None):
    """``(cohort, D1)`` with one decode of each frame: the scan and the preprocessing share it, once
    per process (:meth:`dspic_lib.pipeline.lineage.Lineage.cohort_and_d1`). ``ctx``: a
    :class:`~dspic_lib.pipeline.context.Context` (or a profile, with the folders as keywords). The
    cohort's table holds the labelled images only, row for row those of D1; its ``left_out`` holds the
    unlabelled ones (counted by chapter 01, never trained or scored on). ``layout``: the folder's layout
    (``dicom``, ``bs80k``, ``png-folders``, see :func:`dspic_lib.data.cohort.scan`; default ``dicom``),
    or ``auto``: :func:`resolve_layout`."""
    from dspic_lib.pipeline import datasets
    from dspic_lib.pipeline.context import of as context_of
    from dspic_lib.pipeline.preprocess import scan_preprocessed

    c = context_of(ctx, data_dir, results_dir)
    kw = {} if layout is None else {"layout": datasets.resolve_layout(c.data_dir, layout)}
    if use_cache and kw.get("layout", "dicom") == c.layout:
        return of(c).cohort_and_d1(**kw)
    cohort, pre = scan_preprocessed(c.data_dir, (c.profile.rows, c.profile.cols), store=c.store,
                                    profile=c.profile.name, use_cache=use_cache, **kw)
    return cohort.labelled(), datasets._d1_from(cohort, pre)



def _own_d1(lin: Lineage, d1) -> bool:
    memo = lin._memo.get("d1")
    return memo is not None and memo[1] is d1


def build(ctx, name: str, *, d1=None, seed: int | None = None, protocol: str = "patient", **kw):
    """:func:`dspic_lib.pipeline.datasets.build` on a run context's D1 (default: read or made through the
    lineage), with the lineage ids of its steps, so that a chapter that builds D2 or D3 itself finds the
    entries the runs were made from (the same sweep, DCGANs and samples)."""
    from dspic_lib.pipeline import datasets

    lin = of(ctx)
    d1 = lin.cohort_and_d1()[1] if d1 is None else d1
    seed = lin.profile.seed if seed is None else int(seed)
    if _own_d1(lin, d1) and "part" not in kw and "parents" not in kw:
        pre, sp = lin.preprocessed_key().id, lin.split_key(seed).id
        kw.update(parents=[pre, sp if protocol == "patient" else "protocol:paper"], sweep_parents=[pre, sp])
        if kw.get("t") is None and kw.get("r") is None:
            kw["lineage_id"] = lin.build_key(name, protocol, seed).id
    return datasets.build(name, lin.profile, d1=d1, results_dir=lin.ctx.results_dir, seed=seed,
                          protocol=protocol, **kw)


def choose_t_r(ctx, d1=None, *, seed: int | None = None, **kw):
    """:func:`dspic_lib.pipeline.datasets.choose_t_r` on a run context's D1, keyed by its lineage (the
    sweep entry the runs use)."""
    from dspic_lib.pipeline import datasets

    lin = of(ctx)
    d1 = lin.cohort_and_d1()[1] if d1 is None else d1
    seed = lin.profile.seed if seed is None else int(seed)
    if _own_d1(lin, d1) and "part" not in kw and "parents" not in kw:
        kw["parents"] = [lin.preprocessed_key().id, lin.split_key(seed).id]
    return datasets.choose_t_r(d1, lin.profile, results_dir=lin.ctx.results_dir, seed=seed, **kw)
