"""Chapter 06's figures and selections (dspic_lib.chapters.misclassification, plots.explain.panel_of_test_scans):
the panel with its fallbacks, on tiny scans and a tiny dSPIC-AM."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import AxesImage

from dspic_lib.chapters import misclassification as misclass
from dspic_lib.plots import explain as plots_explain

N_ROWS, N_COLS = 64, 16


def _test_part(labels):
    rng = np.random.default_rng(0)
    n = len(labels)
    X = rng.random((n, N_ROWS, N_COLS, 1), dtype=np.float32)
    meta = pd.DataFrame({"boxes": [np.array([[2.0, 10.0, 8.0, 20.0]])] * n,
                         "diseases": [["metastasis"] if "M" in lab else ["arthritis"] if lab == "A" else [None]
                                      for lab in labels]})
    return SimpleNamespace(X=X, meta=meta)


def _run(labels, predicted):
    proba = np.full((len(labels), 3), 0.1)
    for i, p in enumerate(predicted):
        proba[i, "NMA".index(p)] = 0.8
    return SimpleNamespace(y_true=np.array(labels, dtype=object), proba=proba)


def _titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]


def _heat_layers(fig):
    """Images drawn over a scan: every image of an axis after its first (the scan)."""
    return sum(max(0, len([im for im in ax.get_images() if isinstance(im, AxesImage)]) - 1) for ax in fig.axes)


def test_panel_of_no_scan_shows_the_first_scan_alone_with_the_reason(plot_style):
    test = _test_part(["N", "M"])
    fig = plots_explain.panel_of_test_scans(test.X, test.meta, [], [], [], "nothing to show\nhere")
    assert _titles(fig) == ["nothing to show\nhere"] and _heat_layers(fig) == 0


def test_panel_shows_each_position_with_its_map_and_title(plot_style):
    test = _test_part(["N", "M", "A"])
    maps = [np.ones((N_ROWS, N_COLS)) * 0.5] * 2
    fig = plots_explain.panel_of_test_scans(test.X, test.meta, np.array([2, 1]), maps, ["a", "b"], "unused")
    assert _titles(fig) == ["a", "b"] and _heat_layers(fig) == 2
    shown = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_visible() and ax.get_images()]
    assert np.allclose(shown[0], test.X[2, ..., 0]) and np.allclose(shown[1], test.X[1, ..., 0])


def test_without_mistakes_or_ma_scans_the_figures_say_so_without_a_model(plot_style):
    test = _test_part(["N", "M", "A"])
    run = _run(["N", "M", "A"], ["N", "M", "A"])
    mistakes = misclass.most_confident_mistakes(run)
    assert mistakes.empty
    assert _titles(misclass.mistakes_figure(None, run, test, mistakes)) == ["no mistake of the paper's types\n(true N)"]
    assert _titles(misclass.both_diseases_figure(None, run, test)) == ["this run's test part\nholds no M&A scan"]


def test_attention_example_prefers_a_right_diseased_scan_then_any_diseased_then_the_first():
    assert misclass.attention_example(_run(["N", "M", "A"], ["N", "N", "A"])) == 2     # A right, M wrong
    assert misclass.attention_example(_run(["N", "M", "A"], ["N", "N", "N"])) == 1     # none right: first sick
    assert misclass.attention_example(_run(["N", "N"], ["M", "M"])) == 0


def test_pointing_games_are_none_without_diseased_scans():
    assert misclass.pointing_games(None, _run(["N", "N"], ["N", "M"]), _test_part(["N", "N"]), 4.0) == \
        {"right": None, "all": None}


def test_both_diseases_keeps_the_ma_positions_up_to_the_limit():
    run = _run(["M&A", "N", "M&A", "M&A"], ["M", "N", "A", "M"])
    assert misclass.both_diseases(run) == [0, 2, 3] and misclass.both_diseases(run, 2) == [0, 2]


def test_paper_types_line_counts_pairs_scans_and_the_papers_types():
    failures = pd.DataFrame({"in the paper's Fig. 12": [True, True, False], "images": [2, 0, 5]})
    assert misclass.paper_types_line(failures) == ("3 (true, predicted) pairs over 7 single-class test scans; "
                                                   "2 of the pairs are the paper's types")


@pytest.fixture(scope="module")
def tiny_model():
    from dspic_lib import models

    return models.build("dSPIC-AM", input_shape=(N_ROWS, N_COLS, 1), seed=0, fc_units=8)


@pytest.mark.slow
def test_figures_with_a_model_show_one_heat_map_per_chosen_scan(plot_style, tiny_model):
    labels = ["N", "M", "A", "M&A", "N"]
    run = _run(labels, ["A", "N", "N", "M", "N"])                         # the paper's three mistakes
    test = _test_part(labels)
    mistakes = misclass.most_confident_mistakes(run)
    fig = misclass.mistakes_figure(tiny_model, run, test, mistakes)
    assert len(_titles(fig)) == 3 and _heat_layers(fig) == 3
    assert _titles(fig)[0] == plots_explain.prediction_title("N", run.proba[0])
    fig = misclass.both_diseases_figure(tiny_model, run, test)
    assert _titles(fig) == [plots_explain.prediction_title("M&A", run.proba[3])] and _heat_layers(fig) == 1
    fig = misclass.cam_attention_figure(tiny_model, run, test, misclass.attention_example(run))
    assert _titles(fig) == ["scan", "Grad-CAM", "attention\nmin to max"] and _heat_layers(fig) == 2
    assert fig._suptitle.get_text().startswith("true M, pred N")       # no scan right: the first sick one


def _body_scan(rows=128, cols=32):
    """A crafted whole-body scan: a bright body in rows 8-100, columns 8-24, an empty field below."""
    img = np.zeros((rows, cols), dtype=np.float32)
    img[8:100, 8:24] = 0.3
    img[60, 16] = 1.0                                     # the bladder: the scan's maximum
    img += np.random.default_rng(0).uniform(0, 0.01, img.shape).astype(np.float32)   # background counts
    return img


def test_body_mask_is_the_patient_not_the_empty_field():
    mask = misclass.body_mask(_body_scan())
    assert mask[50, 16] and mask[9, 9] and not mask[120, 16] and not mask[50, 2]


def test_a_map_peaking_in_the_empty_field_below_the_feet_gets_a_caption_sentence():
    img = _body_scan()
    below = np.zeros_like(img)
    below[120, 16] = 1.0                                  # Fig 6.3: the maximum below the feet
    on_body = np.zeros_like(img)
    on_body[40, 12] = 1.0
    coarse = np.zeros((8, 4))                             # an attention map at feature-map resolution
    coarse[7, 2] = 1.0                                    # its last row: rows 112-127 of the scan
    assert misclass.peak_outside_body(img, below) == (120, 16)
    assert misclass.peak_outside_body(img, on_body) is None
    assert misclass.peak_outside_body(img, np.zeros_like(img)) is None          # a flat map has no peak
    assert misclass.peak_outside_body(img, coarse) == (120, 20)
    note = misclass.outside_body_note(img, {"Grad-CAM": below, "attention": on_body})
    assert note.startswith("The Grad-CAM map peaks outside the body (pixels above 5% of the scan's maximum)")
    assert "row 121 of 128, below the feet" in note and "attention" not in note
    both = misclass.outside_body_note(img, {"Grad-CAM": below, "attention": coarse})
    assert both.startswith("The Grad-CAM and the attention maps peak outside the body")
    assert misclass.outside_body_note(img, {"Grad-CAM": on_body, "attention": None}) == (
        "Each map peaks on the body (pixels above 5% of the scan's maximum).")


def test_the_pointing_games_are_a_store_entry_computed_once_and_read_back_unchanged(tmp_path, monkeypatch):
    from dspic_lib.store import Store

    calls = []

    def fake_pointing(model, run, test, positions, tolerance_px):
        calls.append(list(positions))
        rows = pd.MultiIndex.from_tuples([("Grad-CAM", "M"), ("Grad-CAM", "all")], names=["map", "class"])
        return pd.DataFrame({"scans": [len(positions), len(positions)], "hits": [1, 1],
                             "hit rate": [1 / 3, 0.1 + 0.2]}, index=rows)

    monkeypatch.setattr(misclass, "pointing", fake_pointing)
    run = _run(["N", "M", "A", "M"], ["N", "M", "N", "A"])
    run.entry_id = "train/abc"
    fresh = misclass.pointing_games(None, run, None, 4.0)                 # no store: computed each time
    store = Store(tmp_path)
    first = misclass.pointing_games(None, run, None, 4.0, store=store)
    second = misclass.pointing_games(None, run, None, 4.0, store=store)
    assert calls == [[1], [1, 2, 3], [1], [1, 2, 3]]                      # the stored call computed once
    for label in misclass.POINTING_GAMES:
        pd.testing.assert_frame_equal(first[label], fresh[label])         # exact: dtypes, index, floats
        pd.testing.assert_frame_equal(second[label], fresh[label])
    other = misclass.pointing_games(None, run, None, 6.0, store=store)   # another tolerance: another entry
    assert len(calls) == 6 and other["all"] is not None
    none_right = _run(["N", "M"], ["N", "N"])
    none_right.entry_id = "train/def"
    assert misclass.pointing_games(None, none_right, None, 4.0, store=store)["right"] is None
