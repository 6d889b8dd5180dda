"""The one result store: every expensive result of the project, keyed by its lineage.

An entry is a folder ``<root>/<name>/<digest>/`` holding the result's files and ``entry.json``, which
says what made it (arguments, parents, modules, code hash, environment) and the sha256 of each of its
files (``dspic store verify`` re-checks them). The digest hashes

* the recipe's **name** and **arguments** (JSON-able values, arrays and tables via :func:`fingerprint`;
  the profile fields that decide a result are arguments);
* its **parents**: the ids of the entries it was made from, or for raw data the folder's content
  fingerprint (``data:<hash>``), so a key is computed without building its inputs
  (:mod:`dspic_lib.pipeline.lineage`); or ``data``, a fingerprint of arrays handed in;
* the **code of the recipe**: every dspic_lib module in the import closure of the recipe's functions,
  found by reading their ``import`` statements (including imports inside functions), never listed by
  hand, hashed as ``ast.dump`` of the parsed module with docstrings removed (comments and layout never
  reach the tree), **minus** :data:`INFRASTRUCTURE`: ``errors``, ``options``, ``paths``, ``store``,
  ``provenance``, ``config`` (profile fields enter through the arguments), ``paper`` (a recipe that
  uses the paper's numbers puts them in its arguments), ``palette`` (colours), ``_tf`` (the TensorFlow
  import; using it puts the device into the environment) and the package ``__init__`` files that only
  re-export (:data:`REEXPORTS`). These decide no result, so a docstring, a comment, a colour or a new
  helper there retrains nothing, while editing ``data/dicom.py`` recomputes everything from the scan
  on;
* the **environment**: :func:`dspic_lib.provenance.lock_hash` (every pinned version of
  ``requirements.lock``), Python's minor version, and CPU or GPU (asked of TensorFlow only when the
  closure uses it; other computations run on the CPU whatever the machine).

An entry is **stale** when the code of its recorded modules or the environment hash differently now:
no lookup can reach it again, and ``dspic store prune`` removes it.

Writes are atomic: a result is written into a hidden temporary folder beside its final place and
renamed into place with its ``entry.json`` last, so an interrupted run leaves no half entry; the next
run finds nothing under that key and computes it again. Computing an entry holds its lock
(:meth:`Store.locked`, ``fcntl.flock`` on ``<name>/<digest>.lock``), so two processes on one store
compute it once: the second waits and reads the first one's entry. ``dspic store ls | info KEY |
verify | prune`` shows, checks and cleans the store (an entry whose ``entry.json`` is unreadable is
listed as corrupt and pruned).

Every entry read or computed through :meth:`Store.get` or :meth:`Store.get_or_compute` is logged,
process-wide, by its id (``name/digest``, as ``dspic store ls`` prints it): :func:`access_mark` and
:func:`accessed` tell a chapter which stored results it showed.

Why not ``joblib.Memory``: it keys a cached function by that function's own code only (a change in a
helper it calls, e.g. the DICOM clipping under preprocessing, would not invalidate anything), stores
results as pickles (this project loads no pickles), and caches return values, not the folders of
files (weights, CSV, arrays to memory-map) that results here are. ``joblib.hash`` is used: it hashes
NumPy arrays and nested Python values quickly and stably, which is the part that fits.
"""
from __future__ import annotations

import ast
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import platform
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .errors import ConfigError, DataError

PACKAGE = "dspic_lib"
PACKAGE_DIR = Path(__file__).resolve().parent
ENTRY_FILE = "entry.json"
TMP_PREFIX = ".tmp-"
LOCK_SUFFIX = ".lock"       # <name>/<digest>.lock: held while the entry is computed
STORE_FORMAT = 2          # bump when the layout of entries changes (2: lineage keys, file digests)


# ----------------------------------------------------------------------------------- hashing
def fingerprint(*parts: Any) -> str:
    """A short, stable hash of arrays, tables, strings, numbers and nested lists/dicts of them."""
    import joblib

    norm = [np.ascontiguousarray(p) if isinstance(p, np.ndarray) else p for p in parts]
    return joblib.hash(norm, hash_name="sha1", coerce_mmap=True)[:20]


