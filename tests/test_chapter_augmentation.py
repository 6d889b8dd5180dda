"""Chapter 02's tables and selections (dspic_lib.chapters.augmentation), on tiny hand-made inputs."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dspic_lib.chapters import augmentation


def test_raw_max_table_orders_the_classes_and_gives_whole_counts():
    table = pd.DataFrame({"label": ["A", "N", "N", "A", "N"], "max_count": [10.0, 1.0, 3.0, 30.0, 2.0]})
    out = augmentation.raw_max_table(table)
    assert list(out.index) == ["N", "A"] and out.index.name == "class"      # vocabulary order, no empty M
    assert list(out.columns) == ["count", "min", "median", "max"]
    assert out.loc["N"].tolist() == [3, 1, 2, 3] and out.loc["A"].tolist() == [2, 10, 20, 30]
    assert all(pd.api.types.is_integer_dtype(out[c]) for c in out.columns)


def test_eq1_check_says_false_when_one_image_does_not_span_zero_to_one():
    good = np.stack([np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4)] * 3)
    assert augmentation.eq1_check(good) == ("after Eq. 1: min of every image = 0: True; "
                                            "max of every image = 1: True; dtype float32")
    bad = good.copy()
    bad[1] *= 0.5
    assert "max of every image = 1: False" in augmentation.eq1_check(bad)
    assert "min of every image = 0: True" in augmentation.eq1_check(bad)


def test_spread_picks_runs_from_the_lowest_to_the_highest_maximum():
    counts = [50, 10, 90, 30, 70, 20, 60]
    picks = augmentation.spread_picks(counts, n=4)
    assert picks[0] == 1 and picks[-1] == 2                                 # min 10, max 90
    assert list(np.asarray(counts)[picks]) == sorted(np.asarray(counts)[picks])
    assert len(picks) == 4


def test_raw_in_order_follows_the_picks_not_the_file_order():
    picks = np.array([5, 0, 3])
    file_order = [(0, "zero"), (3, "three"), (5, "five")]                    # as iter_pixels yields
    assert augmentation.raw_in_order(iter(file_order), picks) == ["five", "zero", "three"]
    with pytest.raises(KeyError, match=r"\[5\]"):
        augmentation.raw_in_order(file_order[:2], picks)


def test_pick_names_give_class_and_thousands_separated_maximum():
    table = pd.DataFrame({"label": ["N", "M"], "max_count": [999.0, 12345.6]})
    assert augmentation.pick_names(table, [1, 0]) == ["M, max 12,345", "N, max 999"]


def test_sweep_table_renames_for_the_page():
    out = augmentation.sweep_table(pd.DataFrame({"t": [0], "r": [0.0], "macro_f1_mean": [0.5], "macro_f1_sd": [0.1]}))
    assert list(out.columns) == ["t (px)", "r (degrees)", "macro F1, mean", "macro F1, sd"]


def test_transform_example_is_the_original_diseased_scan_with_most_boxes():
    meta = pd.DataFrame({"source": ["original", "original", "mirror", "original"],
                         "label": ["N", "M", "M", "A"],
                         "boxes": [[1, 2, 3, 4, 5], [1, 2], [1, 2, 3, 4], [1, 2, 3]]}, index=[10, 11, 12, 13])
    assert augmentation.transform_example(meta) == 13          # not the normal scan, not the copy
    with pytest.raises(ValueError, match="no original diseased"):
        augmentation.transform_example(meta[meta["label"] == "N"])


def test_gan_runs_table_has_one_row_per_class():
    runs = {"M": SimpleNamespace(n_train=7, history=[0] * 20, seconds=1.5),
            "A": SimpleNamespace(n_train=3, history=[0] * 5, seconds=0.25)}
    out = augmentation.gan_runs_table(runs)
    assert out.index.name == "class" and list(out.index) == ["M", "A"]
    assert out.loc["M"].tolist() == [7, 20, 1.5] and out.loc["A"].tolist() == [3, 5, 0.25]


def _part():
    X = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1)
    meta = pd.DataFrame({"label": ["M", "M", "A", "M", "A", "N"],
                         "source": ["original", "dcgan", "original", "dcgan", "dcgan", "original"],
                         "patient": ["p1", "g", "p2", "g", "g", "p3"]})
    return SimpleNamespace(X=X, meta=meta)


def test_real_and_generated_split_each_class_by_source():
    real, fake = augmentation.real_and_generated(_part(), ["M", "A"])
    assert set(real) == set(fake) == {"M", "A"}
    assert real["M"].ravel().tolist() == [0] and fake["M"].ravel().tolist() == [1, 3]
    assert real["A"].ravel().tolist() == [2] and fake["A"].ravel().tolist() == [4]


def test_gan_check_inputs_pair_real_images_with_their_patients_and_generated_with_labels():
    real, labels, patients, gen, gen_labels = augmentation.gan_check_inputs(_part())
    assert real.ravel().tolist() == [0, 2, 5] and list(labels) == ["M", "A", "N"] and list(patients) == ["p1", "p2", "p3"]
    assert gen.ravel().tolist() == [1, 3, 4] and list(gen_labels) == ["M", "M", "A"]


def test_leakage_table_flags_a_touched_test_part_and_leaked_patients():
    class Part(list):
        def __init__(self, sources):
            super().__init__(sources)
            self.meta = pd.DataFrame({"source": sources})

    clean = SimpleNamespace(name="D1", train=[0] * 10, test=Part(["original"] * 4), leaked_patients=lambda: [])
    dirty = SimpleNamespace(name="D2", train=[0] * 30, test=Part(["original", "mirror"]), leaked_patients=lambda: ["p7"])
    out = augmentation.leakage_table([clean, dirty])
    assert out.index.name == "dataset" and list(out.index) == ["D1", "D2"]
    assert out.loc["D1"].tolist() == [10, 4, True, 0]
    assert out.loc["D2"].tolist() == [30, 2, False, 1]


def test_each_panel_of_figs_2_1_and_2_2_states_its_own_maximum(plot_style):
    """The images reach the figures in file order (iter_pixels), not in pick order: each named line of
    Fig 2.1 and each panel of Fig 2.2 must state the maximum of the image it draws."""
    import re

    from dspic_lib.plots import augment as plots_augment

    maxima = [900.0, 150.0, 4321.0, 12345.0, 40.0]
    table = pd.DataFrame({"label": ["N", "M", "A", "M", "N"], "max_count": maxima})
    rng = np.random.default_rng(0)
    images = {i: np.r_[rng.uniform(1, m / 2, 199), m].reshape(8, 25) for i, m in enumerate(maxima)}
    picks = augmentation.spread_picks(table["max_count"], n=4)
    file_order = sorted(images.items(), key=lambda kv: -kv[0])                     # not the picks' order
    raw = augmentation.raw_in_order(iter(file_order), picks)
    names = augmentation.pick_names(table, picks)
    fig = plots_augment.eq1_spread(table["max_count"], table["label"], raw, [r / r.max() for r in raw], names)
    lines = [p for p in fig.get_axes()[1].patches if p.get_label() in names]
    assert [p.get_label() for p in lines] == names
    for patch in lines:                        # a step histogram ends at its image's maximum
        stated = int(re.search(r"max ([\d,]+)", patch.get_label()).group(1).replace(",", ""))
        assert stated - 1e-6 <= patch.get_path().vertices[:, 0].max() < stated + 1, patch.get_label()
    fig = plots_augment.before_after(raw[-1], raw[-1] / raw[-1].max(), "raw counts", "D1 (Eq. 1)")
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_title()]
    assert titles == ["raw counts\nmax 12,345", "D1 (Eq. 1)\nmax 1"], titles
