"""Figures of the results chapters: training curves, per-class metrics and confusion matrices, metric
bars of the model comparison, one-vs-rest ROC curves and the pooling ablation (the paper's Figs. 8-11
and Table 9). Each function returns a matplotlib figure.

Like :mod:`dspic_lib.plots`: at most :data:`~dspic_lib.plots.COLUMN_INCHES` wide, constrained layout,
text of 9 pt and up, no figure numbers in titles, every colour named in a legend. Classes take their
colours from :mod:`dspic_lib.palette`; models (runs) take theirs from ``palette.MODEL_COLORS`` (distinct
hues), in the order given. Every number comes from :mod:`dspic_lib.evaluation.metrics` (the 3-class images: M&A images
are left out, as the metrics leave them out); ROC points from ``sklearn.metrics.roc_curve``.

A *run* is a :class:`dspic_lib.pipeline.train.Run`.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.metrics import roc_curve

from dspic_lib.evaluation import metrics
from dspic_lib.palette import CLASS_COLORS, MODEL_COLORS
from dspic_lib.plots import COLUMN_INCHES, class_handles

# how each metric is written on an axis
from dspic_lib.vocab import CLASS_NAMES, OUTPUTS

# how each metric is written on an axis
METRIC_LABELS = {"accuracy": "accuracy", "precision": "precision", "sensitivity": "sensitivity",
                 "specificity": "specificity", "f1": "F1", "auc": "AUC"}
CONFUSION_CMAP = "viridis"      # as the sweep heat map of chapter 02
_INK = "black"                  # what is not a class or a model: line styles, markers of the paper's values
MAJORITY_LABEL = "always the majority class"


def _majority_lines(ax, x, names, reference, half: float) -> None:
    """A dashed horizontal line over each metric group at what always predicting the test part's majority
    class scores in that metric (``reference[metric]``, e.g.
    :func:`dspic_lib.evaluation.results.majority_reference`); labelled once for the legend."""
    if not reference:
        return
    labelled = False
    for xi, m in zip(x, names):
        v = reference.get(m)
        if v is None or not np.isfinite(float(v)):
            continue
        ax.hlines(float(v), xi - half, xi + half, colors=_INK, linestyles="--", linewidth=1.2, zorder=3,
                  label=None if labelled else MAJORITY_LABEL)
        labelled = True


def _model_colors(n: int) -> list:
    """One colour per model or run, in the order given: :data:`~dspic_lib.palette.MODEL_COLORS` (eight
    distinct hues); more models than that share the HUSL circle evenly."""
    if n <= len(MODEL_COLORS):
        return list(MODEL_COLORS[:max(n, 1)])
    return sns.color_palette("husl", n_colors=n).as_hex()


def _run_labels(runs, *, dataset: bool | None = None) -> list[str]:
    """``model``, ``model on D2`` (``dataset=True``, or ``None`` and the runs span several datasets), and
    ``, seed s`` where two runs share model and dataset."""
    with_dataset = dataset if dataset is not None else len({r.dataset for r in runs}) > 1
    shared = Counter((r.model, r.dataset) for r in runs)
    labels = []
    for r in runs:
        label = f"{r.model} on {r.dataset}" if with_dataset else r.model
        if shared[(r.model, r.dataset)] > 1:
            label += f", seed {r.seed}"
        labels.append(label)
    return labels


def _bar_offsets(n: int, width: float = 0.8) -> tuple[np.ndarray, float]:
    """Offsets of ``n`` bars grouped around each x position, and each bar's width."""
    w = width / max(n, 1)
    return (np.arange(n) - (n - 1) / 2) * w, w


