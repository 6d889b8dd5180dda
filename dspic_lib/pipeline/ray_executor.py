"""``dspic run ... --cluster ray``: the missing training runs of an experiment grid as Ray tasks.

The result store is the only state: a run is done when its ``train`` entry exists. So the driver
(:func:`run`)

1. computes the key of every run of :func:`dspic_lib.pipeline.experiments.plan` from the lineage alone
   (:mod:`dspic_lib.pipeline.lineage`: the data folder's fingerprint; nothing is scanned, decoded or
   augmented on the driver) and asks the store which entries are missing;
2. submits one Ray task per missing run (:func:`_train_task`), and writes no entry itself. Each task runs
   in a fresh worker process (``max_calls=1``: TensorFlow's state, the process's source snapshot and
   memory are those of one training), asks for :func:`cpus_per_run` CPUs and, where the cluster has
   GPUs, one GPU, and is retried (``max_retries``) when its worker dies. It calls the same
   :func:`dspic_lib.pipeline.train.fit` that the sequential path calls, which builds the dataset it needs
   through the store: the scan, Eq. 1, the split, the t/r sweep, the DCGANs and their samples are store
   entries, computed once under their per-entry locks (``fcntl.flock``) by whichever task asks first,
   while the other tasks wait for and read them. A worker killed mid-training leaves its lock (released
   by the kernel) and a hidden ``.tmp-`` folder, which the retry removes when it takes the lock;
3. reads every run from the store exactly as the sequential path does
   (:func:`dspic_lib.pipeline.experiments.run`, which then finds nothing missing), so the printed
   tables are the same.

The store (the results folder) and the data folder must be on a filesystem every worker sees, at the
same absolute path, with working ``flock`` (NFS with lockd, Lustre, GPFS, BeeGFS; not a node's /tmp):
the driver cannot tell a shared folder from a local one of the same name, so a worker that finds no
data folder says so, and a worker that writes into its own local copy produces entries the driver
never sees (reported as missing after the tasks). The workers must run the same code and environment
as the driver: a run's key holds the code and the lock's hash, and a worker whose key differs is
reported.

``DSPIC_RAY_ADDRESS=host:port`` joins a running cluster (``ray start --head``; see
``cluster/slurm.sbatch``); without it ``ray.init()`` starts a local instance with ``workers`` CPUs
(``--workers`` / ``DSPIC_RAY_WORKERS``; default all of this machine's).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from dspic_lib.errors import ConfigError, DspicError

ADDRESS_ENV = "DSPIC_RAY_ADDRESS"
WORKERS_ENV = "DSPIC_RAY_WORKERS"
CPUS_ENV = "DSPIC_RAY_CPUS_PER_RUN"
MAX_RETRIES = 3          # attempts after the first when a task's worker dies (an exception is not retried)
CPUS_PER_RUN = {"smoke": 1, "cpu": 2, "paper": 4}     # CPUs a training of the profile asks for; others: 2


def cpus_per_run(profile) -> int:
    """The CPUs one training task asks for: ``DSPIC_RAY_CPUS_PER_RUN``, else :data:`CPUS_PER_RUN` of the
    profile's name (1 for ``smoke``)."""
    raw = os.environ.get(CPUS_ENV)
    if raw is None:
        return CPUS_PER_RUN.get(profile.name, 2)
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{CPUS_ENV}={raw!r}: must be a whole number of CPUs, 1 or more")
    return n


def _ray():
    try:
        import ray
    except ImportError as err:
        raise ConfigError("--cluster ray needs Ray: pip install 'dspic-book[cluster]' (or ray==2.60.0)") from err
    return ray


def connect(workers: int | None = None):
    """Join the cluster of ``DSPIC_RAY_ADDRESS``, else start a local Ray instance with ``workers`` CPUs
    (``DSPIC_RAY_WORKERS``; default: every CPU). Returns the ``ray`` module and whether this call
    started Ray (then the caller shuts it down)."""
    ray = _ray()
    if ray.is_initialized():
        return ray, False
    address = os.environ.get(ADDRESS_ENV) or None
    if workers is None and os.environ.get(WORKERS_ENV):
        try:
            workers = int(os.environ[WORKERS_ENV])
        except ValueError:
            raise ConfigError(f"{WORKERS_ENV}={os.environ[WORKERS_ENV]!r}: must be a whole number") from None
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: must be 1 or more")
    if address and workers is not None:
        raise ConfigError(f"--workers/{WORKERS_ENV} sets a local instance's CPUs; with {ADDRESS_ENV} the "
                          "cluster's nodes decide them (ray start --num-cpus)")
    kw = {"address": address} if address else {"num_cpus": workers}
    try:
        ray.init(**kw, include_dashboard=False, log_to_driver=True)
    except ConnectionError as err:
        raise ConfigError(f"{ADDRESS_ENV}={address}: no Ray cluster answers there ({err})") from err
    return ray, True


