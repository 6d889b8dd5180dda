"""Pseudonyms of PatientIDs: the one function that ``dspic data scan``, the chapters and ``dspic predict`` use.

``pseudonym(id)`` is ``"P"`` + 10 hex digits of a BLAKE2b hash of the ID **keyed with a secret**, so a
pseudonym cannot be turned back into an ID by hashing guessed IDs. The key (:func:`install_key`):
``$DSPIC_PSEUDONYM_KEY`` if set, else ``$DSPIC_HOME/pseudonym.key`` (32 random bytes, made on first
use, readable by its owner only): the same ID gets the same pseudonym on this install, run after run,
so tables, splits and chapter outputs are deterministic for a given install.

The synthetic cohort (a folder the phantom wrote) is the one exception: its PatientIDs are made up, so
its pseudonyms use the public key :data:`SYNTHETIC_KEY` (empty), and the book's smoke outputs (the
nbval references) are the same on every install.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

KEY_ENV = "DSPIC_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"
SYNTHETIC_KEY = b""          # made-up IDs: nothing to hide, the same pseudonyms everywhere
DIGEST_SIZE = 5


def key_path() -> Path:
    from dspic_lib.paths import home

    return home() / KEY_FILE


def install_key() -> bytes:
    """``$DSPIC_PSEUDONYM_KEY``, else the bytes of ``$DSPIC_HOME/pseudonym.key`` (made on first use)."""
    env = os.environ.get(KEY_ENV, "")
    if env:
        return env.encode()[:64]
    path = key_path()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:          # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
    key = path.read_bytes()[:64]
    if not key:
        from dspic_lib.errors import DataError

        raise DataError(f"{path}: the pseudonym key file is empty; delete it to make a new one "
                        "(every pseudonym of this install changes)")
    return key


def pseudonymizer(key: bytes | None = None) -> Callable[[str], str]:
    """``id -> "P" + 10 hex digits``, keyed with ``key`` (default: :func:`install_key`)."""
    key = install_key() if key is None else bytes(key)[:64]

    def pseudonym(patient_id: str) -> str:
        return "P" + hashlib.blake2b(str(patient_id).encode("utf-8"), key=key, digest_size=DIGEST_SIZE).hexdigest()

    return pseudonym


def pseudonym(patient_id: str, key: bytes | None = None) -> str:
    """The pseudonym of one PatientID (see the module docstring); ``key`` as in :func:`pseudonymizer`."""
    return pseudonymizer(key)(patient_id)
