"""``dspic data scan DIR`` and ``dspic data synth --out DIR``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("data", help="scan a folder of scans, or write the synthetic cohort",
                       description=__doc__)
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    s = dsub.add_parser("scan", help="read every DICOM + LabelMe file of a folder and report problems",
                        description="Prints images per class and view, the number of patients, and a "
                                    "table of problems; exits 1 when there were problems.")
    s.add_argument("dir", type=Path, help="data folder")
    s.add_argument("--strict", action="store_true", help="stop at the first problem")
    s.add_argument("--any-size", action="store_true",
                   help="accept images of any size (default: 1024 x 256 rows x columns)")
    s.set_defaults(func=run_scan)

    g = dsub.add_parser("synth", help="write the synthetic cohort (DICOM + LabelMe)",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g.add_argument("--out", type=Path, required=True, help="new (or empty) folder to write into")
    g.add_argument("--profile", default="cpu", help="profile whose n_patients and seed are used")
    g.add_argument("--seed", type=int, default=None, help="override the profile's seed")
    g.add_argument("--n-patients", type=int, default=None, help="override the profile's n_patients")
    g.add_argument("--difficulty", type=float, default=None,
                   help="lesion difficulty knob in [0, 1] (default: the phantom's)")
    g.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    g.set_defaults(func=run_synth)


def run_scan(args) -> int:
    import pandas as pd

    from .data.cohort import scan
    from .data.dicom import WHOLE_BODY_SHAPE

    t0 = time.perf_counter()
    cohort = scan(args.dir, strict=args.strict, shape=None if args.any_size else WHOLE_BODY_SHAPE,
                  progress=True)
    took = time.perf_counter() - t0
    kind = "synthetic cohort (phantom)" if cohort.synthetic else "user data"
    print(f"{args.dir}: {kind}, {len(cohort.table)} images of {cohort.table['patient'].nunique()} patients "
          f"read in {took:.1f} s")
    print(cohort.summary().to_string())
    notes = cohort.table.loc[cohort.table["notes"] != "", "notes"]
    if len(notes):
        print(f"\n{len(notes)} images with notes, e.g.: {notes.iloc[0]}")
    if len(cohort.problems):
        print(f"\n{len(cohort.problems)} problems (these files were left out):")
        with pd.option_context("display.max_colwidth", 200, "display.width", 250):
            print(cohort.problems.to_string(index=False))
        return 1
    print("\nno problems")
    return 0


def run_synth(args) -> int:
    from .config import get_profile
    from .data.phantom import DEFAULT_DIFFICULTY, PhantomConfig, generate

    prof = get_profile(args.profile, seed=args.seed)
    cfg = PhantomConfig(n_patients=args.n_patients or prof.n_patients, seed=prof.seed,
                        difficulty=DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty)
    t0 = time.perf_counter()
    out = generate(args.out, cfg, profile=prof.name, workers=args.workers)
    print(f"wrote {cfg.n_patients} patients ({2 * cfg.n_patients} images) to {out} "
          f"in {time.perf_counter() - t0:.1f} s (seed {cfg.seed}, difficulty {cfg.difficulty})")
    return 0
