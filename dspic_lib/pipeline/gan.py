"""DCGAN per class (Radford et al. 2016) and the dataset D3 to Table 2's class counts.

Architecture, as in the DCGAN paper: no pooling, strided (transposed) convolutions; batch norm in both
networks except the generator's output and the discriminator's input layer; ReLU in the generator with
a tanh output; LeakyReLU (slope 0.2) in the discriminator; weights drawn from N(0, 0.02); Adam with
learning rate 2e-4 and beta1 = 0.5; the non-saturating loss. Whole-body images are 4:1 (rows:cols),
so the generator starts from a 4:1 seed map (8 x 2 at the smoke and cpu resolutions) and doubles it
until it reaches the profile's ``rows x cols``; the discriminator halves it back. Generated samples
are clipped to [0, 1] and normalized by Eq. 1 like every image of D1.

Two departures from the DCGAN recipe, both measured on the cpu cohort's M images (600 steps; "NN ratio"
= median distance of a sample to its nearest training scan over that of a real scan to its nearest
scan of another patient, 1 is ideal):

* Images enter the discriminator in [0, 1], not DCGAN's [-1, 1]. Whole-body scans are mostly empty
  (after Eq. 1, 91% of pixels are below 0.1), so at [-1, 1] the background sits at -1, where tanh
  saturates: the generator stayed near 0 everywhere, the discriminator won within 50 steps and never
  let go (NN ratio 6.5-10, samples identical). At [0, 1] the background is tanh's linear zero.
* Batch-norm momentum 0.9 instead of Keras' 0.99: the moving statistics used for sampling otherwise
  lag the generator, and inference-mode samples drift from what the discriminator was shown.
  With both: body-shaped, varied samples, NN ratio about 2.3 (1.8 after the full 1500 steps).
  One-sided label smoothing (real target 0.9) changed little (2.2) and is left off (``REAL_LABEL``).

Which classes: Table 2 keeps N unchanged (334) and adds samples to M, A and M&A, so one DCGAN is trained
for each of those, on the training images of that class only. Each runs ``Profile.gan_steps`` steps of
``Profile.gan_batch_size`` real and as many generated images.

M&A: the paper's cohort has 8 M&A images, so the training part holds about 5. A DCGAN trained from
scratch on 5 images has nothing to generalize from. Instead the M&A DCGAN starts from the trained M
networks (an M&A image is a metastatic scan that also has arthritic joints, and the paper's own network
ranks metastasis first on such scans, Fig. 13) and is fine-tuned on the M&A training images enlarged
with their 13 geometric copies (Eq. 2-4, the same transforms as D2), for a tenth of ``gan_steps`` at a
quarter of the learning rate (5e-5). Transfer from a related class is the standard remedy for
few-shot GAN training (Wang et al., "Transferring GANs", ECCV 2018). How long and how fast was
measured on the cpu cohort (6 M&A training scans, NN ratio as below against the M&A scans): the M
generator as it is, 1.86; fine-tuned 500 steps at 2e-4, 2.2 with striped backgrounds (the
discriminator, facing 84 images, wins and the generator degrades); 150 steps at 2e-4, 1.92; 500 at
5e-5, 1.91; 150 at 5e-5, 1.73. The novelty check in chapter 02 shows how close its samples stay to
those few images.

Cost: at the ``cpu`` resolution (256 x 64, batch 32) one step takes about 64 ms on 2 cores with
``WIDTH = 6`` (8: 72 ms; the step time is dominated by batch norm and launch overhead at these sizes),
so M, A and the M&A fine-tune (1500 + 1500 + 150 steps) take about 3.5 minutes on an idle machine.
Widths 8 and 12 gave no better samples at 600 steps (NN ratio 2.2 for 6 and 12).

Checkpoints (``.weights.h5``), loss history and generated samples are entries of the result store
(:mod:`dspic_lib.store`), keyed by the training images, the profile's GAN fields, the seed and the
source of this module and every module it uses, so a rebuild does not retrain.
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.store import Store, as_store, fingerprint

LATENT_DIM = 64
GAN_CLASSES = ("M", "A", "M&A")   # Table 2 adds samples to these; N stays as it is
TRANSFER_FROM = {"M&A": "M"}
_CLASS_OFFSET = {"N": 0, "M": 1, "A": 2, "M&A": 3}
FINE_TUNE_FRACTION = 10  # a transferred class fine-tunes for gan_steps // 10 steps (see the module text)
FINE_TUNE_LR = 5e-5      # Adam learning rate of a fine-tune (DCGAN's 2e-4 when training from scratch)
INPUT_SCALE = (1.0, 0.0)   # images enter as a * x + b; (2, -1) is DCGAN's [-1, 1], (1, 0) keeps the background at 0
BN_MOMENTUM = 0.9    # Keras' 0.99 lags the generator's changing statistics, so inference-mode samples drift
REAL_LABEL = 1.0     # target of real images in the discriminator loss (< 1: one-sided label smoothing)
WIDTH = 6            # channels next to the image; doubled per halving of the resolution (cost: see module text)
MAX_CHANNELS = 128


def seed_map(rows: int, cols: int) -> tuple[int, int, int]:
    """``(h0, w0, n)``: the generator's seed map and how many doublings reach ``rows x cols``.

    The most doublings that keep the seed at least 2 pixels wide and divide both sides.
    """
    n = 0
    while rows % 2 ** (n + 1) == 0 and cols % 2 ** (n + 1) == 0 and cols // 2 ** (n + 1) >= 2:
        n += 1
    if n < 2:
        raise ConfigError(f"DCGAN needs rows and cols divisible by 4 (with cols >= 8); got {rows} x {cols}")
    return rows // 2 ** n, cols // 2 ** n, n


def _channels(n: int, width: int) -> list[int]:
    """Channels of the n feature maps from the seed map (widest) down to the one next to the image."""
    return [min(MAX_CHANNELS, width * 2 ** (n - 1 - i)) for i in range(n)]


def build_generator(rows: int, cols: int, latent_dim: int = LATENT_DIM, width: int | None = None):
    from dspic_lib._tf import keras
    layers = keras.layers
    h0, w0, n = seed_map(rows, cols)
    ch = _channels(n, width or WIDTH)
    init = keras.initializers.RandomNormal(0.0, 0.02)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(h0 * w0 * ch[0], use_bias=False, kernel_initializer=init, name="project")(z)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((h0, w0, ch[0]), name="seed_map")(x)
    for i in range(1, n):
        x = layers.Conv2DTranspose(ch[i], 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=init, name=f"up{i}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"up{i}_bn")(x)
        x = layers.ReLU(name=f"up{i}_relu")(x)
    out = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh",
                                 kernel_initializer=init, name=f"up{n}_image")(x)
    return keras.Model(z, out, name="generator")


def build_discriminator(rows: int, cols: int, width: int | None = None):
    from dspic_lib._tf import keras
    layers = keras.layers
    _, _, n = seed_map(rows, cols)
    ch = _channels(n, width or WIDTH)[::-1]
    init = keras.initializers.RandomNormal(0.0, 0.02)
    img = keras.Input((rows, cols, 1), name="image")
    x = img
    for i in range(n):
        x = layers.Conv2D(ch[i], 4, strides=2, padding="same", use_bias=(i == 0),
                          kernel_initializer=init, name=f"down{i + 1}")(x)
        if i > 0:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"down{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"down{i + 1}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(1, kernel_initializer=init, name="real_logit")(x)
    return keras.Model(img, out, name="discriminator")


# --------------------------------------------------------------------------------------------------
# Training one class


@dataclass
class GanRun:
    """One trained class: its networks (None when only samples were needed from the cache) and history."""

    label: str
    folder: Path
    history: pd.DataFrame       # step, d_loss, g_loss, d_real, d_fake
    seconds: float              # training wall time (of the run that trained it)
    cached: bool
    n_train: int
    entry_id: str = ""          # the run's id in the result store (``gan.class/<digest>``)
    store: Store | None = None
    generator: object | None = None

    def load_generator(self, rows: int, cols: int):
        if self.generator is None:
            g = build_generator(rows, cols)
            g.load_weights(self.folder / "generator.weights.h5")
            self.generator = g
        return self.generator


class _Trainer:
    """One pair of networks and optimizers per image shape and batch size, with its traced train step.

    Tracing the step costs about 2 s, more than a whole class trains for under ``smoke``; classes
    therefore share one trainer and start from their own seeded initial weights with a zeroed optimizer
    state, which is exactly what fresh networks and optimizers would be.
    """

    def __init__(self, rows: int, cols: int):
        from dspic_lib._tf import keras, tf
        self.G, self.D = build_generator(rows, cols), build_discriminator(rows, cols)
        self.g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_opt.build(self.G.trainable_variables)
        self.d_opt.build(self.D.trainable_variables)
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        G, D, g_opt, d_opt = self.G, self.D, self.g_opt, self.d_opt

        @tf.function
        def step(real, z):
            with tf.GradientTape() as gt, tf.GradientTape() as dt:
                fake = G(z, training=True)
                lr, lf = D(real, training=True), D(fake, training=True)
                d_loss = bce(tf.fill(tf.shape(lr), REAL_LABEL), lr) + bce(tf.zeros_like(lf), lf)
                g_loss = bce(tf.ones_like(lf), lf)   # non-saturating generator loss
            d_opt.apply_gradients(zip(dt.gradient(d_loss, D.trainable_variables), D.trainable_variables))
            g_opt.apply_gradients(zip(gt.gradient(g_loss, G.trainable_variables), G.trainable_variables))
            return d_loss, g_loss, tf.reduce_mean(tf.sigmoid(lr)), tf.reduce_mean(tf.sigmoid(lf))

        self.step = step

    def reset(self, g_weights, d_weights, learning_rate: float = 2e-4) -> None:
        from dspic_lib._tf import tf
        self.G.set_weights(g_weights)
        self.D.set_weights(d_weights)
        for opt in (self.g_opt, self.d_opt):
            for v in opt.variables:
                if v.path.endswith("learning_rate"):
                    v.assign(learning_rate)
                else:
                    v.assign(tf.zeros_like(v))


_TRAINERS: dict[tuple[int, int], _Trainer] = {}


def _train(images: np.ndarray, *, steps: int, batch_size: int, seed: int, init: GanRun | None,
           rows: int, cols: int):
    from dspic_lib._tf import keras, tf
    keras.utils.set_random_seed(seed)
    G0, D0 = build_generator(rows, cols), build_discriminator(rows, cols)
    if init is not None:
        G0.load_weights(init.folder / "generator.weights.h5")
        D0.load_weights(init.folder / "discriminator.weights.h5")
    trainer = _TRAINERS.get((rows, cols))
    if trainer is None:
        trainer = _TRAINERS[(rows, cols)] = _Trainer(rows, cols)
    trainer.reset(G0.get_weights(), D0.get_weights(), FINE_TUNE_LR if init is not None else 2e-4)
    pool = images[..., None] * INPUT_SCALE[0] + INPUT_SCALE[1]
    rng = np.random.default_rng(seed)
    hist = np.zeros((steps, 4), dtype=np.float64)
    for s in range(steps):
        real = pool[rng.integers(0, len(pool), batch_size)]
        z = rng.standard_normal((batch_size, LATENT_DIM)).astype(np.float32)
        hist[s] = [float(v) for v in trainer.step(tf.constant(real, tf.float32), tf.constant(z))]
    history = pd.DataFrame(hist, columns=["d_loss", "g_loss", "d_real", "d_fake"])
    history.insert(0, "step", np.arange(1, steps + 1))
    G0.set_weights(trainer.G.get_weights())
    D0.set_weights(trainer.D.get_weights())
    return G0, D0, history


def _pool_for(label: str, images: np.ndarray, t: int, r: float, seed: int) -> np.ndarray:
    """Training pool: the class's images; for a transferred class (M&A) also their 13 geometric copies."""
    if label not in TRANSFER_FROM:
        return images
    from dspic_lib.pipeline.augment import apply_image, candidate_transforms
    copies = [apply_image(x, tf) for x in images for tf in candidate_transforms(t, r)]
    return np.concatenate([images, np.stack(copies)]) if copies else images


