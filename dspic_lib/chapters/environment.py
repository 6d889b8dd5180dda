"""Facts about the run that produced the book: versions, devices, commit, profile, wall times."""
from __future__ import annotations

import os
import platform

import pandas as pd

from dspic_lib.chapters.setup import Chapter, read_build_log
from dspic_lib.config import PROFILES, Profile
from dspic_lib.provenance import PACKAGES, git_commit, versions


def profiles_table(effective: Profile | None = None) -> pd.DataFrame:
    """Every field of every profile; the profile of this build with its effective (overridden) values."""
    profiles = {p.name: p for p in PROFILES.values()}
    if effective is not None:
        profiles[effective.name] = effective
    table = pd.DataFrame({f"profile {name}" + (" (this build)" if effective is not None and name == effective.name else ""):
                          pd.Series(p.to_dict(), dtype=object) for name, p in profiles.items()})
    return table.drop(index="name").rename_axis("field")


def package_versions() -> pd.DataFrame:
    """Python and every package of :data:`dspic_lib.provenance.PACKAGES` with its version."""
    rows = list(versions(PACKAGES).items())
    return pd.DataFrame(rows, columns=["package", "version"]).set_index("package")


def devices() -> pd.DataFrame:
    from dspic_lib._tf import tf

    rows = [(d.device_type, d.name) for d in tf.config.list_physical_devices()]
    df = pd.DataFrame(rows, columns=["type", "name"])
    df.attrs["gpus"] = sum(t == "GPU" for t, _ in rows)
    return df


def build_summary(ch: Chapter) -> pd.DataFrame:
    rows = {
        "git commit": git_commit(),
        "profile": ch.profile.name,
        "seed": ch.profile.seed,
        "data": ("synthetic cohort" if ch.synthetic else "user data") + f", {ch.data_summary}",
        "data fingerprint": ch.data_fingerprint,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
    }
    return pd.DataFrame({"value": rows})


def chapter_times(ch: Chapter):
    log = read_build_log(ch.results_dir)
    if not log.get("chapters"):
        return "No build log yet: this chapter was executed on its own, not by `dspic book`."
    df = pd.DataFrame({"wall time (s)": log["chapters"]}).rename_axis("chapter")
    df.loc["total"] = df["wall time (s)"].sum()
    from dspic_lib.chapters.present import table

    return table(df, "times", decimals=1)
