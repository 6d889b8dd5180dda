"""Where does a network look? Grad-CAM, the attention module's own map, and the pointing game.

**Grad-CAM** (Selvaraju et al. 2017) explains one class score ``y_c`` of one image with one
convolutional layer's activations ``A`` (a ``h x w x K`` map). The gradient ``dy_c/dA`` says how much
each cell of each channel would raise the score; its spatial mean is a weight ``a_k`` per channel, and
the map is ``ReLU(sum_k a_k A_k)``: the cells whose channels speak *for* the class. The score is the
class's pre-softmax logit, as Selvaraju et al. take it (through the softmax, every class's gradient
would carry the others'), recomputed from the input of the final ``Dense`` layer named ``softmax``
with that layer's own weights, so no second model is needed. Each map is scaled to a maximum of 1 (a
map that is zero everywhere stays zero): Grad-CAM maps say *where*, not *how much*, and are compared
image by image. The maps are computed for the class asked for, by default the predicted one.

**Which layer.** The default is :func:`last_conv_layer`: the last ``Conv2D`` of the network that is
not part of an attention block, ``conv5`` in every dSPIC and SI_CLF model. The attention module ends
in a 7 x 7 convolution with one output channel (``am1_spatial_conv7x7``): that is the attention map
itself, not a feature map, and a one-channel Grad-CAM is only that map rescaled. The last convolution
keeps the most class-specific features with some spatial resolution left (Selvaraju et al.'s choice).

**Back onto the image.** A map of ``h x w`` cells is brought onto the ``rows x cols`` image by bilinear
interpolation between *the image pixels at the centres of the cells' receptive fields*, worked out
layer by layer from the kernels, strides and paddings (:func:`map_to_image`). The usual recipe, a
plain resize that stretches the map over the image (``tf.image.resize``), assumes the map tiles the
image. Here it does not: Table 3 pads the 3 x 3 convolutions by 3 (P=3), so each of conv3 and conv4
grows the map by 2 cells per side, and at 256 x 64 only the middle 16 x 4 of conv5's 24 x 12 cells lie
over the image (the other cells' centres lie in the zero padding). Stretched, a hot spot at the
image's edge would be drawn a third of the way in. ``align=False`` gives the plain resize, for
comparison. Beyond the outermost cell centres the map keeps its edge value.

**The attention map** (:func:`attention_map`) is the spatial attention ``f_s`` of Eq. 8 in a CBAM
block (sigmoid, one value per cell of the block's map, in ``[0, 1]``), brought onto the image the same
way; it is the network's own answer to "where", learnt, for every class at once.

**The pointing game** (Zhang et al. 2016) asks one question of a map: does its maximum fall on a
lesion? A hit is an image whose arg-max pixel (the first in row-major order, i.e. the highest, then the
leftmost, when several pixels share the maximum) lies inside one of its LabelMe boxes enlarged by
``tolerance_px`` on every side (a pixel counts by its centre, a box edge by ``<=``: a pixel exactly
``tolerance_px`` outside a box is a hit). Zhang et al. allow 15 pixels on images about 224 pixels
wide; scaled to this grid, :func:`default_tolerance` gives ``15 * cols / 224`` pixels
(:data:`POINTING_TOLERANCE_PX` at :data:`POINTING_REFERENCE_WIDTH`): 2.1 px at 32 columns, 4.3 px at
64, 17.1 px at 256. The enlargement is a rectangle, not Zhang et al.'s disc around the annotation.

**Baseline.** A map that always points at the image centre (:func:`centre_prior`, the baseline of
Zhang et al.) scores the same images; a method is only informative where it beats it. On whole-body
scans the centre lies on the pelvis and lumbar spine, where metastases often are, so the baseline is
not a weak one. Only images with a lesion box can be scored: a normal image has nothing to point at.

Maps are ``float32`` arrays ``(n, rows, cols)`` on the grid of the images; boxes ``(k, 4)`` arrays of
``(x0, y0, x1, y1)`` in pixel coordinates of the same grid, pixel ``c`` covering ``[c, c + 1)``.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dspic_lib._tf import keras, tf
from dspic_lib.errors import ConfigError, DataError
from dspic_lib.options import look_up_option
from dspic_lib.vocab import CLASSES, OUTPUTS

POINTING_TOLERANCE_PX = 15.0        # Zhang et al. 2016: 15 px ...
POINTING_REFERENCE_WIDTH = 224      # ... on images about 224 px wide
ATTENTION_MAP_SUFFIX = "_spatial_conv7x7"   # f_s of a CBAM block (models/blocks.py)
POINTING_COLUMNS = ["images", "hits", "hit rate", "baseline hits", "baseline hit rate"]

# One gradient (or attention) sub-model per (model, layer), built on first use and dropped with the model
_SUBMODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# ------------------------------------------------------------------------------------------ layers
def _conv_layers(model) -> list[str]:
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _attention_blocks(model) -> list[str]:
    return [name[: -len(ATTENTION_MAP_SUFFIX)] for name in _conv_layers(model)
            if name.endswith(ATTENTION_MAP_SUFFIX)]


def last_conv_layer(model) -> str:
    """Name of the last ``Conv2D`` layer (4-D output) that is not part of an attention block.

    The attention module's 7 x 7 one-channel convolution (``am<k>_spatial_conv7x7``) computes the
    attention map, not features, and is left out; the residual module's convolutions are feature
    convolutions and count. dSPIC-AM, dSPIC-RM and the SI_CLF family: ``conv5``; AlexNet: ``conv4``.
    """
    blocks = tuple(f"{b}_" for b in _attention_blocks(model))
    names = [n for n in _conv_layers(model) if not n.startswith(blocks)]
    names = [n for n in names if len(model.get_layer(n).output.shape) == 4]
    if not names:
        raise ConfigError(f"model {model.name!r} has no convolutional layer outside an attention block")
    return names[-1]


def _spatial_layer(model, layer: str | None) -> str:
    """``layer`` checked: a layer of ``model`` with a 4-D (batch, h, w, channels) output."""
    if layer is None:
        return last_conv_layer(model)
    convs = ", ".join(map(repr, _conv_layers(model))) or "none"
    try:
        found = model.get_layer(layer)
    except ValueError:
        raise ConfigError(f"model {model.name!r} has no layer {layer!r}; its convolutional layers: {convs}") from None
    if len(found.output.shape) != 4:
        raise ConfigError(f"layer {layer!r} of model {model.name!r} has output shape {tuple(found.output.shape)}, "
                          f"not a spatial map (batch, rows, cols, channels); its convolutional layers: {convs}")
    return layer


# ------------------------------------------------------------------- from map cells to image pixels
@dataclass(frozen=True)
class Grid:
    """Where the cells of a layer's map sit on the input image, per axis (rows, cols): cell ``i`` is
    centred on input pixel index ``start + i * step`` (fractional; pixel ``p`` is centred on ``p``)."""
    shape: tuple[int, int]
    start: tuple[float, float]
    step: tuple[float, float]


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if np.isscalar(value) else tuple(int(v) for v in value)


def _sides(value) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D / Cropping2D amounts as ((top, bottom), (left, right))."""
    if np.isscalar(value):
        return (int(value),) * 2, (int(value),) * 2
    a, b = value
    return (_pair(a), _pair(b))


