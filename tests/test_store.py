"""The result store: keys follow code, data and arguments; writes are atomic; each frame decoded once."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dspic_lib import store as store_mod
from dspic_lib.errors import ConfigError
from dspic_lib.store import Store, module_closure


def _edited(monkeypatch, module: str):
    """Pretend that ``module``'s code changed (as an edit of the file would; a comment would not do)."""
    real = store_mod._read_source
    monkeypatch.setattr(store_mod, "_CLOSURES", {})          # keys are asked afresh (and forgotten after)
    monkeypatch.setattr(store_mod, "_read_source",
                        lambda name: real(name) + (b"\n_EDITED = 1\n" if name == module else b""))


def _preprocess_key(st):
    from dspic_lib.pipeline import preprocess
    return st.key("preprocessed", {"shape": [8, 2]}, code=[preprocess.preprocess_cohort], data="abc")


def _gan_key(st):
    from dspic_lib.pipeline import gan
    return st.key("gan.class", {"label": "M"}, code=[gan.train_class], data="abc")


def _sweep_key(st):
    from dspic_lib.pipeline import augment
    return st.key("augment.sweep", {"seed": 0}, code=[augment.select_parameters], data="abc")


def test_the_closure_is_found_from_the_imports_not_listed(tmp_path):
    pre = module_closure("dspic_lib.pipeline.preprocess")
    # preprocessing imports the cohort reader inside a function, which imports dicom: both found
    assert {"dspic_lib.pipeline.preprocess", "dspic_lib.data.cohort", "dspic_lib.data.dicom"} <= set(pre)
    assert "dspic_lib.pipeline.gan" not in pre and "dspic_lib.models.zoo" not in pre
    # the DCGAN pool of a transferred class calls the augmentation functions
    assert "dspic_lib.pipeline.augment" in module_closure("dspic_lib.pipeline.gan")
    # the sweep's folds come from split.py
    assert "dspic_lib.pipeline.split" in module_closure("dspic_lib.pipeline.augment")
    assert all(m == "dspic_lib" or m.startswith("dspic_lib.") for m in pre)   # notebooks are never in it
    with pytest.raises(ConfigError, match="not a dspic_lib module"):
        module_closure("numpy")


@pytest.mark.parametrize("edited, invalidates", [
    # decoding changes the pixels; what is computed from pixels downstream sees them in its data key
    ("dspic_lib.data.dicom", {"preprocessed"}),
    ("dspic_lib.pipeline.augment", {"gan.class", "augment.sweep"}),
    ("dspic_lib.pipeline.preprocess", {"preprocessed"}),
    ("dspic_lib.models.zoo", set()),
    ("dspic_lib.plots", set()),
])
def test_editing_a_module_invalidates_exactly_what_depends_on_it(tmp_path, monkeypatch, edited, invalidates):
    st = Store(tmp_path)
    makers = {"preprocessed": _preprocess_key, "gan.class": _gan_key, "augment.sweep": _sweep_key}
    before = {name: make(st).digest for name, make in makers.items()}
    _edited(monkeypatch, edited)
    after = {name: make(st).digest for name, make in makers.items()}
    assert {name for name in makers if before[name] != after[name]} == invalidates


def test_a_notebooks_prose_is_not_part_of_any_key(tmp_path, root):
    st = Store(tmp_path)
    modules = set(_preprocess_key(st).modules) | set(_gan_key(st).modules) | set(_sweep_key(st).modules)
    files = {store_mod._module_file(m).resolve() for m in modules}
    assert not any((root / "notebooks") in f.parents for f in files)
    assert all(store_mod.PACKAGE_DIR in f.parents for f in files)


def test_arguments_data_and_environment_are_part_of_the_key(tmp_path, monkeypatch):
    from dspic_lib.pipeline import preprocess
    st = Store(tmp_path)
    k = st.key("x", {"a": 1, "X": np.arange(4)}, code=[preprocess], data="d1")
    assert k.digest == st.key("x", {"a": 1, "X": np.arange(4)}, code=[preprocess], data="d1").digest
    assert k.digest != st.key("x", {"a": 2, "X": np.arange(4)}, code=[preprocess], data="d1").digest
    assert k.digest != st.key("x", {"a": 1, "X": np.arange(5)}, code=[preprocess], data="d1").digest
    assert k.digest != st.key("x", {"a": 1, "X": np.arange(4)}, code=[preprocess], data="d2").digest
    monkeypatch.setattr(store_mod, "environment", lambda uses_tensorflow: {"numpy": "0.0"})
    assert k.digest != st.key("x", {"a": 1, "X": np.arange(4)}, code=[preprocess], data="d1").digest
    assert set(k.env) == {"python", "lock", "device"}
    assert k.digest != st.key("x", {"a": 1, "X": np.arange(4)}, code=[preprocess], data="d1", parents=["p/1"]).digest


