"""The networks of the paper: dSPIC (Table 3), its four SI_CLF relatives and AlexNet (Table 7).

Each architecture is first written down as the list of rows of its table (``dspic_rows``,
``si_clf_rows``, ``alexnet_rows``); one generic constructor turns rows into a Keras functional model.
The rows are the tables, not an interpretation of them; the interpretation lives in three arguments,
each documented in chapter 03 with its cost:

``head``          Table 3 goes from the last 3x3 convolution straight to FC 4096. Flattening that map
                  ("flatten", the literal reading) gives the first FC layer ~1.8 billion weights at
                  1024 x 256. The default "gap" puts a global average pooling in front of the first FC
                  layer: every FC width stays as printed, and the parameter count no longer depends on
                  the image size, so the smoke, cpu and paper profiles train the same network.
``pool_padding``  the tables give max pooling no padding. "same" (default) keeps every border pixel in
                  a window (output ceil(n/2)); "valid" (output floor((n-3)/2)+1) cannot build the
                  SI_CLF family below 47 image columns (the smoke profile has 32).
``reduction``     the CBAM MLP ratio r, which the paper does not give (16, as in the CBAM paper).
``conv_padding``  "table" (default): the paddings as printed, so P=3 on a 3x3 convolution grows the map
                  by 4 pixels per axis; "same": every stride-1 convolution padded to keep its map
                  (P = k // 2), the reading under which the tables' maps would not grow.

Two choices the paper does not make (it names neither an initialiser nor any input scaling beyond
Eq. 1), each measured in chapter 03:

``init``          "he" (default): He-normal initialisation of every layer that feeds a ReLU, the standard
                  for AlexNet-like ReLU networks; "glorot": Keras' default (Glorot-uniform) everywhere.
                  Under Glorot on Eq. 1's small inputs (mean 0.08, SD 0.12) the activations of
                  dSPIC-AM shrink block by block and its logits differ across images by about 2e-5:
                  at initialisation the network is a constant function, and training sat on the
                  one-class plateau.
``standardize``   True (default): a ``keras.layers.Normalization`` layer right after the input, whose
                  mean and variance (one number each) are set from the training images only
                  (:func:`set_standardization`, called by the training loop); they are weights of the
                  model, saved with it, so prediction and Grad-CAM see the input training saw. Before
                  they are set the layer is the identity (mean 0, variance 1).

The plain CNN of :func:`plain_cnn_rows` is not a network of the paper: it is the reference that set the
synthetic cohort's difficulty (four 3x3 convolution + 2x2 pooling blocks, global average pooling),
trained by the same loop as every other network so a reader sees what this cohort allows.

Explicit paddings (P=2, P=3) are real zero paddings (a ZeroPadding2D layer before a "valid"
convolution). Convolutions and FC layers use ReLU (Eq. 11); the output is softmax, as in the paper
(``output="sigmoid"`` gives independent outputs instead, for the multi-label comparison of chapter 07).
"""
from __future__ import annotations

import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._tf import keras
from ..config import PROFILES
from ..errors import ConfigError, DataError
from ..options import look_up_option
from .blocks import cbam_block, residual_block

layers = keras.layers

PAPER_INPUT_SHAPE = PROFILES["paper"].input_shape   # (1024, 256, 1): rows x cols x channels
HEADS = ("gap", "flatten")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")
POOL_PADDINGS = ("same", "valid")
CONV_PADDINGS = ("table", "same")
INITS = {"he": "he_normal", "glorot": "glorot_uniform"}   # the initialiser of the layers that feed a ReLU
STANDARDIZE_LAYER = "standardize"


# ---------------------------------------------------------------- the tables, row by row
def conv(kernel: int, filters: int, stride: int = 1, pad: int = 0) -> tuple:
    return ("conv", kernel, filters, stride, pad)


def fc(units: int) -> tuple:
    return ("fc", units)


POOL = ("pool", 3, 2)   # MaxPool 3 x 3, S=2
POOL2 = ("pool", 2, 2)  # MaxPool 2 x 2, S=2 (the plain CNN)
GAP = ("gap",)          # global average pooling straight into the output (the plain CNN)
AM = ("am",)            # attention module, Eq. 6-8
RM = ("rm",)            # residual module, Eq. 9
ADDED = {"attention": [AM], "residual": [RM], None: []}


