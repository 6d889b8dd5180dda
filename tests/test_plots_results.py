"""The results chapters' figures fit the page like every other figure (at most the column wide, text of
9 pt and up, constrained layout, no paper figure numbers in titles, colours named in legends), and show
what they claim: the selected epoch, confusion counts of the 3-class images only, "undefined" ROC
panels. Fake runs with seeded random probabilities; nothing is trained."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # tests only: the library leaves the backend to the notebook

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import assert_fits_the_column  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from dspic_lib.evaluation import metrics  # noqa: E402
from dspic_lib.palette import CLASS_COLORS  # noqa: E402
from dspic_lib.pipeline.train import Run  # noqa: E402
from dspic_lib.plots import results as pr  # noqa: E402
from dspic_lib.vocab import CLASS_NAMES, OUTPUTS  # noqa: E402

MIN_PT = 9.0
MODELS = ["dSPIC-AM", "dSPIC-RM", "SI_CLF", "SI_CLF+AM", "AlexNet"]


pytestmark = pytest.mark.usefixtures("plot_style")


# ---------------------------------------------------------------------------------------------------
# Fake runs: ~40 test images of N/M/A plus 2 M&A, probabilities leaning towards the true class


def _run(model="dSPIC-AM", dataset="D2", seed=0, epochs=5, labels=None, best_epoch=None) -> Run:
    rng = np.random.default_rng(seed * 101 + len(model) + epochs)
    if labels is None:
        labels = ["N"] * 14 + ["M"] * 13 + ["A"] * 13 + ["M&A"] * 2
    labels = list(labels)
    logits = rng.normal(0.0, 1.0, (len(labels), len(OUTPUTS)))
    for i, lab in enumerate(labels):
        for c in lab.split("&"):
            logits[i, OUTPUTS.index(c)] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ep = np.arange(1, epochs + 1)
    history = pd.DataFrame({"epoch": ep, "loss": 1.1 / ep + 0.2 + 0.05 * seed,
                            "val_loss": 1.0 / ep + 0.35 + 0.02 * ep + 0.04 * seed,
                            "val_accuracy": np.clip(0.4 + 0.08 * ep - 0.03 * seed + rng.normal(0, 0.02, epochs), 0, 1)})
    meta = pd.DataFrame({"image": [f"img{i}" for i in range(len(labels))],
                         "patient": [f"P{i // 2}" for i in range(len(labels))],
                         "view": ["anterior", "posterior"] * (len(labels) // 2) + ["anterior"] * (len(labels) % 2),
                         "label": labels})
    return Run(model=model, dataset=dataset, seed=seed, history=history, proba=proba, test_meta=meta,
               best_epoch=best_epoch if best_epoch is not None else max(1, epochs - 1), seconds=1.0,
               entry_id=f"{model}-{dataset}-{seed}", cached=True, val_proba=proba[:0], val_meta=meta.iloc[:0])


def _runs():
    return [_run(m, seed=i, epochs=5 if i else 1) for i, m in enumerate(MODELS)]


def _summaries(sd: bool = True) -> pd.DataFrame:
    rows = {}
    for run in _runs():
        s = metrics.summary(run.y_true, run.proba)
        rows[run.model] = {m: s[m] for m in metrics.METRICS}
        if sd:
            rows[run.model].update({f"{m}_sd": 0.03 for m in metrics.METRICS})
    return pd.DataFrame.from_dict(rows, orient="index")


def _pooling(paper: bool = True):
    a, b = _run(seed=1), _run(seed=2)
    with_pool, without_pool = metrics.summary(a.y_true, a.proba), metrics.summary(b.y_true, b.proba)
    table = pd.DataFrame({"accuracy": [0.7747, 0.7558], "precision": [0.7883, 0.7561],
                          "sensitivity": [0.7863, 0.7740], "specificity": [0.8820, 0.8642],
                          "f1": [0.7860, 0.7649], "auc": [0.9272, 0.9060]},
                         index=["with pooling", "without pooling"])
    return with_pool, without_pool, (table if paper else None)


def _figures():
    runs = _runs()
    return {
        "training_curves": lambda: pr.training_curves(runs[:3]),
        "training_curves_one_epoch": lambda: pr.training_curves([_run(epochs=1, best_epoch=1)]),
        "per_class_metrics": lambda: pr.per_class_metrics(runs[0]),
        "metric_bars": lambda: pr.metric_bars(_summaries()),
        "metric_bars_no_sd": lambda: pr.metric_bars(_summaries(sd=False)),
        "roc_curves": lambda: pr.roc_curves(runs),
        "confusion_grid": lambda: pr.confusion_grid(runs),
        "confusion_grid_normalized": lambda: pr.confusion_grid(runs[:2], normalize=True),
        "pooling_bars": lambda: pr.pooling_bars(*_pooling()),
        "pooling_bars_no_paper": lambda: pr.pooling_bars(*_pooling(paper=False)),
        "paper_vs_run": lambda: pr.paper_vs_run(_paper_vs_run()),
    }


def _paper_vs_run():
    """Long table as results.verdicts_wide gives it: two models, three datasets, two metrics."""
    rows = [(m, d, k, 0.7 + 0.01 * i, 0.5 + 0.02 * i)
            for i, (m, d, k) in enumerate((m, d, k) for m in ("dSPIC-AM", "dSPIC-RM") for d in ("D1", "D2", "D3")
                                          for k in ("accuracy", "f1"))]
    return pd.DataFrame(rows, columns=["model", "dataset", "metric", "paper", "this run"])


FIGURES = list(_figures())


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _legend_texts(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.get_axes() if ax.get_legend() is not None]
    return {t.get_text() for lg in legends for t in lg.get_texts()}


def _annotations(ax) -> list[float]:
    """The numbers written in a heat map's cells."""
    return [float(t.get_text()) for t in ax.texts if re.fullmatch(r"-?\d+(\.\d+)?", t.get_text())]


