"""pyproject.toml, environment.yml and the locks must agree; the venv is the lock; Jupyter Book stays 1.x."""
import re
import tomllib
from importlib import metadata

import yaml


def _pins(lines):
    out = {}
    for line in lines:
        m = re.match(r"^\s*-?\s*\"?([A-Za-z0-9_.\-]+)==([^\"\s,]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_pins(root, extras=True):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]
    deps = list(project["dependencies"]) + (extra["test"] + extra["cluster"] if extras else [])
    return deps


def _lock(path):
    return {_norm(k): v for k, v in _pins(path.read_text().splitlines()).items()}


def test_pins_agree(root):
    deps = _project_pins(root)
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


def test_the_locks_hold_every_pin_and_the_runtime_lock_is_the_test_lock_minus_the_test_extra(root):
    runtime, test = _lock(root / "requirements.lock"), _lock(root / "requirements-test.lock")
    for lock, deps in ((runtime, _project_pins(root, extras=False)), (test, _project_pins(root))):
        for name, version in _pins(deps).items():
            assert lock.get(_norm(name)) == version, f"{name}=={version} is not in the lock (run make lock)"
    assert {k: v for k, v in test.items() if k in runtime} == runtime


def test_every_package_of_the_test_lock_is_installed_at_its_version(root):
    """`make test` installs requirements-test.lock with --no-deps: each of its packages must be there at
    the locked version. Packages a developer added besides (a debugger, a profiler) are not checked."""
    lock = _lock(root / "requirements-test.lock")
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {name: (version, installed.get(name, "missing")) for name, version in lock.items()
             if installed.get(name) != version}
    assert not wrong, f"locked version vs installed: {wrong}"
