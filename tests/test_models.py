"""The model zoo against the paper: Eq. 6-9 against NumPy, layer sequences against Tables 3 and 7."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import paper_layers

from dspic_lib import models
from dspic_lib._tf import keras, tf
from dspic_lib.config import PROFILES
from dspic_lib.errors import ConfigError, DataError
from dspic_lib.models import summary

RESOLUTIONS = {name: PROFILES[name].input_shape for name in ("smoke", "cpu", "paper")}
SMOKE = RESOLUTIONS["smoke"]


# ------------------------------------------------------------------ Eq. 6-9 in plain NumPy
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def conv_same(x, kernel, bias):
    """'same' cross-correlation of (N, H, W, Cin) with (k, k, Cin, Cout), stride 1, odd k."""
    k = kernel.shape[0]
    p = k // 2
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[-1],))
    for a in range(k):
        for b in range(k):
            out += padded[:, a:a + h, b:b + w, :] @ kernel[a, b]
    return out + bias


def cbam_numpy(F, w1, b1, w2, b2, k7, kb, literal_eq6=False):
    mlp = lambda v: np.maximum(v @ w1 + b1, 0.0) @ w2 + b2           # noqa: E731
    f_c = sigmoid(mlp(F.mean(axis=(1, 2))) + mlp(F.max(axis=(1, 2))))   # Eq. 7, (N, C)
    F1 = f_c[:, None, None, :] * F                                      # Eq. 6, F'
    pooled = np.stack([F1.mean(axis=-1), F1.max(axis=-1)], axis=-1)     # (N, H, W, 2)
    f_s = sigmoid(conv_same(pooled, k7, kb))                            # Eq. 8, (N, H, W, 1)
    return f_s * (F if literal_eq6 else F1)                             # Eq. 6, M


def block_model(block, shape, **kw):
    inputs = keras.Input(shape=shape)
    return keras.Model(inputs, block(inputs, **kw))


@pytest.mark.parametrize("literal_eq6", [False, True])
def test_cbam_block_matches_numpy_eq_6_to_8(literal_eq6):
    rng = np.random.default_rng(0)
    model = block_model(models.cbam_block, (9, 7, 32), reduction=8, name="am1", literal_eq6=literal_eq6)
    # random weights everywhere, biases included, so no term of the equations can hide
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    F = rng.normal(size=(3, 9, 7, 32)).astype("float32")
    w1, b1 = model.get_layer("am1_channel_mlp_hidden").get_weights()
    w2, b2 = model.get_layer("am1_channel_mlp_out").get_weights()
    k7, kb = model.get_layer("am1_spatial_conv7x7").get_weights()
    assert w1.shape == (32, 4) and k7.shape == (7, 7, 2, 1)
    expected = cbam_numpy(F.astype("float64"), w1, b1, w2, b2, k7, kb, literal_eq6)
    got = model.predict(F, verbose=0)
    assert np.abs(got - expected).max() < 1e-5
    # and the two readings of Eq. 6 really differ, so the flag is tested, not ignored
    other = cbam_numpy(F.astype("float64"), w1, b1, w2, b2, k7, kb, not literal_eq6)
    assert np.abs(got - other).max() > 1e-2


def test_residual_block_with_zero_convolutions_is_relu_of_input():
    model = block_model(models.residual_block, (6, 5, 4), name="rm1")
    for layer in model.layers:
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    F = np.random.default_rng(1).normal(size=(2, 6, 5, 4)).astype("float32")
    R = model.predict(F, verbose=0)
    np.testing.assert_array_equal(R, np.maximum(F, 0.0))   # Eq. 9 with f = 0: R = relu(F)
    assert (F < 0).any()


def test_residual_block_matches_numpy_eq_9():
    rng = np.random.default_rng(2)
    model = block_model(models.residual_block, (6, 5, 4), name="rm1")
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    F = rng.normal(size=(2, 6, 5, 4))
    ka, ba = model.get_layer("rm1_conv_a").get_weights()
    kb, bb = model.get_layer("rm1_conv_b").get_weights()
    expected = np.maximum(conv_same(np.maximum(conv_same(F, ka, ba), 0), kb, bb) + F, 0)
    assert np.abs(model.predict(F.astype("float32"), verbose=0) - expected).max() < 1e-5


# ------------------------------------------------------------------ Tables 3 and 7, as printed
TABLE3 = """\
Convolution	11 × 11, 96, S=4, P=2
Pooling	MaxPool, 3 × 3, S=2
Added layer	Attention/residual module
Convolution	5 × 5, 256, S=1, P=2
Pooling	MaxPool, 3 × 3, S=2
Convolution	3 × 3, 384, S=1, P=3
Convolution	3 × 3, 384, S=1, P=3
Convolution	3 × 3, 256, S=1, P=1
Fully connected	4096
Fully connected	4096
SoftMax	3"""

TABLE7 = """\
SI_CLF	SI_CLF + AM	SI_CLF + RM	SI_CLF + AM + RM	AlexNet
11 × 11, 64, S=4, P=2	11 × 11, 64, S=4, P=2	11 × 11, 64, S=4, P=2	11 × 11, 64, S=4, P=2	11 × 11, 64, S=4, P=2
MaxPool(3), S=2	MaxPool(3), S=2	MaxPool(3), S=2	MaxPool(3), S=2	MaxPool(3), S=2
7 × 7, 128, S=1, P=2	AM	RM	RM	5 × 5, 256, S=1, P=2
MaxPool(3), S=2	7 × 7, 128, S=1, P=2	7 × 7, 128, S=1, P=2	AM	MaxPool(3), S=2
5 × 5, 128, S=1, P=3	MaxPool(3), S=2	MaxPool(3), S=2	7 × 7, 128, S=1, P=2	3 × 3, 384, S=1, P=3
3 × 3, 256, S=1, P=3	5 × 5, 128, S=1, P=3	5 × 5, 128, S=1, P=3	MaxPool(3), S=2	3 × 3, 384, S=1, P=3
3 × 3, 256, S=1, P=1	3 × 3, 256, S=1, P=3	3 × 3, 256, S=1, P=3	5 × 5, 128, S=1, P=3	FC (1024)
MaxPool(3), S=2	3 × 3, 256, S=1, P=1	3 × 3, 256, S=1, P=1	3 × 3, 256, S=1, P=3	FC (1024)
FC (1024)	AM	MaxPool(3), S=2	3 × 3, 256, S=1, P=1	Softmax (3)
FC (1024)	MaxPool(3), S=2	FC (1024)	AM	
Softmax (3)	FC (1024)	FC (1024)	MaxPool(3), S=2	
	FC (1024)	Softmax (3)	FC (1024)	
	Softmax (3)		FC (1024)	
			Softmax (3)	"""


def normalise(cell: str) -> str:
    """The paper's wording of a row -> the wording of paper_layers()."""
    cell = cell.strip().replace(" × ", "x").replace("MaxPool, ", "MaxPool ")
    cell = cell.replace("MaxPool(3)", "MaxPool 3x3").replace("(", "").replace(")", "")
    if cell[0].isdigit():
        return "Conv " + cell
    return cell.replace("Softmax", "Softmax").replace("SoftMax", "Softmax")


