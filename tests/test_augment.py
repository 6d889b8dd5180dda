import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.pipeline import augment
from dspic_lib.pipeline.augment import Transform, apply_boxes, apply_image, candidate_transforms


def test_mirror_twice_is_the_identity():
    x = np.random.default_rng(0).random((32, 8)).astype(np.float32)
    m = Transform(mirror=True)
    once = apply_image(x, m)
    assert not np.array_equal(once, x)
    np.testing.assert_array_equal(apply_image(once, m), x)
    boxes = np.array([[1.0, 2.0, 3.5, 7.0]])
    back, _ = apply_boxes(apply_boxes(boxes, m, x.shape)[0], m, x.shape)
    np.testing.assert_allclose(back, boxes)


def test_mirror_is_eq2():
    # x_o = -x_i + w on continuous coordinates: column c (covering [c, c+1)) lands on w - 1 - c
    x = np.zeros((4, 8), np.float32)
    x[1, 2] = 1.0
    out = apply_image(x, Transform(mirror=True))
    assert np.argwhere(out == 1.0).tolist() == [[1, 8 - 1 - 2]]
    np.testing.assert_allclose(Transform(mirror=True).matrix((4, 8)), [[-1, 0, 8], [0, 1, 0], [0, 0, 1]])


@given(t=st.integers(1, 6), sign=st.sampled_from([-1, 1]), axis=st.sampled_from(["x", "y"]),
       r0=st.integers(6, 25), c0=st.integers(6, 9))
@settings(max_examples=40, deadline=None)
def test_translation_moves_a_bright_pixel_by_exactly_t(t, sign, axis, r0, c0):
    x = np.zeros((32, 16), np.float32)
    x[r0, c0] = 1.0
    tf = Transform(dx=sign * t) if axis == "x" else Transform(dy=sign * t)
    out = apply_image(x, tf)
    expected = [r0, c0 + sign * t] if axis == "x" else [r0 + sign * t, c0]
    assert np.argwhere(out > 0).tolist() == [expected]
    assert out.sum() == 1.0


@pytest.mark.parametrize("tf", candidate_transforms(3, 8.0) + [Transform(angle=25.0), Transform(mirror=True, angle=-17.0)],
                         ids=lambda tf: tf.describe())
def test_box_transformed_with_its_image_still_covers_the_lesion(tf):
    x = np.zeros((64, 16), np.float32)
    x[20:26, 5:9] = 1.0                        # the lesion
    box = np.array([[5.0, 20.0, 9.0, 26.0]])   # its LabelMe box
    out = apply_image(x, tf)
    (x0, y0, x1, y1), = apply_boxes(box, tf, x.shape)[0]
    hot = np.argwhere(out > 0.5)
    assert len(hot) > 0
    cy, cx = hot[:, 0] + 0.5, hot[:, 1] + 0.5   # pixel centres
    assert ((cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)).all(), tf.describe()


def test_rotation_turns_counter_clockwise_and_boxes_follow():
    x = np.zeros((8, 8), np.float32)
    x[1, 5] = 1.0                                # upper right
    out = apply_image(x, Transform(angle=90.0))  # counter-clockwise as displayed: to the upper left
    assert np.argwhere(out > 0.5).tolist() == [[2, 1]]
    b, keep = apply_boxes(np.array([[5.0, 1.0, 6.0, 2.0]]), Transform(angle=90.0), x.shape)
    np.testing.assert_allclose(b, [[1.0, 2.0, 2.0, 3.0]], atol=1e-5)


def test_box_pushed_out_of_the_frame_is_dropped():
    b, keep = apply_boxes(np.array([[0.0, 0.0, 2.0, 2.0], [4.0, 4.0, 6.0, 6.0]]), Transform(dx=-3), (8, 8))
    assert keep.tolist() == [False, True]
    np.testing.assert_allclose(b, [[1.0, 4.0, 3.0, 6.0]])


def test_thirteen_distinct_transforms():
    tfs = candidate_transforms(2, 5.0)
    assert len(set(tfs)) == 13
    assert {tf.source for tf in tfs} == {"mirror", "translate", "rotate", "mirror+translate", "mirror+rotate"}
    with pytest.raises(ConfigError):
        candidate_transforms(0, 5.0)


def _labels():
    return np.array(["N"] * 10 + ["M"] * 5 + ["A"] * 7 + ["M&A"] * 1, dtype=object)


