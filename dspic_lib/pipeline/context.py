"""One run context per process: the profile, the data folder, the results folder, the store and the seed.

A CLI command or a chapter's setup makes it once (:meth:`Context.create`) and passes it down; every
function of the pipeline that needs "which profile, which data, where do results go" takes it. It holds
the project's only "None means the default folder" fallback, and generates the synthetic cohort (when
it is the default folder and missing) once, when it is created.

Profile overrides travel in it (``overrides``: a chapter's papermill parameter of that name, or
``dspic book|run --set FIELD=VALUE``); ``DSPIC_<FIELD>`` environment variables are read only when a
command of the CLI creates the context (``use_env=True``), never inside a chapter's kernel.

The data folder's content fingerprint (:meth:`Context.fingerprint`) hashes the bytes of its images,
annotations and CSV files (nothing is decoded) and is the root of every result's lineage
(:mod:`dspic_lib.pipeline.lineage`, whose ``of(ctx)`` gives a context's lineage). Each file's digest is cached under the store by
(path, size, mtime_ns), so a second process re-reads only files that changed; ``dspic store verify``
re-hashes the cached files.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dspic_lib.config import Profile, get_profile
from dspic_lib.store import Store, for_results

FINGERPRINTS = ".fingerprints"       # under the store: per-file digest caches of data folders


@dataclass(eq=False)
class Context:
    profile: Profile
    data_dir: Path
    results_dir: Path
    store: Store
    overrides: dict = field(default_factory=dict)
    layout: str = "dicom"
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def seed(self) -> int:
        return self.profile.seed

    @classmethod
    def create(cls, profile: str | Profile = "smoke", data_dir=None, results_dir=None, seed=None,
               overrides: dict | None = None, *, use_env: bool = False, layout: str = "dicom",
               progress: bool = False) -> "Context":
        """The context of one process. ``profile``: a name (with ``overrides`` and ``seed`` applied, and
        ``DSPIC_<FIELD>`` variables too when ``use_env``) or a :class:`~dspic_lib.config.Profile`.
        ``data_dir`` None: ``DSPIC_DATA`` when set, else the profile's synthetic cohort, generated here
        when missing. ``results_dir`` None: ``DSPIC_HOME/results/<profile>``."""
        from dspic_lib.paths import default_data_dir
        from dspic_lib.pipeline.datadir import ensure_cohort

        overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
        if isinstance(profile, Profile):
            prof = profile.override(**overrides, **({} if seed is None else {"seed": seed}))
        else:
            prof = get_profile(str(profile), use_env=use_env, seed=seed, **overrides)
        data = Path(data_dir) if data_dir else default_data_dir(prof.name, prof.seed)
        data = ensure_cohort(prof, data, progress=progress)
        results = results_dir_of(prof, results_dir)
        return cls(prof, Path(data), results, for_results(results), overrides, layout)

    # ------------------------------------------------------------------------------- lineage
    def fingerprint(self) -> str:
        """The data folder's content fingerprint (the value the cohort scan records), asked once."""
        if "fingerprint" not in self._memo:
            self._memo["fingerprint"] = folder_fingerprint(self.data_dir, self.layout, self.store)
        return self._memo["fingerprint"]


_CONTEXTS: dict[tuple, Context] = {}


def of(ctx_or_profile, data_dir=None, results_dir=None) -> Context:
    """``ctx_or_profile`` itself when it is a :class:`Context`; else the process's context of that
    profile and folders (made once per process: the cohort check runs once)."""
    if isinstance(ctx_or_profile, Context):
        return ctx_or_profile
    key = (ctx_or_profile if isinstance(ctx_or_profile, Profile) else str(ctx_or_profile),
           str(data_dir) if data_dir else None, str(results_dir) if results_dir else None)
    if key not in _CONTEXTS:
        _CONTEXTS[key] = remember(Context.create(ctx_or_profile, data_dir, results_dir))
    return _CONTEXTS[key]


def results_dir_of(profile, results_dir=None) -> Path:
    """``results_dir``, or the default results folder of ``profile`` (the one place that decides it)."""
    from dspic_lib.paths import default_results_dir

    return Path(results_dir) if results_dir else default_results_dir(getattr(profile, "name", str(profile)))


def remember(ctx: Context) -> Context:
    """Make ``ctx`` the process's context for its profile, whether its folders are given or left to
    their defaults (so :func:`of` finds it instead of making another)."""
    for d in (None, str(ctx.data_dir)):
        for r in (None, str(ctx.results_dir)):
            _CONTEXTS[(ctx.profile, d, r)] = ctx
    return ctx


# ---------------------------------------------------------------------------- fingerprint
def _cache_file(store: Store, data_dir: Path, layout: str) -> Path:
    name = hashlib.sha256(f"{os.path.abspath(data_dir)}\0{layout}".encode()).hexdigest()[:20]
    return store.root / FINGERPRINTS / f"{name}.json"


def folder_fingerprint(data_dir: str | Path, layout: str = "dicom", store: Store | None = None) -> str:
    """:func:`dspic_lib.data.cohort.folder_fingerprint` (the same value), with each file's digest
    cached under ``store`` by (path, size, mtime_ns): a file is read again only when it changed."""
    from dspic_lib.data import cohort
    from dspic_lib.data.findings import Fingerprint, rel_path

    data_dir = Path(data_dir)
    if store is None:
        return cohort.folder_fingerprint(data_dir, layout)
    cache_path = _cache_file(store, data_dir, layout)
    try:
        cache = json.loads(cache_path.read_text())["files"]
    except (OSError, ValueError, KeyError):
        cache = {}
    prints = Fingerprint(data_dir)
    fresh = {}
    for path in cohort.fingerprint_files(data_dir, layout):
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        rel = rel_path(path, data_dir)
        stamp = [st.st_size, st.st_mtime_ns]
        hit = cache.get(rel)
        if hit is not None and hit[:2] == stamp:
            prints.parts[rel] = hit[2]
        else:
            prints.add(path, path.read_bytes())
        fresh[rel] = [*stamp, prints.parts[rel]]
    if fresh != cache:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"data_dir": str(os.path.abspath(data_dir)), "layout": layout, "files": fresh}))
        os.replace(tmp, cache_path)
    return prints.hexdigest()


def verify_fingerprints(store: Store) -> list[str]:
    """Re-hash every file of every cached data-folder fingerprint under ``store``; a problem per file
    whose bytes no longer match its cached digest (changed without a new size or mtime)."""
    from dspic_lib.data.findings import Fingerprint

    problems = []
    for cache_path in sorted((store.root / FINGERPRINTS).glob("*.json")):
        try:
            info = json.loads(cache_path.read_text())
        except (OSError, ValueError):
            problems.append(f"{cache_path}: unreadable fingerprint cache (delete it)")
            continue
        root = Path(info.get("data_dir", ""))
        for rel, (_, _, digest) in sorted(info.get("files", {}).items()):
            p = root / rel
            if p.is_file() and Fingerprint.file_digest(p.read_bytes()) != digest:
                problems.append(f"data folder {root}: file {rel} does not match its cached digest "
                                f"({cache_path}; delete it)")
    return problems