def dspic_rows(added: str | None = "attention", pooling: bool = True) -> list[tuple]:
    """Table 3. ``pooling=False`` removes its two pooling layers (Table 9)."""
    look_up_option(added, ADDED, what="added layer")
    rows = [conv(11, 96, 4, 2), POOL, *ADDED[added],
            conv(5, 256, 1, 2), POOL,
            conv(3, 384, 1, 3), conv(3, 384, 1, 3), conv(3, 256, 1, 1),
            fc(4096), fc(4096)]
    return rows if pooling else [r for r in rows if r != POOL]


def si_clf_rows(attention: bool = False, residual: bool = False) -> list[tuple]:
    """Table 7, columns SI_CLF, SI_CLF + AM, SI_CLF + RM, SI_CLF + AM + RM."""
    return [conv(11, 64, 4, 2), POOL,
            *([RM] if residual else []), *([AM] if attention else []),
            conv(7, 128, 1, 2), POOL,
            conv(5, 128, 1, 3), conv(3, 256, 1, 3), conv(3, 256, 1, 1),
            *([AM] if attention else []), POOL,
            fc(1024), fc(1024)]


def alexnet_rows() -> list[tuple]:
    """Table 7, column AlexNet (as printed: four convolutions, no pooling after the last one)."""
    return [conv(11, 64, 4, 2), POOL, conv(5, 256, 1, 2), POOL,
            conv(3, 384, 1, 3), conv(3, 384, 1, 3), fc(1024), fc(1024)]


def plain_cnn_rows() -> list[tuple]:
    """The reference network of the synthetic cohort (not in the paper): the plain CNN whose accuracy
    set the phantom's difficulty (``bench/bench_data.py --difficulty``)."""
    return [conv(3, 16, 1, 1), POOL2, conv(3, 32, 1, 1), POOL2, conv(3, 64, 1, 1), POOL2,
            conv(3, 64, 1, 1), POOL2, GAP]


ROWS: dict[str, Callable[..., list[tuple]]] = {
    "dspic": dspic_rows, "si_clf": si_clf_rows, "alexnet": alexnet_rows, "plain": plain_cnn_rows}


def paper_name(builder: str, **arch: Any) -> str:
    """The paper's name of an architecture: dSPIC-AM, SI_CLF+AM+RM, AlexNet, dSPIC-AM-nopool..."""
    if builder == "dspic":
        added = arch.get("added", "attention")
        name = "dSPIC" + {"attention": "-AM", "residual": "-RM", None: ""}[added]
        return name + ("" if arch.get("pooling", True) else "-nopool")
    if builder == "si_clf":
        return "SI_CLF" + ("+AM" if arch.get("attention") else "") + ("+RM" if arch.get("residual") else "")
    return "Plain CNN" if builder == "plain" else "AlexNet"


