"""``dspic train --model NAME --dataset D1|D2|D3 --out DIR``: train one model and export it for prediction.

Builds the dataset as ``dspic run`` does (the cohort, D1, then D2 or D3 from the training patients),
trains with :func:`dspic_lib.pipeline.train.fit` (the weights are a result-store entry, so a repeat only
exports), rebuilds the network from the zoo, loads the stored weights, checks that it predicts the
test images as the training run did, and writes ``DIR/model.keras`` and ``DIR/model.json`` (the model
card: see :mod:`dspic_lib.predict.card`). ``dspic predict DIR SCANS...`` reads that folder.
"""
from __future__ import annotations

import argparse
from pathlib import Path

RELOAD_ATOL = 1e-5        # the reloaded network must predict the stored test probabilities to this


def register(sub) -> None:
    from dspic_lib.cli import add_profile_options
    from dspic_lib.models import names
    from dspic_lib.pipeline.datasets import NAMES

    p = sub.add_parser("train", help="train one model on D1, D2 or D3 and export it (model.keras + model.json)",
                       description=_plain(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, metavar="NAME", help=f"one of {', '.join(names())}")
    p.add_argument("--dataset", required=True, metavar="D", help=f"one of {', '.join(NAMES)}")
    add_profile_options(p)
    p.add_argument("--layout", default="auto", choices=("auto", "dicom", "bs80k", "png-folders"),
                   help="layout of --data-dir: dicom (DICOM + LabelMe), or a public binary collection, bs80k or "
                        "png-folders (normal / abnormal: D1 only). auto (default): bs80k or png-folders when the "
                        "folder looks like one, else dicom")
    p.add_argument("--results-dir", type=Path, default=None,
                   help="results folder whose store keeps the run (default: .dspic/results/<profile>)")
    p.add_argument("--n-boot", type=int, default=None,
                   help="bootstrap resamples for the test metrics' 95 %% CIs (default: 1000)")
    p.add_argument("--out", type=Path, required=True, help="folder to write model.keras and model.json into")
    p.set_defaults(func=run)


def _plain(text: str) -> str:
    """A docstring as help text: without reST roles and literal quotes."""
    import re

    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")


def train_and_export(model_name: str, dataset: str, profile, out: Path, *, data_dir=None, results_dir=None,
                     n_boot: int | None = None, progress: bool = True, layout: str | None = None) -> dict:
    """Train (or read from the store) ``model_name`` on ``dataset`` and export it to ``out``; the card."""
    import numpy as np

    from dspic_lib import models
    from dspic_lib.errors import DataError
    from dspic_lib.evaluation import results
    from dspic_lib.options import look_up_option
    from dspic_lib.outputs import check_folder_target, check_free_space
    from dspic_lib.pipeline import datasets, lineage, train
    from dspic_lib.pipeline.context import results_dir_of
    from dspic_lib.predict import card as modelcard
    from dspic_lib.store import for_results

    look_up_option(model_name, models.names(), what="model")
    look_up_option(dataset, datasets.NAMES, what="dataset")
    check_folder_target(out, "--out", create=False)      # said now, not after the training
    results_dir = results_dir_of(profile, results_dir)
    store = for_results(results_dir)
    cohort, d1 = lineage.cohort_and_d1(profile, data_dir, results_dir=results_dir, layout=layout)
    build = datasets.build(dataset, profile, d1=d1, results_dir=results_dir)
    run_ = train.fit(model_name, build, profile, seed=profile.seed, store=store, progress=progress)
    model = results.load_model(run_, profile, results_dir)
    again = train.predict(model, build.test.X, profile.batch_size)
    if not np.allclose(again, run_.proba, atol=RELOAD_ATOL, rtol=0):
        raise DataError(f"store entry {run_.entry_id}: the rebuilt {model_name} predicts the test images "
                        f"differently from the training run (max difference {np.abs(again - run_.proba).max():.2g})")
    card = modelcard.make_card(model, model_name=model_name, profile=profile, run=run_, build=build,
                               cohort=cohort, n_boot=modelcard.N_BOOT if n_boot is None else int(n_boot))
    # before Keras writes the model folder: a full disk there ended in a segfault (h5py), not an error
    check_free_space(out, 4 * int(model.count_params()), f"the model ({model.count_params()} parameters)")
    check_folder_target(out, "--out")
    modelcard.export(model, card, out)
    return {**card, "_run": run_}


def run(args) -> int:
    from dspic_lib.config import get_profile, parse_assignments

    profile = get_profile(args.profile, seed=args.seed, **parse_assignments(args.set))
    print(profile, flush=True)
    card = train_and_export(args.model, args.dataset, profile, args.out, data_dir=args.data_dir,
                            results_dir=args.results_dir, n_boot=args.n_boot, layout=args.layout)
    r = card.pop("_run")
    where = "from the store" if r.cached else f"trained in {r.seconds:.0f} s"
    m = card["test_metrics"]
    parts = []
    for name in ("accuracy", "f1", "auc"):
        v = m["metrics"][name]
        ci = f" [{v['low']:.3f}, {v['high']:.3f}]" if v.get("low") is not None else ""
        parts.append(f"{name} {v['value']:.3f}{ci}" if v["value"] is not None else f"{name} n/a")
    task = f" ({card['task']}: {', '.join(card['classes'])})" if card["task"] != "four-class" else ""
    print(f"{args.model} on {args.dataset}{task}, seed {r.seed} ({where}, store entry {r.entry_id}): test "
          f"{', '.join(parts)} on {m['n_images']} images of {m['n_patients']} patients")
    if not m["ci"]["available"]:
        print(f"no confidence intervals: {m['ci']['why']}")
    print(f"wrote {args.out / 'model.keras'} and {args.out / 'model.json'}")
    return 0