def _confusion_heatmap(ax, cm: pd.DataFrame, *, fmt: str, vmin: float, vmax: float, cbar: bool = False,
                       cbar_ax=None, cbar_label: str = ""):
    """One confusion matrix: rows true, columns predicted, tick labels N/M/A, annotated cells."""
    sns.heatmap(cm, annot=True, fmt=fmt, cmap=CONFUSION_CMAP, vmin=vmin, vmax=vmax, square=True,
                cbar=cbar, cbar_ax=cbar_ax, cbar_kws={"label": cbar_label} if cbar else None,
                linewidths=0.5, linecolor="white", ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(axis="both", length=0)
    ax.tick_params(axis="y", rotation=0)


# --------------------------------------------------------------------------------------------------


def training_curves(runs: list, labels: list[str] | None = None) -> Figure:
    """Training and validation loss per epoch (left) and validation accuracy (right), one colour per run
    (named by ``labels``, default model and dataset); a dotted line and a ringed point at each run's
    selected epoch (``best_epoch``). The paper's Fig. 8."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.6), layout="constrained", sharex=True)
    colors, labels = _model_colors(len(runs)), labels or _run_labels(runs, dataset=True)
    epochs = [1]
    for run, color, label in zip(runs, colors, labels):
        h = run.history.sort_values("epoch")
        ep = h["epoch"].to_numpy()
        epochs += [*ep.tolist(), int(run.best_epoch)]
        style = {"color": color, "marker": "o" if len(h) <= 30 else None, "ms": 3.5, "lw": 1.5}
        ax_loss.plot(ep, h["loss"], ls="-", label=label, **style)
        ax_loss.plot(ep, h["val_loss"], ls="--", **style)
        ax_acc.plot(ep, h["val_accuracy"], ls="--", **style)
        at = h[h["epoch"] == run.best_epoch]
        for ax, col in ((ax_loss, "val_loss"), (ax_acc, "val_accuracy")):
            ax.axvline(run.best_epoch, color=color, ls=":", lw=1.3, zorder=1)
            if len(at):
                ax.plot(at["epoch"], at[col], ls="none", marker="o", ms=9, mfc="none", mec=color, mew=1.6)
    lo, hi = min(epochs), max(epochs)
    pad = max(0.5, 0.03 * (hi - lo))
    ax_loss.set_xlim(lo - pad, hi + pad)
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("epoch")
    ax_loss.set(title="loss", ylabel="cross-entropy")
    ax_acc.set(title="validation accuracy", ylabel="accuracy (N, M, A images)", ylim=(0, 1.02))
    run_handles = [Line2D([], [], color=c, lw=2.5, label=lab) for c, lab in zip(colors, labels)]
    style_handles = [Line2D([], [], color=_INK, ls="-", label="training"),
                     Line2D([], [], color=_INK, ls="--", label="validation"),
                     Line2D([], [], color=_INK, ls=":", marker="o", ms=8, mfc="none", label="selected epoch")]
    fig.legend(handles=run_handles, loc="outside lower left", ncol=1 if len(runs) <= 3 else 2,
               frameon=False)
    fig.legend(handles=style_handles, loc="outside lower right", ncol=1, frameon=False)
    return fig


def per_class_metrics(run) -> Figure:
    """Left: precision, sensitivity, specificity and F1 of each output class (one vs rest), bars in the
    class colours. Right: the confusion matrix (rows true, columns predicted). The paper's Fig. 9."""
    table = metrics.per_class(run.y_true, run.proba)
    cm = metrics.confusion(run.y_true, metrics.predict(run.proba))
    names = ["precision", "sensitivity", "specificity", "f1"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.4), layout="constrained",
                                 gridspec_kw={"width_ratios": [1.55, 1]})
    offsets, w = _bar_offsets(len(OUTPUTS))
    x = np.arange(len(names))
    for off, c in zip(offsets, OUTPUTS):
        ax.bar(x + off, table.loc[c, names].to_numpy(float), width=w, color=CLASS_COLORS[c])
    ax.set_xticks(x, [METRIC_LABELS[m] for m in names])
    ax.set(ylim=(0, 1), ylabel="score (class vs rest)", title="per class")
    _confusion_heatmap(bx, cm, fmt="d", vmin=0, vmax=max(int(cm.to_numpy().max()), 1))
    bx.set_title("confusion matrix")
    fig.suptitle(f"{run.model} on {run.dataset}")
    fig.legend(handles=class_handles(OUTPUTS), loc="outside lower center", ncol=len(OUTPUTS), frameon=False)
    return fig


