"""Benchmark of the training input (a script, not a test): tf.data from the store against tensors.

    python bench/bench_input.py            # both parts
    python bench/bench_input.py --speed    # epoch time: tf.data over a memory map vs train_on_batch
    python bench/bench_input.py --memory   # peak RSS of one epoch: the 768-image cohort vs 10x larger

Speed: dSPIC-AM at the `cpu` resolution (256 x 64), batch 32, one epoch over 768 images, (a) through
:func:`dspic_lib.pipeline.inputs.batches` reading a memory-mapped ``.npy`` as the store keeps it, with
:func:`dspic_lib.pipeline.inputs.train_one_epoch` (a ``train_on_batch`` loop); (b) a bare ``train_on_batch`` loop over tensors already in memory. Goal: (a) >= 0.9x (b).

Memory: each size runs in its own process (so one does not inherit the other's peak): it writes the
preprocessed arrays of a synthetic cohort of N images at 256 x 64 in the store's format (phantom
patients rendered at the cpu resolution, cycled to reach N), opens them memory-mapped and trains one
epoch through tf.data; it prints the process's peak RSS (``ru_maxrss``). Goal: 10x the images within
1.5x the peak memory.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from dspic_lib.cli.bench import load_average

SHAPE = (256, 64)
BATCH = 32


def _model():
    from dspic_lib._tf import keras
    from dspic_lib.models import zoo

    keras.utils.set_random_seed(0)
    m = zoo.build("dSPIC-AM", input_shape=(*SHAPE, 1))
    m.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy")
    return m


def _cohort_arrays(n: int, folder: str) -> tuple[np.ndarray, np.ndarray]:
    """Write ``n`` preprocessed images (rendered phantom patients, cycled) as X.npy; return memory maps."""
    from dspic_lib.data import phantom
    from dspic_lib.pipeline.preprocess import preprocess_image

    cfg = phantom.PhantomConfig(n_patients=24, seed=0)
    base = []
    for plan in phantom.plan_cohort(cfg):
        ant, post = phantom.render_patient(plan, cfg)[:2]
        base += [preprocess_image(ant, SHAPE), preprocess_image(post, SHAPE)]
    X = np.lib.format.open_memmap(os.path.join(folder, "X.npy"), mode="w+", dtype=np.float32, shape=(n, *SHAPE))
    for i in range(0, n, len(base)):
        k = min(len(base), n - i)
        X[i:i + k] = np.stack(base[:k])
    X.flush()
    del X
    y = np.eye(3, dtype=np.float32)[np.arange(n) % 3]
    return np.load(os.path.join(folder, "X.npy"), mmap_mode="r"), y


def speed(n: int = 768) -> None:
    from dspic_lib._tf import tf
    from dspic_lib.pipeline.inputs import batches, train_one_epoch

    with tempfile.TemporaryDirectory() as tmp:
        X, y = _cohort_arrays(n, tmp)
        model = _model()
        Xm = tf.constant(np.asarray(X)[..., None])
        ym = tf.constant(y)
        model.train_on_batch(Xm[:BATCH], ym[:BATCH])                     # trace both paths once
        train_one_epoch(model, batches(X, y, batch_size=BATCH, seed=0).take(1))
        results = {}
        for rep in range(3):                                              # alternate, best of three
            t0 = time.perf_counter()
            for i in range(0, n, BATCH):
                model.train_on_batch(Xm[i:i + BATCH], ym[i:i + BATCH])
            results.setdefault("train_on_batch", []).append(n / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            train_one_epoch(model, batches(X, y, batch_size=BATCH, seed=rep))
            results.setdefault("tf.data", []).append(n / (time.perf_counter() - t0))
    a, b = max(results["tf.data"]), max(results["train_on_batch"])
    print(f"one epoch of {n} images, dSPIC-AM {SHAPE[0]}x{SHAPE[1]}, batch {BATCH}   [{load_average()}]")
    print(f"  train_on_batch over in-memory tensors: {b:6.1f} img/s  (runs: "
          f"{', '.join(f'{v:.1f}' for v in results['train_on_batch'])})")
    print(f"  tf.data over the memory-mapped store:  {a:6.1f} img/s  (runs: "
          f"{', '.join(f'{v:.1f}' for v in results['tf.data'])})")
    print(f"  ratio {a / b:.2f} (goal >= 0.90)")


def _one_epoch_rss(n: int) -> None:
    from dspic_lib.pipeline.inputs import batches, train_one_epoch

    with tempfile.TemporaryDirectory() as tmp:
        X, y = _cohort_arrays(n, tmp)
        model = _model()
        t0 = time.perf_counter()
        train_one_epoch(model, batches(X, y, batch_size=BATCH, seed=0))
        seconds = time.perf_counter() - t0
    print(json.dumps({"n": n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "seconds": seconds}))


def memory(n: int = 768, factor: int = 10) -> None:
    rows = []
    for size in (n, factor * n):
        out = subprocess.run([sys.executable, __file__, "--rss-child", str(size)], capture_output=True,
                             text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    small, big = rows
    print(f"peak RSS of one training epoch through tf.data   [{load_average()}]")
    for r in rows:
        print(f"  {r['n']:6d} images ({r['n'] * SHAPE[0] * SHAPE[1] * 4 / 1e6:5.0f} MB of arrays): "
              f"{r['peak_rss_mb']:6.0f} MB peak RSS, epoch {r['seconds']:.0f} s")
    print(f"  ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f} for {factor}x the images (goal <= 1.50)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speed", action="store_true")
    p.add_argument("--memory", action="store_true")
    p.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.rss_child:
        _one_epoch_rss(a.rss_child)
    else:
        if a.speed or not a.memory:
            speed()
        if a.memory or not a.speed:
            memory()
