import numpy as np
import pandas as pd
import pytest
from helpers import toy_d1
from hypothesis import given, settings
from hypothesis import strategies as st

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.pipeline import split
from dspic_lib.pipeline.augment import paper_table, scaled_targets
from dspic_lib.pipeline.datasets import add_copies


def cohort_table(n_patients: int, seed: int) -> pd.DataFrame:
    """Two views per patient, classes roughly in the paper's proportions (167 N, 87 M, 126 A, 4 M&A)."""
    rng = np.random.default_rng(seed)
    classes = rng.choice(["N", "M", "A", "M&A"], n_patients, p=[0.43, 0.23, 0.33, 0.01])
    rows = [{"patient": f"P{p:03d}", "view": v, "label": c} for p, c in enumerate(classes)
            for v in ("anterior", "posterior")]
    return pd.DataFrame(rows)


@given(seed=st.integers(0, 10_000), n_patients=st.integers(6, 120))
@settings(max_examples=40, deadline=None)
def test_patient_split_never_shares_a_patient(seed, n_patients):
    table = cohort_table(n_patients, seed)
    sp = split.patient_split(table, 0.3, seed)
    train, test = table.iloc[sp.train], table.iloc[sp.test]
    assert not set(train["patient"]) & set(test["patient"])
    assert len(sp.train) + len(sp.test) == len(table)          # every image on exactly one side
    assert abs(test["patient"].nunique() - round(0.3 * n_patients)) <= 1


@given(seed=st.integers(0, 10_000), n_patients=st.integers(10, 80), k=st.integers(2, 5),
       repeats=st.integers(1, 2))
@settings(max_examples=25, deadline=None)
def test_every_fold_keeps_patients_apart_and_tests_each_image_once(seed, n_patients, k, repeats):
    table = cohort_table(n_patients, seed)
    folds = split.patient_kfold(table, n_splits=k, n_repeats=repeats, seed=seed)
    assert len(folds) == k * repeats
    for r in range(repeats):
        tested = np.concatenate([f.test for f in folds if f.repeat == r])
        assert sorted(tested.tolist()) == list(range(len(table)))
    for f in folds:
        assert not set(table["patient"].iloc[f.train]) & set(table["patient"].iloc[f.test])


@given(seed=st.integers(0, 10_000))
@settings(max_examples=15, deadline=None)
def test_no_test_patient_or_copy_of_it_reaches_training(seed):
    """D2 under the patient protocol, for the 7:3 split and every fold: copies carry their patient."""
    d1 = toy_d1(n_patients=20, rows=16, cols=4, seed=seed)
    table = paper_table("table1")
    splits = [split.patient_split(d1.meta, 0.3, seed)] + split.patient_kfold(d1.meta, 3, 1, seed)
    for sp in splits:
        train = d1.subset(sp.train)
        d2 = add_copies(train, scaled_targets(train.counts(), table), t=1, r=5.0, seed=seed)
        test = d1.subset(sp.test)
        assert (d2.meta["source"] != "original").any()
        split.assert_no_leakage(d2.meta, test.meta)
        # every copy's parent is a training image
        copies = d2.meta[d2.meta["source"] != "original"]
        assert set(copies["parent"]) <= set(train.meta["image"])


def test_the_paper_protocol_leaks_and_the_check_sees_it():
    d1 = toy_d1(n_patients=40, rows=16, cols=4, seed=0)
    full = add_copies(d1, scaled_targets(d1.counts(), paper_table("table1")), t=1, r=5.0, seed=0)
    sp = split.image_split(full.labels, 0.3, 0)
    train, test = full.subset(sp.train), full.subset(sp.test)
    assert split.leaked_patients(train.meta, test.meta)
    with pytest.raises(DataError, match="leaks"):
        split.assert_no_leakage(train.meta, test.meta)


def test_split_is_stratified_by_patient_class():
    table = cohort_table(384, 0)
    sp = split.patient_split(table, 0.3, 0)
    pt = split.patient_table(table)
    test_pt = set(table["patient"].iloc[sp.test])
    for c, n in pt["label"].value_counts().items():
        n_test = (pt["label"][pt["patient"].isin(test_pt)] == c).sum()
        assert abs(n_test - 0.3 * n) <= 1.5, c


def test_patient_class_is_the_union_of_its_views():
    table = pd.DataFrame({"patient": ["a", "a", "b", "b"], "view": ["anterior", "posterior"] * 2,
                          "label": ["M", "A", "N", "M"]})
    pt = split.patient_table(table)
    assert dict(zip(pt["patient"], pt["label"])) == {"a": "M&A", "b": "M"}


def test_a_binary_cohort_is_split_by_patient_and_stratified_on_normal_and_abnormal():
    # 40 patients, 10 of them abnormal (one view abnormal is enough); both views on one side
    rows = [{"patient": f"P{p:02d}", "view": v, "label": "abnormal" if p % 4 == 0 and v == "anterior" else "normal"}
            for p in range(40) for v in ("anterior", "posterior")]
    table = pd.DataFrame(rows)
    pt = split.patient_table(table)
    assert pt["label"].value_counts().to_dict() == {"normal": 30, "abnormal": 10}
    for seed in range(5):
        sp = split.patient_split(table, 0.3, seed)
        test = pt[pt["patient"].isin(set(table["patient"].iloc[sp.test]))]
        assert len(test) == 12 and (test["label"] == "abnormal").sum() == 3      # 30 % of each class
        assert not set(table["patient"].iloc[sp.train]) & set(test["patient"])
    folds = split.patient_kfold(table, 2, 1, 0)
    assert all((pt.set_index("patient").loc[table["patient"].iloc[f.test].unique(), "label"] == "abnormal").sum() == 5
               for f in folds)
    with pytest.raises(DataError, match="unknown class labels"):     # the two tasks never mix
        split.patient_table(table.assign(label=["normal", "M"] * 40))


def test_image_split_is_seeded_and_covers_everything():
    labels = ["N"] * 30 + ["M"] * 20 + ["A"] * 10
    a, b = split.image_split(labels, 0.3, 1), split.image_split(labels, 0.3, 1)
    np.testing.assert_array_equal(a.test, b.test)
    assert len(a.test) == 18 and len(a.train) + len(a.test) == 60


def test_bad_inputs():
    with pytest.raises(ConfigError, match="protocol"):
        split.check_protocol("random")
    with pytest.raises(DataError, match="unknown class"):
        split.patient_table(pd.DataFrame({"patient": ["a"], "label": ["X"]}))
    with pytest.raises(ConfigError):
        split.patient_split(cohort_table(10, 0), 1.5)
