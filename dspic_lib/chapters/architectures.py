"""The tables and sentences of chapter 03 (the networks of Tables 3, 7 and 9 and the choices they leave).

The chapter builds the models (:mod:`dspic_lib.models.summary`) and calls these functions for what
it shows: which table each network comes from, the resolutions it compares, the memory a literal
reading would need on the paper's machine, and the sentences that quote the computed counts.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence

import pandas as pd

# Bytes per parameter while training with Adam in float32: the weight, its gradient and two moments
TRAINING_BYTES_PER_PARAMETER = 16
WEIGHT_BYTES_PER_PARAMETER = 4

# The readings of Table 3's paddings that the chapter compares (label: build options)
READINGS = {"as printed, same pools (default)": {}, "P=3 read as same (P=1)": {"conv_padding": "same"},
            "valid pools": {"pool_padding": "valid"},
            "valid pools, P read as same": {"pool_padding": "valid", "conv_padding": "same"}}
POOL_READINGS = {"same pools (default)": {}, "valid pools": {"pool_padding": "valid"}}


def paper_table(name: str) -> str:
    """The paper's table that defines the network ``name``: Table 9 (no pooling), 3 (dSPIC) or 7."""
    if name.endswith("nopool"):
        return "Table 9"
    return "Table 3" if name.startswith("dSPIC") else "Table 7"


def model_names_table(names: Sequence[str]) -> pd.DataFrame:
    """One row per network: its name and the paper's table it comes from."""
    return pd.DataFrame({"model": list(names), "paper's table": [paper_table(n) for n in names]})


def source_markdown(obj) -> str:
    """The source code of ``obj`` as a fenced Python block."""
    return f"```python\n{inspect.getsource(obj)}```"


def ram_gb(machine: str) -> float:
    """The memory in GB named in the paper's description of its machine (``"... 64 GB ..."``)."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*GB", machine)
    if m is None:
        raise ValueError(f"no memory size in GB in the machine description {machine!r}")
    return float(m.group(1))


def training_gb(parameters: int) -> float:
    """GB of float32 weights, gradients and Adam's two moments for ``parameters`` parameters."""
    return parameters * TRAINING_BYTES_PER_PARAMETER / 1e9


def literal_memory_sentence(literal: int, nopool: int, default: int, machine: str, shape: Sequence[int]) -> str:
    """What the literal (flattened) head of dSPIC-AM at ``shape`` would cost in memory against the
    paper's machine, with the no-pooling network's and this book's default parameter counts."""
    need, ram = training_gb(literal), ram_gb(machine)
    return (
        f"Read literally, dSPIC-AM at {shape[0]} x {shape[1]} has **{literal / 1e9:.2f} billion parameters**: "
        f"{literal * WEIGHT_BYTES_PER_PARAMETER / 1e9:.1f} GB of float32 weights and {need:.0f} GB with their "
        f"gradients and Adam's two moments, before a single activation is stored. The paper's machine (Table 4: "
        f"{machine}) had {ram:.0f} GB of memory, "
        + ("less than the weights and optimizer state alone" if need > ram else
           f"only {ram - need:.0f} GB more than the weights and optimizer state need, leaving "
           "too little for the activations of a batch of 1024 x 256 images")
        + f". Without pooling (Table 9) the literal network has {nopool / 1e9:.1f} billion parameters. "
        f"This book's default, a global average pooling before the first FC layer, has "
        f"{default / 1e6:.1f} million parameters at every resolution.")


def padding_sentence(layers: pd.DataFrame, shape: Sequence[int]) -> str:
    """How the map grows through conv3 and conv4 (P=3 on 3 x 3), from a layer table."""
    return (f"At {shape[0]} x {shape[1]} the map grows from {layers.at['pool2', 'output']} after pool2 to "
            f"{layers.at['conv3', 'output']} after conv3 and {layers.at['conv4', 'output']} after conv4 "
            "(rows x columns x channels).")


