"""Chapter 01's tables and the leakage check."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dspic_lib import report
from dspic_lib.data import phantom
from dspic_lib.data.cohort import scan


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "c"
    phantom.generate(out, phantom.PhantomConfig(n_patients=8, seed=4), workers=1, progress=False)
    return scan(out)


def test_class_counts_put_this_run_beside_the_paper(small):
    table = report.class_counts(small)
    assert table.loc["total", "images (this run)"] == 16 and table.loc["total", "images (paper)"] == 768
    assert table.loc["M&A", "images (paper)"] == 8 and table["images (this run)"].drop("total").sum() == 16


def test_body_features_measure_the_body_not_the_lesions():
    img = np.zeros((1024, 256), np.float32)
    img[100:800, 100:156] = 10.0                 # a 700-row, 56-column "body"
    img[100 + int(0.47 * 700), 128] = 5000.0     # one hot pixel: far smaller than the 4x4 + blur scale
    f = report.body_features(img)
    assert f["body_length_px"] == pytest.approx(700, abs=8)
    assert f["body_width_px"] == pytest.approx(56, abs=8)
    assert f["total_counts"] == pytest.approx(img.sum())


def test_leakage_check_is_near_chance_without_a_leak_and_catches_one():
    from pathlib import Path

    from dspic_lib.data.cohort import Cohort

    rng = np.random.default_rng(0)
    labels = rng.choice(["N", "M", "A", "M&A"], size=120, p=[0.43, 0.23, 0.32, 0.02])
    table = pd.DataFrame({"patient": np.repeat([f"P{i}" for i in range(120)], 2),
                          "label": np.repeat(labels, 2), "view": ["anterior", "posterior"] * 120})
    cohort = Cohort(data_dir=Path("."), table=table, problems=pd.DataFrame(columns=["file", "problem"]))
    feats = pd.DataFrame({"total_counts": rng.lognormal(14, 0.2, 240), "bladder_peak": rng.lognormal(4, 0.5, 240),
                          "body_area_px": rng.normal(7e4, 5e3, 240), "age": rng.normal(60, 12, 240)})
    honest = report.leakage_check(cohort, feats, folds=5)
    assert list(honest.index) == ["logistic regression on non-lesion features",
                                  "chance: always the most frequent class"]
    assert abs(honest.iloc[0]["accuracy"] - honest.iloc[1]["accuracy"]) < 0.1
    leaky = feats.assign(total_counts=table["label"].map({"N": 1e6, "M": 2e6, "A": 3e6, "M&A": 4e6})
                         * rng.lognormal(0, 0.05, 240))
    assert report.leakage_check(cohort, leaky, folds=5).iloc[0]["accuracy"] > 0.9


def test_features_are_measured_for_every_image(small):
    feats = report.nonlesion_features(small)
    assert len(feats) == len(small.table) and not feats.isna().any().any()
    assert (feats["body_length_px"] > 500).all() and (feats["total_counts"] > 5e5).all()


def test_lesion_tables(small):
    sites = report.lesion_sites(small)
    assert (sites["total"] == sites[["metastasis", "arthritis"]].sum(axis=1)).all()
    assert sites["total"].sum() == small.table["n_lesions"].sum()
    assert isinstance(report.top_sites(small), pd.DataFrame)
    per_patient = report.sex_age(small)
    assert len(per_patient) == 8 and set(per_patient["sex"]) <= {"F", "M"}


def test_leakage_check_on_too_few_patients_says_so_instead_of_failing():
    from pathlib import Path

    from dspic_lib.data.cohort import Cohort

    table = pd.DataFrame({"patient": ["P1", "P1", "P2", "P2"], "label": ["N", "N", "M", "M"],
                          "view": ["anterior", "posterior"] * 2})
    cohort = Cohort(data_dir=Path("."), table=table, problems=pd.DataFrame(columns=["file", "problem"]))
    out = report.leakage_check(cohort, pd.DataFrame({"age": [50.0, 50.0, 60.0, 60.0]}))
    assert out["accuracy"].isna().all() and (out["folds"] == 0).all()
