"""How close the phantom's images are to real whole-body bone scans, in four physical statistics.

pydicom ships two real GE whole-body Tc-99m MDP bone scans (``JPGExtended.dcm``, ``JPEG2000.dcm``:
1024 x 256, one anterior view each). On an image divided by its maximum, with the body = the pixels
above 5 % of the maximum:

- ``body_coverage``: the share of the field that is body (real scans 0.362 and 0.367);
- ``hot1_share``: the share of the body's counts in its hottest 1 % of pixels (0.043, 0.040);
- ``spine_to_body``: the mean over body pixels in the central 20 % of columns over the body mean
  (1.349, 1.307);
- ``profile_r``: the correlation of the image's :func:`axis_profile` with the mean profile of the two
  real scans (0.995, 0.996; the two real profiles correlate at r = 0.982 with each other).

:func:`compare` puts synthetic images beside the real ones and says whether each statistic lies
within 25 % of the real scans' range (``profile_r``: at least 0.9). Data layer: no plotting here."""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import pandas as pd

from ...errors import DataError

REAL_SCANS = ("JPGExtended.dcm", "JPEG2000.dcm")
BODY_THRESHOLD = 0.05          # of the image maximum
TOLERANCE = 0.25               # of the real range, each side
MIN_PROFILE_R = 0.9
STATISTICS = ("body_coverage", "hot1_share", "spine_to_body", "profile_r")


def _test_files_folder() -> str:
    import pydicom

    return os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


@lru_cache(maxsize=1)
def _read_real() -> tuple[tuple[str, np.ndarray], ...]:
    import pydicom

    out = []
    for name in REAL_SCANS:
        path = os.path.join(_test_files_folder(), name)
        if not os.path.exists(path):
            raise DataError(f"{path}: pydicom's real whole-body bone scan is missing (it ships with pydicom "
                            "3.x; the realism check never downloads it)")
        try:
            pixels = pydicom.dcmread(path).pixel_array
        except Exception as exc:   # decoding needs pylibjpeg + pylibjpeg-libjpeg / -openjpeg
            raise DataError(f"{path}: cannot decode ({exc}); install pylibjpeg, pylibjpeg-libjpeg and "
                            "pylibjpeg-openjpeg") from exc
        img = np.clip(np.asarray(pixels, np.float32), 0.0, None)   # JPEG 2000 ringing goes below zero
        img.setflags(write=False)
        out.append((name.removesuffix(".dcm"), img))
    return tuple(out)


def real_ge_scans() -> dict[str, np.ndarray]:
    """The two real GE whole-body scans shipped with pydicom, float32, negatives clipped at 0
    (read-only arrays; keys ``JPGExtended`` and ``JPEG2000``)."""
    return dict(_read_real())


def _normalized(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(image, np.float64)
    peak = float(a.max())
    if peak <= 0:
        raise DataError("an empty image has no body to measure")
    a = a / peak
    return a, a > BODY_THRESHOLD


def axis_profile(image: np.ndarray, bins: int = 100) -> np.ndarray:
    """Row sums of the max-normalized image over the body's own extent (first to last row holding a
    body pixel), resampled to ``bins`` values and scaled to sum 1."""
    a, body = _normalized(image)
    rows = np.flatnonzero(body.any(axis=1))
    prof = a[rows[0]:rows[-1] + 1].sum(axis=1)
    out = np.interp(np.linspace(0.0, 1.0, bins), np.linspace(0.0, 1.0, len(prof)), prof)
    return out / out.sum()


def real_profile(bins: int = 100) -> np.ndarray:
    """The mean axis profile of the two real scans."""
    return np.mean([axis_profile(img, bins) for img in real_ge_scans().values()], axis=0)


def scan_statistics(image: np.ndarray, reference_profile: np.ndarray | None = None) -> dict:
    """``body_coverage``, ``hot1_share``, ``spine_to_body``, ``profile`` (the :func:`axis_profile`)
    and ``profile_r`` (its correlation with ``reference_profile``, by default :func:`real_profile`)."""
    a, body = _normalized(image)
    values = np.sort(a[body])[::-1]
    n_hot = max(1, int(round(0.01 * len(values))))
    cols = a.shape[1]
    c0, c1 = int(round(0.4 * cols)), int(round(0.6 * cols))
    centre = a[:, c0:c1][body[:, c0:c1]]
    profile = axis_profile(image)
    ref = real_profile(len(profile)) if reference_profile is None else reference_profile
    return {"body_coverage": float(body.mean()),
            "hot1_share": float(values[:n_hot].sum() / values.sum()),
            "spine_to_body": float(centre.mean() / a[body].mean()) if centre.size else 0.0,
            "profile_r": float(np.corrcoef(profile, ref)[0, 1]),
            "profile": profile}


def real_ranges() -> dict[str, tuple[float, float]]:
    """Per statistic, the (min, max) over the two real scans."""
    stats = [scan_statistics(img) for img in real_ge_scans().values()]
    return {k: (min(s[k] for s in stats), max(s[k] for s in stats)) for k in STATISTICS}


def allowed_range(statistic: str, real: tuple[float, float]) -> tuple[float, float]:
    if statistic == "profile_r":
        return MIN_PROFILE_R, 1.0
    return real[0] * (1 - TOLERANCE), real[1] * (1 + TOLERANCE)


def compare(synthetic_images: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per (image, statistic), real scans first: ``image``, ``kind`` (real / synthetic),
    ``statistic``, ``value``, ``real_min``, ``real_max``, ``allowed_min``, ``allowed_max`` and ``ok``
    (the value lies in the allowed range: within 25 % of the real range, or r >= 0.9)."""
    ranges = real_ranges()
    rows = []
    images = [(name, "real", img) for name, img in real_ge_scans().items()]
    images += [(str(name), "synthetic", img) for name, img in synthetic_images.items()]
    for name, kind, img in images:
        stats = scan_statistics(img)
        for key in STATISTICS:
            lo, hi = allowed_range(key, ranges[key])
            rows.append({"image": name, "kind": kind, "statistic": key, "value": stats[key],
                         "real_min": ranges[key][0], "real_max": ranges[key][1], "allowed_min": lo,
                         "allowed_max": hi, "ok": bool(lo <= stats[key] <= hi)})
    return pd.DataFrame(rows)
