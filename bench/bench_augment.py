"""Throughput of the geometric augmentation (Eq. 2-4) at the `cpu` resolution (a script, not a test).

    taskset -c 0 python bench/bench_augment.py          # one core, as the acceptance asks
    python bench/bench_augment.py --rows 1024 --cols 256  # the paper's resolution

Builds the D2 copies of a training part shaped like the paper's (234 N, 122 M, 176 A, 6 M&A images,
random smooth images with boxes) to Table 1's proportions with t = 4 px and r = 5 degrees, and prints
images per second overall and per kind of transform, with the machine's load (``uptime``), since other
work on the machine changes the figure. Goal: >= 200 images/s at 256 x 64 on one core.
BLAS/OpenMP threads are pinned to 1 so the figure is a one-core figure even without taskset.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from dspic_lib.cli.bench import load_average  # noqa: E402


def main() -> None:
    from dspic_lib.pipeline import augment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--cols", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    counts = {"N": 234, "M": 122, "A": 176, "M&A": 6}
    labels = np.array([c for c, n in counts.items() for _ in range(n)], dtype=object)
    from scipy.ndimage import gaussian_filter
    X = gaussian_filter(rng.random((len(labels), args.rows, args.cols)), (0, 2, 2)).astype(np.float32)
    boxes = [np.array([[5, 10, 9, 16]], np.float32)] * len(labels)
    want = augment.scaled_targets(counts, augment.paper_table("table1"))

    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:
        cores = "unknown"
    print(f"augmentation throughput at {args.rows} x {args.cols}, allowed cores: {cores}")
    print(f"load: {load_average()}")
    augment.augment_to_counts(X[:20], labels[:20], {"N": 20}, t=4, r=5.0)   # warm-up imports
    best = 0.0
    for rep in range(args.repeats):
        start = time.perf_counter()
        aug = augment.augment_to_counts(X, labels, want, t=4, r=5.0, seed=rep, boxes=boxes)
        dt = time.perf_counter() - start
        rate = len(aug.X) / dt
        best = max(best, rate)
        print(f"  run {rep + 1}: {len(aug.X)} copies (with boxes) in {dt:.2f} s = {rate:.0f} images/s")

    x = X[0]
    per_kind = {}
    for tf in augment.candidate_transforms(4, 5.0):
        n = 200
        start = time.perf_counter()
        for _ in range(n):
            augment.apply_image(x, tf)
        per_kind.setdefault(tf.source, []).append(n / (time.perf_counter() - start))
    for kind, rates in per_kind.items():
        print(f"  {kind:<18} {np.mean(rates):8.0f} images/s")
    print(f"best: {best:.0f} images/s (goal >= 200 on one core at 256 x 64)")


if __name__ == "__main__":
    main()