def _grid_of(tensor, memo: dict) -> Grid | None:
    """The :class:`Grid` of a Keras tensor of a functional model, from the layers that made it.

    Convolutions and poolings move the centres by ``(k_eff - 1) / 2 - pad_before`` input steps and
    multiply the step by the stride ("same" padding as TensorFlow pads: the extra pixel at the end);
    ZeroPadding2D / Cropping2D shift them; any other layer keeps the grid of an input of the same
    spatial size (element-wise layers, activations, and the reshapes inside the attention module, which
    carry a grid through their flat tensors). ``None`` where no grid follows (e.g. a global pooling)."""
    key = id(tensor)
    if key in memo:
        return memo[key]
    op, node_index, _ = tensor._keras_history
    node = op._inbound_nodes[node_index]
    inputs = list(node.input_tensors)
    shape = tuple(tensor.shape)
    if not inputs:                                    # the image itself
        memo[key] = Grid(shape=(int(shape[1]), int(shape[2])), start=(0.0, 0.0), step=(1.0, 1.0))
        return memo[key]
    parents = [_grid_of(t, memo) for t in inputs]
    grid = None
    if len(shape) != 4:                               # a flat tensor carries its input's grid
        grid = next((g for g in parents if g is not None), None)
    else:
        out = (int(shape[1]), int(shape[2]))
        first = parents[0]
        if isinstance(op, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)) and first is not None:
            sign = -1 if isinstance(op, keras.layers.ZeroPadding2D) else 1
            before = [s[0] for s in _sides(op.padding if sign < 0 else op.cropping)]
            grid = Grid(out, tuple(first.start[a] + sign * before[a] * first.step[a] for a in (0, 1)), first.step)
        elif (hasattr(op, "kernel_size") or hasattr(op, "pool_size")) and hasattr(op, "strides") \
                and first is not None and len(inputs[0].shape) == 4:
            kernel = _pair(op.kernel_size if hasattr(op, "kernel_size") else op.pool_size)
            strides = _pair(op.strides)
            dilation = _pair(getattr(op, "dilation_rate", 1))
            n_in = (int(inputs[0].shape[1]), int(inputs[0].shape[2]))
            start, step = [], []
            for a in (0, 1):
                k_eff = (kernel[a] - 1) * dilation[a] + 1
                pad = (max((out[a] - 1) * strides[a] + k_eff - n_in[a], 0) // 2
                       if str(op.padding).lower() == "same" else 0)
                start.append(first.start[a] + ((k_eff - 1) / 2 - pad) * first.step[a])
                step.append(first.step[a] * strides[a])
            grid = Grid(out, tuple(start), tuple(step))
        else:
            grid = next((g for g in parents if g is not None and g.shape == out), None)
    memo[key] = grid
    return grid


