"""Where a result came from: package versions, the device kind, the git commit and the lock's hash.

Asked in one place by everything that records provenance: the result store's keys (the environment
part, :func:`lock_hash` and :func:`device_kind`), the chapter banner (:mod:`dspic_lib.chapters.setup`),
the environment chapter and the model card. Standard library and :mod:`importlib` only; TensorFlow is
asked only for the device, imported by name so that it enters no import closure of the store's keys.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import platform
import subprocess
from collections import Counter
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PACKAGE = "dspic_lib"
PACKAGE_DIR = Path(__file__).resolve().parent
LOCK_FILE = "requirements.lock"

# the packages that decide this book's numbers, the first installed name of each tuple (TensorFlow is
# tensorflow-cpu here): the banner names these; the environment chapter lists PACKAGES
BANNER_PACKAGES = [("tensorflow-cpu", "tensorflow"), ("keras",), ("numpy",), ("scikit-learn",), ("pydicom",)]
PACKAGES = ["tensorflow-cpu", "keras", "numpy", "scipy", "pandas", "scikit-learn", "scikit-image",
            "pydicom", "pylibjpeg", "matplotlib", "seaborn", "jupyter-book", "papermill",
            "jupytext", "nbval"]


def repo_root() -> Path | None:
    """The checkout the package runs from (it holds ``requirements.lock``), or None (an installed copy)."""
    root = PACKAGE_DIR.parent
    return root if (root / LOCK_FILE).is_file() else None


def version(*dists: str) -> tuple[str, str]:
    """(name, version) of the first of ``dists`` that is installed, else (first name, 'not installed')."""
    for dist in dists:
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return dists[0], "not installed"


def versions(packages=PACKAGES) -> dict[str, str]:
    """``{"python": ..., package: version}`` for ``packages`` (names or tuples of alternative names)."""
    out = {"python": platform.python_version()}
    for p in packages:
        name, v = version(*((p,) if isinstance(p, str) else p))
        out[name] = v
    return out


def versions_text(packages=BANNER_PACKAGES) -> str:
    """``python 3.11.9, tensorflow-cpu 2.21.0, ...``"""
    return ", ".join(f"{n} {v}" for n, v in versions(packages).items())


def _lock_hash_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20]


@lru_cache(maxsize=8)
def _installed_hash() -> str:
    names = sorted({f"{d.metadata['Name'].lower()}=={d.version}" for d in metadata.distributions()
                    if d.metadata["Name"]})
    return "installed:" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:20]


def lock_hash(root: Path | None = None) -> str:
    """sha256 of the repository's ``requirements.lock`` (every pinned version, so scipy, scikit-learn,
    scikit-image and pydicom too); without the repository, a hash of the installed distributions'
    sorted ``name==version``."""
    root = repo_root() if root is None else Path(root)
    if root is not None and (root / LOCK_FILE).is_file():
        return _lock_hash_of(root / LOCK_FILE)
    return _installed_hash()


@lru_cache(maxsize=1)
def device_kind() -> str:
    """``gpu`` or ``cpu``: where TensorFlow computes on this machine, decided without importing it (a
    chapter that only reads stored runs must not pay for TensorFlow to compute their keys): ``gpu`` when
    the NVIDIA driver lists a GPU, ``CUDA_VISIBLE_DEVICES`` does not hide them all, and the installed
    TensorFlow is not the CPU-only ``tensorflow-cpu``; else ``cpu``. Every process of a machine gets
    the same answer, whether it has imported TensorFlow or not."""
    if not _driver_gpus():
        return "cpu"
    if os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return "cpu"
    if version("tensorflow")[1] == "not installed" and version("tensorflow-cpu")[1] != "not installed":
        return "cpu"
    return "gpu"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _driver_gpus() -> list[str]:
    """GPU models as the NVIDIA driver lists them (``/proc/driver/nvidia/gpus``), without TensorFlow."""
    names = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            for line in info.read_text().splitlines():
                if line.startswith("Model:"):
                    names.append(line.split(":", 1)[1].strip())
        except OSError:
            continue
    return names


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees when it is already imported; else those the NVIDIA driver lists (a
    chapter that needs no TensorFlow does not import it just to name the device)."""
    import sys

    if f"{PACKAGE}._tf" not in sys.modules:
        return _driver_gpus()
    tf = importlib.import_module(f"{PACKAGE}._tf").tf
    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name") or gpu.name)
        except (ValueError, RuntimeError):
            names.append(gpu.name)
    return names


def device_text() -> str:
    """``AMD EPYC 7B13, 16 CPU cores; GPU: 1 x NVIDIA H100 80GB HBM3`` (:func:`gpu_names`)."""
    gpus = Counter(gpu_names())
    gpu = "GPU: " + ", ".join(f"{n} x {name}" for name, n in gpus.items()) if gpus else "no GPU"
    return f"{cpu_name()}, {os.cpu_count()} CPU cores; {gpu}"


def git_commit() -> str:
    """The short commit of the checkout, ``+dirty`` with uncommitted changes to tracked files;
    ``unknown`` outside a git checkout. The notebooks' ``.ipynb`` twins do not count: they are the
    stored outputs that ``dspic book --store-reference`` rewrites one by one while it runs (their
    inputs are the ``.py`` sources, checked equal by the tests), so a reference run on a clean
    checkout is not called dirty by its own outputs."""
    root = PACKAGE_DIR.parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                             capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)notebooks/*.ipynb"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
