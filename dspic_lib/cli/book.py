"""``dspic book``: execute the chapters with papermill and build the HTML book."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from dspic_lib.cli import add_profile_options


def register(sub) -> None:
    p = sub.add_parser("book", help="execute the chapters and build the book",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_profile_options(p)
    p.add_argument("--only", action="append", metavar="CHAPTER", default=[],
                   help="execute only this chapter (number or name, repeatable); the others are reused")
    p.add_argument("--results-dir", default=None, help="result store (default: .dspic/results/<profile>)")
    p.add_argument("--no-html", action="store_true", help="execute the chapters, skip jupyter-book")
    p.add_argument("--notebooks", type=Path, default=None, help="chapter sources (default: notebooks/)")
    p.add_argument("--executed", type=Path, default=None,
                   help="where executed chapters go (default: book/executed/)")
    p.add_argument("--store-reference", action="store_true",
                   help="re-execute the chapters with default (smoke) parameters into notebooks/*.ipynb "
                        "(the nbval reference); nothing else is done")
    p.set_defaults(func=run)


def run(args) -> int:
    from dspic_lib.chapters import build as book
    from dspic_lib.config import get_profile, parse_assignments
    from dspic_lib.paths import default_data_dir, default_results_dir

    if args.store_reference:
        # the reference is the smoke profile with default parameters: no override may leak in
        for key in [k for k in os.environ if k.startswith("DSPIC_") and k not in ("DSPIC_HOME",)]:
            del os.environ[key]
        for py in book.select(book.chapter_sources(args.notebooks), args.only):
            print(f"storing reference outputs of {py.stem} ...", flush=True)
            print(f"  wrote {book.store_reference(py)}")
        return 0

    profile = get_profile(args.profile, seed=args.seed, **parse_assignments(args.set))
    print(profile, flush=True)
    data_dir = args.data_dir or default_data_dir(profile.name, profile.seed)
    results_dir = args.results_dir or default_results_dir(profile.name)
    # single-field overrides reach the kernels through the environment, like DSPIC_EPOCHS=5 would
    for key, value in parse_assignments(args.set).items():
        os.environ[f"DSPIC_{key.upper()}"] = value
    parameters = {"profile": profile.name, "data_dir": str(data_dir),
                  "results_dir": str(results_dir), "seed": profile.seed}
    book.execute_all(parameters, args.only, Path(results_dir), out_dir=args.executed,
                     sources=book.chapter_sources(args.notebooks),
                     context={"profile": profile.to_dict(), "data": lambda: _data_fingerprint(Path(data_dir))})
    book.write_findings(sources=book.chapter_sources(args.notebooks), out_dir=args.executed)
    if args.no_html:
        return 0
    index = book.build_html()
    print(f"\nThe book is at {index}")
    return 0


def _data_fingerprint(data_dir: Path) -> str | None:
    """The data folder's content hash, or None while it does not exist (a cohort still to generate)."""
    from dspic_lib.data.cohort import folder_fingerprint

    return folder_fingerprint(data_dir) if data_dir.is_dir() else None