# ---------------------------------------------------------------- rows -> Keras model
@keras.saving.register_keras_serializable(package="dspic_lib")
class ZooModel(keras.Model):
    """A functional model built from table rows; ``get_config()`` returns the builder arguments.

    Saving writes those arguments and the weights; loading calls the builder again, so a `.keras`
    file loads with ``safe_mode=True`` (no Lambda layers, no pickled code).
    """

    def __init__(self, builder: str, input_shape=PAPER_INPUT_SHAPE, num_classes: int = 3, *,
                 head: str = "gap", pool_padding: str = "same", conv_padding: str = "table",
                 reduction: int = 16, fc_units: int | None = None, literal_eq6: bool = False,
                 output: str = "softmax", init: str = "he", standardize: bool = True,
                 seed: int | None = None, name: str | None = None, **arch: Any):
        look_up_option(builder, ROWS, what="builder")
        look_up_option(output, OUTPUT_ACTIVATIONS, what="output activation")
        look_up_option(head, HEADS, what="head")
        look_up_option(pool_padding, POOL_PADDINGS, what="pool_padding")
        look_up_option(conv_padding, CONV_PADDINGS, what="conv_padding")
        look_up_option(init, INITS, what="init")
        try:
            rows = ROWS[builder](**arch)
        except TypeError as err:
            raise ConfigError(f"{builder}: bad argument ({err})") from None
        try:   # the attention module and the checks below need a fixed image size
            input_shape = tuple(int(d) for d in input_shape)
        except (TypeError, ValueError):
            raise ConfigError(f"input_shape must be 3 positive integers (rows, cols, channels), "
                              f"got {input_shape!r}") from None
        if len(input_shape) != 3 or min(input_shape) < 1:
            raise ConfigError(f"input_shape must be 3 positive integers (rows, cols, channels), "
                              f"got {input_shape!r}")
        if int(num_classes) < 2 or int(reduction) < 1:
            raise ConfigError(f"need num_classes >= 2 and reduction >= 1, got {num_classes}, {reduction}")
        # "+" is not allowed in TensorFlow name scopes: SI_CLF+AM is called SI_CLF-AM inside Keras
        name = (name or paper_name(builder, **arch)).replace("+", "-").replace(" ", "_")
        inputs = keras.Input(shape=input_shape, name="image")
        x = layers.Normalization(axis=None, name=STANDARDIZE_LAYER)(inputs) if standardize else inputs
        if conv_padding == "same":
            rows = [(r[0], r[1], r[2], r[3], r[1] // 2) if r[0] == "conv" and r[3] == 1 else r
                    for r in rows]
        x = _stack(x, rows, name=name, head=head, pool_padding=pool_padding, reduction=int(reduction),
                   fc_units=fc_units, literal_eq6=literal_eq6, init=INITS[init])
        # float32 outputs also under a mixed-precision policy (softmax and the loss in full precision)
        outputs = layers.Dense(int(num_classes), activation=output, name=output, dtype="float32")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name)
        if seed is not None:
            _reseed(self, int(seed))
        self.builder_args = dict(builder=builder, **arch, input_shape=list(input_shape),
                                 num_classes=int(num_classes), head=head, pool_padding=pool_padding,
                                 conv_padding=conv_padding, reduction=int(reduction), fc_units=fc_units,
                                 literal_eq6=bool(literal_eq6), output=output, init=init,
                                 standardize=bool(standardize), seed=seed, name=name)

    @property
    def paper_name(self) -> str:
        args = {k: v for k, v in self.builder_args.items() if k in ("added", "pooling", "attention", "residual")}
        return paper_name(self.builder_args["builder"], **args)

    def get_config(self) -> dict[str, Any]:
        return dict(self.builder_args)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ZooModel":
        return cls(**config)


def _stack(x, rows, *, name, head, pool_padding, reduction, fc_units, literal_eq6, init):
    """Apply the rows in order; layer names are <row kind><index>[_part], e.g. conv3_pad, conv3."""
    count: dict[str, int] = defaultdict(int)
    for row in rows:
        kind = row[0]
        count[kind] += 1
        tag = f"{kind}{count[kind]}"
        _fits(x, row, tag, name, pool_padding)
        if kind == "conv":
            _, kernel, filters, stride, pad = row
            if pad:
                x = layers.ZeroPadding2D(pad, name=f"{tag}_pad")(x)
            x = layers.Conv2D(filters, kernel, strides=stride, activation="relu", kernel_initializer=init,
                              name=tag)(x)
        elif kind == "pool":
            x = layers.MaxPooling2D(row[1], strides=row[2], padding=pool_padding, name=tag)(x)
        elif kind == "am":
            x = cbam_block(x, reduction, name=tag, literal_eq6=literal_eq6, init=init)
        elif kind == "rm":
            x = residual_block(x, name=tag, init=init)
        elif kind == "gap":
            x = layers.GlobalAveragePooling2D(name="gap")(x)
        elif kind == "fc":
            if count["fc"] == 1:   # the FC ambiguity: see the module docstring
                x = (layers.GlobalAveragePooling2D(name="gap") if head == "gap"
                     else layers.Flatten(name="flatten"))(x)
            x = layers.Dense(fc_units or row[1], activation="relu", kernel_initializer=init, name=tag)(x)
    return x


def _reseed(model, seed: int) -> None:
    """Draw every kernel again from its own initializer, seeded by ``seed`` and the layer's position,
    so that the same seed gives the same initial weights whatever else drew random numbers before."""
    for index, layer in enumerate(model.layers):
        if hasattr(layer, "kernel_initializer") and getattr(layer, "kernel", None) is not None:
            config = {**layer.kernel_initializer.get_config(), "seed": seed * 1000 + index}
            init = type(layer.kernel_initializer).from_config(config)
            layer.kernel.assign(init(layer.kernel.shape, layer.kernel.dtype))


def set_standardization(model, mean: float, std: float) -> None:
    """Set the input standardisation of ``model`` (its :data:`STANDARDIZE_LAYER`) to ``(x - mean) / std``;
    ``mean`` and ``std`` come from the training images only. A model built with ``standardize=False``
    is refused by name."""
    import numpy as np

    try:
        layer = model.get_layer(STANDARDIZE_LAYER)
    except ValueError:
        raise ConfigError(f"{model.name}: built without an input standardisation layer") from None
    if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
        raise DataError(f"input standardisation needs a finite mean and a positive SD, got {mean}, {std}")
    layer.adapt_mean.assign(np.full(layer.adapt_mean.shape, mean, np.float32))
    layer.adapt_variance.assign(np.full(layer.adapt_variance.shape, std * std, np.float32))
    layer.finalize_state()