def metric_bars(summaries: pd.DataFrame, reference: dict | None = None) -> Figure:
    """The metrics of several models side by side: x = metric, one bar per model (rows of ``summaries``,
    in their order), error bars where a ``<metric>_sd`` column is given. The paper's Fig. 10. With
    ``reference`` ({metric: value}), a dashed line over each metric at the always-majority predictor's value."""
    names = [m for m in metrics.METRICS if m in summaries.columns and summaries[m].notna().any()]
    models = list(summaries.index)
    colors = _model_colors(len(models))
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.6), layout="constrained")
    offsets, w = _bar_offsets(len(models))
    x = np.arange(len(names))
    for off, model, color in zip(offsets, models, colors):
        row = summaries.loc[model]
        sd = [row.get(f"{m}_sd", np.nan) for m in names]
        has_sd = any(np.isfinite(np.asarray(sd, float)))
        ax.bar(x + off, row[names].to_numpy(float), width=w, color=color, label=str(model),
               yerr=np.nan_to_num(np.asarray(sd, float)) if has_sd else None,
               error_kw={"elinewidth": 1.0, "capsize": 2, "ecolor": _INK})
    _majority_lines(ax, x, names, reference, 0.45)
    ax.set_xticks(x, [METRIC_LABELS.get(m, m) for m in names])
    ax.set(ylim=(0, 1), ylabel="score (N, M, A images)", title="Models compared")
    fig.legend(loc="outside lower center", ncol=min(len(models) + bool(reference), 3), frameon=False)
    return fig


def roc_curves(runs: list) -> Figure:
    """One-vs-rest ROC curves of each output class (one panel per class), one curve per run, on the
    3-class images; the legend gives each run's one-vs-rest AUC of that class. A class with no positive
    or no negative image has no curve: its panel says "undefined"."""
    colors, labels = _model_colors(len(runs)), _run_labels(runs)
    # square panels, and below them a legend line per run
    fig, axes = plt.subplots(1, len(OUTPUTS), figsize=(COLUMN_INCHES, 2.8 + 0.2 * len(runs)),
                             layout="constrained", sharey=True)
    scored = []
    for run in runs:
        y, p = metrics.three_class(run.y_true, run.proba)
        p = p / p.sum(axis=1, keepdims=True) if len(p) else p    # as metrics.per_class scores them
        scored.append((y, p, metrics.per_class(run.y_true, run.proba)["auc"]))
    for k, (ax, c) in enumerate(zip(axes, OUTPUTS)):
        ax.plot([0, 1], [0, 1], color=_INK, ls=":", lw=1)
        handles, drawn = [], 0
        for (y, p, auc), color, label in zip(scored, colors, labels):
            pos = y == c
            if not pos.any() or pos.all():       # no positive or no negative image: no curve
                handles.append(Line2D([], [], lw=0, label=f"{label}: undefined"))
                continue
            fpr, tpr, _ = roc_curve(pos, p[:, k])
            line, = ax.plot(fpr, tpr, color=color, lw=1.6, label=f"{label} (AUC {auc[c]:.2f})")
            handles.append(line)
            drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, "undefined", ha="center", va="center", transform=ax.transAxes,
                    fontsize=plt.rcParams["axes.labelsize"], bbox={"fc": "white", "ec": "none"})
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", box_aspect=1,
               title=f"{c}: {CLASS_NAMES[c]}")
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False,
                  handlelength=1.2, borderaxespad=0)
    axes[0].set_ylabel("true positive rate")
    fig.suptitle("One class vs rest (dotted: chance)")
    return fig


def confusion_grid(runs: list, *, normalize: bool = False) -> Figure:
    """One confusion matrix per run (rows true, columns predicted; 3-class images), at most three per row,
    on one colour scale; ``normalize``: each row as shares of its true images (the recall of each class).
    The paper's Fig. 11."""
    n = len(runs)
    ncols = min(max(n, 1), 3)
    nrows = max(1, math.ceil(n / ncols))
    cms = []
    for run in runs:
        cm = metrics.confusion(run.y_true, metrics.predict(run.proba))
        if normalize:
            totals = cm.sum(axis=1).replace(0, np.nan)
            cm = cm.div(totals, axis=0)
        cms.append(cm)
    vmax = 1.0 if normalize else max([int(cm.to_numpy().max()) for cm in cms] + [1])
    # square panels about 2 in wide, and the colour bar
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(COLUMN_INCHES, 2.15 * ncols + 0.9), 2.3 * nrows + 0.2),
                             squeeze=False, layout="constrained")
    labels = _run_labels(runs)
    for ax, cm, label in zip(axes.ravel(), cms, labels):
        _confusion_heatmap(ax, cm, fmt=".2f" if normalize else "d", vmin=0, vmax=vmax)
        ax.set_title(label)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_visible(False)
            continue
        if i % ncols:
            ax.set_ylabel("")
        if i + ncols < n:
            ax.set_xlabel("")
    mappable = plt.cm.ScalarMappable(cmap=CONFUSION_CMAP, norm=plt.Normalize(0, vmax))
    fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.9,
                 label="share of the true class" if normalize else "images")
    return fig


