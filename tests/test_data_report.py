"""Chapter 01's tables and the leakage check."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dspic_lib.chapters import cohort_report as report
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


# ---------------------------------------------------------------- a user's folder of real, unlabelled scans
@pytest.fixture(scope="module")
def real_ge(tmp_path_factory):
    """pydicom's two real GE whole-body scans: view unknown, no label, no age."""
    import shutil
    from pathlib import Path

    import pydicom

    folder = tmp_path_factory.mktemp("ge")
    for name in ("JPGExtended.dcm", "JPEG2000.dcm"):
        src = Path(pydicom.__file__).parent / "data" / "test_files" / name
        if not src.exists():
            pytest.skip(f"{name} is not bundled with this pydicom")
        shutil.copy(src, folder / name)
    return scan(folder)


def test_chapter_01_tables_on_unlabelled_real_scans_say_what_they_cannot_compute(real_ge):
    counts = report.class_counts(real_ge)
    assert counts.loc["unlabelled", "images (this run)"] == 2 and counts.loc["N", "images (this run)"] == 0
    assert pd.isna(counts.loc["unlabelled", "images (paper)"]) and counts.loc["total", "images (this run)"] == 2
    assert report.sex_age(real_ge)["age"].isna().all()
    assert report.hottest_pixel_text(report.hottest_pixel(real_ge)).startswith(
        "Not computed: the comparison needs M and N images, and this cohort has no labelled image.")
    feats = report.nonlesion_features(real_ge)
    assert len(feats) == 2 and (feats["body_length_px"] > 500).all()
    leak = report.leakage_check(real_ge, feats)
    assert leak["accuracy"].isna().all()
    assert report.leakage_text(leak).startswith("Not computed: fewer than 4 labelled patients")
    table, images = report.realism(real_ge)
    assert list(table.index.get_level_values(0)) == ["real GE scan", "real GE scan", "allowed range"]
    assert list(images) == ["real GE scan, JPGExtended", "real GE scan, JPEG2000"]
    assert report.lesion_sites(real_ge).empty


def test_class_counts_keep_the_paper_columns_integer_when_everything_is_labelled(small):
    table = report.class_counts(small)
    assert "unlabelled" not in table.index and table["images (paper)"].dtype == int


def test_the_leakage_check_leaves_unlabelled_images_out():
    from pathlib import Path

    from dspic_lib.data.cohort import Cohort

    rng = np.random.default_rng(1)
    labels = np.array(["N", "M"] * 20 + ["unlabelled"] * 10)
    table = pd.DataFrame({"patient": [f"P{i}" for i in range(50)], "label": labels, "view": "anterior"})
    cohort = Cohort(data_dir=Path("."), table=table, problems=pd.DataFrame(columns=["file", "problem"]))
    feats = pd.DataFrame({"total_counts": rng.lognormal(14, 0.2, 50), "bladder_peak": rng.lognormal(4, 0.5, 50),
                          "body_area_px": rng.normal(7e4, 5e3, 50), "age": rng.normal(60, 10, 50)})
    out = report.leakage_check(cohort, feats, folds=4)
    assert np.isfinite(out["accuracy"]).all() and out.iloc[1]["accuracy"] == pytest.approx(0.5)


def test_fig_1_5_shows_real_and_synthetic_scans_whole_with_titles_apart(small, plot_style):
    """Issue acceptance 3 and the physicist's Fig 1.5: pydicom's two real GE scans beside synthetic ones,
    each at full height (its whole 1024-row field, nothing cropped), and no two panel titles overlapping."""
    from dspic_lib import plots

    _, images = report.realism(small)
    titles = list(images)
    assert titles[:2] == ["real GE scan, JPGExtended", "real GE scan, JPEG2000"]
    assert len(titles) == 4 and all(t.startswith("synthetic ") for t in titles[2:])
    assert all(np.asarray(img).shape[0] == 1024 for img in images.values())
    fig = plots.realism_panels(images)
    fig.canvas.draw()
    axes = [ax for ax in fig.get_axes() if ax.get_images()]
    assert len(axes) == 4
    for ax, img in zip(axes, images.values()):
        shown = ax.get_images()[0]
        rows, cols = np.asarray(img).shape
        assert shown.get_array().shape == (rows, cols)
        bottom, top = sorted(ax.get_ylim())
        left, right = sorted(ax.get_xlim())
        assert bottom <= -0.5 and top >= rows - 0.5 and left <= -0.5 and right >= cols - 0.5   # not cropped
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in axes]
    page = fig.bbox
    for i, a in enumerate(boxes):
        assert a.x0 >= page.x0 - 1 and a.x1 <= page.x1 + 1, f"title {i} runs off the figure"
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two panel titles overlap"
