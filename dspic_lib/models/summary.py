"""Read a built model back as a table like the paper's: one row per table row, from the Keras layers.

Nothing here is typed in: kernel, stride, padding, output shape, parameters and FLOPs are read from
the layers of the model. Layers are grouped into rows by their name prefix (``conv3_pad`` and
``conv3`` form the row ``conv3``; the dozen layers of ``am1`` form one "AM" row).

FLOPs are counted as 2 x multiply-accumulates of the convolutions and the dense layers (the usual
convention for CNN FLOP counts); pooling, activations, bias additions and the attention module's
element-wise products are left out (they add well under 1 %, see ``tests/test_models.py``).
"""
from __future__ import annotations

import functools
import math

import pandas as pd

from .._tf import keras
from ..errors import ConfigError
from .tables import PAPER_ROWS

layers = keras.layers


def layer_io(layer):
    """(input shape, output shape) of every call of a layer (the CBAM MLP is called twice)."""
    return [(tuple(node.input_tensors[0].shape), tuple(node.outputs[0].shape))
            for node in layer._inbound_nodes if node.input_tensors]


def layer_flops(layer) -> int:
    """2 x multiply-accumulates of one Conv2D or Dense layer over all its calls; 0 for other layers."""
    total = 0
    for shape_in, shape_out in layer_io(layer):
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            total += 2 * math.prod(shape_out[1:]) * kh * kw * shape_in[-1]
        elif isinstance(layer, layers.Dense):
            total += 2 * math.prod(shape_out[1:-1]) * shape_in[-1] * layer.units
    return total


def flops(model) -> int:
    """FLOPs of one forward pass for one image (see the module docstring for what is counted)."""
    return sum(layer_flops(layer) for layer in model.layers)


def _groups(model) -> dict[str, list]:
    groups: dict[str, list] = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.InputLayer):
            groups.setdefault(layer.name.split("_")[0], []).append(layer)
    return groups


def _shape(layer) -> str:
    return " x ".join(str(d) for d in layer_io(layer)[-1][1][1:])


def _describe(tag: str, group: list) -> dict:
    """The paper's wording of a row (``layer``) and its kernel, stride and padding."""
    last = group[-1]
    kind = tag.rstrip("0123456789")
    if kind == "conv":
        pads = [g for g in group if isinstance(g, layers.ZeroPadding2D)]
        pad = pads[0].padding[0][0] if pads else 0
        k, s = last.kernel_size[0], last.strides[0]
        return dict(layer=f"Conv {k}x{k}, {last.filters}, S={s}, P={pad}", kernel=f"{k}x{k}",
                    stride=s, padding=str(pad))
    if kind == "pool":
        k, s = last.pool_size[0], last.strides[0]
        return dict(layer=f"MaxPool {k}x{k}, S={s}", kernel=f"{k}x{k}", stride=s, padding=last.padding)
    if kind == "am":
        mlp = next(g for g in group if g.name.endswith("_channel_mlp_hidden"))
        r = layer_io(mlp)[0][0][-1] // mlp.units
        return dict(layer="AM", kernel=f"MLP C/{r}; 7x7", stride=1, padding="same")
    if kind == "rm":
        return dict(layer="RM", kernel="3x3, 3x3", stride=1, padding="1")
    if kind == "gap":
        return dict(layer="GlobalAvgPool", kernel="", stride="", padding="")
    if kind == "standardize":
        return dict(layer="Standardize", kernel="(x - mean) / SD", stride="", padding="")
    if kind == "flatten":
        return dict(layer="Flatten", kernel="", stride="", padding="")
    if kind == "fc":
        return dict(layer=f"FC {last.units}", kernel="", stride="", padding="")
    if kind == "softmax":
        return dict(layer=f"Softmax {last.units}", kernel="", stride="", padding="")
    return dict(layer=type(last).__name__, kernel="", stride="", padding="")


# rows the tables do not print: the FC ambiguity, and the input standardisation (zoo's ``standardize``)
ADDED_HERE = ("GlobalAvgPool", "Flatten", "Standardize")


def layer_table(model) -> pd.DataFrame:
    """One row per table row: the paper's cell, then layer, kernel, stride, padding, output shape,
    parameters and MFLOPs read from the model. Rows the paper does not print say so."""
    paper = iter(PAPER_ROWS.get(getattr(model, "paper_name", model.name), []))
    rows = []
    for tag, group in _groups(model).items():
        described = _describe(tag, group)
        cell = "(not in the table)" if described["layer"] in ADDED_HERE else next(paper, "?")
        rows.append(dict(block=tag, paper=cell, **described, output=_shape(group[-1]),
                         parameters=sum(g.count_params() for g in group),
                         MFLOPs=round(sum(layer_flops(g) for g in group) / 1e6, 1)))
    table = pd.DataFrame(rows).set_index("block")
    table.loc["total"] = [""] * 6 + [table["parameters"].sum(), round(flops(model) / 1e6, 1)]
    return table


def head_input_shape(model) -> tuple[int, int, int]:
    """(rows, cols, channels) of the map that reaches the first FC layer (through GAP or Flatten)."""
    head = next(layer for layer in model.layers if layer.name in ("gap", "flatten"))
    return tuple(int(d) for d in layer_io(head)[0][0][1:])


