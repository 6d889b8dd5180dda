"""Which data folder a run uses: the user's (only ever read) or the synthetic cohort of the profile,
generated in its default place when missing or outdated. Above the data layer, since it reads the
run's profile and the project's folders."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from dspic_lib.data import phantom
from dspic_lib.errors import DataError


def synthetic_dir(profile) -> Path:
    """The default location of a profile's synthetic cohort (``DSPIC_HOME/data/synthetic-<p>-seed<S>``)."""
    from dspic_lib.paths import home

    return home() / "data" / f"synthetic-{profile.name}-seed{profile.seed}"


def ensure_cohort(profile, data_dir: str | Path | None = None, *, progress: bool = True) -> Path:
    """The data folder to use, generating the synthetic cohort when it is the default one and missing.

    ``profile``: a :class:`~dspic_lib.config.Profile` or its name. ``data_dir``: the chapter's or
    command's folder (``None``: ``DSPIC_DATA`` when set, else the synthetic default). A folder given by
    the user is never written to; if it does not exist this raises :class:`DataError`.
    """
    from dspic_lib.config import Profile, get_profile
    from dspic_lib.paths import default_data_dir

    prof = profile if isinstance(profile, Profile) else get_profile(str(profile))
    default = synthetic_dir(prof)
    target = Path(data_dir) if data_dir else default_data_dir(prof.name, prof.seed)
    if os.path.abspath(target) != os.path.abspath(default):
        if not target.is_dir():
            raise DataError(f"{target}: data folder does not exist. A folder given with DSPIC_DATA or "
                            f"--data-dir is only read, never created; the synthetic cohort is generated "
                            f"only in its default location ({default})")
        return target
    cfg = phantom.PhantomConfig(n_patients=prof.n_patients, seed=prof.seed)
    marker = phantom.read_marker(target)
    if marker is not None and marker.get("version") == phantom.PHANTOM_VERSION \
            and marker.get("parameters") == phantom.config_dict(cfg) \
            and marker.get("file_layout", 1) == phantom.FILE_LAYOUT:
        return target     # (a cohort of an older file layout is written again: same DICOM, new JSONs)
    if target.exists():
        if marker is None and any(target.iterdir()):
            raise DataError(f"{target}: the synthetic cohort's folder holds files but no "
                            f"{phantom.marker_name()}; remove it to have it generated again")
        shutil.rmtree(target)      # an outdated cohort written by the phantom itself
    try:
        phantom.generate(target, cfg, profile=prof.name, progress=progress)
    except DataError:
        if phantom.read_marker(target) is None:   # not another process that finished first
            raise
    return target
