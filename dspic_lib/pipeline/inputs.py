"""The training input: batches streamed from the preprocessed arrays with ``tf.data``.

Preprocessed arrays live in the result store as ``.npy`` files that are memory-mapped when read
(:mod:`dspic_lib.pipeline.preprocess`), so a cohort never has to be loaded whole: :func:`batches` shuffles row
indices (seeded), gathers one batch of rows at a time from the array, and prefetches the next batch
while the model trains on the current one. Peak memory is then a few batches, not the cohort, and the
same code runs on the 768-image cohort and on collections 100x its size.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dspic_lib.errors import DataError


def batches(X: np.ndarray, y: np.ndarray, indices: Sequence[int] | None = None, *, batch_size: int,
            shuffle: bool = True, seed: int = 0, prefetch: int = 2):
    """A ``tf.data.Dataset`` of ``(images, targets)`` batches over rows ``indices`` of ``X``/``y``.

    ``X``: ``(n, rows, cols)`` or ``(n, rows, cols, 1)`` float32, typically a memory map; ``y``:
    ``(n, k)`` targets. With ``shuffle`` the order is drawn again each epoch from ``seed`` (the same
    seed gives the same order in every run)."""
    from dspic_lib._tf import tf

    X = X[..., None] if X.ndim == 3 else X
    if X.ndim != 4 or len(X) != len(y):
        raise DataError(f"batches: images of shape {X.shape} and {len(y)} targets do not pair")
    idx = np.arange(len(X)) if indices is None else np.asarray(indices, dtype=np.int64)
    if len(idx) == 0:
        raise DataError("batches: no rows to train on")
    y = np.asarray(y, dtype=np.float32)
    shape, k = tuple(int(s) for s in X.shape[1:]), int(y.shape[1])

    def gather(rows):
        order = np.argsort(rows)                  # a memory map reads fastest front to back
        out = np.empty((len(rows), *shape), np.float32)
        out[order] = X[rows[order]]
        return out, y[rows]

    ds = tf.data.Dataset.from_tensor_slices(idx)
    if shuffle:
        ds = ds.shuffle(len(idx), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(
        lambda rows: tf.numpy_function(gather, [rows], (tf.float32, tf.float32), stateful=False),
        num_parallel_calls=1, deterministic=True)
    ds = ds.map(lambda a, b: (tf.ensure_shape(a, (None, *shape)), tf.ensure_shape(b, (None, k))))
    # gathering a batch is cheap; one input thread leaves the cores to the model (with tf.data's
    # default pool the input threads competed with training on a 2-core machine)
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return ds.prefetch(prefetch).with_options(options)


def train_one_epoch(model, dataset) -> float:
    """One pass of ``model.train_on_batch`` over ``dataset``; returns the mean training loss.

    A plain loop rather than ``model.fit``: on 2 cores Keras 3's ``fit`` ran the same compiled step
    2-3x slower than ``train_on_batch`` (measured with ``bench/bench_input.py``), and a loop is what a
    reader can follow."""
    losses = []
    for images, targets in dataset:
        out = model.train_on_batch(images, targets)
        losses.append(float(out[0] if isinstance(out, (list, tuple)) else out))
    return float(np.mean(losses)) if losses else float("nan")
