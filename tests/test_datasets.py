import numpy as np
import pytest
from helpers import toy_d1

from dspic_lib.config import get_profile
from dspic_lib.errors import ConfigError, DataError
from dspic_lib.pipeline import datasets, lineage, split

TOY = dict(rows=32, cols=8, gan_steps=3, gan_batch_size=2)


def test_targets_split_ma_equally_over_m_and_a():
    y = datasets.targets_for(["N", "M", "A", "M&A"])
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0.5, 0.5]])
    assert y.dtype == np.float32
    with pytest.raises(DataError, match="'X'"):
        datasets.targets_for(["X"])


def _build(name, tmp_path, seed=0, protocol="patient", **kw):
    profile = get_profile("smoke", use_env=False, seed=seed, **TOY)
    d1 = toy_d1(n_patients=20, rows=32, cols=8, seed=0)
    return datasets.build(name, profile, d1=d1, results_dir=tmp_path, protocol=protocol, t=1, r=5.0, **kw)


@pytest.mark.parametrize("name", ["D1", "D2", "D3"])
def test_datasets_have_keras_shapes_counts_and_provenance(name, tmp_path):
    b = _build(name, tmp_path)
    for part in (b.train, b.test):
        assert part.X.shape[1:] == (32, 8, 1) and part.X.dtype == np.float32
        assert part.y.shape == (len(part), 3)
        assert list(part.meta.columns[:9]) == datasets.META_COLUMNS
    assert set(b.test.meta["source"]) == {"original"}               # the test part is untouched D1
    assert b.train.counts() == b.requested
    sources = set(b.train.meta["source"])
    if name == "D1":
        assert sources == {"original"}
    if name == "D2":
        assert sources - {"original"} <= {"mirror", "translate", "rotate", "mirror+translate", "mirror+rotate"}
        copies = b.train.meta[b.train.meta["source"] != "original"]
        assert set(copies["parent"]) <= set(b.train.meta["image"])
    if name == "D3":
        assert sources == {"original", "dcgan"}
        assert b.train.meta.loc[b.train.meta["source"] == "dcgan", "patient"].isna().all()
    assert not b.leaked_patients()


def test_same_seed_gives_identical_d2_and_d3_and_another_seed_does_not(tmp_path):
    for name in ("D2", "D3"):
        a = _build(name, tmp_path / "a")
        b = _build(name, tmp_path / "b")          # a separate result store: nothing is reused
        np.testing.assert_array_equal(a.train.X, b.train.X)
        assert a.train.meta["image"].tolist() == b.train.meta["image"].tolist()
        c = _build(name, tmp_path / "c", seed=1)
        assert c.train.X.shape != a.train.X.shape or not np.array_equal(c.train.X, a.train.X)


@pytest.mark.parametrize("name", ["D2", "D3"])
def test_paper_protocol_splits_images_and_leaks(name, tmp_path):
    b = _build(name, tmp_path, protocol="paper")
    assert set(b.test.meta["source"]) != {"original"}                  # copies/samples land in the test part
    assert b.leaked_patients()
    assert len(b.train) + len(b.test) == sum(b.requested.values())


def test_fold_can_be_given(tmp_path):
    profile = get_profile("smoke", use_env=False, **TOY)
    d1 = toy_d1(n_patients=20, rows=32, cols=8, seed=0)
    fold = split.patient_kfold(d1.meta, 3, 1, 0)[2]
    b = datasets.build("D2", profile, d1=d1, results_dir=tmp_path, part=fold, t=1, r=5.0)
    assert sorted(b.test.meta["image"]) == sorted(d1.meta["image"].iloc[fold.test])


def test_unknown_names_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="dataset"):
        _build("D4", tmp_path)
    with pytest.raises(ConfigError, match="protocol"):
        _build("D2", tmp_path, protocol="image")


@pytest.mark.slow
def test_smoke_profile_d2_d3_are_identical_for_the_same_seed(tmp_path):
    """The acceptance check on the real smoke cohort: two builds into separate result stores."""
    profile = get_profile("smoke", use_env=False)
    d1 = lineage.load_d1(profile)
    for name in ("D2", "D3"):
        a = datasets.build(name, profile, d1=d1, results_dir=tmp_path / "a")
        b = datasets.build(name, profile, d1=d1, results_dir=tmp_path / "b")
        assert not any(r.cached for r in (b.generated.runs.values() if b.generated else []))
        np.testing.assert_array_equal(a.train.X, b.train.X)
        np.testing.assert_array_equal(a.train.y, b.train.y)
        assert a.train.meta.drop(columns=["boxes"]).equals(b.train.meta.drop(columns=["boxes"]))
        assert all(np.array_equal(x, y) for x, y in zip(a.train.meta["boxes"], b.train.meta["boxes"]))
        np.testing.assert_array_equal(a.test.X, b.test.X)


def test_the_t_r_sweep_only_sees_the_training_patients_of_the_fold(tmp_path, monkeypatch):
    from dspic_lib.pipeline import augment
    seen = {}

    def fake_select(X, labels, groups, **kw):
        seen["patients"] = set(groups)
        return augment.SweepResult(t=1, r=5.0, table=None)
    monkeypatch.setattr(augment, "select_parameters", fake_select)
    profile = get_profile("smoke", use_env=False, **TOY)
    d1 = toy_d1(n_patients=20, rows=32, cols=8, seed=0)
    fold = split.patient_kfold(d1.meta, 3, 1, 0)[1]
    b = datasets.build("D2", profile, d1=d1, results_dir=tmp_path, part=fold)
    assert (b.t, b.r) == (1, 5.0)
    assert seen["patients"] == set(d1.meta["patient"].iloc[fold.train])
    assert not seen["patients"] & set(b.test.meta["patient"])
