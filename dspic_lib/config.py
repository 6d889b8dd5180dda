"""Run profiles: one frozen dataclass, three named instances.

A profile is data, not code: chapters read its fields and never branch on its name.
Single fields can be overridden with ``DSPIC_<FIELD>`` environment variables (e.g. ``DSPIC_EPOCHS=5``)
or with ``dspic book --set epochs=5``; the effective profile is printed and stored with every result.
"""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .options import look_up_option


@dataclass(frozen=True)
class Profile:
    name: str
    n_patients: int            # synthetic cohort size (two views each)
    rows: int                  # training image height (whole-body axis)
    cols: int                  # training image width
    epochs: int
    batch_size: int
    learning_rate: float
    early_stopping_patience: int   # 0 = no early stopping
    select_on: str             # the kept weights: best "val_loss", best "val_balanced_accuracy", or "last"
    init: str                  # initialiser of the ReLU layers: "he" (He-normal) or "glorot" (Keras' default)
    precision: str             # "float32", "bf16" (mixed bfloat16) or "auto" (bf16 where the CPU has it in hardware)
    class_weight: str          # "none", or "cohort": each class's loss weighted back to the originals' class shares
    gan_steps: int             # DCGAN training steps per class
    gan_batch_size: int
    cv_folds: int              # grouped stratified K-fold of chapter 07: folds per repeat
    cv_repeats: int
    cv_cells: int              # how many of chapter 07's CV cells (in order) get CV; the rest, a bootstrap
    bootstrap_resamples: int   # patient-level bootstrap resamples behind every confidence interval
    test_fraction: float
    seed: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.rows, self.cols, 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def override(self, **changes: Any) -> "Profile":
        """Return a copy with some fields changed; values given as strings are converted."""
        types = {f.name: f.type for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            look_up_option(key, [k for k in types if k != "name"], what="profile field")
            clean[key] = _convert(key, value, types[key])
        return dataclasses.replace(self, **clean)

    def __str__(self) -> str:
        body = ", ".join(f"{k}={v}" for k, v in self.to_dict().items() if k != "name")
        return f"Profile {self.name!r}: {body}"


def _convert(key: str, value: Any, type_name: Any) -> Any:
    target = {"int": int, "float": float, "str": str}.get(str(type_name), str)
    if isinstance(value, target) and not isinstance(value, bool):
        return value
    try:
        return target(value)
    except (TypeError, ValueError):
        raise ConfigError(f"profile field {key!r} expects {target.__name__}, got {value!r}") from None


PROFILES: dict[str, Profile] = {
    # seconds per chapter: nbval, CI, the `make test` book build
    "smoke": Profile(
        name="smoke", n_patients=24, rows=128, cols=32, epochs=1, batch_size=4,
        learning_rate=1e-4, early_stopping_patience=0, select_on="last", init="he", precision="float32",
        class_weight="cohort", gan_steps=20, gan_batch_size=4,
        cv_folds=2, cv_repeats=1, cv_cells=1, bootstrap_resamples=200, test_fraction=0.3, seed=0,
    ),
    # the full synthetic cohort at reduced resolution: `make book` on a 2-core machine, <= 90 min cold.
    # Chosen by learning curves (bench/bench_budget.py; README "The cpu profile"), dSPIC-AM on D1 and D2 at
    # 256 x 64, batch 32, He-normal start, standardised input: at Adam 3e-4 the networks leave the one-class
    # plateau at epochs 3-7 (the pooling-free one later) and overfit after epochs 7-17 (training loss 0.1-0.3,
    # validation loss up to 3.7). 1e-4 learned no better on D2 in 25 epochs. So: at most 30 epochs, the
    # weights of the best validation balanced accuracy (what the learned gate asks of the test part), and
    # a stop after 8 epochs without a better one, counted only once the validation images get more than
    # one class. The first cold build (patience 6 on the validation loss, counted from epoch 1) stopped the
    # pooling-free network at epoch 9 still on the plateau and kept two SI_CLF networks just past it.
    # On D2 the test part keeps the cohort's class shares while D2's training part follows Table 1 (N 22 %
    # instead of 44 %): unweighted, dSPIC-AM on D2 reached test accuracy 0.40-0.57 (majority share 0.44);
    # with the class-weighted loss ("cohort") 0.55-0.63.
    # bfloat16 mixed precision ("auto": only where the CPU has it in hardware) ran dSPIC-AM on D1 2.6x
    # faster than float32 on an AMX Xeon with the same curve (test accuracy 0.54-0.62 against 0.52-0.62).
    "cpu": Profile(
        name="cpu", n_patients=384, rows=256, cols=64, epochs=30, batch_size=32,
        learning_rate=3e-4, early_stopping_patience=8, select_on="val_balanced_accuracy", init="he", precision="auto",
        class_weight="cohort", gan_steps=1500, gan_batch_size=32,
        cv_folds=3, cv_repeats=1, cv_cells=1, bootstrap_resamples=1000, test_fraction=0.3, seed=0,
    ),
    # Table 4 of the paper: Adam 1e-4, batch 8/16, 300 epochs, 256 x 1024 (cols x rows); needs a GPU
    "paper": Profile(
        name="paper", n_patients=384, rows=1024, cols=256, epochs=300, batch_size=16,
        learning_rate=1e-4, early_stopping_patience=0, select_on="last", init="he", precision="float32",
        class_weight="none", gan_steps=20000, gan_batch_size=16,
        cv_folds=5, cv_repeats=5, cv_cells=4, bootstrap_resamples=2000, test_fraction=0.3, seed=0,
    ),
}


def profile_names() -> list[str]:
    return list(PROFILES)


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Overrides given as DSPIC_<FIELD>=value environment variables."""
    environ = os.environ if environ is None else environ
    names = {f.name for f in fields(Profile)} - {"name"}
    return {k[6:].lower(): v for k, v in environ.items()
            if k.startswith("DSPIC_") and k[6:].lower() in names}


def get_profile(name: str, *, use_env: bool = True, **overrides: Any) -> Profile:
    """The named profile, with DSPIC_<FIELD> environment overrides and then explicit ones applied."""
    look_up_option(name, PROFILES, what="profile")
    changes: dict[str, Any] = env_overrides() if use_env else {}
    changes.update({k: v for k, v in overrides.items() if v is not None})
    return PROFILES[name].override(**changes)


def parse_assignments(items: list[str] | None) -> dict[str, str]:
    """Parse ['epochs=5', 'batch_size=8'] from the command line."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected FIELD=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out
