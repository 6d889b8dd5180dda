"""Grad-CAM, attention maps and the pointing game (dspic_lib.evaluation.explain), and their figures.

Grad-CAM is checked on a hand-wired network whose decision depends on one region only: its map must
point there and not at a brighter spot elsewhere; the placement of map cells on the image against
autograd (the receptive field of a cell); the stretch of ``align=False`` against ``tf.image.resize``.
"""
from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from conftest import assert_fits_the_column
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from dspic_lib import models
from dspic_lib._tf import keras, tf
from dspic_lib.errors import ConfigError, DataError
from dspic_lib.evaluation import explain
from dspic_lib.palette import DISEASE_COLORS
from dspic_lib.plots import explain as pe

L = keras.layers


# ---------------------------------------------------------------------------------------------------
# A hand-wired network: class 1 = more bright than dark inside region R, class 0 the opposite.
#
# image 32 x 16 -> ZeroPadding2D(10) -> conv_a (3x3, two channels: relu(x) and relu(1 - x)) -> 50 x 34
# -> pool (2x2) -> 25 x 17 -> mask (1 on the cells over R, else 0) -> conv_b (1x1 identity) -> GAP -> Dense.
# Cell i of the pooled map covers conv_a cells 2i, 2i + 1, i.e. image pixels 2i - 9 and 2i - 8: its
# centre is pixel 2i - 8.5. The padding grows the map, so a plain stretch of the 25 x 17 map over the
# 32 x 16 image misplaces it by 4 px near the top. The logits weigh bright against dark, so the channel
# weights of Grad-CAM have both signs and the ReLU of their sum matters.

class FixedMask(L.Layer):
    """Multiply by a constant (rows, cols) mask: the network sees only the cells where it is 1."""

    def __init__(self, mask, **kw):
        super().__init__(**kw)
        self.mask = tf.constant(np.asarray(mask, np.float32)[None, :, :, None])

    def call(self, x):
        return x * self.mask


MASK_CELLS = slice(5, 9)                    # pooled cells 5-8: centres on pixels 1.5 ... 7.5
REGION = np.array([[3, 3, 7, 7]], np.float32)   # R as a box (x0, y0, x1, y1): pixels 3-6
BLOB = (slice(3, 7), slice(3, 7))           # R itself (pooled cells 6 and 7), value 0.6
DISTRACTOR = (slice(20, 23), slice(10, 13))  # outside R, brighter: 1.0


def crafted_model(masked: bool = True):
    inp = keras.Input((32, 16, 1), name="image")
    x = L.ZeroPadding2D(10, name="pad")(inp)
    x = L.Conv2D(2, 3, activation="relu", name="conv_a")(x)
    x = L.MaxPooling2D(2, name="pool")(x)
    mask = np.zeros((25, 17), np.float32)
    mask[MASK_CELLS, MASK_CELLS] = 1.0
    x = FixedMask(mask if masked else np.ones_like(mask), name="mask")(x)
    x = L.Conv2D(2, 1, activation="relu", name="conv_b")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(2, activation="softmax", name="softmax")(x)
    model = keras.Model(inp, out, name="crafted")
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[1, 1, 0] = [1.0, -1.0]                      # channel 0: x, channel 1: 1 - x
    model.get_layer("conv_a").set_weights([kernel, np.array([0.0, 1.0], np.float32)])
    model.get_layer("conv_b").set_weights([np.eye(2, dtype=np.float32)[None, None], np.zeros(2, np.float32)])
    # logit 1 = 10 * (mean bright - mean dark), logit 0 = its negative
    model.get_layer("softmax").set_weights([10 * np.array([[-1, 1], [1, -1]], np.float32), np.zeros(2, np.float32)])
    return model


def image(blob: bool = True, distractor: bool = True) -> np.ndarray:
    x = np.zeros((32, 16), np.float32)
    if blob:
        x[BLOB] = 0.6
    if distractor:
        x[DISTRACTOR] = 1.0
    return x