# Infrastructure: modules every recipe imports that decide no result, so they are neither hashed
# into a key nor followed for further imports. A docstring, a comment, a new helper or a colour there
# retrains nothing. errors (exception classes and messages), options (the spelling check of option
# names), paths (where folders are), store and provenance (this machinery), config (profiles: the
# fields that decide a result enter a key through the recipe's arguments), paper (the paper's numbers;
# a recipe that uses some, e.g. D2's class table, puts them in its arguments), palette (colours), _tf
# (the TensorFlow import; using it adds the device kind to the environment), and the package
# ``__init__`` files that only re-export (:data:`REEXPORTS`: not hashed, not counted as the parent of
# their modules; followed to the modules they re-export only where a recipe imports the package
# itself, as ``from dspic_lib import models`` does).
REEXPORTS = frozenset({"dspic_lib", "dspic_lib.data", "dspic_lib.models", "dspic_lib.pipeline",
                       "dspic_lib.evaluation", "dspic_lib.chapters", "dspic_lib.predict"})
INFRASTRUCTURE = frozenset({
    "dspic_lib.errors", "dspic_lib.options", "dspic_lib.paths", "dspic_lib.store", "dspic_lib.provenance",
    "dspic_lib.config", "dspic_lib.paper", "dspic_lib.palette", "dspic_lib._tf",
}) | REEXPORTS
TF_MODULE = f"{PACKAGE}._tf"

# where the sources and the lock are read from: this package, unless :func:`sources_from` says otherwise
_ROOTS: dict[str, Path | None] = {"package": PACKAGE_DIR, "lock": None}


@contextlib.contextmanager
def sources_from(package_dir: str | Path, lock_root: str | Path | None = None) -> Iterator[None]:
    """Compute keys over another copy of the package's sources (and ``lock_root``'s requirements.lock):
    what the keys would be after an edit, without importing the edited code."""
    saved = dict(_ROOTS)
    snap = dict(_SOURCES)
    _ROOTS.update(package=Path(package_dir).resolve(), lock=None if lock_root is None else Path(lock_root))
    _SOURCES.clear()
    _clear_caches()
    try:
        yield
    finally:
        _ROOTS.update(saved)
        _SOURCES.clear()
        _SOURCES.update(snap)
        _clear_caches()


_CLOSURES: dict[tuple, tuple[tuple[str, ...], str, bool]] = {}   # roots -> (modules, code hash, uses TF)


def _clear_caches() -> None:
    _code_ast.cache_clear()
    _CLOSURES.clear()


def _package_dir() -> Path:
    return _ROOTS["package"]


def _module_file(name: str) -> Path | None:
    """The source file of a dspic_lib module (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``)."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    root = _package_dir()
    parts = name.split(".")[1:]
    if not parts:
        return root / "__init__.py"
    for cand in (root.joinpath(*parts[:-1], parts[-1] + ".py"), root.joinpath(*parts, "__init__.py")):
        if cand.is_file():
            return cand
    return None


def _imports(name: str, path: Path) -> set[str]:
    """dspic_lib modules imported anywhere in one module (top level and inside functions), parsed from
    the same per-process snapshot of the sources that the code hash reads."""
    return _imports_cached(name, path, _read_source(name))


@lru_cache(maxsize=512)
def _imports_cached(name: str, path: Path, source: bytes) -> set[str]:
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.decode("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)   # `from . import gan` imports a module
    return {m for m in found if _module_file(m) is not None}


def _parents(name: str) -> list[str]:
    """The packages whose ``__init__`` runs when ``name`` is imported."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _name_of(root) -> str | None:
    if isinstance(root, str):
        return root
    if isinstance(root, ModuleType):
        return root.__name__
    return getattr(root, "__module__", None)


def full_closure(*roots: str | ModuleType | Callable) -> list[str]:
    """Every dspic_lib module the roots reach through imports, infrastructure included (as a lookup
    of the infrastructure's own imports stops there, this is what a key's closure is drawn from)."""
    todo = []
    for root in roots:
        name = _name_of(root)
        if not name or _module_file(name) is None:
            raise ConfigError(f"store: {root!r} is not a dspic_lib module or a function of one")
        todo.append(name)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in INFRASTRUCTURE and name not in REEXPORTS and name not in {_name_of(r) for r in roots}:
            continue                    # infrastructure: not followed
        todo.extend(_imports(name, _module_file(name)))
        todo.extend(p for p in _parents(name) if _module_file(p) is not None and p not in REEXPORTS)
    return sorted(seen)


