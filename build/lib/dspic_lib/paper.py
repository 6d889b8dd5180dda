"""The numbers the paper reports (../shared/paper/targets.json, bundled as package data)."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def targets() -> dict:
    return json.loads(resources.files("dspic_lib").joinpath("targets.json").read_text())