def table3(added: str, pooling: bool = True) -> list[str]:
    out = []
    for line in TABLE3.splitlines():
        kind, config = line.split("\t")
        if kind == "Added layer":
            out.append(added)
        elif kind == "Fully connected":
            out.append(f"FC {config}")
        elif kind == "SoftMax":
            out.append(f"Softmax {config}")
        elif pooling or kind != "Pooling":
            out.append(normalise(config))
    return out


def table7() -> dict[str, list[str]]:
    lines = [line.split("\t") for line in TABLE7.splitlines()]
    head = [h.replace(" ", "") for h in lines[0]]
    return {name: [normalise(row[i]) for row in lines[1:] if row[i].strip()]
            for i, name in enumerate(head)}


EXPECTED = {"dSPIC-AM": table3("AM"), "dSPIC-RM": table3("RM"), **table7(),
            "dSPIC-AM-nopool": table3("AM", pooling=False)}


def test_transcription_covers_the_registry():
    assert sorted(EXPECTED) == sorted(models.names())
    assert EXPECTED["dSPIC-AM"][:3] == ["Conv 11x11, 96, S=4, P=2", "MaxPool 3x3, S=2", "AM"]
    assert len(EXPECTED["SI_CLF+AM+RM"]) == 14 and EXPECTED["AlexNet"][-3] == "FC 1024"


