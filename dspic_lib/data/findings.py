"""What every reader of a data folder shares (the DICOM scan in :mod:`.cohort`, the public layouts in
:mod:`.public`): the problems and warnings it collects, the folder's content fingerprint, paths relative
to the folder, and what the table keeps of an image's pixels."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError


def rel_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX), or the path itself when it lies outside."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


class Findings:
    """Problems (the file is left out) and warnings (the file is kept, or dropped as a copy).
    ``strict``: the first problem raises :class:`~dspic_lib.errors.DataError` instead."""

    def __init__(self, data_dir: Path, strict: bool):
        self.rows: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []
        self.data_dir, self.strict = data_dir, strict

    def _text(self, path: Path | str, text: str) -> tuple[str, str]:
        name = Path(path).name
        return rel_path(Path(path), self.data_dir), text[len(name) + 2:] if text.startswith(name + ": ") else text

    def add(self, path: Path | str, problem: str) -> None:
        rel, text = self._text(path, problem)
        if self.strict:
            raise DataError(f"{rel}: {text}")
        self.rows.append((rel, text))

    def warn(self, path: Path | str, warning: str) -> None:
        self.warnings.append(self._text(path, warning))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["file", "problem"])

    def warning_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.warnings, columns=["file", "warning"])


class Fingerprint:
    """Content hash of a data folder, fed file by file as the scan reads them (each file read once)."""

    def __init__(self, data_dir: Path):
        self.data_dir, self.parts = data_dir, {}

    @staticmethod
    def file_digest(data: bytes) -> str:
        """The digest of one file's bytes, as the folder's fingerprint holds it."""
        return hashlib.blake2b(data, digest_size=16).hexdigest()

    def add(self, path: Path, data: bytes) -> bytes:
        self.parts[rel_path(path, self.data_dir)] = self.file_digest(data)
        return data

    def hexdigest(self) -> str:
        h = hashlib.blake2b(digest_size=10)
        for rel in sorted(self.parts):
            h.update(f"{rel}\0{self.parts[rel]}\n".encode())
        return h.hexdigest()


def pixel_stats(px: np.ndarray) -> dict:
    """What the table keeps of an image's pixels, and a digest that finds exact copies."""
    return {"max_count": float(px.max()), "max_at": np.unravel_index(int(np.argmax(px)), px.shape),
            "total_counts": float(px.sum(dtype=np.float64)),
            "digest": hashlib.blake2b(np.ascontiguousarray(px, np.float32).tobytes(), digest_size=16).hexdigest()}