def head_options(model) -> pd.DataFrame:
    """Weights of the first FC layer, and of the whole model, for ways to feed it the last map.

    Computed from the map shape (no model with a billion weights is allocated): ``flatten`` is the
    literal Table 3/7, ``maxpool + flatten`` one more 3x3/S2 pooling, ``adaptive 6x6`` the head of
    torchvision's AlexNet, ``gap`` global average pooling (this book's default).
    """
    rows, cols, channels = head_input_shape(model)
    units = model.get_layer("fc1").units
    own_fc1 = model.get_layer("fc1").count_params()
    rest = model.count_params() - own_fc1
    inputs = {"flatten (literal)": rows * cols * channels,
              "maxpool 3x3/S2 (same) + flatten": math.ceil(rows / 2) * math.ceil(cols / 2) * channels,
              "adaptive avg 6x6 + flatten": 6 * 6 * channels,
              "global average pooling (default)": channels}
    table = pd.DataFrame({"FC1 inputs": inputs})
    table["FC1 weights"] = table["FC1 inputs"] * units + units
    table["model parameters"] = table["FC1 weights"] + rest
    table["FC1 GFLOP/image"] = (2 * table["FC1 inputs"] * units / 1e9).round(3)
    table["float32 weights (GB)"] = (table["model parameters"] * 4 / 1e9).round(3)
    return table


def literal_parameters(model) -> int:
    """Parameters the same model would have with the literal (flatten) head, computed, not built."""
    return int(head_options(model).loc["flatten (literal)", "model parameters"])


def literal_flops(model) -> int:
    """FLOPs per image of the same model with the literal (flatten) head, computed, not built."""
    rows, cols, channels = head_input_shape(model)
    units = model.get_layer("fc1").units
    return flops(model) - layer_flops(model.get_layer("fc1")) + 2 * rows * cols * channels * units


@functools.lru_cache(maxsize=24)
def _cached(name: str, shape: tuple, options: tuple):
    from .zoo import build

    return build(name, shape, **dict(options))


def built(name: str, shape, **options):
    """``models.build`` for reading only: the same arguments give the same (shared) model, so a
    chapter that tabulates a model several times builds it once. Do not train what this returns."""
    return _cached(name, tuple(shape), tuple(sorted(options.items())))


def totals(names, shapes: dict[str, tuple], **options) -> pd.DataFrame:
    """Parameters and GFLOP per image of registered models at several resolutions, with the
    default head and (computed, not built) with the literal flatten head."""
    rows = {}
    for name in names:
        row = {}
        for label, shape in shapes.items():
            model = built(name, shape, **options)
            row[(label, "parameters")] = model.count_params()
            row[(label, "GFLOP/image")] = round(flops(model) / 1e9, 3)
            row[(label, "literal parameters")] = literal_parameters(model)
            row[(label, "literal GFLOP/image")] = round(literal_flops(model) / 1e9, 3)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["resolution", ""])
    return table.rename_axis("model")


def variants(name: str, shapes: dict[str, tuple], readings: dict[str, dict]) -> pd.DataFrame:
    """One registered model under several readings of the table (builder options) at several
    resolutions: parameters, literal-head parameters, GFLOP per image, or why it cannot be built."""
    rows = []
    for reading, options in readings.items():
        for label, shape in shapes.items():
            row = dict(reading=reading, resolution=label)
            try:
                model = built(name, shape, **options)
            except ConfigError as err:
                rows.append(dict(row, head_input="cannot be built", error=str(err)))
                continue
            rows.append(dict(row, head_input=" x ".join(map(str, head_input_shape(model))),
                             parameters=model.count_params(), literal_parameters=literal_parameters(model),
                             GFLOP_per_image=round(flops(model) / 1e9, 3), error=""))
    table = pd.DataFrame(rows).set_index(["reading", "resolution"])
    for column in ("parameters", "literal_parameters"):   # NaN where a reading cannot be built
        table[column] = table[column].astype("Int64")
    return table[["head_input", "parameters", "literal_parameters", "GFLOP_per_image", "error"]]


def signal_at_init(model, images) -> pd.DataFrame:
    """How much of the input's signal each row of ``model`` passes on before any training: the RMS of
    the row's output over ``images`` (``(n, rows, cols, 1)``), row by row as :func:`layer_table` groups
    them, the input first (as the first layer sees it: standardised when the model standardises); and, as the last row ``logits``, the SD across the images of the output
    layer's pre-activation (averaged over the outputs): near 0, the network is a constant function."""
    import numpy as np

    groups = _groups(model)
    tags = [t for t in groups if t not in ("softmax", "sigmoid")]
    probe = keras.Model(model.input, [groups[t][-1].output for t in tags] + [model.layers[-1].input])
    outs = probe(np.asarray(images, np.float32), training=False)
    rms = {t: float(np.sqrt(np.mean(np.square(np.asarray(o, np.float64))))) for t, o in zip(tags, outs[:-1])}
    # "input": what the first layer sees (the standardised images when the model standardises them)
    rows = [("input", rms.pop("standardize", float(np.sqrt(np.mean(np.square(images))))))]
    rows += list(rms.items())
    kernel, bias = (np.asarray(w, np.float64) for w in model.layers[-1].get_weights())
    logits = np.asarray(outs[-1], np.float64) @ kernel + bias
    rows.append(("logits", float(logits.std(axis=0).mean())))
    return pd.DataFrame(rows, columns=["row", "value"])
