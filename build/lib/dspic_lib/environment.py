"""Facts about the run that produced the book: versions, devices, commit, profile, wall times."""
from __future__ import annotations

import os
import platform
from importlib import metadata

import pandas as pd

from .book import git_commit
from .chapter import Chapter, read_build_log
from .config import PROFILES

PACKAGES = ["tensorflow-cpu", "keras", "numpy", "scipy", "pandas", "scikit-learn", "scikit-image",
            "pydicom", "pylibjpeg", "matplotlib", "seaborn", "jupyter-book", "papermill",
            "jupytext", "nbval"]


def profiles_table() -> pd.DataFrame:
    table = pd.DataFrame({p.name: pd.Series(p.to_dict(), dtype=object) for p in PROFILES.values()})
    return table.drop(index="name").rename_axis("field")


def package_versions() -> pd.DataFrame:
    rows = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    return pd.DataFrame(rows, columns=["package", "version"]).set_index("package")


def devices() -> pd.DataFrame:
    from ._tf import tf

    rows = [(d.device_type, d.name) for d in tf.config.list_physical_devices()]
    df = pd.DataFrame(rows, columns=["type", "name"])
    df.attrs["gpus"] = sum(t == "GPU" for t, _ in rows)
    return df


def build_summary(ch: Chapter) -> pd.DataFrame:
    rows = {
        "git commit": git_commit(),
        "profile": ch.profile.name,
        "seed": ch.profile.seed,
        "data": ("synthetic cohort" if ch.synthetic else "user data") if ch.data_dir.exists()
        else "not generated (this chapter reads no data)",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
    }
    return pd.DataFrame({"value": rows})


def chapter_times(ch: Chapter) -> pd.DataFrame | str:
    log = read_build_log(ch.results_dir)
    if not log.get("chapters"):
        return "No build log yet: this chapter was executed on its own, not by `dspic book`."
    df = pd.DataFrame({"wall time (s)": log["chapters"]}).rename_axis("chapter")
    df.loc["total"] = df["wall time (s)"].sum()
    return df