@given(extra_m=st.integers(0, 40), extra_a=st.integers(0, 40), extra_ma=st.integers(0, 30),
       seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_requested_class_counts_are_met_exactly(extra_m, extra_a, extra_ma, seed):
    labels = _labels()
    X = np.random.default_rng(0).random((len(labels), 16, 4)).astype(np.float32)
    want = {"N": 10, "M": 5 + extra_m, "A": 7 + extra_a, "M&A": 1 + extra_ma}
    aug = augment.augment_to_counts(X, labels, want, t=1, r=5.0, seed=seed)
    total = augment.class_counts(np.concatenate([labels, aug.labels]))
    assert total == want
    assert len(aug.X) == len(aug.parent) == extra_m + extra_a + extra_ma
    assert (labels[aug.parent] == aug.labels).all()            # a copy keeps its parent's class
    assert "N" not in set(aug.labels)                           # the normal class is never augmented


def test_copies_of_one_image_are_distinct_up_to_13():
    labels = np.array(["M", "M"], dtype=object)
    X = np.random.default_rng(0).random((2, 16, 8)).astype(np.float32)
    aug = augment.augment_to_counts(X, labels, {"M": 2 + 26}, t=1, r=5.0, seed=0)
    for p in (0, 1):
        tfs = [tf for tf, q in zip(aug.transforms, aug.parent) if q == p]
        assert len(tfs) == 13 and len(set(tfs)) == 13


def test_augmentation_is_seeded():
    labels = _labels()
    X = np.random.default_rng(0).random((len(labels), 16, 4)).astype(np.float32)
    want = {"M": 20, "A": 20, "M&A": 9}
    a = augment.augment_to_counts(X, labels, want, t=1, r=5.0, seed=4)
    b = augment.augment_to_counts(X, labels, want, t=1, r=5.0, seed=4)
    c = augment.augment_to_counts(X, labels, want, t=1, r=5.0, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.transforms == b.transforms
    assert a.transforms != c.transforms


def test_impossible_requests_fail_clearly():
    labels = np.array(["N", "M"], dtype=object)
    X = np.zeros((2, 8, 4), np.float32)
    with pytest.raises(DataError, match="no A image"):
        augment.augment_to_counts(X, labels, {"A": 3}, t=1, r=5.0)
    with pytest.raises(DataError, match="already"):
        augment.augment_to_counts(X, labels, {"M": 0}, t=1, r=5.0)
    with pytest.raises(ConfigError, match="normal class"):
        augment.augment_to_counts(X, labels, {"N": 2}, t=1, r=5.0)


def test_scaled_targets_give_table1_on_the_paper_cohort_and_keep_n():
    original = augment.paper_table("original")
    assert augment.scaled_targets(original, augment.paper_table("table1")) == {"N": 334, "M": 520, "A": 568, "M&A": 80}
    assert augment.scaled_targets(original, augment.paper_table("table2")) == {"N": 334, "M": 394, "A": 472, "M&A": 80}
    part = {"N": 234, "M": 122, "A": 176, "M&A": 6}
    t = augment.scaled_targets(part, augment.paper_table("table1"))
    assert t["N"] == 234
    assert t == {"N": 234, "M": round(520 * 234 / 334), "A": round(568 * 234 / 334), "M&A": round(80 * 234 / 334)}
    assert augment.scaled_targets({"N": 3, "M": 2, "A": 0, "M&A": 0}, augment.paper_table("table1"))["A"] == 0


def test_t_grid_scales_with_width():
    assert augment.t_grid_for(256) == [8, 16, 32]
    assert augment.t_grid_for(64) == [2, 4, 8]
    assert augment.t_grid_for(32) == [1, 2, 4]


def test_sweep_chooses_among_the_grid_and_is_cached(tmp_path):
    from helpers import toy_d1
    d1 = toy_d1(n_patients=24, rows=32, cols=8, seed=0)
    kw = dict(cols=8, store=tmp_path, n_folds=2, seed=0, t_grid=[1, 2], r_grid=[5.0])
    res = augment.select_parameters(d1.X, d1.labels, d1.meta["patient"], **kw)
    assert (res.t, res.r) in {(1, 5.0), (2, 5.0)}
    assert set(res.table["fold"]) == {0, 1} and (0, 0.0) in set(zip(res.table["t"], res.table["r"]))
    assert not res.cached
    again = augment.select_parameters(d1.X, d1.labels, d1.meta["patient"], **kw)
    assert again.cached and (again.t, again.r) == (res.t, res.r)
    assert res.summary()["chosen"].sum() == 1


def test_a_validation_fold_of_only_m_and_a_images_scores_nan_not_a_crash():
    """A small user folder can leave a sweep fold whose validation patients are all M&A."""
    from dspic_lib.pipeline.augment import _score

    assert np.isnan(_score(["M&A", "M&A"], ["M", "A"]))
    assert _score(["N", "M&A"], ["N", "A"]) == pytest.approx(1 / 3)