def _heatmap_axes(fig):
    """The axes holding an annotated heat map (not the colour bar, not the bar charts)."""
    return [ax for ax in fig.get_axes()
            if ax.get_visible() and any(isinstance(c, QuadMesh) for c in ax.collections) and _annotations(ax)]


# ---------------------------------------------------------------------------------------------------


def test_every_public_figure_function_is_covered():
    import inspect
    public = {n for n, f in inspect.getmembers(pr, inspect.isfunction)
              if f.__module__ == pr.__name__ and not n.startswith("_")}
    assert public == {"training_curves", "per_class_metrics", "metric_bars", "roc_curves", "confusion_grid",
                      "pooling_bars", "paper_vs_run"}
    assert public <= {re.sub(r"_(one_epoch|no_sd|normalized|no_paper)$", "", f) for f in FIGURES}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_column_with_legible_text(name):
    fig = _figures()[name]()
    assert isinstance(fig, Figure)
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    assert_fits_the_column(fig, name)


def test_training_curves_name_runs_and_mark_the_selected_epoch():
    runs = [_run("dSPIC-AM", epochs=5, best_epoch=3), _run("dSPIC-RM", seed=1, epochs=1, best_epoch=1)]
    fig = pr.training_curves(runs)
    legend = _legend_texts(fig)
    assert {"dSPIC-AM on D2", "dSPIC-RM on D2", "training", "validation", "selected epoch"} <= legend
    loss, acc = fig.get_axes()[:2]
    for ax in (loss, acc):
        assert ax.get_xlabel() == "epoch"
        dotted = [tuple(ln.get_xdata()) for ln in ax.get_lines() if ln.get_linestyle() == ":"]
        assert (3, 3) in dotted and (1, 1) in dotted
        # every tick an integer epoch
        assert all(float(t).is_integer() for t in ax.get_xticks())
    # the 1-epoch history is drawn, with markers (a single point has no line)
    one = [ln for ln in loss.get_lines() if len(ln.get_xdata()) == 1 and ln.get_marker() not in (None, "None", "")]
    assert one
    # a seed is named only when two runs share model and dataset
    for ax in pr.training_curves([_run(epochs=1, best_epoch=1)]).get_axes()[:2]:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks == [1.0]
    twins = pr.training_curves([_run(seed=0), _run(seed=1)])
    assert {"dSPIC-AM on D2, seed 0", "dSPIC-AM on D2, seed 1"} <= _legend_texts(twins)


