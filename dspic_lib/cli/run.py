"""``dspic run EXPERIMENT...``: train (or read from the result store) the experiments behind the tables.

Runs missing from the store are trained one after the other in this process, unless ``--cluster ray``
sends each as a Ray task (DSPIC_RAY_ADDRESS=host:port joins a running cluster, e.g. the one
cluster/slurm.sbatch starts; without it a local Ray instance is started with --workers CPUs). With
--cluster the results folder and the data folder must be on a filesystem every worker sees, at the
same absolute path, with working flock (NFS with lockd, Lustre, GPFS; not a node's /tmp): the store
is the only state, a run is done when its entry exists, and the driver reads every run from it."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    from dspic_lib.cli import add_profile_options
    from dspic_lib.pipeline.experiments import EXPERIMENTS

    p = sub.add_parser("run", help="train the experiments behind the paper's result tables",
                       description=__doc__ + "\n\nExperiments: " + ", ".join(EXPERIMENTS),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiments", nargs="+", metavar="EXPERIMENT", help=f"one or more of {', '.join(EXPERIMENTS)}")
    add_profile_options(p)
    p.add_argument("--results-dir", default=None, help="results folder (default: .dspic/results/<profile>)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds to train (default: the profile's)")
    p.add_argument("--cluster", choices=["ray"], default=None,
                   help="train the missing runs as Ray tasks (default: one after the other in this process); "
                        "the results and data folders must be on a filesystem every worker sees")
    p.add_argument("--workers", type=int, default=None,
                   help="with --cluster ray and no DSPIC_RAY_ADDRESS: the local instance's CPUs "
                        "(default: $DSPIC_RAY_WORKERS, else all)")
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from dspic_lib.cli import make_context
    from dspic_lib.errors import ConfigError
    from dspic_lib.pipeline.experiments import cells
    from dspic_lib.pipeline.experiments import run as run_experiments

    cells(args.experiments)                       # unknown names fail before anything is built
    if args.workers is not None and args.cluster is None:
        raise ConfigError("--workers needs --cluster ray")
    ctx = make_context(args, progress=True)
    print(ctx.profile, flush=True)
    start = time.perf_counter()
    if args.cluster == "ray":
        from dspic_lib.pipeline import ray_executor

        runs = ray_executor.run(args.experiments, ctx, seeds=args.seeds, workers=args.workers)
    else:
        runs = run_experiments(args.experiments, ctx, seeds=args.seeds)
    from dspic_lib.evaluation.metrics import summary

    for (model, dataset, seed), r in runs.items():
        m = summary(r.y_true, r.proba)
        where = "from the store" if r.cached else f"trained in {r.seconds:.0f} s"
        print(f"{model:>16} on {dataset}, seed {seed}: epoch {r.best_epoch}/{len(r.history)} kept; test "
              f"accuracy {m['accuracy']:.4f}, F1 {m['f1']:.4f}, AUC {m['auc']:.4f} ({where})")
    print(f"{len(runs)} run(s) in {time.perf_counter() - start:.0f} s")
    return 0