def pooling_bars(with_pool: dict, without_pool: dict, paper: pd.DataFrame | None = None,
                 reference: dict | None = None) -> Figure:
    """Table 9 as bars: each metric of the run with pooling beside the one without; with ``paper`` (rows
    "with pooling" and "without pooling"), the paper's values as hollow diamonds on the same bars; with
    ``reference`` ({metric: value}), a dashed line over each metric at the always-majority predictor's value."""
    names = ["accuracy", "precision", "sensitivity", "specificity", "f1"]
    rows = {"with pooling": with_pool, "without pooling": without_pool}
    colors = _model_colors(2)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.4), layout="constrained")
    offsets, w = _bar_offsets(len(rows), 0.7)
    x = np.arange(len(names))
    paper_named = False
    for off, (name, values), color in zip(offsets, rows.items(), colors):
        ax.bar(x + off, [float(values.get(m, np.nan)) for m in names], width=w, color=color, label=name)
        if paper is not None and name in paper.index:
            ax.plot(x + off, paper.loc[name, names].to_numpy(float), ls="none", marker="D", ms=7, mfc="white",
                    mec=_INK, mew=1.3, label=None if paper_named else "paper")
            paper_named = True
    _majority_lines(ax, x, names, reference, 0.4)
    ax.set_xticks(x, [METRIC_LABELS[m] for m in names])
    ax.set(ylim=(0, 1), ylabel="score (N, M, A images)", title="With and without pooling, D2 test images")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] in ("paper", MAJORITY_LABEL))   # references last
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center", ncol=2,
               frameon=False)
    return fig


def paper_vs_run(values: pd.DataFrame, metric_names=("accuracy", "f1"), reference: dict | None = None) -> Figure:
    """This run's value (bars) beside the paper's (hollow diamonds on the same bars), one panel per
    metric of ``metric_names``; ``values`` has columns model, dataset, metric, paper and ``this run``
    (:func:`dspic_lib.evaluation.results.verdicts_wide`), x = dataset, one bar per model. With ``reference``
    ({metric: value}), a dashed line across each panel at the always-majority predictor's value."""
    ours_col = "this run"
    models_ = list(dict.fromkeys(values["model"]))
    datasets_ = list(dict.fromkeys(values["dataset"]))
    colors = _model_colors(len(models_))
    fig, axes = plt.subplots(1, len(metric_names), figsize=(COLUMN_INCHES, 3.3), layout="constrained",
                             sharey=True, squeeze=False)
    offsets, w = _bar_offsets(len(models_), 0.7)
    x = np.arange(len(datasets_))
    for ax, metric in zip(axes[0], metric_names):
        sel = values[values["metric"] == metric].set_index(["model", "dataset"])
        for k, (model, off, color) in enumerate(zip(models_, offsets, colors)):
            ours = [float(sel[ours_col].get((model, d), np.nan)) for d in datasets_]
            paper = [float(sel["paper"].get((model, d), np.nan)) for d in datasets_]
            ax.bar(x + off, ours, width=w, color=color, label=model)
            ax.plot(x + off, paper, ls="none", marker="D", ms=7, mfc="white", mec=_INK, mew=1.3,
                    label="paper" if k == 0 else None)
        if reference and np.isfinite(float(reference.get(metric, np.nan))):
            ax.axhline(float(reference[metric]), color=_INK, ls="--", lw=1.2, zorder=3, label=MAJORITY_LABEL)
        ax.set_xticks(x, datasets_)
        ax.set(ylim=(0, 1), title=METRIC_LABELS.get(metric, metric), xlabel="dataset")
    axes[0][0].set_ylabel("score (N, M, A images)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] in ("paper", MAJORITY_LABEL))
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center",
               ncol=min(len(labels), 4), frameon=False)
    return fig
