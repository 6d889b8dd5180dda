"""``dspic data scan DIR``, ``dspic data export-png DIR`` and ``dspic data synth --out DIR``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

LAYOUT_CHOICES = ("dicom", "bs80k", "png-folders")      # = data.cohort.LAYOUTS (checked by a test)
SHOW_WARNINGS = 20
WINDOW_HELP = ("linear, inverted grey: 0 counts white, the 99.5th percentile of the view's positive counts and "
               "above black")      # what data.display.WINDOW says (checked by a test)


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

    e = dsub.add_parser("export-png", help="write a PNG of each view beside its DICOM file, for LabelMe",
                        description="LabelMe opens pictures, not DICOM. For each view that `dspic data scan` "
                                    "reads, writes an 8-bit PNG beside the DICOM file (X.png for X.dcm; "
                                    "Y_anterior.png and Y_posterior.png for a two-frame Y.dcm; an existing "
                                    "annotation's name wins) at the DICOM's size, so shapes drawn on it are in "
                                    "DICOM pixel coordinates. Window: " + WINDOW_HELP + ". The window is also in "
                                    "each PNG's text chunk 'Window'. LabelMe JSONs that name the DICOM file are "
                                    "pointed at the PNG (imagePath, imageHeight, imageWidth; the shapes are "
                                    "kept). A PNG of the same name that this project did not write is left "
                                    "alone. The PNGs are never read back as counts. This is the one command "
                                    "that writes into your folder.")
    e.add_argument("dir", type=Path, help="data folder (dicom layout)")
    e.add_argument("--view", default=None, choices=("anterior", "posterior"),
                   help="as for scan: the view of single-frame files that do not say theirs")
    e.add_argument("--any-size", action="store_true",
                   help="accept images of any size (default: 1024 x 256 rows x columns)")
    e.set_defaults(func=run_export_png)

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
    from dspic_lib.data.cohort import scan
    from dspic_lib.data.dicom import WHOLE_BODY_SHAPE

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
    _print_skipped(cohort.skipped)
    _print_frame(cohort.warnings, f"{_n(len(cohort.warnings), 'warning')} (these files were kept, unless the "
                                  "warning says dropped):")
    if len(cohort.problems):
        _print_frame(cohort.problems, f"{_n(len(cohort.problems), 'problem')} (these files were left out):",
                     limit=None)
        return 1
    print("\nno problems")
    return 0


def run_export_png(args) -> int:
    import pandas as pd

    from dspic_lib.data.dicom import WHOLE_BODY_SHAPE
    from dspic_lib.data.export_png import export_png

    t0 = time.perf_counter()
    done = export_png(args.dir, shape=None if args.any_size else WHOLE_BODY_SHAPE, view=args.view, progress=True)
    print(f"{args.dir}: wrote {_n(len(done.written), 'PNG')} in {time.perf_counter() - t0:.1f} s "
          f"(window: {WINDOW_HELP}); pointed {_n(len(done.updated), 'LabelMe JSON')} at their PNG")
    _print_frame(pd.DataFrame(done.skipped, columns=["file", "why"]),
                 f"{_n(len(done.skipped), 'file')} left alone:", limit=None)
    if done.problems:
        _print_frame(pd.DataFrame(done.problems, columns=["file", "problem"]),
                     f"{_n(len(done.problems), 'problem')} (no PNG for these files; see dspic data scan):", limit=None)
        return 1
    return 0


def _print_unlabelled(table) -> None:
    from dspic_lib.vocab import UNLABELLED

    files = table.loc[table["label"] == UNLABELLED, "path"].drop_duplicates()
    if len(files):
        some = ", ".join(files.iloc[:3]) + (", ..." if len(files) > 3 else "")
        n = int((table["label"] == UNLABELLED).sum())
        print(f"\n{_n(n, 'image')} unlabelled (no annotation and no label for them): counted, never taken as "
              f"normal, left out of training and metrics. Files: {some}")


def _print_skipped(skipped) -> None:
    """Files the scan did not read, counted by reason (hidden, DICOMDIR, compressed, ...), then listed."""
    if skipped is None or not len(skipped):
        return
    kinds = skipped["reason"].map(lambda r: r.split(" (")[0].split(":")[0])
    counts = ", ".join(f"{n} {kind}" for kind, n in kinds.value_counts(sort=False).items())
    _print_frame(skipped, f"{_n(len(skipped), 'file')} skipped, not read ({counts}):")


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
    from dspic_lib.config import get_profile
    from dspic_lib.data.phantom import DEFAULT_DIFFICULTY, PhantomConfig, generate

    prof = get_profile(args.profile, seed=args.seed)
    cfg = PhantomConfig(n_patients=args.n_patients or prof.n_patients, seed=prof.seed,
                        difficulty=DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty)
    t0 = time.perf_counter()
    out = generate(args.out, cfg, profile=prof.name, workers=args.workers)
    print(f"wrote {cfg.n_patients} patients ({2 * cfg.n_patients} images) to {out} "
          f"in {time.perf_counter() - t0:.1f} s (seed {cfg.seed}, difficulty {cfg.difficulty})")
    return 0
