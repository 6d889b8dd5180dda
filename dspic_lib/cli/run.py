"""``dspic run EXPERIMENT...``: train (or read from the result store) the experiments behind the tables."""
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
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from dspic_lib.cli import make_context
    from dspic_lib.pipeline.experiments import cells
    from dspic_lib.pipeline.experiments import run as run_experiments

    cells(args.experiments)                       # unknown names fail before anything is built
    ctx = make_context(args, progress=True)
    print(ctx.profile, flush=True)
    start = time.perf_counter()
    runs = run_experiments(args.experiments, ctx, seeds=args.seeds)
    from dspic_lib.evaluation.metrics import summary

    for (model, dataset, seed), r in runs.items():
        m = summary(r.y_true, r.proba)
        where = "from the store" if r.cached else f"trained in {r.seconds:.0f} s"
        print(f"{model:>16} on {dataset}, seed {seed}: epoch {r.best_epoch}/{len(r.history)} kept; test "
              f"accuracy {m['accuracy']:.4f}, F1 {m['f1']:.4f}, AUC {m['auc']:.4f} ({where})")
    print(f"{len(runs)} run(s) in {time.perf_counter() - start:.0f} s")
    return 0
