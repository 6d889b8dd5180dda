"""The one result store: every expensive result of the project, keyed by everything that decides it.

An entry is a folder ``<root>/<name>/<digest>/`` holding the result's files and ``entry.json``, which
says what made it. The digest hashes

* the computation's **name** and **arguments** (JSON-able values, arrays and tables via
  :func:`fingerprint`);
* the **data fingerprint** (a cohort's file contents, or a hash of the arrays it was computed from);
* the **source of every dspic_lib module the computation depends on**: the transitive import closure
  of the modules given as ``code``, found by reading their ``import`` statements (including imports
  inside functions), never listed by hand; editing a chapter's prose or an unrelated module changes
  nothing, editing ``data/dicom.py`` invalidates everything computed from decoded pixels;
* the **environment**: Python, NumPy, TensorFlow and Keras versions, and CPU or GPU (asked of
  TensorFlow only when the closure uses it; other computations run on the CPU whatever the machine).

Writes are atomic: a result is written into a hidden temporary folder beside its final place and
renamed into place with its ``entry.json`` last, so an interrupted run leaves no half entry; the next
run finds nothing under that key and computes it again. Computing an entry holds its lock
(:meth:`Store.locked`, ``fcntl.flock`` on ``<name>/<digest>.lock``), so two processes on one store
compute it once: the second waits and reads the first one's entry. ``dspic store ls | info KEY |
prune`` shows and cleans the store (an entry whose ``entry.json`` is unreadable is listed as corrupt
and pruned).

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
from importlib import metadata
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
STORE_FORMAT = 1          # bump when the layout of entries changes


# ----------------------------------------------------------------------------------- hashing
def fingerprint(*parts: Any) -> str:
    """A short, stable hash of arrays, tables, strings, numbers and nested lists/dicts of them."""
    import joblib

    norm = [np.ascontiguousarray(p) if isinstance(p, np.ndarray) else p for p in parts]
    return joblib.hash(norm, hash_name="sha1", coerce_mmap=True)[:20]


def _module_file(name: str) -> Path | None:
    """The source file of a dspic_lib module (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``)."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    parts = name.split(".")[1:]
    if not parts:
        return PACKAGE_DIR / "__init__.py"
    for cand in (PACKAGE_DIR.joinpath(*parts[:-1], parts[-1] + ".py"), PACKAGE_DIR.joinpath(*parts, "__init__.py")):
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


def module_closure(*roots: str | ModuleType | Callable) -> list[str]:
    """Every dspic_lib module that the given modules (or the modules of the given functions or
    classes) import, directly or through one another, sorted; the roots included."""
    todo = []
    for root in roots:
        name = root if isinstance(root, str) else getattr(root, "__name__", None) \
            if isinstance(root, ModuleType) else getattr(root, "__module__", None)
        if not name or _module_file(name) is None:
            raise ConfigError(f"store: {root!r} is not a dspic_lib module or a function of one")
        todo.append(name)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imports(name, _module_file(name)))
        todo.extend(p for p in _parents(name) if _module_file(p) is not None)
    return sorted(seen)


_SOURCES: dict[Path, bytes] = {}


def source_snapshot() -> dict[Path, bytes]:
    """Every source file of the package, read once per process on first use (that is, while the
    process starts its first computation). The key of an entry must describe the code that computed
    it: a file edited while a long run is under way (a `dspic run` of half an hour) would otherwise
    give that run's later entries keys of code it never loaded."""
    if not _SOURCES:
        _SOURCES.update({f: f.read_bytes() for f in sorted(PACKAGE_DIR.rglob("*.py"))})
    return _SOURCES


def _read_source(name: str) -> bytes:
    path = _module_file(name)
    if path is None:
        return b"<missing>"
    snap = source_snapshot()
    if path not in snap:                   # a module created after the snapshot
        snap[path] = path.read_bytes()
    return snap[path]


def code_hash(modules: Iterable[str]) -> str:
    """Hash of the sources of ``modules`` (a module that no longer exists hashes as missing)."""
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode() + b"\0" + _read_source(name) + b"\0")
    return h.hexdigest()[:20]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def _device() -> str:
    # imported by name, not with an import statement: the store's own question to TensorFlow must not
    # put TensorFlow into the closure of every computation that uses the store
    import importlib

    tf = importlib.import_module(f"{PACKAGE}._tf").tf
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def environment(uses_tensorflow: bool) -> dict[str, str]:
    """The part of the machine that can change a result: versions, and CPU or GPU."""
    tf_version = _version("tensorflow-cpu") or _version("tensorflow") or "none"
    return {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf_version,
            "keras": _version("keras") or "none", "device": _device() if uses_tensorflow else "cpu"}


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
    """What decides one result. ``id`` (``name/digest``) names its folder in the store."""

    name: str
    args: dict
    data: str | None
    modules: tuple[str, ...]
    code: str
    env: dict
    profile: str | None = None

    @property
    def digest(self) -> str:
        return fingerprint(STORE_FORMAT, self.name, _jsonable(self.args), self.data, self.code, self.env)

    @property
    def id(self) -> str:
        return f"{self.name}/{self.digest}"

    def describe(self) -> dict:
        return {"name": self.name, "digest": self.digest, "args": _jsonable(self.args), "data": self.data,
                "modules": list(self.modules), "code": self.code, "env": self.env, "profile": self.profile}


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
        lookup can reach it again."""
        env = environment(uses_tensorflow=False)      # versions only; the device cannot change here
        same_env = {k: v for k, v in env.items() if k != "device"} == \
            {k: v for k, v in self.info["env"].items() if k != "device"}
        return not same_env or code_hash(self.info["modules"]) != self.info["code"]


class Store:
    """A folder of entries. ``Store(root)``; the book's store is ``<results_dir>/store``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- keys
    def key(self, name: str, args: dict | None = None, *, code: Iterable, data: str | None = None,
            profile: str | None = None) -> Key:
        """The key of computation ``name`` with ``args`` on ``data``, run by the modules of ``code``."""
        modules = tuple(module_closure(*code))
        uses_tf = f"{PACKAGE}._tf" in modules
        return Key(_check_name(name), dict(args or {}), data, modules, code_hash(modules),
                   environment(uses_tf), profile)

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
                        seconds=round(time.perf_counter() - started, 3), store_format=STORE_FORMAT)
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


__all__ = ["Entry", "Key", "Store", "access_mark", "accessed", "all_stores", "as_store", "code_hash",
           "default_store", "environment", "fingerprint", "for_results", "module_closure"]