def _train_task(spec: dict) -> dict:
    """One training in a worker: the run context rebuilt from ``spec`` (no cohort generated, nothing
    read that the store has), :func:`dspic_lib.pipeline.train.fit` through the store."""
    import socket

    from dspic_lib.errors import DataError
    from dspic_lib.pipeline import lineage, train
    from dspic_lib.pipeline.context import Context
    from dspic_lib.store import for_results

    data_dir, results_dir = Path(spec["data_dir"]), Path(spec["results_dir"])
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: the data folder is not there on {socket.gethostname()}; with "
                        "--cluster ray the data and results folders must be on a filesystem every worker sees")
    ctx = Context(spec["profile"], data_dir, results_dir, for_results(results_dir), spec["overrides"], spec["layout"])
    plan = lineage.of(ctx).plan(spec["dataset"])
    start = time.perf_counter()
    run = train.fit(spec["model"], plan, ctx.profile, seed=spec["seed"], store=ctx.store, progress=False)
    return {"entry": run.entry_id, "pid": os.getpid(), "host": socket.gethostname(),
            "seconds": time.perf_counter() - start, "cached": run.cached}


def train_on_ray(todo, ctx, *, workers: int | None = None, progress: bool = True) -> dict:
    """Train the runs of ``todo`` that the store lacks as Ray tasks; ``{(model, dataset, seed): report}``
    of the submitted ones (report: the entry id, the worker's pid and host, its seconds). Raises
    :class:`~dspic_lib.errors.DspicError` naming every run that failed, after the others finished, and
    when a worker stored its run under another key than the driver's (other code or environment, or a
    results folder the driver does not see)."""
    import sys

    from dspic_lib.pipeline import experiments

    keys, missing = experiments.missing_runs(todo, ctx)
    if not missing:
        return {}
    ray, started = connect(workers)
    try:
        cluster = ray.cluster_resources()
        cpus = min(cpus_per_run(ctx.profile), max(1, int(cluster.get("CPU", 1))))
        gpus = 1 if cluster.get("GPU", 0) >= 1 else 0
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_calls=1, max_retries=MAX_RETRIES)(_train_task)
        base = {"profile": ctx.profile, "data_dir": str(Path(ctx.data_dir).resolve()),
                "results_dir": str(Path(ctx.results_dir).resolve()), "overrides": dict(ctx.overrides),
                "layout": ctx.layout}
        refs = {task.remote({**base, "model": m, "dataset": d, "seed": s}): (m, d, s) for m, d, s in missing}
        if progress:
            print(f"ray: {len(refs)} training task(s) on {cluster.get('CPU', 0):.0f} CPU(s)"
                  f"{f' and {gpus} GPU each' if gpus else ''}, {cpus} CPU(s) each", file=sys.stderr, flush=True)
        reports, failed, pending = {}, [], list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            run = refs[done[0]]
            try:
                reports[run] = ray.get(done[0])
            except Exception as err:           # a task's error (RayTaskError), reported with its run
                failed.append(f"{run[0]} on {run[1]}, seed {run[2]}: {type(err).__name__}: {err}")
                continue
            if progress:
                r = reports[run]
                print(f"ray: {run[0]} on {run[1]}, seed {run[2]} stored in {r['seconds']:.0f} s by pid {r['pid']}"
                      f" on {r['host']} ({len(refs) - len(pending)}/{len(refs)})", file=sys.stderr, flush=True)
    finally:
        if started:
            ray.shutdown()
    if failed:
        raise DspicError("--cluster ray: " + str(len(failed)) + " training(s) failed (the others are stored):\n  "
                         + "\n  ".join(failed))
    wrong = [f"{run[0]} on {run[1]}, seed {run[2]}: the worker stored {r['entry']}, the driver expects "
             f"{keys[run].id}" for run, r in reports.items() if r["entry"] != keys[run].id]
    absent = [f"{run[0]} on {run[1]}, seed {run[2]}: {keys[run].id} is not in {ctx.store.root}"
              for run in reports if ctx.store.get(keys[run]) is None]
    if wrong or absent:
        raise DspicError("--cluster ray: the workers' results do not reach this store (do they run the same "
                         "code and requirements.lock, and see the results folder at the same path on a shared "
                         "filesystem?)\n  " + "\n  ".join(wrong + absent))
    return reports


def run(names, ctx, *, seeds=None, variance: bool = False, workers: int | None = None,
        progress: bool = True) -> dict:
    """:func:`dspic_lib.pipeline.experiments.run` with the missing runs trained as Ray tasks first; the
    runs trained here are marked not cached (as the sequential path marks the runs it trains)."""
    import dataclasses

    from dspic_lib.pipeline import experiments

    todo = experiments.plan(names, ctx.profile, seeds, variance=variance)
    trained = train_on_ray(todo, ctx, workers=workers, progress=progress)
    runs = experiments.run(names, ctx, seeds=seeds, variance=variance, progress=False)
    return {k: dataclasses.replace(r, cached=False) if k in trained else r for k, r in runs.items()}
