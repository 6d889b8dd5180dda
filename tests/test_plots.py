"""Every figure of the book fits the page: at most the content column wide, text of 9 pt and up, scans
in inverted grey with one display window per anterior/posterior pair, colours named in legends and no
paper figure numbers in titles. Tiny synthetic inputs, shaped like chapters 01 and 02 pass them."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # tests only: the library leaves the backend to the notebook

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import assert_fits_the_column  # noqa: E402
from helpers import toy_d1  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.colors import PowerNorm  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from dspic_lib import plots  # noqa: E402
from dspic_lib.data.labelme import Lesion  # noqa: E402
from dspic_lib.palette import CLASS_COLORS, DISEASE_COLORS  # noqa: E402
from dspic_lib.pipeline import augment  # noqa: E402
from dspic_lib.plots import augment as pa  # noqa: E402
from dspic_lib.vocab import CLASS_NAMES, CLASSES  # noqa: E402

MIN_PT = 9.0


pytestmark = pytest.mark.usefixtures("plot_style")


# ---------------------------------------------------------------------------------------------------
# Inputs, shaped like the chapters' (notebooks/01_dataset.py, notebooks/02_augmentation.py)

def _table(n_patients=8, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = CLASSES[p % len(CLASSES)]
        for view in ("anterior", "posterior"):
            rows.append({"patient": f"P{p}", "view": view, "label": label, "sex": "FM"[p % 2],
                         "age": float(rng.integers(30, 85)), "max_count": float(rng.integers(100, 3000))})
    return pd.DataFrame(rows)


def _body(rows=96, cols=32, seed=0, hot=1000.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    img = 50 * np.exp(-((xx - cols / 2) / (cols / 5)) ** 2) * (yy > 5) * (yy < rows - 5)
    img = img + rng.poisson(2, (rows, cols))
    img[rows // 2, cols // 2] = hot   # a bladder-like hot spot
    return img.astype(np.float32)


def _lesion(disease, x0, y0, s=4):
    return Lesion(disease=disease, site="rib", shape_type="rectangle", points=((x0, y0), (x0 + s, y0 + s)))


def _pairs():
    return [("N", _body(seed=1), _body(seed=2, hot=300.0), [], []),
            ("M", _body(seed=3), _body(seed=4), [_lesion("metastasis", 10, 20)], [_lesion("metastasis", 12, 21)]),
            ("A", _body(seed=5), _body(seed=6), [_lesion("arthritis", 8, 80)], [_lesion("arthritis", 20, 80)])]


@pytest.fixture(scope="module")
def d1():
    return toy_d1(n_patients=8, rows=64, cols=16)


def _history():
    frames = []
    for c, n in (("M", 40), ("A", 40), ("M&A", 8)):
        s = np.arange(1, n + 1)
        frames.append(pd.DataFrame({"step": s, "d_loss": 1 / s + 0.5, "g_loss": 1 + s / 40, "d_real": 0.7 + 0 * s,
                                    "d_fake": 0.2 + 0 * s, "label": c}))
    return pd.concat(frames, ignore_index=True)


def _sweep():
    rows = [{"t": 0, "r": 0.0, "macro_f1_mean": 0.6, "macro_f1_sd": 0.01, "chosen": False}]
    rows += [{"t": t, "r": r, "macro_f1_mean": 0.6 + t / 100 + r / 100, "macro_f1_sd": 0.01,
              "chosen": (t, r) == (2, 5.0)} for t in (1, 2) for r in (2.0, 5.0)]
    return pd.DataFrame(rows)


def _real_fake(d1):
    lab = d1.meta["label"].to_numpy()
    real = {c: d1.X[lab == c] for c in ("M", "A", "M&A")}
    return real, {c: v[::-1] for c, v in real.items()}


def _figures(d1):
    """Every public figure function of plots and plots_augment, called as the chapters call it."""
    t = _table()
    meta = d1.meta
    ex = int(meta[meta["label"] == "M&A"].index[0])
    raw = [_body(seed=s, hot=h) for s, h in ((1, 200.0), (2, 2000.0))]
    features = pd.DataFrame({"total_counts": np.linspace(1e6, 2e6, len(t)), "bladder_peak": np.arange(len(t)),
                             "body_area_px": np.arange(len(t)) * 1000.0, "age": t["age"]})
    sites = pd.DataFrame({"metastasis": [5, 3, 0], "arthritis": [0, 2, 7]}, index=["rib", "vertebra", "knee"])
    dist = pd.DataFrame({"class": ["M"] * 4 + ["A"] * 4, "kind": ["real (other patient)", "generated"] * 4,
                         "distance": np.linspace(0.05, 0.2, 8)})
    real, fake = _real_fake(d1)
    return {
        "sex_age": lambda: plots.sex_age(t.drop_duplicates("patient")),
        "lesion_sites": lambda: plots.lesion_sites(sites),
        "max_intensity": lambda: plots.max_intensity(t),
        "scan_pairs": lambda: plots.scan_pairs(_pairs()),
        "leakage_features": lambda: plots.leakage_features(features, t["label"], list(features.columns)),
        "eq1_spread": lambda: pa.eq1_spread(t["max_count"], t["label"], raw, [d1.X[0], d1.X[1]], ["N, max 200", "M, max 2000"]),
        "before_after": lambda: pa.before_after(raw[1], d1.X[1], "raw counts\n96 x 32", "D1 (Eq. 1)\n64 x 16"),
        "sweep_heatmap": lambda: pa.sweep_heatmap(_sweep()),
        "transform_grid": lambda: pa.transform_grid(d1.X[ex], meta.at[ex, "boxes"], meta.at[ex, "diseases"],
                                                    augment.candidate_transforms(2, 5)[:7], title="M&A scan"),
        "gan_losses": lambda: pa.gan_losses(_history()),
        "real_vs_generated": lambda: pa.real_vs_generated(real, fake, k=6),
        "real_vs_generated_empty": lambda: pa.real_vs_generated({}, {}),
        "nn_distances": lambda: pa.nn_distances(dist),
        "realism_panels": lambda: plots.realism_panels({"real": raw[0], "synthetic anterior": raw[1],
                                                        "synthetic posterior": raw[1][:, ::-1]}),
        # a user's folder: no ages, no lesions, nothing labelled (pydicom's real GE scans)
        "unavailable": lambda: plots.unavailable("A title", "Not drawn: " + "a reason long enough to wrap " * 8),
        "sex_age_empty": lambda: plots.sex_age(t.drop_duplicates("patient").assign(age=np.nan)),
        "lesion_sites_empty": lambda: plots.lesion_sites(sites.iloc[:0]),
        "max_intensity_empty": lambda: plots.max_intensity(t.assign(label="unlabelled")),
        "scan_pairs_empty": lambda: plots.scan_pairs([]),
        "leakage_features_empty": lambda: plots.leakage_features(features, t["label"].map(lambda _: "unlabelled"),
                                                                 list(features.columns)),
    }


FIGURES = ["sex_age", "lesion_sites", "max_intensity", "scan_pairs", "leakage_features", "eq1_spread",
           "before_after", "sweep_heatmap", "transform_grid", "gan_losses", "real_vs_generated",
           "real_vs_generated_empty", "nn_distances", "realism_panels", "unavailable", "sex_age_empty",
           "lesion_sites_empty", "max_intensity_empty", "scan_pairs_empty", "leakage_features_empty"]


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _legend_texts(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.get_axes() if ax.get_legend() is not None]
    return {t.get_text() for lg in legends for t in lg.get_texts()}


def _images(fig):
    return [im for im in fig.findobj(AxesImage)]


# ---------------------------------------------------------------------------------------------------


def test_every_public_figure_function_is_covered():
    helpers = {"set_style", "class_handles", "disease_handles", "pair_window", "plain_log"}
    figures = {n for m in (plots, pa) for n, f in inspect.getmembers(m, inspect.isfunction)
               if f.__module__ == m.__name__ and not n.startswith("_")} - helpers
    assert figures == {f.removesuffix("_empty") for f in FIGURES}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_column_with_legible_text(name, d1):
    fig = _figures(d1)[name]()
    assert_fits_the_column(fig, name)


@pytest.mark.parametrize("name", ["scan_pairs", "before_after", "transform_grid", "real_vs_generated"])
def test_scans_use_inverted_grey(name, d1):
    fig = _figures(d1)[name]()
    images = _images(fig)
    assert images
    assert {im.get_cmap().name for im in images} == {"gray_r"}


def test_scan_pairs_share_one_window_per_patient_and_name_the_views():
    pairs = _pairs()
    fig = plots.scan_pairs(pairs)
    images = _images(fig)
    assert len(images) == 2 * len(pairs)
    for k in range(len(pairs)):
        a, p = images[2 * k].norm, images[2 * k + 1].norm
        assert (a.vmin, a.vmax) == (p.vmin, p.vmax)
        assert a.vmin == 0.0 and 0 < a.vmax < 1000.0   # a percentile, below the hot spot
    titles = {t.get_text() for t in _texts(fig)}
    assert {"anterior", "posterior"} <= titles
    assert {"metastasis", "arthritis"} <= _legend_texts(fig)
    # every pair is one row of the layout by default: two pairs per row
    assert fig.get_size_inches()[1] > 4
    one_row = plots.scan_pairs(pairs, pairs_per_row=3)
    assert one_row.get_size_inches()[1] < fig.get_size_inches()[1]


def test_pair_window_is_shared_and_ignores_the_hottest_pixels():
    a, b = _body(seed=1, hot=5000.0), _body(seed=2)
    lo, hi = plots.pair_window([a, b], 99.5)
    assert lo == 0.0 and hi < 5000.0
    assert plots.pair_window([np.zeros((4, 4))] * 2) == (0.0, 1.0)


def test_show_keeps_the_gamma_on_the_inverted_map(d1):
    fig, ax = plt.subplots()
    im = pa._show(ax, d1.X[0], "x", d1.meta.at[0, "boxes"], d1.meta.at[0, "diseases"])
    assert im.get_cmap().name == "gray_r"
    assert isinstance(im.norm, PowerNorm) and im.norm.gamma == pa.GAMMA
    assert (im.norm.vmin, im.norm.vmax) == (0.0, 1.0)
    assert ax.title.get_fontsize() >= MIN_PT


def test_real_and_generated_scans_share_the_model_window(d1):
    real, fake = _real_fake(d1)
    fig = pa.real_vs_generated(real, fake, k=3)
    assert {(im.norm.vmin, im.norm.vmax) for im in _images(fig)} == {(0.0, 1.0)}


def test_before_after_uses_one_relative_window_with_the_gamma(d1):
    raw = _body(seed=2, hot=2000.0)
    fig = pa.before_after(raw, d1.X[1], "raw", "D1")
    norms = [im.norm for im in _images(fig)]
    assert [n.vmin for n in norms] == [0.0, 0.0]
    assert norms[0].vmax == raw.max() and norms[1].vmax == float(d1.X[1].max())
    assert all(isinstance(n, PowerNorm) and n.gamma == pa.GAMMA for n in norms)


@pytest.mark.parametrize("name, expected", [
    ("max_intensity", {f"{c}: {CLASS_NAMES[c]}" for c in CLASSES}),
    ("leakage_features", {f"{c}: {CLASS_NAMES[c]}" for c in CLASSES}),
    ("eq1_spread", {f"{c}: {CLASS_NAMES[c]}" for c in CLASSES}),
    ("lesion_sites", {"metastasis", "arthritis"}),
    ("transform_grid", {"metastasis", "arthritis"}),
    ("gan_losses", {"D loss", "G loss", "D(real)", "D(generated)"}),
])
def test_coloured_classes_and_boxes_are_named_in_a_legend(name, expected, d1):
    assert expected <= _legend_texts(_figures(d1)[name]())


def test_class_and_box_colours_come_from_the_vocabulary(d1):
    fig = plots.max_intensity(_table())
    faces = {matplotlib.colors.to_hex(h.get_facecolor()) for lg in fig.legends for h in lg.legend_handles}
    assert faces == {CLASS_COLORS[c] for c in CLASSES}
    boxes = [p for ax in plots.scan_pairs(_pairs()).get_axes() for p in ax.patches]
    assert {matplotlib.colors.to_hex(p.get_edgecolor()) for p in boxes} == set(DISEASE_COLORS.values())
    # no colour literal in the plotting modules but neutral greys (r = g = b): classes and diseases
    # have their colours in dspic_lib.vocab only
    for module in (plots, pa):
        for hexcode in re.findall(r"#[0-9a-fA-F]{6}\b", Path(module.__file__).read_text()):
            r, g, b = hexcode[1:3], hexcode[3:5], hexcode[5:7]
            assert r == g == b, f"{module.__name__} defines colour {hexcode}"


@pytest.mark.parametrize("name, why", [
    ("sex_age_empty", "none of the 8 patients has an age"), ("lesion_sites_empty", "no annotated lesion"),
    ("max_intensity_empty", "all unlabelled"), ("scan_pairs_empty", "no labelled patient with both"),
    ("leakage_features_empty", "all unlabelled")])
def test_a_figure_that_cannot_be_drawn_says_why_in_one_sentence(name, why, d1):
    fig = _figures(d1)[name]()
    text = " ".join(t.get_text().replace("\n", " ") for t in _texts(fig))
    assert "Not drawn: " in text and why in text and not _images(fig)


def test_patients_without_an_age_are_counted_in_the_title():
    per_patient = _table().drop_duplicates("patient").reset_index(drop=True)
    per_patient.loc[:2, "age"] = np.nan
    fig = plots.sex_age(per_patient)
    assert "(3 without an age, not shown)" in fig.axes[0].get_title()
