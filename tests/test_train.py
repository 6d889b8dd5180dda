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


def _scripted(monkeypatch, val_losses, one_class_epochs):
    """Make _train's epochs cheap and its validation numbers scripted: epoch k (1-based) has validation
    loss ``val_losses[k - 1]``; its validation images all get class N while k <= ``one_class_epochs``,
    then the right class (each epoch equally good), so the balanced accuracy jumps once the plateau is left."""
    from dspic_lib.pipeline import inputs

    calls = {"epoch": 0}
    monkeypatch.setattr(inputs, "train_one_epoch", lambda model, ds: calls.__setitem__("epoch", calls["epoch"] + 1) or 1.0)

    def evaluate(model, X, y, rows, batch_size, head="softmax"):
        k = calls["epoch"]
        proba = np.zeros((len(rows), 3), np.float32)
        if k <= one_class_epochs:
            proba[:, 0] = 1.0
        else:
            proba[np.arange(len(rows)), y[rows].argmax(1)] = 1.0
        return val_losses[k - 1], 0.0, proba

    monkeypatch.setattr(train, "_evaluate", evaluate)
    return calls


def test_patience_does_not_run_while_the_network_sits_on_the_one_class_plateau(build, monkeypatch):
    # the validation loss never improves after epoch 1; the plateau lasts 8 epochs; patience 3
    profile = PROFILE.override(epochs=20, early_stopping_patience=3, select_on="val_balanced_accuracy")
    calls = _scripted(monkeypatch, [1.0] + [1.1] * 19, one_class_epochs=8)
    model, history, best, val, *_ = train._train("SI_CLF", build, profile, seed=0, progress=False)
    assert history["val_classes_predicted"].tolist()[:8] == [1] * 8
    # epoch 9 leaves the plateau and is the best balanced accuracy; 3 epochs without a better one follow
    assert best == 9 and len(history) == calls["epoch"] == 12
    # the old rule (patience counted from epoch 1 on the validation loss) would have stopped at epoch 4
    profile = profile.override(select_on="val_loss")
    calls = _scripted(monkeypatch, [1.0] + [1.1] * 19, one_class_epochs=8)
    _, history, best, *_ = train._train("SI_CLF", build, profile, seed=0, progress=False)
    assert best == 1 and len(history) == 11     # patience starts at epoch 9 here too: 9, 10, 11
