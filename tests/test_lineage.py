"""Lineage keys: a result's key follows the code that computes it and the entries it was made from,
nothing else. Keys are computed over an edited copy of the package (``store.sources_from``), so no
edited code is imported and nothing is built: seconds."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from dspic_lib import store as store_mod
from dspic_lib.config import get_profile
from dspic_lib.pipeline import gan, train
from dspic_lib.pipeline.lineage import Lineage
from dspic_lib.store import Store

ROOT = store_mod.PACKAGE_DIR.parent
DOWNSTREAM_OF_AUGMENT = {"sweep", "gan.M", "gan.M&A", "D2", "D3", "train.D2", "train.D3"}


def _keys(tmp_path: Path) -> dict[str, str]:
    """Every key from a data folder to the runs on D1, D2 and D3 (smoke profile), from lineage alone."""
    profile = get_profile("smoke", use_env=False)
    st = Store(tmp_path / "store")
    ctx = SimpleNamespace(profile=profile, store=st, layout="dicom", fingerprint=lambda: "f" * 20)
    lin = Lineage(ctx)
    pre, sp = lin.preprocessed_key().id, lin.split_key().id
    gan_m = gan.class_key(st, "M", steps=profile.gan_steps, batch_size=profile.gan_batch_size, seed=1,
                          init_id=None, parents=[pre, sp])
    gan_both = gan.class_key(st, "M&A", steps=2, batch_size=profile.gan_batch_size, seed=3,
                             init_id=gan_m.id, parents=[pre, sp])
    keys = {"cohort": lin.cohort_key(), "preprocessed": lin.preprocessed_key(), "split": lin.split_key(),
            "kfold": lin.kfold_key(), "sweep": lin.sweep_key(profile.seed, sp), "gan.M": gan_m, "gan.M&A": gan_both}
    for name in ("D1", "D2", "D3"):
        keys[name] = lin.build_key(name)
        keys[f"train.{name}"] = train.train_key(st, "dSPIC-AM", lin.plan(name), profile, profile.seed)
    return {k: v.id for k, v in keys.items()}


@pytest.fixture()
def copy(tmp_path):
    """A copy of the package and its lock; ``keys()`` computes every key over the copy as it is now."""
    root = tmp_path / "repo"
    shutil.copytree(store_mod.PACKAGE_DIR, root / "dspic_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "requirements.lock", root / "requirements.lock")

    def keys():
        with store_mod.sources_from(root / "dspic_lib", lock_root=root):
            return _keys(tmp_path)

    def edit(rel: str, old: str, new: str, count: int = 1):
        path = root / rel
        text = path.read_text()
        assert old in text, f"{rel}: {old!r} not found (the test's edit no longer applies)"
        path.write_text(text.replace(old, new, count))

    return SimpleNamespace(root=root, keys=keys, edit=edit)


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if before[k] != after[k]}


def test_the_keys_over_an_unedited_copy_are_the_keys_of_the_package(tmp_path, copy):
    assert copy.keys() == _keys(tmp_path)


def test_docstrings_comments_and_infrastructure_helpers_change_no_key(copy):
    before = copy.keys()
    for rel in ("pipeline/split.py", "config.py", "vocab.py", "pipeline/train.py"):
        path = copy.root / "dspic_lib" / rel
        text = path.read_text()
        text = re.sub(r'^"""', '"""An edited docstring. ', text, count=1)           # the module docstring
        text = text.replace("\nfrom __future__ import annotations\n",
                            "\nfrom __future__ import annotations  # an edited comment\n", 1)
        path.write_text(text + "\n# a comment at the end\n")
    copy.edit("dspic_lib/pipeline/split.py", '''    """One row per patient''', '''    """Edited: one row per patient''')
    copy.edit("dspic_lib/paper.py", "def leaves(", "def a_new_helper(x):\n    return x + 1\n\n\ndef leaves(")
    copy.edit("dspic_lib/palette.py", '"#d55e00"', '"#d55e01"')
    assert copy.keys() == before


def test_editing_the_dicom_clipping_changes_every_key_from_the_scan_on(copy):
    before = copy.keys()
    copy.edit("dspic_lib/data/dicom.py", "np.maximum(counts, 0, out=counts)", "np.maximum(counts, 1, out=counts)")
    assert _changed(before, copy.keys()) == set(before)


def test_editing_the_loss_changes_only_the_runs(copy):
    before = copy.keys()
    copy.edit("dspic_lib/pipeline/train.py", 'loss="categorical_crossentropy" if head', 'loss="kl_divergence" if head')
    assert _changed(before, copy.keys()) == {"train.D1", "train.D2", "train.D3"}


def test_editing_a_transform_changes_exactly_what_is_downstream_of_augmentation(copy):
    before = copy.keys()
    copy.edit("dspic_lib/pipeline/augment.py", 'mode="constant", cval=0.0', 'mode="nearest", cval=0.0')
    assert _changed(before, copy.keys()) == DOWNSTREAM_OF_AUGMENT


def test_a_new_pinned_version_in_the_lock_changes_every_key(copy):
    before = copy.keys()
    lock = copy.root / "requirements.lock"
    text = lock.read_text()
    pin = re.search(r"^scipy==(\S+)$", text, flags=re.M)
    assert pin, "scipy is pinned in requirements.lock"
    lock.write_text(text.replace(pin.group(0), "scipy==0.0.1"))
    assert _changed(before, copy.keys()) == set(before)


def test_the_cached_folder_fingerprint_equals_the_scans_and_verify_rehashes_it(tmp_path):
    import os

    from dspic_lib.data import cohort
    from dspic_lib.pipeline.context import folder_fingerprint, verify_fingerprints

    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "a.dcm").write_bytes(b"DICM" * 100)
    (folder / "a.json").write_text("{}")
    st = Store(tmp_path / "store")
    first = folder_fingerprint(folder, "dicom", st)
    assert first == cohort.folder_fingerprint(folder) == folder_fingerprint(folder, "dicom", st)
    (folder / "a.dcm").write_bytes(b"DICN" * 100)                # a new mtime: read again
    second = folder_fingerprint(folder, "dicom", st)
    assert second != first and second == cohort.folder_fingerprint(folder)
    assert verify_fingerprints(st) == []
    stamp = (folder / "a.dcm").stat()
    (folder / "a.dcm").write_bytes(b"DICO" * 100)                # same size, the old mtime put back
    os.utime(folder / "a.dcm", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    problems = verify_fingerprints(st)
    assert len(problems) == 1 and "a.dcm" in problems[0]
