"""``dspic predict MODEL_DIR INPUT...``: N, M, A probabilities for your scans, one row per image and one per patient.

MODEL_DIR is a folder written by ``dspic train --out`` (model.keras + model.json). INPUTs are DICOM
files (NM, one or two frames, native or compressed), PNG/JPEG pictures, or folders of them (searched
recursively). The preprocessing (function and resolution) is the model card's.

Rows: one per image (``level`` image; a two-frame file gives two) with file, frame, patient (a keyed
pseudonym of the header's PatientID, never the ID), view (or unknown), p_N, p_M, p_A, top1, top2,
m_and_a (the paper's top-2 rule: the two most probable outputs are M and A) and warnings (inputs far
from the training data: size, modality, bit depth, intensity; see README). Then one per patient
(``level`` patient): the MEAN of the probabilities of the patient's images (its views), then the same
top-1, top-2 and M&A rules; ``combined`` says how many images were averaged. A binary model (trained
on a public normal / abnormal collection) gives p_normal, p_abnormal and top1 instead of p_N ... m_and_a.

--explain OUTDIR also writes a Grad-CAM PNG per image (the predicted class's map over the scan).

Names, IDs and dates from the headers appear in no output (nor --explain's file names), unless
--keep-ids adds a patient_id column.

A copy of a file (same patient, same pixels) is dropped with a warning; CSV text cells beginning
=, +, -, @ are prefixed with ' (no formula runs in a spreadsheet). --out and --explain are checked
before any work, and written through a temporary name (a full disk leaves no half file).

Exit status: 0 every file was predicted; 1 some files could not be read (each is listed on stderr with
its reason, and in the JSON's "failed"; the others are still predicted), an INPUT does not exist, or
an output could not be written (a full disk); 2 usage errors, including an --out or --explain that
cannot be written and a MODEL_DIR without model.json / model.keras or whose card does not match its
weights.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = (".csv", ".json")


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict N, M, A for DICOM or PNG/JPEG scans with a trained model folder",
                       description=__doc__.replace("``", ""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="folder with model.keras and model.json")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="DICOM or PNG/JPEG files, or folders of them")
    p.add_argument("--out", type=Path, default=None,
                   help="write predictions to this .csv or .json file (default: CSV on stdout)")
    p.add_argument("--keep-ids", action="store_true",
                   help="add a patient_id column with the header's PatientID (default: pseudonyms only)")
    p.add_argument("--explain", type=Path, default=None, metavar="OUTDIR",
                   help="also write a Grad-CAM PNG of each image's predicted class into OUTDIR, named "
                        "img<row>_<pseudonym>_<view>.png and listed in an 'explain' column")
    p.add_argument("--batch-size", type=int, default=None, help="images per model call (default: 32)")
    p.add_argument("--workers", type=int, default=None,
                   help="threads that decode and preprocess while the model runs (default: 2; 0: none, "
                        "one file after another)")
    p.set_defaults(func=run)


def _usage(message: str) -> int:
    print(f"dspic predict: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args) -> int:
    import json

    from dspic_lib.errors import OutputError
    from dspic_lib.outputs import atomic_write, check_file_target, check_folder_target
    from dspic_lib.predict import card as modelcard
    from dspic_lib.predict import scans as predict

    if args.out is not None and args.out.suffix.lower() not in FORMATS:
        return _usage(f"--out {args.out}: the suffix must be .csv or .json")
    if args.batch_size is not None and args.batch_size < 1:
        return _usage(f"--batch-size must be at least 1, got {args.batch_size}")
    # the outputs are checked before any work: a bad --out / --explain is said now, not after every image
    try:
        if args.out is not None:
            check_file_target(args.out, "--out")
        if args.explain is not None:
            check_folder_target(args.explain, "--explain")
    except OutputError as err:
        return _usage(str(err))
    try:
        loaded = modelcard.load(args.model_dir)
    except modelcard.ModelDirError as err:
        return _usage(str(err))
    skipped: list = []
    sources, missing = predict.find_inputs(args.inputs, skipped=skipped)
    for item, reason in missing:
        print(f"{item}: {reason}", file=sys.stderr)
    if skipped:
        print(predict.skipped_summary(skipped), file=sys.stderr)

    def report(file: str, reason: str) -> None:
        from tqdm import tqdm

        tqdm.write(f"{file}: {reason}", file=sys.stderr)

    if args.explain is not None:
        import matplotlib

        from dspic_lib.plots import set_style

        matplotlib.use("Agg")            # files only, whatever display there is
        set_style()
    result = predict.predict_files(loaded, sources, batch_size=args.batch_size or predict.BATCH_SIZE,
                                   keep_ids=args.keep_ids, workers=args.workers, progress=True,
                                   on_failure=report, explain_dir=args.explain)
    result.failed[:0] = missing
    # written to a temporary name beside --out, then renamed: a full disk leaves no file cut mid-row
    if args.out is not None and args.out.suffix.lower() == ".json":
        atomic_write(args.out, json.dumps(predict.to_json(result), indent=1, default=_plain) + "\n")
    else:
        text = predict.csv_safe(result.table).to_csv(index=False)
        if args.out is None:
            sys.stdout.write(text)
        else:
            atomic_write(args.out, text)
    n_files = len(sources) + len(missing)
    n_dropped = len(result.dropped)
    print(f"{len(result.images)} images of {len(result.patients)} patients predicted from "
          f"{n_files - len(result.failed)} of {n_files} files"
          + (f"; {n_dropped} dropped as exact copies (listed above)" if n_dropped else "")
          + (f"; {len(result.failed)} failed (listed above)" if result.failed else "")
          + (f"; written to {args.out}" if args.out else ""), file=sys.stderr)
    if not n_files:
        print("no image files found in the inputs", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if result.failed else EXIT_OK


def _plain(value):
    """JSON for NumPy scalars."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")
