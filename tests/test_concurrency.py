"""Two processes on one DSPIC_HOME: the synthetic cohort is generated once and moved into place (the loser
of the race uses the winner's), and a per-entry lock makes a second computation of a store entry wait
for the first and read its entry instead of computing it again (issue 25, item 6)."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dspic_lib.store import Key, Store

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def _digest_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _start_together(script: str, args_a: list[str], args_b: list[str], sync: Path, env=None):
    """Start two ``python -c script`` processes that each write ``sync/ready-<pid>`` and wait for
    ``sync/go``; release both at once; return their CompletedProcess-like (returncode, stdout, stderr)."""
    sync.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(sync), *a], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env or _env()) for a in (args_a, args_b)]
    deadline = time.time() + 120
    while len(list(sync.glob("ready-*"))) < 2:
        if time.time() > deadline or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    (sync / "go").touch()
    outs = [p.communicate(timeout=900) for p in procs]
    return [(p.returncode, *o) for p, o in zip(procs, outs)]


WAIT_FOR_GO = """
import os, sys, time
from pathlib import Path
sync = Path(sys.argv[1])
(sync / f"ready-{os.getpid()}").touch()
while not (sync / "go").exists():
    time.sleep(0.01)
"""

GENERATE = WAIT_FOR_GO + """
import hashlib
from dspic_lib.data import phantom
out = phantom.generate(sys.argv[2], phantom.PhantomConfig(n_patients=2, seed=3), workers=1, progress=False)
for p in sorted(Path(out).rglob("*")):
    if p.is_file():
        print(p.relative_to(out), hashlib.sha256(p.read_bytes()).hexdigest())
"""


def test_two_processes_generating_one_cohort_both_succeed_and_leave_one_cohort(tmp_path):
    target = tmp_path / "data" / "cohort"
    results = _start_together(GENERATE, [str(target)], [str(target)], tmp_path / "sync")
    for rc, out, err in results:
        assert rc == 0, err
    assert results[0][1] == results[1][1] and results[0][1]          # both read the same files
    assert [p.name for p in target.parent.iterdir()] == ["cohort"]      # no temporary folder left
    listed = dict(line.rsplit(" ", 1) for line in results[0][1].splitlines())
    assert listed == _digest_tree(target) and "dspic_synthetic.json" in listed   # a whole cohort


def test_a_generation_started_after_the_same_cohort_finished_uses_it_and_another_cohort_is_refused(tmp_path):
    from dspic_lib.data import phantom
    from dspic_lib.errors import DataError

    cfg = phantom.PhantomConfig(n_patients=2, seed=3)
    out = phantom.generate(tmp_path / "c", cfg, workers=1, progress=False)
    before = _digest_tree(out)
    assert phantom.generate(tmp_path / "c", cfg, workers=1, progress=False) == out and _digest_tree(out) == before
    with pytest.raises(DataError, match="not empty"):
        phantom.generate(tmp_path / "c", phantom.PhantomConfig(n_patients=2, seed=4), workers=1, progress=False)
    assert _digest_tree(out) == before


ENSURE = WAIT_FOR_GO + """
import hashlib
from dspic_lib.pipeline.datadir import ensure_cohort
out = ensure_cohort("smoke", progress=False)
for p in sorted(Path(out).rglob("*")):
    if p.is_file():
        print(p.relative_to(out), hashlib.sha256(p.read_bytes()).hexdigest())
