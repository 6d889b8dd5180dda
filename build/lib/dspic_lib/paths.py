"""Where things live: the repository, the local store of cohorts and results.

Everything the project generates goes under one folder, ``DSPIC_HOME`` (default ``<repo>/.dspic``):

    .dspic/data/synthetic-<profile>-seed<S>/   generated synthetic cohorts (DICOM + LabelMe)
    .dspic/results/<profile>/                  result store of a profile: models, metrics, build log

``DSPIC_DATA`` (or ``--data-dir``) points every command at a folder of your own scans instead.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The checkout the package was installed from (editable install), else the working directory."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").exists() and (candidate / "notebooks").is_dir():
        return candidate
    return Path.cwd()


def home() -> Path:
    return Path(os.environ.get("DSPIC_HOME") or repo_root() / ".dspic")


def default_data_dir(profile_name: str, seed: int) -> Path:
    """``DSPIC_DATA`` when set (real scans), else the synthetic cohort of this profile and seed."""
    if os.environ.get("DSPIC_DATA"):
        return Path(os.environ["DSPIC_DATA"])
    return home() / "data" / f"synthetic-{profile_name}-seed{seed}"


def default_results_dir(profile_name: str) -> Path:
    return home() / "results" / profile_name


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def executed_dir() -> Path:
    return repo_root() / "book" / "executed"