def layer_grid(model, layer: str) -> Grid:
    """The :class:`Grid` of ``layer``'s output on ``model``'s input image. ConfigError where a layer on
    the way changes the map's size in a way that cannot be followed (e.g. an up-sampling)."""
    grid = _grid_of(model.get_layer(layer).output, {})
    if grid is None:
        raise ConfigError(f"cannot place the cells of layer {layer!r} of model {model.name!r} on the image: "
                          f"a layer before it changes the map size in a way this module does not follow")
    return grid


def _axis_weights(n_cells: int, n_pixels: int, start: float, step: float) -> np.ndarray:
    """``(n_pixels, n_cells)`` linear-interpolation weights: pixel ``p`` reads the map at fractional
    cell ``(p - start) / step``, clamped to the outermost cells."""
    w = np.zeros((n_pixels, n_cells), dtype=np.float64)
    if n_cells == 1:
        w[:, 0] = 1.0
        return w
    u = np.clip((np.arange(n_pixels) - start) / step, 0.0, n_cells - 1)
    i0 = np.minimum(np.floor(u).astype(int), n_cells - 2)
    frac = u - i0
    w[np.arange(n_pixels), i0] = 1.0 - frac
    w[np.arange(n_pixels), i0 + 1] += frac
    return w


def map_to_image(maps, grid: Grid | None, image_shape: Sequence[int]) -> np.ndarray:
    """Maps ``(n, h, w)`` of cells onto ``(n, rows, cols)`` image pixels, bilinear between the cells'
    receptive-field centres (``grid``). ``grid=None``: the plain stretch of ``tf.image.resize``
    (bilinear, half-pixel centres), which assumes the map tiles the image."""
    maps = np.asarray(maps, dtype=np.float64)
    h, w = maps.shape[1:3]
    rows, cols = int(image_shape[0]), int(image_shape[1])
    if grid is None:
        grid = Grid((h, w), (0.5 * rows / h - 0.5, 0.5 * cols / w - 0.5), (rows / h, cols / w))
    if grid.shape != (h, w):
        raise DataError(f"maps of {h} x {w} cells do not match a grid of {grid.shape[0]} x {grid.shape[1]}")
    wr = _axis_weights(h, rows, grid.start[0], grid.step[0])
    wc = _axis_weights(w, cols, grid.start[1], grid.step[1])
    return np.einsum("ri,nij,cj->nrc", wr, maps, wc).astype(np.float32)