def test_an_exception_inside_a_write_leaves_no_entry_and_no_temporary_folder(tmp_path):
    from dspic_lib.pipeline import preprocess
    st = Store(tmp_path)
    key = st.key("x", {}, code=[preprocess])
    with pytest.raises(RuntimeError):
        with st.writing(key) as folder:
            (folder / "half.npy").write_bytes(b"12")
            raise RuntimeError("interrupted")
    assert st.get(key) is None and not st.leftovers() and not st.entries()
    entry = st.get_or_compute(key, lambda f: (f / "a.txt").write_text("done"))
    assert entry.file("a.txt").read_text() == "done" and st.get(key).id == key.id



def test_the_access_log_lists_each_entry_read_or_computed_once_in_order(tmp_path):
    from dspic_lib.pipeline import preprocess
    st = Store(tmp_path)
    old, new = (st.key(name, {}, code=[preprocess]) for name in ("old", "new"))
    st.get_or_compute(old, lambda f: (f / "a.txt").write_text("old"))     # stored before the mark
    mark = store_mod.access_mark()
    assert store_mod.accessed(mark) == []
    assert st.get(new) is None                                  # a miss is no access
    st.get_or_compute(new, lambda f: (f / "a.txt").write_text("new"))     # computed
    st.get(old), st.get(new), st.get_or_compute(old, lambda f: None)      # read, read again
    assert store_mod.accessed(mark) == [new.id, old.id]         # first access after the mark decides
    whole = store_mod.accessed()                                # the whole process: old came first
    assert whole.count(old.id) == whole.count(new.id) == 1 and whole.index(old.id) < whole.index(new.id)


KILLED = """
import os, sys
from dspic_lib.pipeline import preprocess
from dspic_lib.store import Store
st = Store(sys.argv[1])
key = st.key("x", {}, code=[preprocess])
if st.get(key) is None:
    with st.writing(key) as folder:
        (folder / "half.npy").write_bytes(b"12")
        if sys.argv[2] == "kill":
            os._exit(9)            # killed midway: no exception handler runs
        (folder / "all.npy").write_bytes(b"1234")
print(st.get(key).id)
"""


def test_a_killed_write_leaves_no_entry_and_the_next_run_completes_it(tmp_path):
    run = lambda how: subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), how],
                                     capture_output=True, text=True)
    assert run("kill").returncode == 9
    st = Store(tmp_path)
    assert not st.entries() and len(st.leftovers()) == 1       # only a hidden temporary folder
    done = run("finish")
    assert done.returncode == 0, done.stderr
    entry = st.find(done.stdout.strip())
    assert {p.name for p in entry.path.iterdir()} == {"half.npy", "all.npy", "entry.json"}
    # the next writer of the key holds its lock, so the key's temporary folder can only be the killed
    # process's: removed then (a retried Ray task leaves nothing behind), not at the next prune
    assert not st.leftovers() and "an interrupted write of x/" in done.stderr
    other = tmp_path / "y" / ".tmp-0123-99-abcd"           # an interrupted write of a key not written again
    other.mkdir(parents=True)
    assert st.leftovers() == [other] and st.prune() == [other]     # prune deletes it
    assert not st.leftovers() and st.entries()


def test_entries_say_what_made_them_and_prune_removes_stale_ones(tmp_path, monkeypatch):
    from dspic_lib.pipeline import preprocess
    st = Store(tmp_path)
    key = st.key("x", {"shape": [2, 3]}, code=[preprocess], data="d", profile="smoke")
    entry = st.get_or_compute(key, lambda f: (f / "a.txt").write_text("x"))
    info = json.loads((entry.path / "entry.json").read_text())
    assert info["args"] == {"shape": [2, 3]} and info["profile"] == "smoke" and info["data"] == "d"
    assert "dspic_lib.data.dicom" in info["modules"] and info["created"]
    assert st.prune(dry_run=True) == []                  # current: kept
    _edited(monkeypatch, "dspic_lib.data.dicom")
    assert entry.stale() and st.prune() == [entry.path] and not entry.path.exists()