"""


@pytest.mark.slow
def test_two_processes_making_the_missing_smoke_cohort_both_succeed_with_one_identical_cohort(tmp_path):
    home = tmp_path / "home"
    env = _env(DSPIC_HOME=str(home))
    env.pop("DSPIC_DATA", None)
    results = _start_together(ENSURE, [], [], tmp_path / "sync", env=env)
    for rc, out, err in results:
        assert rc == 0, err
    assert results[0][1] == results[1][1] and results[0][1]
    data = home / "data"
    assert [p.name for p in data.iterdir()] == ["synthetic-smoke-seed0"]
    listed = dict(line.rsplit(" ", 1) for line in results[0][1].splitlines())
    assert listed == _digest_tree(data / "synthetic-smoke-seed0")


# ----------------------------------------------------------------------------- the entry lock
def _toy_key(name: str = "toy") -> Key:
    return Key(name, {"n": 1}, None, (), "code", {"python": "x"})


def test_a_second_thread_waits_for_the_first_and_reuses_its_entry(tmp_path, capsys):
    st, key = Store(tmp_path), _toy_key()
    calls, started, got = [], threading.Event(), {}

    def compute(folder):
        calls.append(threading.current_thread().name)
        started.set()
        time.sleep(1.0)
        (folder / "a.txt").write_text(threading.current_thread().name)

    def worker(name):
        got[name] = st.get_or_compute(key, compute)

    first = threading.Thread(target=worker, args=("first",), name="first")
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=worker, args=("second",), name="second")
    second.start()
    first.join(20), second.join(20)
    assert calls == ["first"]                                   # computed once
    assert got["first"].path == got["second"].path and (got["second"].path / "a.txt").read_text() == "first"
    err = capsys.readouterr().err
    assert f"waiting for {key.id}, computed by pid {os.getpid()}" in err
    assert f"reused {key.id} computed by another process" in err
    assert not list(got["first"].path.parent.glob("*.lock"))     # the lock file is gone afterwards


TOY = WAIT_FOR_GO + """
from dspic_lib.store import Key, Store
st = Store(sys.argv[2])
key = Key("toy", {"n": 1}, None, (), "code", {"python": "x"})
def compute(folder):
    with open(Path(sys.argv[2]) / "computed.log", "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(float(sys.argv[3]))
    (folder / "a.txt").write_text(str(os.getpid()))
print(st.get_or_compute(key, compute).path)
"""


def test_two_processes_compute_one_entry_once(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    results = _start_together(TOY, [str(store), "1.5"], [str(store), "1.5"], tmp_path / "sync")
    for rc, out, err in results:
        assert rc == 0, err
    assert len((store / "computed.log").read_text().split()) == 1
    assert results[0][1] == results[1][1]
    assert len(Store(store).entries()) == 1
    logs = results[0][2] + results[1][2]
    assert "waiting for toy/" in logs or "reused toy/" in logs


HOLD = """
import sys, time
from pathlib import Path
from dspic_lib.store import Key, Store
st = Store(sys.argv[1])
key = Key("toy", {"n": 1}, None, (), "code", {"python": "x"})
def compute(folder):
    print("holding", flush=True)
    time.sleep(600)
st.get_or_compute(key, compute)
"""


def test_a_lock_whose_owner_was_killed_is_taken_over(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=_env())
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert list(tmp_path.glob("toy/*.lock"))                   # it holds the entry's lock
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    st, key, done = Store(tmp_path), _toy_key(), {}
    t = threading.Thread(target=lambda: done.update(e=st.get_or_compute(key, lambda f: (f / "a").touch())),
                         daemon=True)
    t.start()
    t.join(20)
    assert "e" in done, "the lock of a dead process was not taken over"
    assert (done["e"].path / "a").exists()
    assert f"pid {holder.pid}" in capsys.readouterr().err            # says whose lock it took over


def test_prune_removes_lock_files_nobody_holds_and_keeps_held_ones(tmp_path):
    st = Store(tmp_path)
    held, left = _toy_key("held"), _toy_key("left")
    st.lock_path(left).parent.mkdir(parents=True)
    st.lock_path(left).write_text('{"pid": 999999999, "host": "gone"}')    # a killed run's file
    with st.locked(held):
        assert st.prune(dry_run=True) == [st.lock_path(left)] and st.lock_path(left).exists()
        assert st.prune() == [st.lock_path(left)]
        assert not st.lock_path(left).exists() and st.lock_path(held).exists()
    assert not st.lock_path(held).exists()                                  # removed by its owner


def test_writing_keeps_the_entry_another_process_finished_while_it_waited(tmp_path, capsys):
    st, key = Store(tmp_path), _toy_key()
    first = st.get_or_compute(key, lambda f: (f / "a.txt").write_text("first"))
    with st.writing(key) as folder:                          # a caller that looked before it was there
        (folder / "a.txt").write_text("second")
    assert (st.get(key).path / "a.txt").read_text() == "first" and st.get(key).path == first.path
    assert f"dropped this process's result for {key.id}" in capsys.readouterr().err


RUN = WAIT_FOR_GO + """
sys.argv = ["dspic", "run", "table5", "--profile", "smoke", "--seed", "5", "--results-dir", sys.argv[2]]
from dspic_lib.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_two_concurrent_table5_runs_on_an_empty_store_compute_each_entry_once(tmp_path):
    results_dir = tmp_path / "results"
    env = _env(DSPIC_HOME=str(tmp_path / "home"))
    env.pop("DSPIC_DATA", None)
    start = time.perf_counter()
    results = _start_together(RUN, [str(results_dir)], [str(results_dir)], tmp_path / "sync", env=env)
    print(f"two concurrent table5 smoke runs: {time.perf_counter() - start:.0f} s")
    for rc, out, err in results:
        assert rc == 0, err[-3000:]
    st = Store(results_dir / "store")
    ids = [e.id for e in st.entries()]
    assert ids and len(ids) == len(set(ids))
    assert not st.leftovers() and not list((results_dir / "store").rglob("*.lock"))
    logs = [err for _, _, err in results]
    for i, err in enumerate(logs):     # (a progress bar may share a line with a message)
        print(f"run {i}:", *[line[line.index("dspic store:"):] for line in err.splitlines()
                             if "dspic store:" in line], sep="\n  ")
    assert not any("stored it first" in e for e in logs)       # no entry was computed by both
    assert any("waiting for " in e or "computed by another process" in e for e in logs), logs
    # the runs' lines ("... test accuracy ..., from the store / trained in") agree on every metric
    metrics = [sorted(line.split(" (")[0] for line in out.splitlines() if "test accuracy" in line)
               for _, out, _ in results]
    assert metrics[0] == metrics[1] and metrics[0]
