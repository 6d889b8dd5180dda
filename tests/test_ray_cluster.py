"""`dspic run --cluster ray`: the same store as the sequential path, entry for entry and bit for bit, and a
worker killed mid-training is retried without leaving a partial entry behind."""
import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from dspic_lib.cli import main
from dspic_lib.errors import ConfigError
from dspic_lib.store import Store

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray(home):
    """A local Ray instance with 2 CPUs for the module (its workers inherit DSPIC_HOME)."""
    assert home.is_dir()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=True)
    yield ray
    ray.shutdown()


def _train_entries(st: Store) -> dict:
    return {e.id: e for e in st.entries() if e.id.startswith("train/")}


def test_workers_without_a_cluster_and_bad_cpu_counts_are_refused(monkeypatch, capsys):
    from dspic_lib.config import get_profile
    from dspic_lib.pipeline import ray_executor

    assert main(["run", "table5", "--profile", "smoke", "--workers", "2"]) == 1
    assert "--workers needs --cluster ray" in capsys.readouterr().err
    assert ray_executor.cpus_per_run(get_profile("smoke", use_env=False)) == 1
    monkeypatch.setenv(ray_executor.CPUS_ENV, "0")
    with pytest.raises(ConfigError, match="DSPIC_RAY_CPUS_PER_RUN='0'"):
        ray_executor.cpus_per_run(get_profile("smoke", use_env=False))


def test_help_says_the_store_must_be_shared(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "--cluster {ray}" in out and "DSPIC_RAY_ADDRESS" in out and "filesystem every worker sees" in out


@pytest.mark.slow      # table5 under smoke on Ray (2 CPUs) and sequentially: 163 s at load average 5 on 2 cores
def test_ray_and_sequential_runs_fill_the_same_store_with_the_same_numbers(local_ray, tmp_path, capsys):
    assert local_ray.cluster_resources()["CPU"] == 2
    assert main(["run", "table5", "--profile", "smoke", "--cluster", "ray", "--results-dir", str(tmp_path / "ray")]) == 0
    on_ray = capsys.readouterr()
    assert main(["run", "table5", "--profile", "smoke", "--results-dir", str(tmp_path / "seq")]) == 0
    in_process = capsys.readouterr()
    lines = lambda out: [line.split(" (")[0] for line in out.splitlines() if ", seed " in line]
    assert len(lines(on_ray.out)) == 5 and lines(on_ray.out) == lines(in_process.out)
    assert on_ray.out.count("(trained in") == 5 and on_ray.err.count("stored in") == 5
    a, b = Store(tmp_path / "ray" / "store"), Store(tmp_path / "seq" / "store")
    assert sorted(e.id for e in a.entries()) == sorted(e.id for e in b.entries())
    ra, rb = _train_entries(a), _train_entries(b)
    assert len(ra) == 5
    for entry_id, entry in ra.items():
        with np.load(entry.path / "predictions.npz") as x, np.load(rb[entry_id].path / "predictions.npz") as y:
            assert np.array_equal(x["proba"], y["proba"]) and np.array_equal(x["val_proba"], y["val_proba"])
        assert (entry.path / "history.csv").read_text() == (rb[entry_id].path / "history.csv").read_text()
    # everything is in the store now: a second --cluster run submits no task and reads the five runs
    assert main(["run", "table5", "--profile", "smoke", "--cluster", "ray", "--results-dir", str(tmp_path / "ray")]) == 0
    again = capsys.readouterr()
    assert again.out.count("from the store") == 5 and "training task" not in again.err


@pytest.mark.slow      # one smoke training, killed once and retried: 31 s
def test_a_worker_killed_mid_training_is_retried_and_leaves_one_complete_entry(local_ray, tmp_path):
    from dspic_lib.config import get_profile
    from dspic_lib.pipeline import experiments, ray_executor
    from dspic_lib.pipeline.context import Context

    assert local_ray.cluster_resources()["CPU"] == 2
    ctx = Context.create(get_profile("smoke", use_env=False), results_dir=tmp_path)
    run = ("dSPIC-AM", "D1", 0)
    key = experiments.missing_runs([run], ctx)[1][run]
    lock, folder = ctx.store.lock_path(key), ctx.store.root / "train"
    killed = []

    def kill_the_trainer():
        # the worker holds the run's lock (its pid is in the lock file) and writes into a .tmp- folder
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            try:
                pid = json.loads(lock.read_text() or "{}").get("pid")
            except (OSError, ValueError):
                pid = None
            if pid and list(folder.glob(f".tmp-{key.digest}-{pid}-*")):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_the_trainer, daemon=True)
    watcher.start()
    reports = ray_executor.train_on_ray([run], ctx, progress=False)
    watcher.join(timeout=5)
    assert killed, "the training task was never seen writing its entry"
    assert reports[run]["pid"] != killed[0] and reports[run]["entry"] == key.id   # another worker: a retry
    entries = _train_entries(ctx.store)
    assert list(entries) == [key.id] and not entries[key.id].verify()
    assert {p.name for p in entries[key.id].path.iterdir()} >= {"model.weights.h5", "predictions.npz", "run.json"}
    assert not ctx.store.leftovers() and not list(ctx.store.root.rglob("*.lock"))
