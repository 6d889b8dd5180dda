"""``dspic data scan DIR`` and ``dspic data synth --out DIR``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

LAYOUT_CHOICES = ("dicom", "bs80k", "png-folders")      # = data.cohort.LAYOUTS (checked by a test)
SHOW_WARNINGS = 20


def register(sub) -> None:
    p = sub.add_parser("data", help="scan a folder of scans, or write the synthetic cohort",
                       description=__doc__)
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    s = dsub.add_parser("scan", help="read every scan and annotation of a folder and report problems",
                        description="Prints images per class and view, the number of patients, the "
                                    "unlabelled images, warnings (files kept, or dropped as exact copies) "
                                    "and a table of problems (files left out); exits 1 when there were "
                                    "problems.")
    s.add_argument("dir", type=Path, help="data folder")
    s.add_argument("--layout", default="dicom", choices=LAYOUT_CHOICES,
                   help="dicom: NM DICOM + LabelMe JSON (default); bs80k: BS-80K's wholeBodyANT/ and "
                        "wholeBodyPOST/ JPEGs with txt labels and VOC boxes; png-folders: "
                        "<class>/Anterior/A<n>.png and <class>/Posterior/P<n>.png. The last two are "
                        "binary (normal / abnormal), not the paper's N, M, A, M&A")
    s.add_argument("--view", default=None, choices=("anterior", "posterior"),
                   help="dicom layout: the view of single-frame files that neither their header, "
                        "views.csv nor their file name says (default: they stay 'unknown')")
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
    from .data.cohort import scan
    from .data.dicom import WHOLE_BODY_SHAPE

    t0 = time.perf_counter()
    cohort = scan(args.dir, strict=args.strict, shape=None if args.any_size else WHOLE_BODY_SHAPE,
                  progress=True, layout=args.layout, view=args.view)
    took = time.perf_counter() - t0
    kind = "synthetic cohort (phantom)" if cohort.synthetic else "user data"
    print(f"{args.dir}: {kind}, layout {cohort.layout}, {len(cohort.table)} images of "
          f"{cohort.table['patient'].nunique()} patients read in {took:.1f} s")
    if cohort.task != "four-class":
        print(f"task: {cohort.task} ({' / '.join(cohort.classes)}), not the paper's classes N, M, A, M&A")
    print(cohort.summary().to_string())
    _print_unlabelled(cohort.table)
    notes = cohort.table.loc[cohort.table["notes"] != "", "notes"]
    if len(notes):
        print(f"\n{_n(len(notes), 'image')} with notes, e.g.: {notes.iloc[0]}")
    _print_frame(cohort.warnings, f"{_n(len(cohort.warnings), 'warning')} (these files were kept, unless the "
                                  "warning says dropped):")
    if len(cohort.problems):
        _print_frame(cohort.problems, f"{_n(len(cohort.problems), 'problem')} (these files were left out):",
                     limit=None)
        return 1
    print("\nno problems")
    return 0


def _print_unlabelled(table) -> None:
    from .vocab import UNLABELLED

    files = table.loc[table["label"] == UNLABELLED, "path"].drop_duplicates()
    if len(files):
        some = ", ".join(files.iloc[:3]) + (", ..." if len(files) > 3 else "")
        n = int((table["label"] == UNLABELLED).sum())
        print(f"\n{_n(n, 'image')} unlabelled (no annotation and no label for them): counted, never taken as "
              f"normal, left out of training and metrics. Files: {some}")


def _print_frame(df, title: str, limit: int | None = SHOW_WARNINGS) -> None:
    """One line per row, ``file: text`` (the texts are long sentences, not table cells)."""
    if not len(df):
        return
    print(f"\n{title}")
    for file, text in (df if limit is None else df.head(limit)).itertuples(index=False):
        print(f"  {file}: {text}")
    if limit is not None and len(df) > limit:
        print(f"  ... and {len(df) - limit} more")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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