def argmax_pixel(m) -> tuple[int, int]:
    return tuple(int(v) for v in np.unravel_index(np.argmax(m), m.shape))


def test_grad_cam_points_at_the_region_the_decision_depends_on():
    model = crafted_model()
    assert explain.last_conv_layer(model) == "conv_b"
    cam = explain.grad_cam(model, image()[None], class_index=1)[0]
    assert cam.shape == (32, 16) and cam.max() == pytest.approx(1.0)
    r, c = argmax_pixel(cam)
    assert BLOB[0].start <= r < BLOB[0].stop and BLOB[1].start <= c < BLOB[1].stop
    assert explain.pointing_hit(cam, REGION, 0.0)
    assert cam[DISTRACTOR].max() == 0.0          # the brighter spot outside R plays no part
    # the textbook stretch draws the same map about 4 px too low: it leaves R
    stretched = explain.grad_cam(model, image()[None], class_index=1, align=False)[0]
    assert not explain.pointing_hit(stretched, REGION, 0.0)
    assert argmax_pixel(stretched)[0] >= 7


def test_grad_cam_of_a_network_that_sees_everything_points_at_the_brighter_spot():
    cam = explain.grad_cam(crafted_model(masked=False), image()[None], class_index=1)[0]
    r, c = argmax_pixel(cam)
    assert DISTRACTOR[0].start <= r < DISTRACTOR[0].stop and DISTRACTOR[1].start <= c < DISTRACTOR[1].stop
    assert not explain.pointing_hit(cam, REGION, 0.0)


def test_grad_cam_without_evidence_is_zero_and_class_follows_the_request():
    model = crafted_model()
    x = np.stack([image(blob=False), image()])
    bright = explain.grad_cam(model, x, class_index=1)
    assert np.array_equal(bright[0], np.zeros((32, 16), np.float32))     # nothing bright in R: no map, no NaN
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert (predicted == 0).all()                                          # R is mostly dark
    assert np.array_equal(explain.grad_cam(model, x), explain.grad_cam(model, x, class_index=0))
    dark = explain.grad_cam(model, x, class_index=0)[1]
    assert dark.max() == pytest.approx(1.0) and dark[12:].max() == 0.0    # dark evidence, in R only ...
    assert dark[4:6, 4:6].max() == 0.0                                     # ... and not on the bright blob
    per_image = explain.grad_cam(model, x, class_index=[0, 1])
    assert np.array_equal(per_image[0], explain.grad_cam(model, x[:1], class_index=0)[0])
    assert np.array_equal(per_image[1], bright[1])


# ---------------------------------------------------------------------------------------------------
# Where the cells of a map sit on the image


def test_layer_grid_is_the_centre_of_each_cells_receptive_field():
    """Autograd as the reference: the input pixels a cell depends on span its receptive field."""
    inp = keras.Input((48, 40, 1))
    x = L.ZeroPadding2D(2)(inp)
    x = L.Conv2D(1, 5, strides=2, kernel_initializer="ones", use_bias=False, name="a")(x)
    x = L.AveragePooling2D(3, strides=2, padding="same", name="b")(x)
    x = L.ZeroPadding2D(((3, 3), (1, 2)))(x)
    x = L.Conv2D(1, 3, kernel_initializer="ones", use_bias=False, name="c")(x)
    x = L.Cropping2D(((1, 0), (0, 1)), name="d")(x)
    x = L.Conv2D(1, 4, padding="same", kernel_initializer="ones", use_bias=False, name="e")(x)
    model = keras.Model(inp, x)
    grid = explain.layer_grid(model, "e")
    assert grid.shape == tuple(model.output.shape[1:3])
    probe = tf.Variable(tf.ones((1, 48, 40, 1)))
    with tf.GradientTape() as tape:
        out = model(probe)[0, ..., 0]
    jacobian = tape.jacobian(out, probe).numpy()[:, :, 0, ..., 0]      # (cell rows, cell cols, rows, cols)
    checked = 0
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            support = np.argwhere(jacobian[i, j] != 0)
            lo, hi = support.min(axis=0), support.max(axis=0)
            if lo.min() == 0 or hi[0] == 47 or hi[1] == 39:      # cut by the image border: centre unknown
                continue
            centre = (grid.start[0] + i * grid.step[0], grid.start[1] + j * grid.step[1])
            assert centre == ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2), (i, j)
            checked += 1
    assert checked >= 4


