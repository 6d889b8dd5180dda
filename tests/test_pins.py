"""pyproject.toml and environment.yml must pin the same versions; Jupyter Book must stay 1.x."""
import re
import tomllib

import yaml


def _pins(lines):
    out = {}
    for line in lines:
        m = re.match(r"^\s*-?\s*\"?([A-Za-z0-9_.\-]+)==([^\"\s,]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_pins_agree(root):
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all("==" in d for d in deps), [d for d in deps if "==" not in d]
    py = _pins(deps)
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = _pins([p for p in pip_list if "==" in p])
    assert py == conda


def test_jupyter_book_is_1x(root):
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    version = _pins(deps)["jupyter-book"]
    assert version.split(".")[0] == "1"
