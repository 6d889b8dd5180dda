"""The ``dspic`` command: ``dspic book | data | store | run | train | predict | bench``.

Each subcommand lives in the module that owns the work and registers itself through
``register(subparsers)``; this file only wires them together.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from dspic_lib.errors import DspicError

# modules that add a subcommand with register(subparsers)
SUBCOMMAND_MODULES = [
    "dspic_lib.cli.book",
    "dspic_lib.cli.data",
    "dspic_lib.cli.store",
    "dspic_lib.cli.run",
    "dspic_lib.cli.train",
    "dspic_lib.cli.predict",
    "dspic_lib.cli.bench",
]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``command`` (a subcommand's name) only that subcommand's: registering
    ``train`` imports the model zoo and with it TensorFlow (~4 s of CPU), which ``dspic data synth``
    has no use for."""
    parser = argparse.ArgumentParser(
        prog="dspic", description="dSPIC companion book: data, models, experiments and the book.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [m for m in SUBCOMMAND_MODULES if m.rsplit(".", 1)[-1] == command] or SUBCOMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DspicError as err:
        print(f"dspic {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def add_profile_options(p: argparse.ArgumentParser) -> None:
    """--profile, --set FIELD=VALUE, --seed, --data-dir: shared by the subcommands that run things."""
    from dspic_lib.config import profile_names

    p.add_argument("--profile", default="cpu", help=f"one of {', '.join(profile_names())} (default: cpu)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", default=[],
                   help="override one profile field, e.g. --set epochs=5 (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="override the profile's seed")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder of DICOM + LabelMe files (default: $DSPIC_DATA, else the synthetic cohort)")


def make_context(args, **kw):
    """The command's run context (:class:`dspic_lib.pipeline.context.Context`), made once: the profile
    with ``DSPIC_<FIELD>`` environment overrides, then ``--set`` and ``--seed``; the folders."""
    from dspic_lib.config import env_overrides, parse_assignments
    from dspic_lib.pipeline.context import Context, remember

    overrides = {**env_overrides(), **parse_assignments(getattr(args, "set", []))}
    return remember(Context.create(args.profile, getattr(args, "data_dir", None), getattr(args, "results_dir", None),
                                   getattr(args, "seed", None), overrides, **kw))


if __name__ == "__main__":
    sys.exit(main())