def test_per_class_metrics_use_class_colours_and_leave_out_both():
    run = _run()
    fig = pr.per_class_metrics(run)
    assert {f"{c}: {CLASS_NAMES[c]}" for c in OUTPUTS} <= _legend_texts(fig)
    bars_ax = fig.get_axes()[0]
    faces = {matplotlib.colors.to_hex(p.get_facecolor()) for p in bars_ax.patches}
    assert faces == {CLASS_COLORS[c] for c in OUTPUTS}
    table = metrics.per_class(run.y_true, run.proba)
    heights = sorted(round(p.get_height(), 9) for p in bars_ax.patches)
    expected = sorted(round(v, 9) for v in table[["precision", "sensitivity", "specificity", "f1"]].to_numpy().ravel())
    assert heights == expected
    (hm,) = _heatmap_axes(fig)
    assert sum(_annotations(hm)) == 40    # 40 images of N, M, A; the 2 M&A left out
    assert [t.get_text() for t in hm.get_xticklabels()] == list(OUTPUTS)
    assert [t.get_text() for t in hm.get_yticklabels()] == list(OUTPUTS)
    assert (hm.get_xlabel(), hm.get_ylabel()) == ("predicted", "true")
    assert not [t for t in _texts(fig) if "M&A" in t.get_text()]


def test_metric_bars_one_bar_per_model_and_metric_with_error_bars():
    table = _summaries()
    fig = pr.metric_bars(table)
    assert set(table.index) <= _legend_texts(fig)
    ax = fig.get_axes()[0]
    assert len(ax.patches) == len(table) * len(metrics.METRICS)
    assert ax.get_ylim() == (0.0, 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()][-2:] == ["F1", "AUC"]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == len(table) and all(c.errorbar is not None for c in bars)
    plain = pr.metric_bars(_summaries(sd=False)).get_axes()[0]
    assert all(c.errorbar is None for c in plain.containers if isinstance(c, BarContainer))


MIN_HUE_DEGREES = 30.0   # HUSL hue: three oranges (the old "colorblind" pick) lie within 20 degrees


def _min_hue_distance(colors) -> float:
    from seaborn.external import husl

    hues = [husl.hex_to_husl(matplotlib.colors.to_hex(c))[0] for c in colors]
    return min(min(abs(a - b), 360 - abs(a - b)) for i, a in enumerate(hues) for b in hues[i + 1:])


def test_model_colours_have_distinct_hues():
    """Figs 5.1-5.2 compare up to eight models: any two of their colours differ in hue by more than
    MIN_HUE_DEGREES, and the bars and curves use exactly those colours."""
    import seaborn as sns

    assert _min_hue_distance(sns.color_palette("colorblind", 8)) < MIN_HUE_DEGREES   # the measure catches it
    for n in (2, 5, 8):
        assert _min_hue_distance(pr._model_colors(n)) > MIN_HUE_DEGREES, n
    fig = pr.metric_bars(_summaries())
    bars = [c for c in fig.get_axes()[0].containers if isinstance(c, BarContainer)]
    drawn = [matplotlib.colors.to_hex(c.patches[0].get_facecolor()) for c in bars]
    assert drawn == [c.lower() for c in pr._model_colors(len(bars))]