def test_the_stretch_is_tf_image_resize_bilinear():
    maps = np.random.default_rng(0).random((2, 7, 5)).astype(np.float32)
    ours = explain.map_to_image(maps, None, (30, 11))
    ref = tf.image.resize(maps[..., None], (30, 11), method="bilinear").numpy()[..., 0]
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_dspic_conv5_cells_mostly_lie_outside_the_image():
    """P=3 on conv3 and conv4 grows the map: at 256 x 64 only its middle 16 x 4 cells cover the image."""
    model = models.build("dSPIC-AM", input_shape=(256, 64, 1), seed=0, fc_units=8)
    grid = explain.layer_grid(model, "conv5")
    assert grid.shape == (24, 12) and grid.step == (16.0, 16.0) and grid.start == (-53.0, -53.0)
    assert explain.layer_grid(model, "am1_spatial_conv7x7") == explain.Grid((32, 8), (3.0, 3.0), (8.0, 8.0))


# ---------------------------------------------------------------------------------------------------
# The zoo


@pytest.fixture(scope="module")
def dspic_am():
    return models.build("dSPIC-AM", input_shape=(64, 16, 1), seed=0, fc_units=8)


@pytest.fixture(scope="module")
def spread():
    """dSPIC-AM whose head has every unit alive and spread logits. Freshly initialised, the head passes
    through one or two live units, so the classes' maps coincide and probability and logit agree."""
    model = models.build("dSPIC-AM", input_shape=(64, 16, 1), seed=1, fc_units=8)
    rng = np.random.default_rng(0)
    for name in ("fc1", "fc2", "softmax"):
        kernel, bias = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([rng.normal(0, 3 / np.sqrt(len(kernel)), kernel.shape),
                                           np.full(bias.shape, 0.5)])
    return model


@pytest.fixture(scope="module")
def scans():
    rng = np.random.default_rng(1)
    x = rng.random((5, 64, 16), dtype=np.float32) * 0.2
    x[:, 40:46, 5:9] += 0.8
    return x


def test_last_conv_layer_skips_the_attention_map():
    assert explain.last_conv_layer(models.build("dSPIC-AM", input_shape=(64, 16, 1), fc_units=8)) == "conv5"
    both = models.build("SI_CLF+AM+RM", input_shape=(64, 32, 1), fc_units=8)
    assert both.layers[[type(ly).__name__ for ly in both.layers].index("Conv2D")].name == "conv1"
    assert [ly.name for ly in both.layers if isinstance(ly, L.Conv2D)][-1] == "am2_spatial_conv7x7"
    assert explain.last_conv_layer(both) == "conv5"
    assert explain.last_conv_layer(models.build("AlexNet", input_shape=(64, 32, 1), fc_units=8)) == "conv4"


def test_grad_cam_on_dspic_am_shape_range_determinism(dspic_am, scans):
    cam = explain.grad_cam(dspic_am, scans, batch_size=2)
    assert cam.shape == (5, 64, 16) and cam.dtype == np.float32
    assert cam.min() >= 0.0 and cam.max() <= 1.0
    assert all(m.max() in (0.0, pytest.approx(1.0)) for m in cam)
    # the same maps in any batch size (to float rounding: oneDNN's kernels depend on the batch shape)
    np.testing.assert_allclose(cam, explain.grad_cam(dspic_am, scans[..., None], batch_size=5), rtol=0, atol=1e-5)
    # and the same maps when computed again
    np.testing.assert_array_equal(cam, explain.grad_cam(dspic_am, scans, batch_size=2))
    assert explain.grad_cam(dspic_am, scans[:0]).shape == (0, 64, 16)


