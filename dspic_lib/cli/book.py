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
    from dspic_lib.cli import make_context
    from dspic_lib.config import get_profile

    if args.store_reference:
        # the reference is the smoke profile with default parameters: no override may leak in
        for key in [k for k in os.environ if k.startswith("DSPIC_") and k not in ("DSPIC_HOME",)]:
            del os.environ[key]
        for py in book.select(book.chapter_sources(args.notebooks), args.only):
            print(f"storing reference outputs of {py.stem} ...", flush=True)
            print(f"  wrote {book.store_reference(py)}")
        return 0

    ctx = make_context(args, progress=True)     # DSPIC_<FIELD> and --set read here, once
    profile = ctx.profile
    print(profile, flush=True)
    # every override travels to the kernels as the `overrides` papermill parameter (no environment)
    overrides = {k: v for k, v in profile.to_dict().items() if k not in ("name", "seed")
                 and v != get_profile(profile.name, use_env=False).to_dict()[k]}
    parameters = {"profile": profile.name, "data_dir": str(ctx.data_dir),
                  "results_dir": str(ctx.results_dir), "seed": profile.seed, "overrides": overrides}
    book.execute_all(parameters, args.only, ctx.results_dir, out_dir=args.executed,
                     sources=book.chapter_sources(args.notebooks),
                     context={"profile": profile.to_dict(), "data": ctx.fingerprint})
    book.write_findings(sources=book.chapter_sources(args.notebooks), out_dir=args.executed)
    if args.no_html:
        return 0
    index = book.build_html()
    print(f"\nThe book is at {index}")
    return 0

