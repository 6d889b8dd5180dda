"""``dspic bench``: how fast a model trains and predicts on this machine, against a NumPy matmul peak.

The yardstick is measured in the same run: the best float32 matrix-multiply rate NumPy's BLAS reaches
here (GFLOP/s). A model's achieved rate is images/s x FLOPs per image, with FLOPs counted by
:func:`dspic_lib.models.summary.flops` (2 x multiply-accumulates of convolutions and dense layers);
a training step is counted as 3 forward passes (forward, gradient w.r.t. inputs, w.r.t. weights).

Every configuration runs in a fresh Python process: TensorFlow's thread pools can only be sized before
its runtime starts, and a fresh process keeps one configuration from warming caches for the next.
The benchmark prints figures; it never fails on speed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

GOAL = 0.5           # achieved / NumPy matmul peak, at batch 32
GOAL_BATCH = 32


PEAK_SIZES = (1024, 2048, 4096)


def matmul_peak(sizes=PEAK_SIZES, repeats: int = 5) -> float:
    """Best float32 GFLOP/s of NumPy's ``a @ b`` over a few square sizes (best of ``repeats``)."""
    import numpy as np

    best = 0.0
    rng = np.random.default_rng(0)
    for n in sizes:
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def _timed(fn, steps: int, warmup: int = 2) -> float:
    """Seconds per call: best of 3 rounds of ``steps`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        rounds.append((time.perf_counter() - start) / steps)
    return min(rounds)


def _worker(config: dict) -> dict:
    """Runs in a fresh process: size the thread pools, then build the model and time it."""
    import tensorflow as tf

    if config.get("intra"):
        tf.config.threading.set_intra_op_parallelism_threads(config["intra"])
    if config.get("inter"):
        tf.config.threading.set_inter_op_parallelism_threads(config["inter"])
    import numpy as np

    from dspic_lib._tf import keras
    from dspic_lib.models import build, summary

    shape = tuple(config["input_shape"])
    keras.utils.set_random_seed(0)
    model = build(config["model"], shape)
    flops = summary.flops(model)
    jit = bool(config.get("jit"))
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy", jit_compile=jit)
    predict = tf.function(lambda x: model(x, training=False), jit_compile=jit)
    rows = []
    for batch in config["batch_sizes"]:
        x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
        y = np.eye(3, dtype=np.float32)[np.arange(batch) % 3]
        train_s = _timed(lambda: model.train_on_batch(x, y), config["steps"])
        infer_s = _timed(lambda: predict(x).numpy(), 2 * config["steps"])
        rows.append(dict(batch=batch, train_img_s=batch / train_s, infer_img_s=batch / infer_s,
                         train_gflop_s=3 * flops * batch / train_s / 1e9,
                         infer_gflop_s=flops * batch / infer_s / 1e9))
    # the yardstick again, right after the timings and in the same process: on a shared machine the
    # load changes during a run, and each configuration is compared with the peak of its own moment
    out = dict(config=config, flops=flops, rows=rows,
               peak=matmul_peak(config.get("peak_sizes", PEAK_SIZES)),
               threads=[tf.config.threading.get_intra_op_parallelism_threads(),
                        tf.config.threading.get_inter_op_parallelism_threads()])
    if config.get("layout_probe"):
        out["layout"] = _layout_probe(model, config["layout_probe"], tf)
    return out


def _layout_probe(model, batch: int, tf) -> dict:
    """Seconds of the model's costliest convolution alone, channels_last (NHWC) vs channels_first."""
    from dspic_lib.models import summary

    conv = max(model.layers, key=summary.layer_flops)
    shape_in = summary.layer_io(conv)[0][0][1:]   # already zero-padded: "VALID" is the layer's own op
    kernel = conv.kernel
    nhwc = tf.random.normal((batch, *shape_in))
    nchw = tf.transpose(nhwc, (0, 3, 1, 2))
    out = {"layer": conv.name}
    for fmt, x in (("NHWC", nhwc), ("NCHW", nchw)):
        fn = tf.function(lambda x, fmt=fmt: tf.nn.conv2d(x, kernel, 1, "VALID", data_format=fmt))
        out[fmt] = _timed(lambda: fn(x).numpy(), 5)
    return out


def _spawn(config: dict) -> dict:
    """Run one configuration in a fresh interpreter; TensorFlow's start-up chatter is discarded."""
    cmd = [sys.executable, "-m", "dspic_lib.cli.bench", "--worker", json.dumps(config)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"benchmark worker failed for {config}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(model: str = "dSPIC-AM", profile: str = "cpu", batch_sizes=(8, 16, 32, 64), steps: int = 3,
        levers: bool = True) -> dict:
    """Measure ``model`` at the profile's resolution; with ``levers`` also threads and XLA jit."""
    from dspic_lib.config import get_profile

    shape = list(get_profile(profile).input_shape)
    base = dict(model=model, input_shape=shape, steps=steps)
    report = dict(model=model, profile=profile, input_shape=shape, load_before=os.getloadavg(),
                  peak_before=matmul_peak())
    batches = sorted(set(batch_sizes) | {GOAL_BATCH})
    runs = [("default threads", dict(base, batch_sizes=batches, layout_probe=GOAL_BATCH))]
    if levers:
        runs += [("intra=2 inter=1", dict(base, batch_sizes=[GOAL_BATCH], intra=2, inter=1)),
                 ("intra=1 inter=1 (one core)", dict(base, batch_sizes=[GOAL_BATCH], intra=1, inter=1)),
                 ("XLA jit_compile", dict(base, batch_sizes=[GOAL_BATCH], jit=True))]
    report["runs"] = {label: _spawn(config) for label, config in runs}
    report["peak_after"] = matmul_peak()
    report["load_after"] = os.getloadavg()
    return report


