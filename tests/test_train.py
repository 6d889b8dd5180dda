"""The training engine: validation patients from training patients, seeded and deterministic on CPU,
results in the store, an interrupted run leaves nothing half-written."""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import toy_d1

from dspic_lib.config import get_profile
from dspic_lib.pipeline import datasets, train
from dspic_lib.store import Store

PROFILE = get_profile("smoke", use_env=False, epochs=2, batch_size=8)


@pytest.fixture(scope="module")
def build():
    d1 = toy_d1(n_patients=24, rows=PROFILE.rows, cols=PROFILE.cols, seed=2)
    return datasets.build("D1", PROFILE, d1=d1, t=0, r=0.0)


def test_validation_patients_come_from_training_patients_only(build):
    tr, val = train.validation_split(build.train.meta, seed=0)
    meta = build.train.meta
    assert len(val) and not set(meta["patient"].iloc[val]) & set(meta["patient"].iloc[tr])
    assert not set(meta["patient"].iloc[val]) & set(build.test.meta["patient"])
    assert (meta["source"].iloc[val] == "original").all()


def test_same_seed_same_numbers_and_the_store_is_read_back(build, tmp_path):
    t0 = time.perf_counter()
    a = train.fit("dSPIC-AM", build, PROFILE, seed=1, store=Store(tmp_path / "a"), progress=False)
    first = time.perf_counter() - t0
    b = train.fit("dSPIC-AM", build, PROFILE, seed=1, store=Store(tmp_path / "b"), progress=False)
    np.testing.assert_array_equal(a.proba, b.proba)
    assert a.history.equals(b.history) and len(a.history) == PROFILE.epochs
    assert a.proba.shape == (len(build.test), 3) and np.allclose(a.proba.sum(1), 1, atol=1e-5)
    t0 = time.perf_counter()
    again = train.fit("dSPIC-AM", build, PROFILE, seed=1, store=Store(tmp_path / "a"), progress=False)
    assert again.cached and not a.cached and (time.perf_counter() - t0) * 4 < first
    np.testing.assert_array_equal(again.proba, a.proba)
    other = train.fit("dSPIC-AM", build, PROFILE, seed=2, store=Store(tmp_path / "a"), progress=False)
    assert other.entry_id != a.entry_id and not np.array_equal(other.proba, a.proba)
    np.testing.assert_array_equal(again.val_proba, a.val_proba)
    assert a.val_proba.shape == (len(a.val_meta), 3) and len(a.val_meta)
    assert not set(a.val_meta["patient"]) & set(a.test_meta["patient"])


def test_a_sigmoid_head_has_one_output_per_disease_and_its_own_entry(build, tmp_path):
    from dspic_lib.errors import ConfigError

    st = Store(tmp_path)
    soft = train.fit("SI_CLF", build, PROFILE, seed=1, store=st, progress=False)
    sig = train.fit("SI_CLF", build, PROFILE, seed=1, store=st, progress=False, head="sigmoid")
    assert sig.entry_id != soft.entry_id and sig.head == "sigmoid"
    assert sig.proba.shape == (len(build.test), 2) and ((sig.proba >= 0) & (sig.proba <= 1)).all()
    assert not np.allclose(sig.proba.sum(1), 1)            # independent outputs, not a softmax
    targets = train.head_targets(datasets.targets_for(["N", "M", "A", "M&A"]), "sigmoid")
    np.testing.assert_array_equal(targets, [[0, 0], [1, 0], [0, 1], [1, 1]])
    with pytest.raises(ConfigError, match="head.*softmax.*sigmoid"):
        train.fit("SI_CLF", build, PROFILE, store=st, progress=False, head="tanh")


KILLED = """
import os, sys
sys.path.insert(0, sys.argv[3])           # tests/, for helpers.toy_d1
from helpers import toy_d1
from dspic_lib.pipeline import datasets, inputs, train
from dspic_lib.config import get_profile
from dspic_lib.store import Store
P = get_profile("smoke", use_env=False, epochs=2, batch_size=8)
b = datasets.build("D1", P, d1=toy_d1(n_patients=24, rows=P.rows, cols=P.cols, seed=2), t=0, r=0.0)
if sys.argv[2] == "kill":
    real = inputs.train_one_epoch
    calls = []
    def dying(model, ds):
        calls.append(1)
        if len(calls) == 2:
            os._exit(9)            # killed in the middle of the second epoch
        return real(model, ds)
    inputs.train_one_epoch = dying
r = train.fit("dSPIC-AM", b, P, seed=3, store=Store(sys.argv[1]), progress=False)
print(r.entry_id, r.cached)
"""


@pytest.mark.slow     # three fresh interpreters with TensorFlow: about 25 s
def test_a_run_killed_midway_leaves_no_entry_and_the_next_one_completes(tmp_path):
    run = lambda how: subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), how, str(Path(__file__).parent)],
                                     capture_output=True, text=True)
    assert run("kill").returncode == 9
    st = Store(tmp_path)
    assert not st.entries() and len(st.leftovers()) == 1
    done = run("finish")
    assert done.returncode == 0, done.stderr[-2000:]
    entry_id, cached = done.stdout.split()
    assert cached == "False" and {p.name for p in st.find(entry_id).path.iterdir()} >= {
        "model.weights.h5", "history.csv", "predictions.npz", "entry.json"}
    assert run("finish").stdout.split()[1] == "True"          # the third run reads the store


def test_training_runs_under_a_mirrored_strategy_and_refuses_an_unknown_mode(build, tmp_path, monkeypatch):
    monkeypatch.setenv("DSPIC_DISTRIBUTE", "mirrored")
    from dspic_lib._tf import tf

    assert isinstance(train.strategy(), tf.distribute.MirroredStrategy)
    r = train.fit("SI_CLF", build, PROFILE, seed=1, store=Store(tmp_path), progress=False)
    assert np.isfinite(r.history["loss"]).all() and np.allclose(r.proba.sum(1), 1, atol=1e-5)
    monkeypatch.setenv("DSPIC_DISTRIBUTE", "all")
    with pytest.raises(Exception, match="DSPIC_DISTRIBUTE 'all'"):
        train.strategy()