def smallest_reading_sentence(literal_parameters: pd.Series, shape: Sequence[int]) -> str:
    """The smallest literal network over the readings (``literal_parameters``, first = as printed)."""
    return (f"The literal network is smallest under the last reading, valid pools with \"same\" "
            f"convolutions: {literal_parameters.min() / 1e9:.2f} billion parameters at {shape[0]} x {shape[1]}, "
            f"against {literal_parameters.iloc[0] / 1e9:.2f} billion as printed (P=3). Valid pooling has a cost "
            "beyond a pixel per map: the SI_CLF networks have a 7 x 7 convolution with only P=2 after the first "
            "pooling, and at the smoke resolution their map becomes one pixel wide before the second 3 x 3 "
            "pooling window:")


def counts(model) -> dict[str, float]:
    """Parameters and FLOPs per image of a built model, as built and read literally."""
    from dspic_lib.models import summary

    return {"parameters": model.count_params(), "flops": summary.flops(model),
            "literal_parameters": summary.literal_parameters(model), "literal_flops": summary.literal_flops(model)}


def size_sentence(name: str, shape: Sequence[int], counts: Mapping[str, float]) -> str:
    """Parameters and GFLOP per image of ``name`` as built and read literally (``counts``: parameters,
    flops, literal_parameters, literal_flops, as :func:`counts` gives them)."""
    return (f"{name} at {shape[0]} x {shape[1]}: **{int(counts['parameters']):,} parameters** and "
            f"{counts['flops'] / 1e9:.1f} GFLOP per image as built here; "
            f"{int(counts['literal_parameters']):,} parameters and "
            f"{counts['literal_flops'] / 1e9:.1f} GFLOP per image read literally.")


INIT_CHOICES = {   # label -> (init, standardize) of models.build
    "Keras default: Glorot-uniform, Eq. 1 input": ("glorot", False),
    "He-normal, standardised input (this book)": ("he", True),
}


def init_signal(names: Sequence[str], images, seed: int = 0) -> pd.DataFrame:
    """:func:`~dspic_lib.models.summary.signal_at_init` of each network in ``names`` under both
    :data:`INIT_CHOICES`, built at the images' size with ``seed``; the standardisation is set from the
    images' own mean and SD. Long format: network, choice, row, value."""
    import numpy as np

    from dspic_lib import models
    from dspic_lib.models import summary

    images = np.asarray(images, np.float32)
    images = images[..., None] if images.ndim == 3 else images
    mean, sd = float(images.mean(dtype=np.float64)), float(images.std(dtype=np.float64))
    parts = []
    for name in names:
        for label, (init, standardize) in INIT_CHOICES.items():
            model = models.build(name, input_shape=images.shape[1:], seed=seed, init=init, standardize=standardize)
            if standardize:
                models.set_standardization(model, mean, sd)
            parts.append(summary.signal_at_init(model, images).assign(network=name, choice=label))
    return pd.concat(parts, ignore_index=True)[["network", "choice", "row", "value"]]


def logit_spread_table(signal: pd.DataFrame) -> pd.DataFrame:
    """The logits' SD across images, network by choice (the last row of :func:`init_signal`)."""
    t = signal[signal["row"] == "logits"].pivot(index="network", columns="choice", values="value")
    return t[list(INIT_CHOICES)]


def init_sentence(signal: pd.DataFrame, n_images: int) -> str:
    """What the figure shows, in numbers read from it."""
    t = logit_spread_table(signal)
    default, chosen = list(INIT_CHOICES)
    ratio = (t[chosen] / t[default])
    return (f"Across {n_images} images of the cohort the logits of the untrained networks differ by "
            f"{t[default].min():.1e} to {t[default].max():.1e} (SD) under Keras' default, and by "
            f"{t[chosen].min():.1e} to {t[chosen].max():.1e} with He-normal weights on a standardised input: "
            f"{ratio.min():,.0f} to {ratio.max():,.0f} times more. Under the default a network starts as a "
            "nearly constant function of its input, and its first gradients carry almost no information "
            "about which image is which.")