def load(path) -> "ZooModel":
    """Load a model saved with ``model.save(path)`` (a ``.keras`` file), in Keras' safe mode."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a Keras model file this version can read ({err})") from None


def _fits(x, row, tag: str, name: str, pool_padding: str) -> None:
    """Refuse, by name, a layer whose window does not fit the map it gets."""
    if len(x.shape) != 4:
        return
    rows, cols = x.shape[1], x.shape[2]
    if row[0] == "conv":
        need = row[1] - 2 * row[4]
    elif row[0] == "pool" and pool_padding == "valid":
        need = row[1]
    else:
        return
    if min(rows, cols) < need:
        raise ConfigError(f"{name}: layer {tag} ({row[1]}x{row[1]} window) gets a {rows}x{cols} map; "
                          f"the input image is too small for this network")


# ---------------------------------------------------------------- builders (the public API)
def dspic(added: str | None = "attention", pooling: bool = True, *, input_shape=PAPER_INPUT_SHAPE,
          num_classes: int = 3, **options: Any) -> ZooModel:
    """dSPIC (Table 3) with the attention module (dSPIC-AM), the residual module (dSPIC-RM) or none.

    ``options``: head ("gap" | "flatten"), pool_padding ("same" | "valid"), conv_padding ("table" |
    "same"), reduction (16), fc_units (None = the table's 4096), literal_eq6 (False),
    seed (None = Keras' global random state; an int gives the same initial weights every time), name.
    """
    return ZooModel("dspic", input_shape, num_classes, added=added, pooling=bool(pooling), **options)


def si_clf(attention: bool = False, residual: bool = False, *, input_shape=PAPER_INPUT_SHAPE,
           num_classes: int = 3, **options: Any) -> ZooModel:
    """The SI_CLF comparators of Table 7 (FC 1024), optionally with AM and/or RM."""
    return ZooModel("si_clf", input_shape, num_classes, attention=bool(attention),
                    residual=bool(residual), **options)


def plain_cnn(*, input_shape=PAPER_INPUT_SHAPE, num_classes: int = 3, **options: Any) -> ZooModel:
    """The plain CNN that set the synthetic cohort's difficulty (not a network of the paper)."""
    return ZooModel("plain", input_shape, num_classes, **options)


def alexnet(*, input_shape=PAPER_INPUT_SHAPE, num_classes: int = 3, **options: Any) -> ZooModel:
    """AlexNet as Table 7 prints it (64 filters in conv1, FC 1024)."""
    return ZooModel("alexnet", input_shape, num_classes, **options)


REGISTRY: dict[str, tuple[Callable[..., ZooModel], dict[str, Any]]] = {
    "dSPIC-AM": (dspic, {"added": "attention"}),
    "dSPIC-RM": (dspic, {"added": "residual"}),
    "SI_CLF": (si_clf, {}),
    "SI_CLF+AM": (si_clf, {"attention": True}),
    "SI_CLF+RM": (si_clf, {"residual": True}),
    "SI_CLF+AM+RM": (si_clf, {"attention": True, "residual": True}),
    "AlexNet": (alexnet, {}),
    "dSPIC-AM-nopool": (dspic, {"added": "attention", "pooling": False}),
    "Plain CNN": (plain_cnn, {}),
}
REFERENCE_MODELS = ("Plain CNN",)   # in the registry, not in the paper


def names(reference: bool = False) -> list[str]:
    """The registered model names of the paper, in its order (and the reference models after them,
    with ``reference=True``)."""
    return [n for n in REGISTRY if reference or n not in REFERENCE_MODELS]


def build(name: str, input_shape=PAPER_INPUT_SHAPE, num_classes: int = 3, **options: Any) -> ZooModel:
    """Build a registered model by its paper name, e.g. ``build("dSPIC-AM", (256, 64, 1))``."""
    look_up_option(name, REGISTRY, what="model")
    builder, preset = REGISTRY[name]
    clash = sorted(set(preset) & set(options))
    if clash:
        raise ConfigError(f"model {name!r} fixes {', '.join(clash)}; pick another model name instead")
    return builder(**preset, input_shape=input_shape, num_classes=num_classes, **options)