def test_a_cold_scan_and_preprocess_decode_each_frame_of_each_file_exactly_once(tmp_path, monkeypatch):
    from dspic_lib.config import get_profile
    from dspic_lib.data import dicom, phantom
    from dspic_lib.pipeline.preprocess import scan_preprocessed

    prof = get_profile("smoke", use_env=False)
    folder = tmp_path / "smoke"
    phantom.generate(folder, phantom.PhantomConfig(n_patients=prof.n_patients, seed=0), workers=1,
                     progress=False)
    decoded: Counter = Counter()
    real = dicom._decode_frame

    def counting(ds, info, frame):
        decoded[(info.path.name, frame)] += 1
        return real(ds, info, frame)

    monkeypatch.setattr(dicom, "_decode_frame", counting)
    cohort, pre = scan_preprocessed(folder, (prof.rows, prof.cols), store=tmp_path / "store")
    frames = set(zip(cohort.table["path"].map(lambda p: p.rsplit("/", 1)[-1]), cohort.table["frame"]))
    assert len(cohort.table) == 2 * prof.n_patients and len(pre) == len(cohort.table)
    assert set(decoded) == frames and set(decoded.values()) == {1}
    assert any(f > 0 for _, f in frames)                 # two-frame files are among them
    # a second time nothing is decoded for preprocessing (the scan still reads the pixels it reports)
    decoded.clear()
    again = scan_preprocessed(folder, (prof.rows, prof.cols), store=tmp_path / "store")[1]
    assert set(decoded.values()) == {1} and again.store_id == pre.store_id
    np.testing.assert_array_equal(again.X, pre.X)


def test_a_file_edited_during_a_run_does_not_change_that_runs_keys(tmp_path, monkeypatch):
    """Keys hash the sources as the process first read them: an edit on disk while a long `dspic run`
    is under way must not give its later entries the key of code it never loaded."""
    st = Store(tmp_path)
    before = _preprocess_key(st).digest
    path = store_mod._module_file("dspic_lib.pipeline.preprocess")
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: real(p) + (b"\n_EDITED_ON_DISK = 1\n" if p == path else b""))
    assert path.read_bytes().endswith(b"_EDITED_ON_DISK = 1\n")
    assert _preprocess_key(st).digest == before


@pytest.mark.parametrize("text", ["{\"name\": \"x\", \"dig", "[1, 2]", "{\"name\": \"x\"}", ""])
def test_a_corrupt_entry_json_is_listed_as_corrupt_and_pruned(tmp_path, text, capsys):
    from dspic_lib.cli import main
    st = Store(tmp_path)
    key = st.key("x", {"n": 1}, code=["dspic_lib.errors"], data="d")
    good = st.get_or_compute(key, lambda f: (f / "a.txt").write_text("x"))
    bad = st.get_or_compute(st.key("x", {"n": 2}, code=["dspic_lib.errors"], data="d"),
                            lambda f: (f / "a.txt").write_text("y"))
    (bad.path / "entry.json").write_text(text)          # truncated, not an object, fields missing, empty
    assert [e.path for e in st.entries()] == [good.path]
    assert [p for p, _ in st.corrupt()] == [bad.path]
    capsys.readouterr()
    assert main(["store", "--root", str(tmp_path), "ls"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if bad.path.name in line]
    assert len(row) == 1 and "corrupt" in row[0] and f"x/{bad.path.name}" in row[0]
    assert st.prune(dry_run=True) == [bad.path] and bad.path.exists()
    assert st.prune() == [bad.path] and not bad.path.exists() and good.path.exists()
    assert not st.corrupt() and [e.path for e in st.entries()] == [good.path]


def test_verify_rehashes_an_entrys_files_and_names_the_entry_and_file_that_changed(tmp_path, capsys):
    from dspic_lib.cli import main
    from dspic_lib.pipeline import preprocess

    st = Store(tmp_path)
    key = st.key("x", {}, code=[preprocess], parents=["cohort/abc"])
    entry = st.get_or_compute(key, lambda f: (f / "a.npy").write_bytes(b"1234"))
    assert entry.info["parents"] == ["cohort/abc"] and set(entry.info["files"]) == {"a.npy"}
    assert main(["store", "--root", str(tmp_path), "verify"]) == 0
    (entry.path / "a.npy").write_bytes(b"1235")                 # same size, other bytes
    assert main(["store", "--root", str(tmp_path), "verify", "x/"]) == 1
    err = capsys.readouterr().err
    assert entry.id in err and "a.npy" in err and "sha256" in err
    (entry.path / "a.npy").unlink()
    assert main(["store", "--root", str(tmp_path), "verify", entry.info["digest"][:6]]) == 1
    assert "a.npy is missing" in capsys.readouterr().err