def format_report(report: dict) -> str:
    first = next(iter(report["runs"].values()))
    peaks = [run_["peak"] for run_ in report["runs"].values()]
    lines = [f"{report['model']} at {report['input_shape'][0]} x {report['input_shape'][1]} "
             f"(profile {report['profile']}), {first['flops'] / 1e9:.3f} GFLOP per image forward",
             f"NumPy float32 matmul peak: {report['peak_before']:.1f} GFLOP/s before the run, "
             f"{report['peak_after']:.1f} after, {min(peaks):.1f}-{max(peaks):.1f} in the workers "
             f"(each configuration is divided by the peak measured in its own worker)",
             f"load average (1, 5, 15 min): before {_load(report['load_before'])}, "
             f"after {_load(report['load_after'])}; {os.cpu_count()} CPUs", "",
             f"{'configuration':28s} {'batch':>5s} {'train img/s':>11s} {'infer img/s':>11s} "
             f"{'train GFLOP/s':>13s} {'infer GFLOP/s':>13s} {'train/peak':>10s} {'infer/peak':>10s}"]
    for label, run_ in report["runs"].items():
        peak = run_["peak"]
        for r in run_["rows"]:
            lines.append(f"{label:28s} {r['batch']:5d} {r['train_img_s']:11.1f} {r['infer_img_s']:11.1f} "
                         f"{r['train_gflop_s']:13.1f} {r['infer_gflop_s']:13.1f} "
                         f"{r['train_gflop_s'] / peak:10.0%} {r['infer_gflop_s'] / peak:10.0%}")
    goal = next(r for r in first["rows"] if r["batch"] == GOAL_BATCH)
    ratio = goal["train_gflop_s"] / first["peak"]
    lines += ["", f"goal: training at batch {GOAL_BATCH} >= {GOAL:.0%} of the matmul peak: "
              f"{'met' if ratio >= GOAL else 'MISSED'} ({ratio:.0%}; inference "
              f"{goal['infer_gflop_s'] / first['peak']:.0%})"]
    if "layout" in first:
        lay = first["layout"]
        lines.append(f"layout probe, {lay['layer']} alone at batch {GOAL_BATCH}: channels_last (NHWC) "
                     f"{lay['NHWC'] * 1e3:.1f} ms, channels_first (NCHW) {lay['NCHW'] * 1e3:.1f} ms")
    return "\n".join(lines)


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def load_average() -> str:
    """The machine's load now, printed next to every benchmark figure (a shared machine skews them)."""
    return f"load average (1, 5, 15 min): {_load(os.getloadavg())}; {os.cpu_count()} CPUs"


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="training/inference speed of a model vs a NumPy matmul peak, "
                              "or of `dspic predict` end to end (`dspic bench predict`)",
                              description="Training and inference images/s of a registered model at a "
                              "profile's resolution, and the achieved GFLOP/s as a fraction of a NumPy "
                              "float32 matmul peak measured in the same run.")
    p.add_argument("what", nargs="?", default="model", choices=("model", "predict"),
                   help="model: training/inference speed of one model (default); predict: `dspic predict` "
                        "end to end on synthetic DICOM files (dspic_lib/bench_predict.py)")
    p.add_argument("--model", default="dSPIC-AM", help="a registered model name (default: dSPIC-AM)")
    p.add_argument("--profile", default="cpu", help="profile whose resolution is used (default: cpu)")
    p.add_argument("--batch-sizes", default="8,16,32,64", help="comma-separated (default: 8,16,32,64)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per round (best of 3 rounds)")
    p.add_argument("--no-levers", action="store_true", help="skip the thread and jit variants")
    p.add_argument("--json", default=None, help="also write the raw figures to this file")
    p.add_argument("--n", type=int, default=256, help="predict: DICOM files to write and predict (default: 256)")
    p.add_argument("--batch-size", type=int, default=32, help="predict: images per model call (default: 32)")
    p.add_argument("--workers", type=int, default=None, help="predict: reader threads (default: 2)")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    from dspic_lib.config import get_profile
    from dspic_lib.errors import ConfigError
    from dspic_lib.models import names
    from dspic_lib.options import look_up_option

    if args.what == "predict":
        from dspic_lib.predict.bench import cli

        return cli(args)
    look_up_option(args.model, names(), what="model")
    get_profile(args.profile)
    try:
        batches = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    except ValueError:
        raise ConfigError(f"--batch-sizes expects integers like 8,16,32, got {args.batch_sizes!r}") from None
    report = run(args.model, args.profile, batches, args.steps, levers=not args.no_levers)
    print(format_report(report))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
    else:
        parser = argparse.ArgumentParser(prog="python -m dspic_lib.cli.bench")
        sub = parser.add_subparsers(dest="command", required=True)
        register(sub)
        sys.exit(_cli(parser.parse_args(["bench", *sys.argv[1:]])))
