"""`dspic run`: the same seed prints the same metrics, a second run reads the store, an interrupted run
resumes without training a finished cell again (acceptance of the training engine, at the CLI)."""
import re
import subprocess
import sys
import time

import pytest
from conftest import run_cmd

from dspic_lib.store import Store

METRIC_LINE = re.compile(r"^\s*(\S+) on (D\d), seed (\d+): .*test accuracy ([\d.]+), F1 ([\d.]+), AUC (\S+) \((.*)\)$")


def metric_lines(out: str) -> list[tuple]:
    return [m.groups()[:6] for m in map(METRIC_LINE.match, out.splitlines()) if m]


def test_unknown_experiment_is_named_before_anything_runs():
    proc = run_cmd(["dspic", "run", "table7", "--profile", "smoke"])
    assert proc.returncode != 0 and "table7" in proc.stderr and "table5" in proc.stderr


@pytest.mark.slow      # three `dspic run table5` under smoke: about 2 minutes
def test_same_seed_same_metrics_and_the_third_run_reads_the_store(tmp_path):
    def run(results):
        t0 = time.perf_counter()
        proc = run_cmd(["dspic", "run", "table5", "--profile", "smoke", "--results-dir", str(results)])
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout, time.perf_counter() - t0

    first, t_first = run(tmp_path / "a")
    second, _ = run(tmp_path / "b")
    assert len(metric_lines(first)) == 5          # D1, D2, D3 and two more seeds of D2
    assert metric_lines(first) == metric_lines(second)
    third, t_third = run(tmp_path / "a")
    assert metric_lines(third) == metric_lines(first) and third.count("from the store") == 5
    assert t_third * 4 <= t_first, (t_first, t_third)


INTERRUPTED = """
import os, sys
from dspic_lib.pipeline import experiments, inputs, train
from dspic_lib.config import get_profile
P = get_profile("smoke", use_env=False)
if sys.argv[2] == "kill":
    real, calls = inputs.train_one_epoch, []
    def dying(model, ds):
        calls.append(1)
        if len(calls) == 2:          # the first cell is finished, the second dies in its epoch
            os._exit(9)
        return real(model, ds)
    inputs.train_one_epoch = dying
runs = experiments.run(["table5"], P, results_dir=sys.argv[1], progress=False)
for (m, d, s), r in runs.items():
    print(m, d, s, r.cached, r.entry_id)
"""


@pytest.mark.slow      # three interpreters training smoke cells: about a minute
def test_an_interrupted_run_resumes_without_training_a_finished_cell_again(tmp_path):
    run = lambda how: subprocess.run([sys.executable, "-c", INTERRUPTED, str(tmp_path), how],
                                     capture_output=True, text=True)
    assert run("kill").returncode == 9
    st = Store(tmp_path / "store")
    finished = [e for e in st.entries() if e.id.startswith("train/")]
    assert len(finished) == 1 and len(st.leftovers()) == 1
    done = run("finish")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[0][:4] == ["dSPIC-AM", "D1", "0", "True"] and rows[0][4] == finished[0].id
    assert all(r[3] == "False" for r in rows[1:])
    st.prune()
    assert not st.leftovers() and all((st.find(r[4]).path / "predictions.npz").exists() for r in rows)