def module_closure(*roots: str | ModuleType | Callable) -> list[str]:
    """The modules whose code decides a recipe's result: the import closure of the given modules (or
    of the modules of the given functions or classes), roots included, minus :data:`INFRASTRUCTURE`;
    sorted."""
    return [m for m in full_closure(*roots) if m not in INFRASTRUCTURE]


_SOURCES: dict[Path, bytes] = {}


def source_snapshot() -> dict[Path, bytes]:
    """Every source file of the package, read once per process on first use (that is, while the
    process starts its first computation). The key of an entry must describe the code that computed
    it: a file edited while a long run is under way (a `dspic run` of half an hour) would otherwise
    give that run's later entries keys of code it never loaded."""
    if not _SOURCES:
        _SOURCES.update({f: f.read_bytes() for f in sorted(_package_dir().rglob("*.py"))})
    return _SOURCES


def _read_source(name: str) -> bytes:
    path = _module_file(name)
    if path is None:
        return b"<missing>"
    snap = source_snapshot()
    if path not in snap:                   # a module created after the snapshot
        snap[path] = path.read_bytes()
    return snap[path]


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=512)
def _code_ast(name: str, source: bytes) -> str:
    """The code of one module as it runs: ``ast.dump`` of its parse tree without docstrings (comments
    and layout never reach the tree)."""
    if source == b"<missing>":
        return "<missing>"
    return ast.dump(_strip_docstrings(ast.parse(source.decode("utf-8"))), include_attributes=False)


def code_hash(modules: Iterable[str]) -> str:
    """Hash of the code of ``modules`` (docstrings, comments and layout left out; a module that no
    longer exists hashes as missing)."""
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode() + b"\0" + _code_ast(name, _read_source(name)).encode() + b"\0")
    return h.hexdigest()[:20]


def environment(uses_tensorflow: bool) -> dict[str, str]:
    """The part of the machine that can change a result: Python's minor version, every pinned package
    version (:func:`dspic_lib.provenance.lock_hash`), and CPU or GPU (asked of TensorFlow only when the
    closure uses it; other computations run on the CPU whatever the machine)."""
    from . import provenance

    return {"python": ".".join(platform.python_version_tuple()[:2]),
            "lock": provenance.lock_hash(_ROOTS["lock"]),
            "device": provenance.device_kind() if uses_tensorflow else "cpu"}


# ------------------------------------------------------------------------------- access log
_ACCESS_LOG: list[str] = []     # ids of the entries returned by Store.get, in order, repeats included


def access_mark() -> int:
    """The current end of the access log: pass it to :func:`accessed` later."""
    return len(_ACCESS_LOG)


def accessed(since: int = 0) -> list[str]:
    """Ids of the entries read or computed since ``since`` (an :func:`access_mark`), in the order of
    their first access after it, each once."""
    return list(dict.fromkeys(_ACCESS_LOG[since:]))


# ------------------------------------------------------------------------------ entry files, locks
_REQUIRED = ("name", "digest", "modules", "code", "env")


def _read_info(info_file: Path) -> dict | str:
    """An entry's ``entry.json``, or what is wrong with it (a str)."""
    try:
        info = json.loads(info_file.read_text())
    except OSError as err:
        return f"unreadable entry.json ({err.strerror})"
    except ValueError as err:
        return f"entry.json is not JSON ({err})"
    if not isinstance(info, dict):
        return f"entry.json holds a {type(info).__name__}, not an object"
    missing = [k for k in _REQUIRED if k not in info]
    if missing:
        return f"entry.json lacks {', '.join(missing)}"
    if info["digest"] != info_file.parent.name:
        return f"entry.json names digest {info['digest']}, not its folder's"
    return info


def _log(message: str) -> None:
    """What one process tells about another's entries: on stderr, which the CLI and notebooks show."""
    print(f"dspic store: {message}", file=sys.stderr, flush=True)


def _read_owner(fd: int) -> dict:
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _owner_text(owner: dict) -> str:
    if not owner:
        return "another process"
    host = owner.get("host")
    return f"pid {owner.get('pid', '?')}" + ("" if host == socket.gethostname() else f" on {host}")