def test_roc_curves_one_panel_per_class_with_auc_in_the_legend():
    runs = _runs()[:2]
    fig = pr.roc_curves(runs)
    axes = [ax for ax in fig.get_axes() if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f"{c}: {CLASS_NAMES[c]}" for c in OUTPUTS]
    auc = metrics.per_class(runs[0].y_true, runs[0].proba)["auc"]
    for ax, c in zip(axes, OUTPUTS):
        texts = {t.get_text() for t in ax.get_legend().get_texts()}
        assert f"{runs[0].model} (AUC {auc[c]:.2f})" in texts
        curves = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
        assert len(curves) == 2 and all(ln.get_xdata()[0] == 0 and ln.get_xdata()[-1] == 1 for ln in curves)


def test_roc_panel_of_an_absent_class_says_undefined():
    run = _run(labels=["N"] * 20 + ["M"] * 20 + ["M&A"] * 2)      # no A among the 3-class images
    fig = pr.roc_curves([run])
    axes = {ax.get_title()[0]: ax for ax in fig.get_axes()}
    assert "undefined" in {t.get_text() for t in axes["A"].texts}
    assert not [ln for ln in axes["A"].get_lines() if ln.get_linestyle() == "-"]
    assert "undefined" not in {t.get_text() for t in axes["N"].texts}


def test_confusion_grid_counts_the_three_class_images_on_one_scale():
    runs = _runs()
    fig = pr.confusion_grid(runs)
    heatmaps = _heatmap_axes(fig)
    assert [ax.get_title() for ax in heatmaps] == [r.model for r in runs]
    assert all(sum(_annotations(ax)) == 40 for ax in heatmaps)
    assert len({(ax.collections[0].norm.vmin, ax.collections[0].norm.vmax) for ax in heatmaps}) == 1
    assert fig.get_size_inches()[1] > 4          # five runs: two rows of at most three
    normalized = pr.confusion_grid(runs[:2], normalize=True)
    for ax in _heatmap_axes(normalized):
        values = np.array(_annotations(ax)).reshape(3, 3)
        assert np.allclose(values.sum(axis=1), 1.0, atol=0.015)
        assert all(re.fullmatch(r"\d\.\d\d", t.get_text()) for t in ax.texts)


def test_pooling_bars_pair_the_variants_and_mark_the_paper():
    fig = pr.pooling_bars(*_pooling())
    assert {"with pooling", "without pooling", "paper"} <= _legend_texts(fig)
    assert "D2" in fig.get_axes()[0].get_title()
    ax = fig.get_axes()[0]
    assert len(ax.patches) == 10
    markers = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    assert sorted(np.concatenate([ln.get_ydata() for ln in markers]).round(4)) == sorted(
        [0.7747, 0.7883, 0.7863, 0.8820, 0.7860, 0.7558, 0.7561, 0.7740, 0.8642, 0.7649])
    assert "paper" not in _legend_texts(pr.pooling_bars(*_pooling(paper=False)))


def test_paper_vs_run_draws_this_run_as_bars_and_the_paper_as_markers():
    values = _paper_vs_run()
    fig = pr.paper_vs_run(values)
    assert {"dSPIC-AM", "dSPIC-RM", "paper"} <= _legend_texts(fig)
    axes = [ax for ax in fig.get_axes() if ax.patches]
    assert [ax.get_title() for ax in axes] == ["accuracy", "F1"]
    for ax, metric in zip(axes, ("accuracy", "f1")):
        sel = values[values["metric"] == metric]
        assert sorted(round(p.get_height(), 4) for p in ax.patches) == sorted(sel["this run"].round(4))
        marks = np.concatenate([ln.get_ydata() for ln in ax.get_lines() if ln.get_marker() == "D"])
        assert sorted(marks.round(4)) == sorted(sel["paper"].round(4))


def test_no_colour_literal_but_greys():
    for hexcode in re.findall(r"#[0-9a-fA-F]{6}\b", Path(pr.__file__).read_text()):
        r, g, b = hexcode[1:3], hexcode[3:5], hexcode[5:7]
        assert r == g == b, f"plots_results defines colour {hexcode}"
