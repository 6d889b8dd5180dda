"""The named experiments behind the paper's result tables, each a list of (model, dataset) cells.

* ``table5``: dSPIC-AM on D1, D2, D3 (Table 5)
* ``table6``: dSPIC-RM on D1, D2, D3 (Table 6)
* ``table8``: the four SI_CLF networks, AlexNet and dSPIC-AM, all on D2 (Tables 7-8, Figs 10-11)
* ``table9``: dSPIC-AM with and without its two pooling layers, on D2 (Table 9)

Every cell is trained with the profile's seed. ``table5``'s D2 cell is also trained with
:data:`VARIANCE_SEEDS` - 1 further seeds (:func:`plan`), and ``table5``/``table8`` bring the
reference cells of :data:`REFERENCE_CELLS` (the plain CNN, not in the paper): their spread is the tolerance of every verdict
(:mod:`dspic_lib.evaluation.claims`). The further seeds change the initial weights, the validation patients and the
order of the batches; the 7:3 patient split and the augmented copies stay those of the profile's seed,
so the spread is that of training, not of the choice of test patients.

:func:`run` reads every run already in the store by its lineage key (:mod:`dspic_lib.pipeline.lineage`:
nothing is scanned, decoded or augmented for that), builds each dataset a missing run needs once (its
t/r sweep and DCGANs come from the result store), trains those runs (:func:`dspic_lib.pipeline.train.fit`)
with a progress bar, and returns the runs; cells shared by several tables (dSPIC-AM on D2 is in tables
5, 8 and 9) are trained once. ``dspic run`` and the result chapters call it.
"""
from __future__ import annotations

from dspic_lib.config import Profile
from dspic_lib.options import look_up_option

EXPERIMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "table5": (("dSPIC-AM", "D1"), ("dSPIC-AM", "D2"), ("dSPIC-AM", "D3")),
    "table6": (("dSPIC-RM", "D1"), ("dSPIC-RM", "D2"), ("dSPIC-RM", "D3")),
    "table8": tuple((m, "D2") for m in ("SI_CLF", "SI_CLF+AM", "SI_CLF+RM", "SI_CLF+AM+RM", "AlexNet", "dSPIC-AM")),
    "table9": (("dSPIC-AM", "D2"), ("dSPIC-AM-nopool", "D2")),
}


# The plain CNN that set the synthetic cohort's difficulty, on D1 and D2: not a cell of the paper but the
# reference row of Tables 5 and 8 (what this cohort allows), trained with the profile's seed whenever
# table5 or table8 is asked for (and with the variance cell).
REFERENCE_CELLS = (("Plain CNN", "D1"), ("Plain CNN", "D2"))
VARIANCE_CELL = ("dSPIC-AM", "D2")     # table5's D2 cell, trained with several seeds
VARIANCE_SEEDS = 3


def variance_seeds(seed: int) -> list[int]:
    """The seeds of the variance cell: the profile's seed and the next ``VARIANCE_SEEDS - 1``."""
    return [int(seed) + k for k in range(VARIANCE_SEEDS)]


def cells(names) -> list[tuple[str, str]]:
    """The distinct (model, dataset) cells of the named experiments, in order."""
    out: list[tuple[str, str]] = []
    for name in names:
        look_up_option(name, EXPERIMENTS, what="experiment")
        out += [c for c in EXPERIMENTS[name] if c not in out]
    return out


def plan(names, profile: Profile, seeds=None, *, variance: bool = False) -> list[tuple[str, str, int]]:
    """The (model, dataset, seed) runs of the named experiments, in order: every cell with each of
    ``seeds`` (default: the profile's seed, and the variance cell with :func:`variance_seeds` for
    ``table5`` or when ``variance`` is asked for, as every verdict needs its tolerance)."""
    todo = cells(names)
    if seeds is not None:
        return [(m, d, int(s)) for m, d in todo for s in seeds]
    out = [(m, d, profile.seed) for m, d in todo]
    if "table5" in names or variance:
        out += [(*VARIANCE_CELL, s) for s in variance_seeds(profile.seed) if (*VARIANCE_CELL, s) not in out]
    if {"table5", "table8"} & set(names) or variance:
        out += [(m, d, profile.seed) for m, d in REFERENCE_CELLS if (m, d, profile.seed) not in out]
    return out


