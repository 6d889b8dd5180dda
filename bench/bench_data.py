"""Benchmark and calibration of the data layer (a script, not a test).

    python bench/bench_data.py                 # time `dspic data synth` (full cohort) and scan + load
    python bench/bench_data.py --difficulty    # how a plain CNN does at several phantom difficulties

Timing: writes the full synthetic cohort (384 patients, 768 images) with 2 workers into a temporary
folder, then scans it and loads every image, and prints the wall times with the machine's load
(``uptime``), since other work on the machine changes them. Goals: synth < 20 s, scan + load < 10 s.

Difficulty: renders the cohort at each difficulty (no files), reduces it to the `cpu` profile's
resolution (256 x 64, Eq. 1 per image), splits 7:3 by patient (stratified), trains a plain CNN (four
conv-pool blocks, global average pooling, softmax over N/M/A; M&A left out of the metric), and prints
its test accuracy. The phantom's DEFAULT_DIFFICULTY was chosen from this table: the value at which this
plain classifier is clearly above chance but far from perfect, i.e. a task where the methods of the
paper have something to show (PHANTOM.md: "roughly 0.70-0.80"). It is not tuned on any of dSPIC's
results. Phantom v8 (bladder and kidneys hottest, knob strength 5 ** (1.5 (2/3 - d))), measured with
nice -n 10 on the shared 2-core machine (load 3-10), seeds 0 1 2: d=0.20 0.791 0.704 0.813 (mean
0.770), d=0.25 0.757 0.678 0.791 (mean 0.742), d=0.30 0.443 0.696 0.717 (mean 0.619); default d=0.25, the mean closest to the middle of the
band. At v7's knob and d=0.1 the v8 phantom (before its lesions were enlarged) gave 0.443 on every
seed: the majority class, the CNN having learned nothing once a lesion no longer rescaled the image.
Phantom v7 (knob 2.5 - 2.25 d): d=0.0 mean 0.820, d=0.1 0.759, d=0.2 0.712. Phantom v6 (2 - 1.5 d):
d=0.0 mean 0.735, d=0.1 mean 0.710.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from dspic_lib.cli.bench import load_average


def bench_timing() -> None:
    from dspic_lib.data import phantom
    from dspic_lib.data.cohort import load_all, scan

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cohort")
        print("before synth:", load_average(), flush=True)
        t0 = time.perf_counter()
        phantom.generate(out, phantom.PhantomConfig(n_patients=384), profile="cpu", workers=2, progress=False)
        t_synth = time.perf_counter() - t0
        print(f"synth: 384 patients / 768 images in {t_synth:.1f} s (goal < 20 s)   [{load_average()}]", flush=True)
        t0 = time.perf_counter()
        cohort = scan(out)
        t_scan = time.perf_counter() - t0
        pixels = load_all(cohort, progress=False)
        t_load = time.perf_counter() - t0 - t_scan
        print(f"scan: {len(cohort.table)} images in {t_scan:.1f} s; load_all {pixels.shape} in {t_load:.1f} s; "
              f"together {t_scan + t_load:.1f} s (goal < 10 s)   [{load_average()}]")


def _render_small(args):
    from dspic_lib.data import phantom

    plans, cfg, rows, cols = args
    out = []
    for plan in plans:
        ant, post, _, _ = phantom.render_patient(plan, cfg)
        for img in (ant, post):
            a = img.astype(np.float32)
            a = a.reshape(rows, a.shape[0] // rows, cols, a.shape[1] // cols).mean(axis=(1, 3))
            a = (a - a.min()) / max(float(a.max() - a.min()), 1e-6)      # Eq. 1
            out.append((plan.patient_id, plan.label, a))
    return out


def render_cohort(difficulty: float, n_patients: int = 384, seed: int = 0, rows: int = 256, cols: int = 64):
    from dspic_lib.data import phantom

    cfg = phantom.PhantomConfig(n_patients=n_patients, seed=seed, difficulty=difficulty)
    plans = phantom.plan_cohort(cfg)
    chunks = [(plans[i:i + 16], cfg, rows, cols) for i in range(0, len(plans), 16)]
    with ProcessPoolExecutor(2) as pool:
        recs = [r for part in pool.map(_render_small, chunks) for r in part]
    pid = np.array([r[0] for r in recs])
    label = np.array([r[1] for r in recs])
    x = np.stack([r[2] for r in recs])[..., None]
    return pid, label, x


def plain_cnn_accuracy(pid, label, x, seed: int = 0, epochs: int = 60) -> float:
    from sklearn.model_selection import train_test_split

    from dspic_lib._tf import keras, tf

    keras.utils.set_random_seed(seed)
    classes = ["N", "M", "A"]
    patients = sorted(set(pid))
    plabel = {p: label[pid == p][0] for p in patients}
    train_p, test_p = train_test_split(patients, test_size=0.3, random_state=seed,
                                       stratify=[plabel[p] for p in patients])
    keep = label != "M&A"
    tr = np.isin(pid, train_p) & keep
    te = np.isin(pid, test_p) & keep
    y = np.array([classes.index(v) if v in classes else -1 for v in label])
    inputs = keras.Input(x.shape[1:])
    h = inputs
    for filters in (16, 32, 64, 64):
        h = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
        h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=12, restore_best_weights=True, monitor="val_loss")
    model.fit(x[tr], y[tr], validation_split=0.15, epochs=epochs, batch_size=32, verbose=0, callbacks=[stop])
    pred = model.predict(x[te], verbose=0).argmax(1)
    del tf
    return float((pred == y[te]).mean())


def bench_difficulty(values: list[float], seeds: list[int]) -> None:
    print("difficulty  plain-CNN test accuracy (3 classes, patient split 7:3)", flush=True)
    for d in values:
        t0 = time.perf_counter()
        pid, label, x = render_cohort(d)
        accs = [plain_cnn_accuracy(pid, label, x, seed=s) for s in seeds]
        print(f"{d:10.2f}  {'  '.join(f'{a:.3f}' for a in accs)}  mean {np.mean(accs):.3f}  "
              f"({time.perf_counter() - t0:.0f} s)   [{load_average()}]", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench/bench_data.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--difficulty", nargs="*", type=float, default=None,
                   help="measure a plain CNN at these difficulties (default 0.25 0.5 0.75 1.0)")
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    args = p.parse_args(argv)
    if args.difficulty is not None:
        bench_difficulty(args.difficulty or [0.25, 0.5, 0.75, 1.0], args.seeds)
    else:
        bench_timing()
    return 0


if __name__ == "__main__":
    sys.exit(main())
