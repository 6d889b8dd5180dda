"""Reading stored results rebuilds nothing: once the store holds the runs of the result chapters, a new
process loads them (chapters 04 and 05: ``results.load``; 06: its run's test images; 07: every extra
run) without decoding a DICOM frame, augmenting, sweeping or training a DCGAN or a network."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

READ = """
import functools
import json
from collections import Counter

from dspic_lib.data import cohort, dicom
from dspic_lib.pipeline import augment, gan, train

calls = Counter()


def counting(name, real):
    @functools.wraps(real)                 # a recipe's code is found from its function's module
    def wrapper(*args, **kwargs):
        calls[name] += 1
        return real(*args, **kwargs)
    return wrapper


dicom._decode_frame = counting("decode", dicom._decode_frame)
cohort.iter_pixels = counting("iter_pixels", cohort.iter_pixels)
cohort.scan = counting("scan", cohort.scan)
augment.augment_to_counts = counting("augment", augment.augment_to_counts)
augment.sweep = counting("sweep", augment.sweep)
gan._train = counting("gan", gan._train)
train._train = counting("train", train._train)

from dspic_lib.chapters import beyond, misclassification
from dspic_lib.evaluation import results
from dspic_lib.pipeline.context import Context
from dspic_lib.pipeline.experiments import EXPERIMENTS

ctx = Context.create("smoke")
res = results.load(list(EXPERIMENTS), ctx, progress=False)
run = res.run(*misclassification.CELL)
test = misclassification.test_images(ctx, run)
misclassification.check_same_images(run, test)
b = beyond.run(ctx, progress=False)
print(json.dumps({"calls": calls, "runs": len(res.runs), "test": len(test), "cv": sum(map(len, b.cv.values())),
                  "leak": b.leak["test images"]}))
"""


def _read(home) -> dict:
    env = {**os.environ, "DSPIC_HOME": str(home)}
    env.pop("DSPIC_DATA", None)
    out = subprocess.run([sys.executable, "-c", READ], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow      # the first pass trains every smoke run of chapters 04-07: several minutes
def test_reading_the_result_chapters_from_a_filled_store_decodes_augments_and_trains_nothing(tmp_path):
    home = Path(os.environ.get("DSPIC_TEST_FILLED_HOME") or tmp_path)   # a store filled before, if given
    cold = not home.exists() or not any(home.iterdir())
    first = _read(home)
    if cold:                                 # everything was computed, so the counters count
        assert first["calls"]["decode"] > 0 and first["calls"]["train"] > 0 and first["calls"]["gan"] > 0
    again = _read(home)
    assert again["calls"] == {}, again["calls"]
    assert again["runs"] == first["runs"] >= 14 and again["test"] == first["test"] > 0
    assert again["cv"] == first["cv"] > 0 and again["leak"] == first["leak"] > 0
