"""The benchmark's plumbing (its figures are printed by `dspic bench`, never asserted)."""
from __future__ import annotations

from dspic_lib import cli
from dspic_lib.cli import bench
from dspic_lib.models import build, summary


def test_bench_refuses_an_unknown_model(capsys):
    assert cli.main(["bench", "--model", "dSPIC-XX"]) == 1
    assert "unknown model 'dSPIC-XX'" in capsys.readouterr().err


def test_worker_times_a_tiny_run_with_the_models_flop_count():
    out = bench._worker(dict(model="SI_CLF", input_shape=[128, 32, 1], steps=1, batch_sizes=[2],
                             peak_sizes=[64]))
    assert out["peak"] > 0
    assert out["flops"] == summary.flops(build("SI_CLF", (128, 32, 1)))
    row = out["rows"][0]
    assert row["batch"] == 2 and row["train_img_s"] > 0 and row["infer_img_s"] > 0
    assert abs(row["train_gflop_s"] - 3 * out["flops"] * row["train_img_s"] / 1e9) < 1e-6


def test_report_states_whether_the_goal_is_met():
    rows = [dict(batch=32, train_img_s=10.0, infer_img_s=30.0, train_gflop_s=40.0, infer_gflop_s=60.0)]
    report = dict(model="dSPIC-AM", profile="cpu", input_shape=[256, 64, 1], peak_before=100.0,
                  peak_after=90.0, load_before=(1.0, 1.0, 1.0), load_after=(1.0, 1.0, 1.0),
                  runs={"default threads": dict(flops=2e9, rows=rows, peak=100.0)})
    text = bench.format_report(report)
    assert "MISSED (40%; inference 60%)" in text and "100.0 GFLOP/s before the run, 90.0 after" in text
    rows[0]["train_gflop_s"] = 55.0
    assert "met (55%" in bench.format_report(report)


def test_matmul_peak_is_the_best_rate_in_gflop_s(monkeypatch):
    """2 n^3 floating-point operations (a multiply and an add per term) over the fastest of the repeats."""
    durations = iter([0.004, 0.002, 0.003])
    clock = {"now": 0.0, "start": True}

    def fake_perf_counter():
        if not clock["start"]:
            clock["now"] += next(durations)
        clock["start"] = not clock["start"]
        return clock["now"]

    monkeypatch.setattr(bench.time, "perf_counter", fake_perf_counter)
    assert bench.matmul_peak(sizes=(64,), repeats=3) == 2 * 64**3 / 0.002 / 1e9