def _scale_to_one(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its maximum; maps without a positive value become all zero."""
    top = maps.reshape(len(maps), -1).max(axis=1, initial=0.0)
    safe = np.where(top > 0, top, 1.0)
    return np.where(top[:, None, None] > 0, maps / safe[:, None, None], 0.0).astype(np.float32)


# --------------------------------------------------------------------------------------------- input
def _image_batch(model, images) -> np.ndarray:
    """``images`` as float32 ``(n, rows, cols, 1)`` on the model's grid; DataError otherwise."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise DataError(f"images: expected shape (n, rows, cols) or (n, rows, cols, 1), got {x.shape}")
    want = tuple(int(d) for d in model.inputs[0].shape[1:3])
    if x.shape[1:] != want:
        raise DataError(f"images are {x.shape[1]} x {x.shape[2]} (rows x cols); model {model.name!r} "
                        f"expects {want[0]} x {want[1]}")
    if not np.isfinite(x).all():
        raise DataError("images: NaN or infinite pixel values")
    return x[..., None]


def _batches(n: int, batch_size: int):
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    for lo in range(0, n, int(batch_size)):
        yield slice(lo, min(lo + int(batch_size), n))


def _class_indices(class_index, n: int, num_classes: int) -> np.ndarray | None:
    """``None`` (the predicted class), or one class per image as ints; names of OUTPUTS accepted."""
    if class_index is None:
        return None
    names = list(OUTPUTS) if num_classes == len(OUTPUTS) else []

    def one(c) -> int:
        if isinstance(c, str):
            return names.index(look_up_option(c, names, what="class"))
        try:
            whole = not isinstance(c, (bool, np.bool_)) and float(c).is_integer()
        except (TypeError, ValueError):
            whole = False
        if not whole:
            raise ConfigError(f"class_index must be an integer class index or a class name, got {c!r}")
        if not 0 <= int(c) < num_classes:
            raise ConfigError(f"class_index {int(c)} out of range: the model has {num_classes} classes "
                              f"(0 to {num_classes - 1}{', i.e. ' + ', '.join(names) if names else ''})")
        return int(c)

    if isinstance(class_index, (str, int, np.integer)):
        return np.full(n, one(class_index), dtype=np.int64)
    values = list(np.asarray(class_index, dtype=object).ravel())
    if len(values) != n:
        raise ConfigError(f"class_index: {len(values)} classes given for {n} images")
    return np.array([one(c) for c in values], dtype=np.int64)


# ------------------------------------------------------------------------------------------ Grad-CAM
def _gradient_model(model, layer: str):
    """``(sub-model, head)``: the sub-model gives the layer's activations and the input of the final
    softmax Dense layer (``head``), whose weights turn it into logits; without such a head, the model's
    output itself (``head=None``)."""
    cache = _SUBMODELS.setdefault(model, {})
    key = ("grad", layer)
    if key not in cache:
        head = model.layers[-1]
        is_softmax_dense = (isinstance(head, keras.layers.Dense)
                            and getattr(head.activation, "__name__", "") == "softmax")
        second = head.input if is_softmax_dense else model.outputs[0]
        sub = keras.Model(model.inputs, [model.get_layer(layer).output, second], name=f"{model.name}_gradcam")
        cache[key] = (sub, head if is_softmax_dense else None)
    return cache[key]


def grad_cam(model, images, class_index=None, layer: str | None = None, batch_size: int = 16, *,
             align: bool = True) -> np.ndarray:
    """Grad-CAM maps ``(n, rows, cols)``, float32 in ``[0, 1]``, one per image.

    ``class_index``: ``None`` explains each image's predicted class; an int (or a name of OUTPUTS,
    "N", "M", "A") explains that class in every image; a sequence gives one class per image.
    ``layer``: a layer with a spatial output (default :func:`last_conv_layer`); an unknown name raises
    ConfigError listing the convolutional layers. The score is the class's logit, from the input of the
    final softmax Dense layer; a model without one is explained through its output as it is.
    ``align``: place the cells by their receptive fields (see the module text); ``False`` stretches the
    map over the image like ``tf.image.resize``. Images go through in batches of ``batch_size``.
    """
    layer = _spatial_layer(model, layer)
    x = _image_batch(model, images)
    n, rows, cols = x.shape[:3]
    sub, head = _gradient_model(model, layer)
    num_classes = int(model.outputs[0].shape[-1])
    wanted = _class_indices(class_index, n, num_classes)
    grid = layer_grid(model, layer) if align else None
    cams = []
    for part in _batches(n, batch_size):
        batch = tf.convert_to_tensor(x[part])
        with tf.GradientTape() as tape:
            activations, z = sub(batch, training=False)
            tape.watch(activations)
            logits = tf.matmul(z, head.kernel) + head.bias if head is not None else z
            chosen = (tf.argmax(logits, axis=-1) if wanted is None
                      else tf.constant(wanted[part], dtype=tf.int64))
            score = tf.reduce_sum(tf.gather(logits, chosen, axis=1, batch_dims=1))
        grads = tape.gradient(score, activations)          # images do not interact: one sum, per-image grads
        weights = tf.reduce_mean(grads, axis=(1, 2))       # a_k: spatial mean of the gradient
        cam = tf.nn.relu(tf.einsum("bhwk,bk->bhw", activations, weights))
        cams.append(cam.numpy())
    if not cams:
        return np.zeros((0, rows, cols), dtype=np.float32)
    return _scale_to_one(map_to_image(np.concatenate(cams), grid, (rows, cols)))


# ------------------------------------------------------------------------------------- attention map
def attention_blocks(model) -> list[str]:
    """The CBAM attention blocks of ``model`` by name (``["am1"]`` for dSPIC-AM, ``[]`` for SI_CLF)."""
    return _attention_blocks(model)


def attention_map(model, images, block: str = "am1", batch_size: int = 16, *, align: bool = True) -> np.ndarray:
    """The spatial attention ``f_s`` (Eq. 8) of attention block ``block``, ``(n, rows, cols)`` float32 in
    ``[0, 1]`` as the sigmoid gives it (not rescaled), brought onto the image like :func:`grad_cam`.
    ConfigError for a model without that block, naming the blocks it has (or saying it has none)."""
    blocks = _attention_blocks(model)
    if not blocks:
        raise ConfigError(f"model {model.name!r} has no attention block (no layer named "
                          f"'<block>{ATTENTION_MAP_SUFFIX}'): attention maps exist only for models with an AM")
    block = look_up_option(block, blocks, what=f"attention block of model {model.name!r}")
    name = block + ATTENTION_MAP_SUFFIX
    x = _image_batch(model, images)
    rows, cols = x.shape[1:3]
    cache = _SUBMODELS.setdefault(model, {})
    if ("attention", name) not in cache:
        cache[("attention", name)] = keras.Model(model.inputs, model.get_layer(name).output,
                                                 name=f"{model.name}_{block}_attention")
    sub = cache[("attention", name)]
    parts = [sub(tf.convert_to_tensor(x[p]), training=False).numpy()[..., 0] for p in _batches(len(x), batch_size)]
    if not parts:
        return np.zeros((0, rows, cols), dtype=np.float32)
    grid = layer_grid(model, name) if align else None
    return np.clip(map_to_image(np.concatenate(parts), grid, (rows, cols)), 0.0, 1.0)


# ------------------------------------------------------------------------------------ pointing game
def default_tolerance(shape_or_cols) -> float:
    """The pointing game's tolerance in pixels for images of ``cols`` columns (or of shape (rows,
    cols)): Zhang et al.'s 15 px at 224 px, scaled to the width, ``15 * cols / 224``."""
    cols = shape_or_cols[-1] if isinstance(shape_or_cols, (tuple, list, np.ndarray)) else shape_or_cols
    return POINTING_TOLERANCE_PX * float(cols) / POINTING_REFERENCE_WIDTH


def _boxes(boxes, what: str = "boxes") -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    if b.size == 0:
        raise DataError(f"{what}: no lesion box; the pointing game scores only images with lesions")
    if b.ndim != 2 or b.shape[1] != 4 or not np.isfinite(b).all():
        raise DataError(f"{what}: expected finite (k, 4) boxes (x0, y0, x1, y1), got shape {b.shape}")
    return b


def _heatmap(heatmap, what: str = "heatmap") -> np.ndarray:
    m = np.asarray(heatmap, dtype=np.float64)
    if m.ndim != 2 or not m.size:
        raise DataError(f"{what}: expected a (rows, cols) map, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise DataError(f"{what}: NaN or infinite values")
    return m


def pointing_hit(heatmap, boxes, tolerance_px: float) -> bool:
    """Whether the arg-max pixel of ``heatmap`` (rows, cols) lies in one of ``boxes`` (k, 4) enlarged by
    ``tolerance_px`` on every side. The first maximum in row-major order counts; a pixel counts by its
    centre ``(c + 0.5, r + 0.5)``; edges are inclusive. DataError for an image without boxes."""
    m = _heatmap(heatmap)
    b = _boxes(boxes)
    tol = float(tolerance_px)
    if not tol >= 0:
        raise ConfigError(f"tolerance_px must be >= 0, got {tolerance_px!r}")
    r, c = np.unravel_index(int(np.argmax(m)), m.shape)
    x, y = c + 0.5, r + 0.5
    inside = (b[:, 0] - tol <= x) & (x <= b[:, 2] + tol) & (b[:, 1] - tol <= y) & (y <= b[:, 3] + tol)
    return bool(inside.any())


def centre_prior(shape: Sequence[int]) -> np.ndarray:
    """The centre baseline: a Gaussian peaking at the image centre (sigma a quarter of each side),
    float32 in ``(0, 1]``. With an even side the two middle pixels tie and the pointing game takes the
    first (upper / left) one."""
    rows, cols = int(shape[0]), int(shape[1])
    if rows < 1 or cols < 1:
        raise DataError(f"centre_prior: shape must be positive, got {tuple(shape)}")
    r = (np.arange(rows) - (rows - 1) / 2) / (rows / 4)
    c = (np.arange(cols) - (cols - 1) / 2) / (cols / 4)
    return np.exp(-0.5 * (r[:, None] ** 2 + c[None, :] ** 2)).astype(np.float32)


def pointing_game(maps, boxes_list, labels, tolerance_px: float | None = None, baseline=None) -> pd.DataFrame:
    """Pointing-game hits of ``maps`` (n, rows, cols) against ``boxes_list`` (n arrays (k, 4), k >= 1),
    per class of ``labels`` (n class names) and for all images: columns ``images``, ``hits``,
    ``hit rate``, ``baseline hits``, ``baseline hit rate``; rows in the order of CLASSES (other labels
    after them, as they come), then ``all``.

    ``tolerance_px``: ``None`` = :func:`default_tolerance` of the maps' width. ``baseline``: ``None`` =
    :func:`centre_prior`; or one (rows, cols) map for every image, or (n, rows, cols) maps.
    ``boxes_list[i]`` holds the boxes map ``i`` should find (all lesions, or only those of the class the
    map explains); an image without boxes raises DataError naming it: pass lesion images only.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise DataError(f"maps: expected shape (n, rows, cols), got {maps.shape}")
    labels = [str(v) for v in labels]
    n = len(maps)
    if len(boxes_list) != n or len(labels) != n:
        raise DataError(f"pointing_game: {n} maps, {len(boxes_list)} box arrays and {len(labels)} labels")
    tol = default_tolerance(maps.shape[2]) if tolerance_px is None else float(tolerance_px)
    base = centre_prior(maps.shape[1:]) if baseline is None else np.asarray(baseline, dtype=np.float64)
    if base.shape == maps.shape[1:]:
        base = np.broadcast_to(base, maps.shape)
    if base.shape != maps.shape:
        raise DataError(f"baseline: expected shape {maps.shape[1:]} or {maps.shape}, got {base.shape}")
    hits, base_hits = np.zeros(n, bool), np.zeros(n, bool)
    for i in range(n):
        what = f"image {i} (label {labels[i]!r})"
        b = _boxes(boxes_list[i], what)
        hits[i] = pointing_hit(_heatmap(maps[i], f"map of {what}"), b, tol)
        base_hits[i] = pointing_hit(base[i], b, tol)
    order = [c for c in CLASSES if c in labels] + list(dict.fromkeys(c for c in labels if c not in CLASSES))
    lab = np.asarray(labels, dtype=object)
    rows = {}
    for name, keep in [*((c, lab == c) for c in order), ("all", np.ones(n, bool))]:
        k = int(keep.sum())
        rows[name] = {"images": k, "hits": int(hits[keep].sum()),
                      "hit rate": hits[keep].mean() if k else math.nan,
                      "baseline hits": int(base_hits[keep].sum()),
                      "baseline hit rate": base_hits[keep].mean() if k else math.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")[POINTING_COLUMNS]
    table.index.name = "class"
    return table
