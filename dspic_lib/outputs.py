"""Writing outputs so that a failure leaves nothing half-written, and checking before the work starts.

* :func:`atomic_write` writes to a temporary name in the destination's folder and renames it (a full
  disk or a crash leaves the old file, or none, never a file cut mid-row);
* :func:`check_file_target` / :func:`check_folder_target`: can this file or folder be written? Called
  before long work, so that a bad ``--out`` is said at once, not after every image was predicted;
* :func:`check_free_space`: enough room on the filesystem of a folder for an expected size.

Each raises :class:`~dspic_lib.errors.OutputError` naming the path and the problem.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dspic_lib.errors import OutputError

SPACE_MARGIN = 1.1       # ask for 10 % more than the expected size
SPACE_SLACK = 16 * 2 ** 20      # and 16 MiB for the small files beside it


def _why(err: OSError) -> str:
    return err.strerror or str(err)


def _nearest_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if os.path.lexists(p):
            return p
    return Path(".")


def _probe(folder: Path, what: str, path: Path) -> None:
    """Make ``folder`` (and its parents) and write a temporary file in it."""
    base = _nearest_existing(folder)
    if base.exists() and not base.is_dir():
        raise OutputError(f"{what} {path}: {base} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".dspic-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise OutputError(f"{what} {path}: cannot write in {folder} ({_why(err)})") from None


def check_file_target(path: str | Path, what: str = "output") -> Path:
    """``path`` can be written as a file: not a folder, its folder makeable and writable."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path}: is a folder; give a file name")
    if os.path.lexists(path) and not os.access(path, os.W_OK):
        raise OutputError(f"{what} {path}: exists and is not writable")
    _probe(path.parent if str(path.parent) else Path("."), what, path)
    return path


def check_folder_target(path: str | Path, what: str = "output folder", *, create: bool = True) -> Path:
    """``path`` is (or can be made) a writable folder. ``create=False``: make nothing, check that the
    nearest existing folder on the way is a writable folder."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise OutputError(f"{what} {path}: is a file, not a folder")
    if create:
        _probe(path, what, path)
        return path
    base = _nearest_existing(path)
    if not base.is_dir():
        raise OutputError(f"{what} {path}: {base} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {path}: cannot write in {base} (Permission denied)")
    return path


def atomic_write(path: str | Path, data: str | bytes | None = None, *, writer=None) -> Path:
    """Write ``data`` (text or bytes), or call ``writer(tmp_path)``, to a temporary file beside
    ``path``, then rename it to ``path``. On any failure the temporary file is removed and ``path``
    is as it was; an OSError becomes an :class:`OutputError` naming ``path``."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        if writer is not None:
            writer(Path(tmp))
        else:
            mode = "w" if isinstance(data, str) else "wb"
            with open(tmp, mode, **({"encoding": "utf-8", "newline": ""} if mode == "w" else {})) as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)        # mkstemp's 0600 would hide it from the group
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise OutputError(f"{path}: could not be written ({_why(err)}); nothing was written there") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def _read_umask() -> int:
    mask = os.umask(0o022)      # read once, at import (os.umask can only be read by setting it)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def free_bytes(folder: str | Path) -> int:
    """Free bytes (for this user) on the filesystem holding ``folder`` (or its nearest existing parent)."""
    return int(shutil.disk_usage(_nearest_existing(Path(folder))).free)


def check_free_space(folder: str | Path, need: int, what: str) -> None:
    """Raise :class:`OutputError` when the filesystem of ``folder`` has less free space than ``need``
    bytes (plus a margin) for ``what``."""
    want = int(need * SPACE_MARGIN) + SPACE_SLACK
    free = free_bytes(folder)
    if free < want:
        raise OutputError(f"{folder}: not enough free space for {what}: {_mb(free)} free, about {_mb(want)} "
                          "needed; free some space (or point DSPIC_HOME / --out elsewhere) and run again")


def _mb(n: int) -> str:
    return f"{n / 2 ** 20:.0f} MB" if n >= 2 ** 20 else f"{n} bytes"