@pytest.mark.parametrize("resolution", list(RESOLUTIONS))
@pytest.mark.parametrize("name", models.names())
def test_every_model_builds_with_the_tables_layer_sequence(name, resolution):
    model = models.build(name, input_shape=RESOLUTIONS[resolution])
    assert paper_layers(model) == EXPECTED[name]
    assert model.output_shape == (None, 3)
    assert model.paper_name == name


def test_explicit_paddings_are_real_zero_paddings():
    model = models.build("dSPIC-AM", input_shape=(1024, 256, 1))
    assert model.get_layer("conv1_pad").padding == ((2, 2), (2, 2))
    assert model.get_layer("conv1").padding == "valid"
    # P=3 on a 3x3 convolution grows the map by 4 per axis, as printed (64 x 16 -> 68 x 20 -> 72 x 24)
    assert model.get_layer("conv3").output.shape[1:3] == (68, 20)
    assert model.get_layer("conv4").output.shape[1:3] == (72, 24)
    table = summary.layer_table(model)
    assert table.loc["conv1", "output"] == "255 x 63 x 96"   # floor((1024 + 4 - 11) / 4) + 1 = 255


def test_parameter_count_by_hand():
    # dSPIC-AM with the default GAP head does not depend on the resolution
    convs = (11 * 11 * 1 + 1) * 96 + (25 * 96 + 1) * 256 + (9 * 256 + 1) * 384 \
        + (9 * 384 + 1) * 384 + (9 * 384 + 1) * 256
    cbam = (96 * 6 + 6) + (6 * 96 + 96) + (7 * 7 * 2 + 1)
    fcs = (256 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 3
    standardize = 3          # the input standardisation's mean, variance and count: weights, not trained
    for shape in RESOLUTIONS.values():
        model = models.build("dSPIC-AM", shape)
        assert model.count_params() == convs + cbam + fcs + standardize
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == convs + cbam + fcs
    literal = convs + cbam + fcs + standardize + (72 * 24 - 1) * 256 * 4096   # flatten of the 72 x 24 x 256 map
    assert summary.literal_parameters(models.build("dSPIC-AM", (1024, 256, 1))) == literal


@pytest.mark.parametrize("name", ["dSPIC-AM", "SI_CLF+AM+RM", "AlexNet", "dSPIC-AM-nopool"])
@pytest.mark.parametrize("resolution", ["smoke", "cpu"])
def test_literal_head_counts_match_a_built_literal_model(name, resolution):
    # narrow FC layers keep the literal (flatten) model small enough to build here
    shape = RESOLUTIONS[resolution]
    default = models.build(name, shape, fc_units=8)
    literal = models.build(name, shape, fc_units=8, head="flatten")
    assert literal.get_layer("flatten") is not None
    assert summary.literal_parameters(default) == literal.count_params()
    assert summary.literal_flops(default) == summary.flops(literal)


def test_flops_agree_with_the_tensorflow_profiler():
    from tensorflow.python.framework import ops
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = models.build("SI_CLF+AM+RM", SMOKE)
    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec((1, *SMOKE)))
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    graph = convert_variables_to_constants_v2(fn).graph
    total = tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops
    by_type: dict[str, int] = {}
    for op in graph.get_operations():
        try:
            flops = ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0
        except ValueError:   # op types without a FLOP count
            flops = 0
        by_type[op.type] = by_type.get(op.type, 0) + flops
    assert by_type["Conv2D"] + by_type["MatMul"] == summary.flops(model)
    assert summary.flops(model) / total > 0.99   # what the count leaves out is < 1 %