def plans_of(todo, ctx) -> dict:
    """``{dataset: plan}``: the lineage plan of every dataset of ``todo`` ((model, dataset, seed) triples)."""
    from dspic_lib.pipeline import lineage

    lin = lineage.of(ctx)
    return {d: lin.plan(d) for d in dict.fromkeys(d for _, d, _ in todo)}


def missing_runs(todo, ctx, plans: dict | None = None) -> tuple[dict, dict]:
    """``(keys, missing)``: the store key of every run of ``todo`` from the lineage alone (nothing built),
    and those of the runs whose entry is not in the store yet, in ``todo``'s order. The sequential path
    (:func:`run`) and the Ray driver (:mod:`dspic_lib.pipeline.ray_executor`) both ask this."""
    from dspic_lib.pipeline import train

    plans = plans_of(todo, ctx) if plans is None else plans
    keys = {(m, d, s): train.train_key(ctx.store, m, plans[d], ctx.profile, s) for m, d, s in todo}
    return keys, {r: k for r, k in keys.items() if ctx.store.get(k) is None}


def run(names, ctx, *, data_dir=None, results_dir=None, seeds=None, variance: bool = False,
        progress: bool = True) -> dict:
    """Read (or train) every run of :func:`plan`; ``{(model, dataset, seed): Run}``. ``ctx``: a
    :class:`~dspic_lib.pipeline.context.Context` (or a profile, with the folders as keywords). Runs
    missing from the store are trained with a progress bar over them (``progress``), their datasets
    built once and shared."""
    from tqdm import tqdm  # tqdm.auto warns in a kernel without ipywidgets

    from dspic_lib.pipeline import train
    from dspic_lib.pipeline.context import of

    c = of(ctx, data_dir, results_dir)
    profile = c.profile
    todo = plan(names, profile, seeds, variance=variance)
    plans = plans_of(todo, c)
    missing = list(missing_runs(todo, c, plans)[1])
    runs = {}
    bar = tqdm(missing, desc="experiments", unit="run", disable=not (progress and missing))
    for model, dataset, seed in bar:
        bar.set_postfix_str(f"{model} on {dataset}, seed {seed}")
        runs[(model, dataset, seed)] = train.fit(model, plans[dataset], profile, seed=seed, store=c.store,
                                                 progress=progress)
    for model, dataset, seed in todo:
        if (model, dataset, seed) not in runs:
            runs[(model, dataset, seed)] = train.fit(model, plans[dataset], profile, seed=seed, store=c.store,
                                                     progress=False)
    return {k: runs[k] for k in todo}


# Chapter 04 prices the initialisation (zoo's ``init``): this cell is also trained from Keras' default
# (Glorot-uniform) start, all else equal, and its learning curves are shown beside the chosen start's.
INIT_CELL = ("dSPIC-AM", "D1")
INIT_ALTERNATIVE = "glorot"


def init_comparison(ctx, *, progress: bool = True) -> dict:
    """``{init: Run}`` of :data:`INIT_CELL` under the profile's initialisation and under
    :data:`INIT_ALTERNATIVE` (read from the store, or trained once)."""
    from dspic_lib.pipeline import lineage, train

    profile = ctx.profile
    plan_ = lineage.of(ctx).plan(INIT_CELL[1])
    out = {}
    for init in dict.fromkeys((profile.init, INIT_ALTERNATIVE)):
        out[init] = train.fit(INIT_CELL[0], plan_, profile.override(init=init), seed=profile.seed,
                              store=ctx.store, progress=progress)
    return out
