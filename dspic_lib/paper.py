"""The numbers the paper reports (../shared/paper/targets.json, bundled as package data)."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def targets() -> dict:
    return json.loads(resources.files("dspic_lib").joinpath("targets.json").read_text())


def leaves(obj=None):
    """Every scalar of targets.json (or of ``obj``), depth first: the values a "paper" column may show."""
    obj = targets() if obj is None else obj
    if isinstance(obj, dict):
        for v in obj.values():
            yield from leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from leaves(v)
    else:
        yield obj