def test_valid_pool_padding_refuses_a_map_too_small_by_name():
    with pytest.raises(ConfigError, match=r"SI_CLF: layer pool2 .* 13x1 map"):
        models.build("SI_CLF", SMOKE, pool_padding="valid")
    assert models.build("SI_CLF", RESOLUTIONS["cpu"], pool_padding="valid").count_params() > 0


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown model 'dSPIC-XX'.*'dSPIC-AM'.*'AlexNet'"):
        models.build("dSPIC-XX", SMOKE)
    with pytest.raises(ConfigError, match="head"):
        models.build("dSPIC-AM", SMOKE, head="dense")
    with pytest.raises(ConfigError, match="output activation.*softmax.*sigmoid"):
        models.build("dSPIC-AM", SMOKE, output="tanh")
    with pytest.raises(ConfigError, match="fixes added"):
        models.build("dSPIC-AM", SMOKE, added="residual")
    with pytest.raises(ConfigError, match="added layer"):
        models.dspic(added="dropout", input_shape=SMOKE)
    with pytest.raises(ConfigError, match=r"input_shape must be 3 positive integers .*None"):
        models.build("AlexNet", (None, 32, 1))
    with pytest.raises(ConfigError, match=r"AlexNet: layer conv1 \(11x11 window\) gets a 6x6 map"):
        models.build("AlexNet", (6, 6, 1))


def test_get_config_returns_the_builder_arguments():
    model = models.dspic("residual", pooling=False, input_shape=SMOKE, num_classes=4, reduction=8)
    config = model.get_config()
    assert config == dict(builder="dspic", added="residual", pooling=False, input_shape=[128, 32, 1],
                          num_classes=4, head="gap", pool_padding="same", conv_padding="table", reduction=8, fc_units=None,
                          literal_eq6=False, output="softmax", init="he", standardize=True, seed=None,
                          name="dSPIC-RM-nopool")
    again = models.ZooModel.from_config(config)
    assert paper_layers(again) == paper_layers(model)


def two_tiny_images(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((2, *SMOKE), dtype=np.float32)
    y = np.array([[1, 0, 0], [0, 0.5, 0.5]], dtype=np.float32)   # an M&A image: two-hot, split
    return x, y


@pytest.mark.parametrize("name", models.names(reference=True))
def test_trains_one_step_on_two_tiny_images_without_nan(name):
    keras.utils.set_random_seed(0)
    model = models.build(name, SMOKE)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy")
    x, y = two_tiny_images()
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    after = [np.array(w) for w in model.trainable_weights]
    assert all(np.isfinite(w).all() for w in after)
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) == len(after)  # every weight moved