# ------------------------------------------------------------------------------------- keys
@dataclass(frozen=True)
class Key:
    """What decides one result. ``id`` (``name/digest``) names its folder in the store.

    ``parents``: the ids of the entries it was made from (``name/digest``), or for raw data the
    folder's content fingerprint (``data:<hash>``); ``data``: a fingerprint of inputs that are not
    entries (arrays handed in by a caller)."""

    name: str
    args: dict
    data: str | None
    modules: tuple[str, ...]
    code: str
    env: dict
    profile: str | None = None
    parents: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return fingerprint(STORE_FORMAT, self.name, _jsonable(self.args), self.data, list(self.parents),
                           self.code, self.env)

    @property
    def id(self) -> str:
        return f"{self.name}/{self.digest}"

    def describe(self) -> dict:
        return {"name": self.name, "digest": self.digest, "args": _jsonable(self.args), "data": self.data,
                "parents": list(self.parents), "modules": list(self.modules), "code": self.code,
                "env": self.env, "profile": self.profile}


def _jsonable(value: Any) -> Any:
    """Arguments as they are recorded: arrays and tables by their fingerprint."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return f"fingerprint:{fingerprint(value)}"


def _check_name(name: str) -> str:
    ok = name and all(part and all(c.isalnum() or c in "._-" for c in part) for part in name.split("/"))
    if not ok or name.startswith(".") or "/." in name:
        raise ConfigError(f"store: entry name {name!r} must be letters, digits, '.', '_', '-' and '/'")
    return name


# ------------------------------------------------------------------------------------ entries
@dataclass(frozen=True)
class Entry:
    """A finished result: its folder and what made it."""

    path: Path
    info: dict

    @property
    def id(self) -> str:
        return f"{self.info['name']}/{self.info['digest']}"

    def file(self, name: str) -> Path:
        p = self.path / name
        if not p.exists():
            raise DataError(f"store entry {self.id}: missing file {name} (delete {self.path} to recompute)")
        return p

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def stale(self) -> bool:
        """True when the code or environment recorded for the entry is no longer the current one, so no
        lookup can reach it again: the code of its recorded modules hashes differently now, or the
        lock (or Python) differs. An entry of an older store format is stale too."""
        if self.info.get("store_format") != STORE_FORMAT:
            return True
        env = environment(uses_tensorflow=False)      # versions only; the device cannot change here
        same_env = {k: v for k, v in env.items() if k != "device"} == \
            {k: v for k, v in self.info.get("env", {}).items() if k != "device"}
        return not same_env or code_hash(self.info.get("modules", [])) != self.info.get("code")

    def verify(self) -> list[str]:
        """Problems of the entry's files against the sha256 its ``entry.json`` records: a file missing,
        changed, or not recorded. Empty when every file is as written."""
        recorded = self.info.get("files")
        if recorded is None:
            return [f"{self.id}: {ENTRY_FILE} records no file digests (store format "
                    f"{self.info.get('store_format')}); delete {self.path} to recompute"]
        problems = []
        present = {str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file()} - {ENTRY_FILE}
        for name, digest in sorted(recorded.items()):
            p = self.path / name
            if not p.is_file():
                problems.append(f"{self.id}: file {name} is missing")
            elif file_digest(p) != digest:
                problems.append(f"{self.id}: file {name} does not match its recorded sha256")
        problems += [f"{self.id}: file {name} is not recorded in {ENTRY_FILE}" for name in sorted(present - set(recorded))]
        return problems


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """A folder of entries. ``Store(root)``; the book's store is ``<results_dir>/store``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- keys
    def key(self, name: str, args: dict | None = None, *, code: Iterable, data: str | None = None,
            parents: Iterable[str] = (), profile: str | None = None) -> Key:
        """The key of recipe ``name`` with ``args``, made from the entries ``parents`` (ids, or a data
        folder's ``data:<fingerprint>``) and ``data``, run by the code of ``code`` (functions or
        modules: the import closure of their modules minus :data:`INFRASTRUCTURE`)."""
        roots = tuple(code)
        cache_key = tuple((_name_of(r), getattr(r, "__qualname__", None)) for r in roots)
        if cache_key not in _CLOSURES:        # the sources are a per-process snapshot: asked once
            closure = full_closure(*roots)
            modules = tuple(m for m in closure if m not in INFRASTRUCTURE)
            _CLOSURES[cache_key] = (modules, code_hash(modules), TF_MODULE in closure)
        modules, code, uses_tf = _CLOSURES[cache_key]
        return Key(_check_name(name), dict(args or {}), data, modules, code,
                   environment(uses_tf), profile, tuple(str(p) for p in parents))

    # -- reading
    def path_of(self, key: Key) -> Path:
        return self.root / key.name / key.digest

    def get(self, key: Key) -> Entry | None:
        folder = self.path_of(key)
        info_file = folder / ENTRY_FILE
        if not info_file.is_file():
            return None
        info = _read_info(info_file)
        if isinstance(info, str):
            return None      # unreadable: treated as absent and replaced by the next write
        _ACCESS_LOG.append(f"{key.name}/{folder.name}")   # get_or_compute returns through here too
        return Entry(folder, info)

    # -- writing
    def lock_path(self, key: Key) -> Path:
        """The entry's lock file, next to its folder: ``<root>/<name>/<digest>.lock``."""
        return self.root / key.name / f"{key.digest}{LOCK_SUFFIX}"

    @contextlib.contextmanager
    def locked(self, key: Key) -> Iterator[bool]:
        """Hold the entry's lock (``fcntl.flock`` on :meth:`lock_path`, which holds the owner's pid and
        host); yields whether another process held it first (this one waited). The kernel releases a
        flock when its owner dies, so the lock of a killed run is taken over at once. The file is
        removed while still held; a waiter that then locks a removed file opens the path again."""
        path = self.lock_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        waited = False
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if not waited:
                    _log(f"waiting for {key.id}, computed by {_owner_text(_read_owner(fd))}")
                waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
                mine = os.fstat(fd)
                if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)          # the previous owner removed this file after it was opened: again
        try:
            left = _read_owner(fd)
            if left and not waited:   # a file nobody held: its owner died before removing it
                _log(f"lock of {key.id} left by {_owner_text(left)} (no longer running) taken over")
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}).encode(), 0)
            yield waited
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(fd)

    @contextlib.contextmanager
    def writing(self, key: Key) -> Iterator[Path]:
        """Yield an empty temporary folder to write the result into; on success it becomes the entry,
        on an exception it is removed. A process killed inside leaves only a hidden ``.tmp-`` folder,
        which lookups ignore and :meth:`prune` deletes. Holds the entry's lock (:meth:`locked`) while
        the caller writes; if another process finished the entry meanwhile, its entry is kept and this
        result is dropped."""
        with self.locked(key), self._writing(key) as folder:
            yield folder

    @contextlib.contextmanager
    def _writing(self, key: Key) -> Iterator[Path]:
        final = self.path_of(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        # every writer of this key holds its lock (the callers of _writing take it), so a temporary
        # folder of the key found now is an interrupted write of a process that died (a killed worker
        # whose task is being retried): removed, not left for `dspic store prune`
        for left in final.parent.glob(f"{TMP_PREFIX}{key.digest}-*"):
            _log(f"removed {left.name}, an interrupted write of {key.id}")
            shutil.rmtree(left, ignore_errors=True)
        tmp = final.parent / f"{TMP_PREFIX}{key.digest}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        started = time.perf_counter()
        try:
            yield tmp
            if self.get(key) is not None:     # finished by another process while this one computed
                _log(f"dropped this process's result for {key.id}: another process stored it first")
                return
            info = key.describe()
            info.update(created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        seconds=round(time.perf_counter() - started, 3), store_format=STORE_FORMAT,
                        files={str(p.relative_to(tmp)): file_digest(p)
                               for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != ENTRY_FILE})
            (tmp / ENTRY_FILE).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
            if final.exists():
                shutil.rmtree(final)          # an unreadable earlier entry of the same key
            try:
                os.rename(tmp, final)
            except OSError:
                if not (final / ENTRY_FILE).exists():    # not another process that finished first
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def get_or_compute(self, key: Key, compute: Callable[[Path], None]) -> Entry:
        """The entry of ``key``, computing it with ``compute(folder)`` when it is missing. Two processes
        (or threads) asking for the same missing entry compute it once: the second waits for the
        first's lock and then reads its entry."""
        entry = self.get(key)
        if entry is None:
            with self.locked(key) as waited:
                entry = self.get(key)
                if entry is not None:
                    _log(f"reused {key.id} computed by another process"
                         + ("" if waited else " (finished before this one took the lock)"))
                    return entry
                with self._writing(key) as folder:
                    compute(folder)
            entry = self.get(key)
        return entry

    # -- maintenance
    def _info_files(self) -> list[Path]:
        files = sorted(self.root.glob(f"*/*/{ENTRY_FILE}")) + sorted(self.root.glob(f"*/*/*/{ENTRY_FILE}"))
        return [f for f in files if not any(part.startswith(".") for part in f.relative_to(self.root).parts)]

    def entries(self) -> list[Entry]:
        """The readable entries (see :meth:`corrupt` for the others)."""
        out = []
        for info_file in self._info_files():
            info = _read_info(info_file)
            if not isinstance(info, str):
                out.append(Entry(info_file.parent, info))
        return out

    def corrupt(self) -> list[tuple[Path, str]]:
        """``(folder, problem)`` of every entry whose ``entry.json`` cannot be read: no lookup reaches
        it (the next computation of its key replaces it) and :meth:`prune` removes it."""
        out = []
        for info_file in self._info_files():
            info = _read_info(info_file)
            if isinstance(info, str):
                out.append((info_file.parent, info))
        return out

    def find(self, prefix: str) -> Entry:
        """The entry whose id or digest starts with ``prefix`` (unique)."""
        hits = [e for e in self.entries() if e.id.startswith(prefix) or e.info["digest"].startswith(prefix)]
        if len(hits) != 1:
            raise ConfigError(f"store {self.root}: {len(hits)} entries match {prefix!r}"
                              + ("" if hits else "; see `dspic store ls`"))
        return hits[0]

    def leftovers(self) -> list[Path]:
        """Temporary folders of interrupted writes."""
        return sorted(p for p in self.root.glob(f"*/{TMP_PREFIX}*")) + \
            sorted(p for p in self.root.glob(f"*/*/{TMP_PREFIX}*"))

    def stale_locks(self, *, remove: bool = False) -> list[Path]:
        """Lock files that no process holds (left by a run killed while computing; the next computation
        of the entry takes them over anyway); ``remove``: delete them, each while holding its lock."""
        out = []
        for path in sorted(self.root.glob(f"*/*{LOCK_SUFFIX}")) + sorted(self.root.glob(f"*/*/*{LOCK_SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    continue
                out.append(path)
                if remove:
                    os.unlink(path)
            except OSError:
                continue          # held: a computation is under way
            finally:
                os.close(fd)
        return out

    def prune(self, *, older_than_days: float | None = None, everything: bool = False,
              dry_run: bool = False) -> list[Path]:
        """Remove interrupted writes, unheld lock files, corrupt entries, stale entries (made by other code or another environment) and,
        if asked, entries older than ``older_than_days`` or all of them. Returns what was (or would be)
        removed."""
        now = time.time()
        doomed = list(self.leftovers()) + [p for p, _ in self.corrupt()]
        for e in self.entries():
            age_days = (now - (e.path / ENTRY_FILE).stat().st_mtime) / 86400
            if everything or e.stale() or (older_than_days is not None and age_days > older_than_days):
                doomed.append(e.path)
        if not dry_run:
            for p in doomed:
                shutil.rmtree(p, ignore_errors=True)
        return doomed + self.stale_locks(remove=not dry_run)


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def age_text(created: str) -> str:
    try:
        then = datetime.fromisoformat(created)
    except ValueError:
        return "?"
    s = (datetime.now(timezone.utc) - then).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.0f} {unit}"
    return f"{s:.0f} s"


def for_results(results_dir: str | Path) -> Store:
    """The store of a results folder (``<results_dir>/store``)."""
    return Store(Path(results_dir) / "store")


def default_store() -> Store:
    """``DSPIC_HOME/store``: for results computed outside a profile's results folder."""
    from .paths import home

    return Store(home() / "store")


def as_store(store: "Store | str | Path | None", results_dir: str | Path | None = None) -> Store:
    """``store`` as a :class:`Store`; else the store of ``results_dir``; else :func:`default_store`."""
    if isinstance(store, Store):
        return store
    if store is not None:
        return Store(store)
    return for_results(results_dir) if results_dir is not None else default_store()


def all_stores() -> list[tuple[str, Store]]:
    """``(where, store)`` for the default store and the store of every results folder under DSPIC_HOME."""
    from .paths import home

    out = [("-", default_store())]
    out += [(p.parent.name, Store(p)) for p in sorted((home() / "results").glob("*/store"))]
    return [(w, s) for w, s in out if s.root.is_dir()]


__all__ = ["INFRASTRUCTURE", "Entry", "Key", "Store", "access_mark", "accessed", "all_stores", "as_store",
           "code_hash", "default_store", "environment", "file_digest", "fingerprint", "for_results",
           "module_closure", "sources_from"]

