"""``dspic store ls | info KEY | verify [PREFIX] | prune``: what the result store holds, what made an entry,
whether its files are still what it claims, and cleaning."""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("store", help="list, inspect or prune the result store",
                       description="Every cached result (preprocessed arrays, the t/r sweep, DCGANs, "
                                   "trained models) is an entry of the result store, keyed by the "
                                   "computation, its arguments, the data, the code and the environment.")
    p.add_argument("--root", type=Path, default=None,
                   help="one store folder (default: every store under DSPIC_HOME)")
    ssub = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    ls = ssub.add_parser("ls", help="entries with size, age and profile; interrupted writes and corrupt "
                                    "entries (unreadable entry.json) are listed as such")
    ls.set_defaults(func=run_ls)
    info = ssub.add_parser("info", help="what made one entry (its entry.json) and its files")
    info.add_argument("key", help="an entry id (name/digest) or a unique prefix of its digest")
    info.set_defaults(func=run_info)
    ve = ssub.add_parser("verify", help="re-hash entries' files against the sha256 their entry.json records "
                                        "(exit 1 naming the entry and file on a mismatch)")
    ve.add_argument("prefix", nargs="?", default="",
                    help="only entries whose id (name/digest) or digest starts with PREFIX (default: all)")
    ve.set_defaults(func=run_verify)
    pr = ssub.add_parser("prune", help="remove interrupted writes and entries no lookup can reach "
                                       "(made by other code or package versions)")
    pr.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                    help="also remove entries older than DAYS")
    pr.add_argument("--all", action="store_true", help="remove every entry")
    pr.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    pr.set_defaults(func=run_prune)


def _stores(args):
    from dspic_lib.store import Store, all_stores

    return [("-", Store(args.root))] if args.root else all_stores()


def run_ls(args) -> int:
    import pandas as pd

    from dspic_lib.store import age_text, human_size

    rows = []
    for where, st in _stores(args):
        for e in st.entries():
            rows.append({"entry": e.id, "profile": e.info.get("profile") or where, "size": human_size(e.size()),
                         "age": age_text(e.info.get("created", "")), "computed in": f"{e.info.get('seconds', 0):.1f} s",
                         "store": str(st.root)})
        for p, problem in st.corrupt():
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            rows.append({"entry": str(p.relative_to(st.root)), "profile": where, "size": human_size(size),
                         "age": "-", "computed in": f"corrupt: {problem}", "store": str(st.root)})
        for p in st.leftovers():
            rows.append({"entry": f"{p.parent.name}/{p.name}", "profile": where, "size": "-", "age": "-",
                         "computed in": "interrupted", "store": str(st.root)})
    if not rows:
        print("the result store is empty")
        return 0
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def run_info(args) -> int:
    from dspic_lib.errors import ConfigError
    from dspic_lib.store import human_size

    hits = []
    for _, st in _stores(args):
        try:
            hits.append(st.find(args.key))
        except ConfigError:
            continue
    if len(hits) != 1:
        raise ConfigError(f"{len(hits)} entries match {args.key!r}; see `dspic store ls`")
    e = hits[0]
    print(f"{e.id}  ({e.path})")
    print(json.dumps(e.info, indent=1, sort_keys=True))
    for f in sorted(p for p in e.path.rglob("*") if p.is_file()):
        print(f"  {f.relative_to(e.path)}  {human_size(f.stat().st_size)}")
    print("stale: no lookup can reach it any more" if e.stale() else "current")
    return 0


def run_verify(args) -> int:
    """Re-hash every matching entry's files; print each problem; 1 if any, else 0."""
    import sys

    from dspic_lib.pipeline.context import verify_fingerprints

    checked, problems = 0, []
    for _, st in _stores(args):
        if not args.prefix:          # the cached digests of data folders are re-hashed too
            problems += verify_fingerprints(st)
        for e in st.entries():
            if args.prefix and not (e.id.startswith(args.prefix) or e.info.get("digest", "").startswith(args.prefix)):
                continue
            checked += 1
            problems += [f"{p} ({e.path})" for p in e.verify()]
    for p in problems:
        print(p, file=sys.stderr)
    if args.prefix and not checked:
        print(f"no entry matches {args.prefix!r}; see `dspic store ls`", file=sys.stderr)
        return 1
    print(f"{checked} entr{'y' if checked == 1 else 'ies'} checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def run_prune(args) -> int:
    total = 0
    for _, st in _stores(args):
        gone = st.prune(older_than_days=args.older_than, everything=args.all, dry_run=args.dry_run)
        for p in gone:
            print(("would remove " if args.dry_run else "removed ") + str(p))
        total += len(gone)
    print(f"{total} {'would be ' if args.dry_run else ''}removed")
    return 0