def eq1_like_images(n: int = 16, shape=(256, 64, 1), seed: int = 0) -> np.ndarray:
    """``n`` different images with the statistics of Eq. 1's output on the cohort (mean about 0.08,
    SD about 0.12, in [0, 1])."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.gamma(0.5, 0.16, (n, *shape)), 0, 1).astype(np.float32)


def logit_spread(model, x) -> float:
    """Mean over the outputs of the SD across images of the logits (the output layer's pre-activation)."""
    out = model.get_layer("softmax")
    features = keras.Model(model.input, out.input)(x)
    kernel, bias = out.get_weights()
    return float((np.asarray(features) @ kernel + bias).std(axis=0).mean())


def test_dspic_am_with_the_chosen_initialisation_tells_16_images_apart_at_init():
    from dspic_lib.config import get_profile
    from dspic_lib.pipeline.train import standardization

    x = eq1_like_images()
    chosen = get_profile("cpu", use_env=False).init
    model = models.build("dSPIC-AM", x.shape[1:], seed=0, init=chosen)
    models.set_standardization(model, *standardization(x, np.arange(len(x))))
    assert logit_spread(model, x) > 1e-3
    # the cause it fixes: Keras' default initialisation on the raw Eq. 1 input is a constant function
    default = models.build("dSPIC-AM", x.shape[1:], seed=0, init="glorot", standardize=False)
    assert logit_spread(default, x) < 1e-4


def test_the_input_standardisation_is_saved_with_the_weights(tmp_path):
    x = eq1_like_images(4, SMOKE)
    model = models.build("SI_CLF", SMOKE, seed=0)
    models.set_standardization(model, 0.08, 0.12)
    model.save_weights(tmp_path / "w.weights.h5")
    again = models.build("SI_CLF", SMOKE, seed=1)
    again.load_weights(tmp_path / "w.weights.h5")
    layer = again.get_layer("standardize")
    np.testing.assert_allclose(np.asarray(layer(x[:1])), (x[:1] - 0.08) / 0.12, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))
    with pytest.raises(ConfigError, match="without an input standardisation layer"):
        models.set_standardization(models.build("SI_CLF", SMOKE, standardize=False), 0.0, 1.0)
    with pytest.raises(DataError, match="positive SD"):
        models.set_standardization(model, 0.1, 0.0)


@pytest.mark.parametrize("name", models.names())
def test_round_trips_through_a_keras_file_in_safe_mode(name, tmp_path):
    # uncompiled: the file then holds builder arguments and weights only (no optimizer state)
    keras.utils.set_random_seed(1)
    model = models.build(name, SMOKE, num_classes=4)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = models.load(path)   # keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, models.ZooModel) and loaded.get_config() == model.get_config()
    x, _ = two_tiny_images(seed=2)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.predict(x, verbose=0).shape == (2, 4)


def test_conv_padding_same_keeps_the_maps_of_stride_1_convolutions():
    model = models.build("dSPIC-AM", (1024, 256, 1), conv_padding="same")
    assert summary.head_input_shape(model) == (64, 16, 256)   # pool2's map, not grown by P=3
    assert model.get_layer("conv1_pad").padding == ((2, 2), (2, 2))   # the strided conv1 keeps P=2
    # under valid pooling this is the reading with the 1.01 billion literal parameters
    valid = models.build("dSPIC-AM", (1024, 256, 1), conv_padding="same", pool_padding="valid")
    assert summary.head_input_shape(valid) == (63, 15, 256)
    assert round(summary.literal_parameters(valid) / 1e9, 2) == 1.01


@pytest.mark.parametrize("name", models.names())
def test_layer_table_puts_each_paper_cell_beside_its_row(name):
    table = summary.layer_table(models.build(name, SMOKE))
    cells = table.drop(index=["total", "gap", "standardize"])["paper"].tolist()
    assert [normalise(c.split(" (Attention")[0].replace("Convolution ", "").replace(
        "Pooling ", "").replace("Fully connected ", "FC ")) for c in cells] == EXPECTED[name]
    assert table.loc["gap", "paper"] == table.loc["standardize", "paper"] == "(not in the table)"
    assert table.loc["total", "parameters"] == models.build(name, SMOKE).count_params()


def test_load_names_a_missing_or_broken_file(tmp_path):
    with pytest.raises(DataError, match="nothing.keras: no such model file"):
        models.load(tmp_path / "nothing.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="broken.keras: not a Keras model file"):
        models.load(tmp_path / "broken.keras")


def test_seed_fixes_the_initial_weights_whatever_drew_random_numbers_before():
    first = models.build("SI_CLF+AM", SMOKE, seed=3).get_weights()
    keras.utils.set_random_seed(99)
    tf.random.uniform((5,))
    again = models.build("SI_CLF+AM", SMOKE, seed=3).get_weights()
    other = models.build("SI_CLF+AM", SMOKE, seed=4).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    kernels = [i for i, w in enumerate(first) if w.ndim > 1]
    assert all(not np.array_equal(first[i], other[i]) for i in kernels)
