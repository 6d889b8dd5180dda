"""``dspic bench predict``: images/s of ``dspic predict`` end to end, on this machine.

Writes ``n`` synthetic NM DICOM files at the cohort's native size (1024 x 256, 16-bit, uncompressed,
one view each: :func:`dspic_lib.data.dicom.write_nm`), exports an untrained dSPIC-AM at the ``cpu``
resolution (256 x 64) as a model folder with a card, and times :func:`dspic_lib.predict.scans.predict_files`
on them: file read, DICOM decode, input checks, Eq. 1 + resize, the model, the rows. Then the parts
alone (decode, preprocessing, the model) so a shortfall says where the time goes. The model is not
trained: its speed does not depend on its weights. Target: :data:`TARGET` images/s.

Timings on a shared machine vary with its load: the load average is printed beside them, and so is
the CPU time the run took per image (all threads), which the load changes much less: with ``k`` idle
cores no run can beat ``k`` / that time.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET = 50.0               # images/s, end to end, on the project's 2-core machine
N_FILES = 256
SHAPE = (1024, 256)         # the cohort's native rows x cols


def _counts(rng, shape=SHAPE) -> np.ndarray:
    """A body-like blob of Poisson counts (a smooth field, so the resize has something to smooth)."""
    r = np.linspace(-1, 1, shape[0])[:, None]
    c = np.linspace(-1, 1, shape[1])[None, :]
    lam = 5 + 120 * np.exp(-(r / 0.8) ** 2 - (c / 0.35) ** 2)
    return rng.poisson(lam).astype(np.uint16)


def write_scans(folder: Path, n: int, seed: int = 0) -> list[Path]:
    from dspic_lib.data.dicom import PatientInfo, write_nm

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        view = ("anterior", "posterior")[i % 2]
        who = PatientInfo(patient_id=f"BENCH{i // 2:04d}", name=f"BENCH^{i // 2}", sex="F", age=60,
                          study_date="20200101")
        paths.append(write_nm(folder / f"scan{i:04d}.dcm", [(view, _counts(rng))], who, uid_seed=f"bench{i}"))
    return paths


def export_untrained(folder: Path, scans: list[Path], model_name: str = "dSPIC-AM", rows: int = 256,
                     cols: int = 64) -> Path:
    """A model folder with an untrained ``model_name`` and a card whose input statistics are those of
    ``scans`` (so the input checks run, and stay quiet)."""
    import pandas as pd

    from dspic_lib import models
    from dspic_lib.data import dicom
    from dspic_lib.predict import card as modelcard
    from dspic_lib.predict import checks as input_checks
    from dspic_lib.vocab import OUTPUTS

    model = models.build(model_name, input_shape=(rows, cols, 1), seed=0)
    stats = []
    for p in scans[:16]:
        px = dicom.read_frame(p, shape=None)
        stats.append({"rows": px.shape[0], "cols": px.shape[1], "max_count": float(px.max()),
                      "total_counts": float(px.sum())})
    card = {
        "card_format": modelcard.CARD_FORMAT,
        "model": {"name": model_name, "file": modelcard.MODEL_FILE, "config": model.get_config(),
                  "parameters": int(model.count_params())},
        "classes": list(OUTPUTS), "m_and_a_rule": modelcard.TOP2_RULE,
        "input": {"rows": rows, "cols": cols, "channels": 1, "dtype": "float32", "range": [0.0, 1.0]},
        "preprocessing": {"function": "dspic_lib.pipeline.preprocess.preprocess_image",
                          "parameters": {"shape": [rows, cols]}, "steps": modelcard.PREPROCESSING_STEPS},
        "training": {"dataset": "none (untrained, for the benchmark)"},
        "data": {"fingerprint": None, "synthetic": True},
        "input_statistics": input_checks.training_stats(pd.DataFrame(stats), [16]),
        "provenance": {"git_commit": "bench", "dirty": False},
    }
    return modelcard.export(model, card, folder)


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def run(n: int = N_FILES, batch_size: int = 32, workers: int | None = None, repeats: int = 2) -> dict:
    from dspic_lib.data import dicom
    from dspic_lib.pipeline.preprocess import preprocess_image
    from dspic_lib.predict import card as modelcard
    from dspic_lib.predict import scans as predict

    with tempfile.TemporaryDirectory(prefix="dspic-bench-predict-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        scans = write_scans(tmp / "scans", n)
        write_s = time.perf_counter() - t0
        loaded = modelcard.load(export_untrained(tmp / "model", scans))
        sources, _ = predict.find_inputs([tmp / "scans"])
        pseudonym = predict.pseudonymizer(b"bench")
        load_before = os.getloadavg()
        runs, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            res = predict.predict_files(loaded, sources, batch_size=batch_size, workers=workers,
                                        progress=False, pseudonym=pseudonym)
            runs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert len(res.images) == n and not res.failed
        # the parts alone, one thread, on a sample
        sample = scans[: min(64, n)]
        start = time.perf_counter()
        raw = [dicom.read_nm(p, shape=None, data=p.read_bytes())[1][0].pixels for p in sample]
        decode = (time.perf_counter() - start) / len(sample)
        start = time.perf_counter()
        X = np.stack([preprocess_image(px, loaded.shape) for px in raw])
        prep = (time.perf_counter() - start) / len(sample)
        run_model = predict.predictor(loaded.model, loaded.shape)
        run_model(X[:batch_size])
        start = time.perf_counter()
        predict.predict_arrays(loaded.model, X, batch_size, run=run_model)
        model_s = (time.perf_counter() - start) / len(sample)
        return {"n": n, "batch_size": batch_size, "workers": 2 if workers is None else workers, "write_s": write_s,
                "seconds": runs, "img_s": [n / s for s in runs], "cpu_ms": [1e3 * c / n for c in cpu], "decode_ms": 1e3 * decode,
                "preprocess_ms": 1e3 * prep, "model_ms": 1e3 * model_s, "load_before": load_before,
                "load_after": os.getloadavg(), "cpus": os.cpu_count(), "target": TARGET}


def format_report(r: dict) -> str:
    best = max(r["img_s"])
    return "\n".join([
        f"dspic predict, untrained dSPIC-AM at 256 x 64, {r['n']} NM DICOM files of 1024 x 256 "
        f"(batch {r['batch_size']}, {r['workers']} reader threads, {r['cpus']} CPUs)",
        "end to end (read, decode, input checks, Eq. 1 + resize, model, rows): "
        + ", ".join(f"{v:.1f} img/s ({s:.2f} s)" for v, s in zip(r["img_s"], r["seconds"]))
        + " (first run includes tracing the model)",
        "CPU time of this process per image (all threads): "
        + ", ".join(f"{c:.1f} ms" for c in r["cpu_ms"])
        + f"; {r['cpus']} idle cores could give at most {r['cpus'] * 1e3 / min(r['cpu_ms']):.0f} img/s",
        f"parts alone, per image, one thread: decode {r['decode_ms']:.1f} ms, preprocessing "
        f"{r['preprocess_ms']:.1f} ms, model {r['model_ms']:.1f} ms (batch {r['batch_size']})",
        f"load average (1, 5, 15 min): before {', '.join(f'{v:.2f}' for v in r['load_before'])}, "
        f"after {', '.join(f'{v:.2f}' for v in r['load_after'])}",
        f"target >= {r['target']:.0f} img/s: {'met' if best >= r['target'] else 'MISSED'} ({best:.1f} img/s, best run)",
    ])


def cli(args) -> int:
    report = run(args.n, args.batch_size, args.workers)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0
