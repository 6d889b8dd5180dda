"""Look up a name among valid options, failing with a message that lists them (after MONAI)."""
from __future__ import annotations

from collections.abc import Iterable

from .errors import ConfigError


def look_up_option(name: str, valid: Iterable[str], *, what: str = "option") -> str:
    valid = list(valid)
    if name in valid:
        return name
    raise ConfigError(f"unknown {what} {name!r}; valid: {', '.join(map(repr, valid))}")