def class_key(store: Store | Path, label: str, *, steps: int, batch_size: int, seed: int, init_id: str | None,
              t: int = 2, r: float = 5.0, parents=(), data: str | None = None):
    """The key of one class's DCGAN: its arguments, the run it starts from (M&A), the images it was
    trained on (``parents``: the preprocessed images and the split whose training patients they are;
    or ``data``, a fingerprint of arrays handed in) and this code (the M&A pool's copies included)."""
    args = {"label": label, "steps": steps, "batch_size": batch_size, "seed": seed,
            "pool": [t, r] if label in TRANSFER_FROM else None,    # only a transferred class's pool uses them
            "init": init_id}
    return as_store(store).key("gan.class", args, code=[train_class], data=data, parents=parents)


def train_class(images: np.ndarray, label: str, *, steps: int, batch_size: int, seed: int,
                store: Store | Path, init: GanRun | None = None, t: int = 2, r: float = 5.0,
                parents=None) -> GanRun:
    """Train (or load from the result store) the DCGAN of one class on ``images`` (n, rows, cols) in [0, 1].

    The store key covers the images, the arguments, the run it starts from (M&A), and the source of
    this module and of every module it uses (the M&A pool's geometric copies included)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    if len(images) == 0:
        raise DataError(f"DCGAN {label}: no training image of this class")
    rows, cols = images.shape[1:]
    st = as_store(store)
    key = class_key(st, label, steps=steps, batch_size=batch_size, seed=seed,
                    init_id=init.entry_id if init is not None else None, t=t, r=r,
                    parents=parents or (), data=None if parents else fingerprint(images))
    models: dict = {}

    def compute(folder: Path) -> None:
        pool = _pool_for(label, images, t, r, seed)
        start = time.perf_counter()
        G, D, history = _train(pool, steps=steps, batch_size=batch_size, seed=seed, init=init, rows=rows, cols=cols)
        G.save_weights(folder / "generator.weights.h5")
        D.save_weights(folder / "discriminator.weights.h5")
        history.to_csv(folder / "history.csv", index=False)
        (folder / "run.json").write_text(json.dumps({"seconds": time.perf_counter() - start,
                                                     "n_train": len(images), "n_pool": len(pool)}, indent=2))
        models.update(generator=G)

    cached = st.get(key) is not None
    entry = st.get_or_compute(key, compute)
    info = json.loads(entry.file("run.json").read_text())
    return GanRun(label=label, folder=entry.path, history=pd.read_csv(entry.file("history.csv")),
                  seconds=float(info["seconds"]), cached=cached, n_train=int(info["n_train"]),
                  entry_id=entry.id, store=st, **models)


def sample(run: GanRun, n: int, *, rows: int, cols: int, seed: int) -> np.ndarray:
    """``n`` generated images (n, rows, cols) in [0, 1], Eq. 1 applied; kept in the result store."""
    if n == 0:
        return np.zeros((0, rows, cols), np.float32)
    key = run.store.key("gan.samples", {"run": run.entry_id, "n": n, "seed": seed}, code=[sample])

    def compute(folder: Path) -> None:
        G = run.load_generator(rows, cols)
        z = np.random.default_rng(seed).standard_normal((n, LATENT_DIM)).astype(np.float32)
        raw = np.concatenate([np.asarray(G(z[i:i + 64], training=False)) for i in range(0, n, 64)])[..., 0]
        np.save(folder / "X.npy", np.stack([_eq1(x) for x in raw]))

    return np.load(run.store.get_or_compute(key, compute).file("X.npy"))


def _eq1(g: np.ndarray) -> np.ndarray:
    """Generator output back to image units, clipped to [0, 1] (no negative counts), then Eq. 1."""
    x = np.clip((g - INPUT_SCALE[1]) / INPUT_SCALE[0], 0.0, 1.0)
    lo, hi = float(x.min()), float(x.max())
    return ((x - lo) / (hi - lo)).astype(np.float32) if hi > lo else np.zeros_like(x, dtype=np.float32)


# --------------------------------------------------------------------------------------------------
# D3


@dataclass
class Generated:
    X: np.ndarray                 # (k, rows, cols) generated samples only
    labels: np.ndarray            # (k,)
    runs: dict[str, GanRun]


def generate_to_counts(X: np.ndarray, labels, requested: Mapping[str, int], *, steps: int, batch_size: int,
                       seed: int, store: Store | Path, t: int = 2, r: float = 5.0, classes=GAN_CLASSES,
                       parents=None) -> Generated:
    """Train one DCGAN per class that needs samples and generate until each class totals ``requested``.

    Classes are trained in the order M, A, M&A (M&A starts from M's networks, see the module text).
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 4:
        X = X[..., 0]
    labels = np.asarray(labels, dtype=object)
    rows, cols = X.shape[1:]
    runs: dict[str, GanRun] = {}
    out_X, out_y = [], []
    for c in classes:
        have = int((labels == c).sum())
        want = int(requested.get(c, have))
        if want < have:
            raise DataError(f"DCGAN: requested {want} {c} images but there are already {have} originals")
        need_init = [k for k, v in TRANSFER_FROM.items() if v == c and k in classes
                     and requested.get(k, 0) > int((labels == k).sum())]
        if want == have and not need_init:
            continue
        if have == 0:
            raise DataError(f"DCGAN: {want} {c} images requested but there is no {c} training image")
        init = runs.get(TRANSFER_FROM.get(c, ""))
        if c in TRANSFER_FROM and init is None:
            src = TRANSFER_FROM[c]
            init = train_class(X[labels == src], src, steps=steps, batch_size=batch_size,
                               seed=_class_seed(seed, src), store=store, t=t, r=r, parents=parents) \
                if (labels == src).any() else None
        class_steps = max(1, steps // FINE_TUNE_FRACTION) if init is not None else steps
        runs[c] = train_class(X[labels == c], c, steps=class_steps, batch_size=batch_size, seed=_class_seed(seed, c),
                              store=store, init=init, t=t, r=r, parents=parents)
        k = want - have
        if k:
            out_X.append(sample(runs[c], k, rows=rows, cols=cols, seed=_class_seed(seed, c) + 1000))
            out_y.extend([c] * k)
    Xg = np.concatenate(out_X) if out_X else np.zeros((0, rows, cols), np.float32)
    return Generated(X=Xg, labels=np.array(out_y, dtype=object), runs=runs)


def _class_seed(seed: int, label: str) -> int:
    return int(seed) * 10 + _CLASS_OFFSET[label]