def test_grad_cam_class_index_forms(spread, scans):
    dspic_am = spread
    predicted = dspic_am.predict(scans, verbose=0).argmax(axis=1)
    maps = [explain.grad_cam(dspic_am, scans, c) for c in range(3)]
    assert not np.allclose(maps[0], maps[1], atol=0.05) and not np.allclose(maps[1], maps[2], atol=0.05)
    np.testing.assert_allclose(explain.grad_cam(dspic_am, scans),
                               np.stack([maps[c][i] for i, c in enumerate(predicted)]), atol=1e-6)
    by_int = maps[1]
    np.testing.assert_allclose(by_int, explain.grad_cam(dspic_am, scans, "M"), atol=1e-6)
    mixed = explain.grad_cam(dspic_am, scans, [1, 2, 1, 0, 2])
    np.testing.assert_allclose(mixed[[0, 2]], by_int[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(mixed[3], maps[0][3], atol=1e-6)
    np.testing.assert_allclose(mixed[[1, 4]], maps[2][[1, 4]], atol=1e-6)
    with pytest.raises(ConfigError, match="out of range.*3 classes"):
        explain.grad_cam(dspic_am, scans, 3)
    with pytest.raises(ConfigError, match="2 classes given for 5 images"):
        explain.grad_cam(dspic_am, scans, [0, 1])
    with pytest.raises(ConfigError, match="unknown class 'X'"):
        explain.grad_cam(dspic_am, scans, "X")


def test_grad_cam_explains_the_logit_not_the_probability(spread, scans):
    """The same network with a linear last layer (its output is the logits) gives the same maps."""
    dspic_am = spread
    head = dspic_am.get_layer("softmax")
    logits = keras.Model(dspic_am.inputs, L.Dense(3, name="logits")(head.input))
    logits.get_layer("logits").set_weights(head.get_weights())
    for c in (None, 0, 2):
        np.testing.assert_allclose(explain.grad_cam(dspic_am, scans, c), explain.grad_cam(logits, scans, c),
                                   atol=1e-5)
    # and both are Selvaraju et al.'s recipe on the logit, written out here for class 2 on conv5
    both = keras.Model(dspic_am.inputs, [dspic_am.get_layer("conv5").output, logits.output])
    x = tf.constant(scans[..., None])
    with tf.GradientTape() as tape:
        a, z = both(x)
        score = tf.reduce_sum(z[:, 2])
    weights = tf.reduce_mean(tape.gradient(score, a), axis=(1, 2)).numpy()           # (n, channels)
    cells = np.maximum((a.numpy() * weights[:, None, None, :]).sum(axis=-1), 0)
    ref = explain.map_to_image(cells, explain.layer_grid(dspic_am, "conv5"), (64, 16))
    ref = ref / np.maximum(ref.max(axis=(1, 2), keepdims=True), 1e-30)
    np.testing.assert_allclose(explain.grad_cam(dspic_am, scans, 2), ref, atol=1e-5)


def test_grad_cam_errors_name_the_problem(dspic_am, scans):
    with pytest.raises(ConfigError, match="no layer 'conv9'.*'conv1'.*'conv5'") as err:
        explain.grad_cam(dspic_am, scans, layer="conv9")
    assert "am1_spatial_conv7x7" in str(err.value)          # every convolution is listed
    with pytest.raises(ConfigError, match="'fc1'.*not a spatial map"):
        explain.grad_cam(dspic_am, scans, layer="fc1")
    with pytest.raises(DataError, match="32 x 16.*expects 64 x 16"):
        explain.grad_cam(dspic_am, scans[:, :32])
    with pytest.raises(DataError, match=r"\(n, rows, cols\)"):
        explain.grad_cam(dspic_am, scans[0])
    other = explain.grad_cam(dspic_am, scans, layer="conv2")     # any spatial layer may be asked for
    assert other.shape == (5, 64, 16)


def test_attention_map_of_dspic_am(dspic_am, scans):
    att = explain.attention_map(dspic_am, scans, batch_size=3)
    assert att.shape == (5, 64, 16) and att.dtype == np.float32
    assert att.min() >= 0.0 and att.max() <= 1.0 and att.std() > 0
    assert explain.attention_blocks(dspic_am) == ["am1"]
    with pytest.raises(ConfigError, match="unknown attention block.*'am2'.*valid: 'am1'"):
        explain.attention_map(dspic_am, scans, block="am2")


def test_attention_map_needs_an_attention_block():
    plain = models.build("SI_CLF", input_shape=(64, 32, 1), fc_units=8)
    with pytest.raises(ConfigError, match="SI_CLF.*has no attention block"):
        explain.attention_map(plain, np.zeros((1, 64, 32), np.float32))


# ---------------------------------------------------------------------------------------------------
# The pointing game


def peak(shape=(40, 20), at=((10, 5),), value=1.0) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    for r, c in at:
        m[r, c] = value
    return m


def test_pointing_hit_and_miss():
    m = peak(at=[(10, 5)])                       # arg-max pixel centre: x 5.5, y 10.5
    assert explain.pointing_hit(m, [[4, 8, 7, 12]], 0)
    assert not explain.pointing_hit(m, [[10, 20, 14, 30]], 0)
    assert explain.pointing_hit(m, [[10, 20, 14, 30], [5, 10, 6, 11]], 0)    # any box


@pytest.mark.parametrize("box", [[8.5, 9, 12, 12], [1, 9, 2.5, 12], [4, 13.5, 7, 15], [4, 1, 7, 7.5]])
def test_pointing_tolerance_is_inclusive_at_exactly_the_tolerance(box):
    m = peak(at=[(10, 5)])                       # each box is exactly 3 px from (5.5, 10.5) on one side
    assert explain.pointing_hit(m, [box], 3.0)
    assert not explain.pointing_hit(m, [box], 2.99)


def test_pointing_ties_go_to_the_first_maximum_in_row_major_order():
    m = peak(at=[(30, 2), (4, 15), (4, 9)])      # (4, 9) comes first: the highest row, then the leftmost
    assert explain.pointing_hit(m, [[9, 4, 10, 5]], 0)
    assert not explain.pointing_hit(m, [[15, 4, 16, 5], [2, 30, 3, 31]], 0)
    assert not explain.pointing_hit(np.zeros((8, 4)), [[1, 1, 3, 3]], 0)     # flat: pixel (0, 0)
    assert explain.pointing_hit(np.zeros((8, 4)), [[0, 0, 1, 1]], 0)


def test_pointing_needs_boxes():
    with pytest.raises(DataError, match="no lesion box"):
        explain.pointing_hit(peak(), np.zeros((0, 4)), 3)
    with pytest.raises(DataError, match=r"\(k, 4\)"):
        explain.pointing_hit(peak(), [[1, 2, 3]], 3)
    with pytest.raises(DataError, match="image 1 \\(label 'N'\\).*no lesion box"):
        explain.pointing_game(np.stack([peak(), peak()]), [[[0, 0, 9, 9]], []], ["M", "N"], 2)


def test_centre_prior_peaks_at_the_centre():
    prior = explain.centre_prior((64, 16))
    assert prior.shape == (64, 16) and prior.max() <= 1.0 and prior.min() > 0
    assert argmax_pixel(prior) == (31, 7)        # even sides: the first of the middle pixels
    assert argmax_pixel(explain.centre_prior((65, 15))) == (32, 7)
    assert prior[31, 7] == prior[32, 8]


def test_pointing_game_table_per_class_with_the_centre_baseline():
    shape = (40, 20)                              # centre prior points at pixel (19, 9): x 9.5, y 19.5
    centre = [[8, 18, 11, 21]]
    far = [[1, 1, 3, 3]]
    maps = np.stack([peak(shape, [(2, 2)]), peak(shape, [(30, 15)]), peak(shape, [(19, 9)]),
                     peak(shape, [(2, 2)]), peak(shape, [(35, 2)])])
    boxes = [far, far, centre, far + centre, far]
    labels = ["M", "M", "A", "M&A", "M"]
    table = explain.pointing_game(maps, boxes, labels, tolerance_px=0)
    assert list(table.columns) == explain.POINTING_COLUMNS
    assert list(table.index) == ["M", "A", "M&A", "all"]
    assert table.loc["M", ["images", "hits", "baseline hits"]].tolist() == [3, 1, 0]
    assert table.loc["A", ["images", "hits", "baseline hits"]].tolist() == [1, 1, 1]
    assert table.loc["M&A", ["images", "hits", "baseline hits"]].tolist() == [1, 1, 1]
    assert table.loc["all", ["images", "hits", "baseline hits"]].tolist() == [5, 3, 2]
    assert table.loc["M", "hit rate"] == pytest.approx(1 / 3)
    assert table.loc["all", "baseline hit rate"] == pytest.approx(0.4)
    # a baseline map of one's own, shared by every image: pointing at (30, 15) hits none of them
    mine = explain.pointing_game(maps, boxes, labels, tolerance_px=0, baseline=peak(shape, [(30, 15)]))
    assert mine.loc["all", "baseline hits"] == 0 and mine.loc["all", "hits"] == 3
    # the tolerance widens every box: the peak (35, 2), centre y 35.5, is 0.5 px below this box
    near = explain.pointing_game(maps[[4]], [[[1, 33, 3, 35]]], ["M"], tolerance_px=1)
    assert near.loc["all", "hits"] == 1


def test_default_tolerance_is_15_px_at_224_scaled_to_the_width():
    assert explain.default_tolerance(224) == 15.0
    assert explain.default_tolerance((256, 64)) == pytest.approx(15 * 64 / 224)
    maps = np.stack([peak((256, 64), [(10, 5)])])
    box = [[[9.5, 9, 12, 12]]]                    # 4 px from x 5.5: within 4.29 px, not within 3.99 px
    assert explain.pointing_game(maps, box, ["M"]).loc["all", "hits"] == 1
    assert explain.pointing_game(maps, box, ["M"], tolerance_px=3.99).loc["all", "hits"] == 0


def test_pointing_game_checks_its_input():
    with pytest.raises(DataError, match="2 maps, 1 box arrays and 2 labels"):
        explain.pointing_game(np.zeros((2, 8, 4)), [[[0, 0, 1, 1]]], ["M", "A"])
    with pytest.raises(DataError, match="baseline: expected shape"):
        explain.pointing_game(np.zeros((1, 8, 4)), [[[0, 0, 1, 1]]], ["M"], baseline=np.zeros((4, 8)))
    with pytest.raises(DataError, match=r"maps: expected shape \(n, rows, cols\)"):
        explain.pointing_game(np.zeros((8, 4)), [[[0, 0, 1, 1]]], ["M"])
    # what passes the checks is scored: one (rows, cols) baseline serves every image, as (n, rows, cols) does
    maps, boxes = np.stack([peak((8, 4), [(1, 1)]), peak((8, 4), [(6, 2)])]), [[[0, 0, 2, 2]], [[0, 0, 2, 2]]]
    table = explain.pointing_game(maps, boxes, ["M", "A"], tolerance_px=0.5, baseline=maps[0])
    assert list(table.index) == ["M", "A", "all"] and table["images"].tolist() == [1, 1, 2]
    assert table["hits"].tolist() == [1, 0, 1] and table["baseline hits"].tolist() == [1, 1, 2]
    pd.testing.assert_frame_equal(table, explain.pointing_game(maps, boxes, ["M", "A"], tolerance_px=0.5,
                                                               baseline=np.stack([maps[0], maps[0]])))


# ---------------------------------------------------------------------------------------------------
# Figures


def _panel_inputs(n: int):
    rng = np.random.default_rng(2)
    images = [rng.random((64, 16)) for _ in range(n)]
    maps = [explain.centre_prior((64, 16)) for _ in range(n)]
    boxes = [np.array([[2, 10, 8, 16], [6, 40, 12, 48]], np.float32)[: 1 + k % 2] for k in range(n)]
    colors = [["metastasis", "arthritis"][: 1 + k % 2] for k in range(n)]
    titles = [pe.prediction_title("M&A", [0.04, 0.48, 0.48]) for _ in range(n)]
    return images, maps, boxes, titles, colors


@pytest.mark.usefixtures("plot_style")
@pytest.mark.parametrize("n", [1, 3, 6, 8])
def test_overlay_panel_fits_the_column_one_axis_per_image(n):
    images, maps, boxes, titles, colors = _panel_inputs(n)
    fig = pe.overlay_panel(images, maps, boxes, titles, box_colors=colors)
    assert isinstance(fig, Figure)
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    assert_fits_the_column(fig, f"overlay_panel({n})")
    image_axes = [ax for ax in fig.get_axes() if ax.get_visible() and any(isinstance(a, AxesImage) for a in ax.images)]
    assert len(image_axes) == n
    for ax, b, c, t in zip(image_axes, boxes, colors, titles):
        assert len(ax.images) == 2                                  # scan and heat map
        rects = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(rects) == len(b)
        assert [mcolors.to_hex(r.get_edgecolor()) for r in rects] == [DISEASE_COLORS[d] for d in c]
        assert ax.get_title() == t
        w, h = ax.get_window_extent().width, ax.get_window_extent().height
        widest = pe.FEW_PANEL_INCHES if n <= 3 else pe.PANEL_INCHES
        assert h > 3 * w and w <= widest * fig.dpi + 1                # narrow, whole-body columns
    import io

    from matplotlib.image import imread

    buf = io.BytesIO()                                                 # as the page saves it (inline backend)
    fig.savefig(buf, format="png", bbox_inches="tight")
    assert imread(io.BytesIO(buf.getvalue())).shape[1] >= 400         # scans at a readable size
    if n <= 3:                                                         # few scans are not drawn small
        assert image_axes[0].get_window_extent().width >= 1.5 * pe.PANEL_INCHES * fig.dpi
    legend = {t.get_text() for lg in fig.legends for t in lg.get_texts()}
    assert legend == ({"metastasis", "arthritis"} if n > 1 else {"metastasis"})


@pytest.mark.usefixtures("plot_style")
def test_prediction_title_is_short_and_names_the_prediction():
    assert pe.prediction_title("M", [0.08, 0.3, 0.62]) == "true M\npred A\nN.08 M.30 A.62"
    assert pe.prediction_title("N", [1.0, 0.0, 0.0]).endswith("N1 M.00 A.00")


@pytest.mark.usefixtures("plot_style")
def test_attention_vs_gradcam_three_columns():
    images, maps, boxes, _, colors = _panel_inputs(1)
    att = 0.5 + 0.01 * explain.centre_prior((64, 16))
    fig = pe.attention_vs_gradcam(images[0], maps[0], att, boxes[0], box_colors=colors[0], title="true M")
    assert_fits_the_column(fig, "attention_vs_gradcam")
    axes = [ax for ax in fig.get_axes() if ax.images]
    assert [len(ax.images) for ax in axes] == [1, 2, 2]
    assert axes[2].images[1].get_array().max() == pytest.approx(1.0)      # the attention drawn min to max


def test_every_public_figure_function_is_covered_and_no_colour_is_made_up():
    import inspect
    import re
    from pathlib import Path

    public = {n for n, f in inspect.getmembers(pe, inspect.isfunction) if f.__module__ == pe.__name__ and n[0] != "_"}
    assert public == {"overlay_panel", "attention_vs_gradcam", "prediction_title", "panel_of_test_scans"}
    for hexcode in re.findall(r"#[0-9a-fA-F]{6}\b", Path(pe.__file__).read_text()):
        assert hexcode[1:3] == hexcode[3:5] == hexcode[5:7], f"plots_explain defines colour {hexcode}"
