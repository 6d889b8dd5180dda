import numpy as np
import pandas as pd
import pytest

from dspic_lib.errors import ConfigError, DataError
from dspic_lib.pipeline import gan, gan_checks


@pytest.mark.parametrize("shape,expected", [((128, 32), (8, 2, 4)), ((256, 64), (8, 2, 5)),
                                            ((1024, 256), (8, 2, 7)), ((32, 8), (8, 2, 2))])
def test_seed_map_keeps_the_4_to_1_aspect(shape, expected):
    assert gan.seed_map(*shape) == expected


def test_seed_map_rejects_odd_shapes():
    with pytest.raises(ConfigError):
        gan.seed_map(30, 6)


def test_networks_follow_dcgan():
    from dspic_lib._tf import keras
    G, D = gan.build_generator(64, 16), gan.build_discriminator(64, 16)
    assert G.output_shape == (None, 64, 16, 1) and D.output_shape == (None, 1)
    g_types = [type(layer).__name__ for layer in G.layers]
    d_types = [type(layer).__name__ for layer in D.layers]
    # no pooling anywhere; upsampling by strided transposed convolutions, downsampling by strided convolutions
    assert not any("Pool" in t for t in g_types + d_types)
    assert all(layer.strides == (2, 2) for layer in G.layers if isinstance(layer, keras.layers.Conv2DTranspose))
    assert all(layer.strides == (2, 2) for layer in D.layers if isinstance(layer, keras.layers.Conv2D))
    assert "ReLU" in g_types and "LeakyReLU" not in g_types and G.layers[-1].activation.__name__ == "tanh"
    assert "LeakyReLU" in d_types and "ReLU" not in d_types
    # batch norm everywhere except the generator output and the discriminator input layer
    assert g_types.count("BatchNormalization") == g_types.count("Conv2DTranspose") - 1 + 1  # + the projection
    assert d_types.count("BatchNormalization") == d_types.count("Conv2D") - 1
    z = np.random.default_rng(0).standard_normal((3, gan.LATENT_DIM)).astype("float32")
    out = np.asarray(G(z, training=False))
    assert out.min() >= -1 and out.max() <= 1


def test_training_is_seeded_checkpointed_and_not_repeated(tmp_path):
    X = np.random.default_rng(0).random((6, 32, 8)).astype(np.float32)
    a = gan.train_class(X, "M", steps=4, batch_size=4, seed=1, store=tmp_path / "a")
    b = gan.train_class(X, "M", steps=4, batch_size=4, seed=1, store=tmp_path / "b")
    assert not a.cached and not b.cached
    assert (a.folder / "generator.weights.h5").exists() and (a.folder / "history.csv").exists()
    np.testing.assert_array_equal(a.history.to_numpy(), b.history.to_numpy())
    sa, sb = (gan.sample(r, 5, rows=32, cols=8, seed=2) for r in (a, b))
    np.testing.assert_array_equal(sa, sb)
    assert sa.shape == (5, 32, 8) and sa.min() == 0.0 and sa.max() == 1.0   # Eq. 1 applied
    again = gan.train_class(X, "M", steps=4, batch_size=4, seed=1, store=tmp_path / "a")
    assert again.cached and again.folder == a.folder
    np.testing.assert_array_equal(gan.sample(again, 5, rows=32, cols=8, seed=2), sa)
    other = gan.train_class(X, "M", steps=4, batch_size=4, seed=2, store=tmp_path / "a")
    assert other.folder != a.folder
    assert not np.array_equal(other.history.to_numpy(), a.history.to_numpy())


def test_generate_to_counts_meets_table2_requests_and_transfers_m_to_ma(tmp_path):
    labels = np.array(["N"] * 4 + ["M"] * 4 + ["A"] * 3 + ["M&A"] * 1, dtype=object)
    X = np.random.default_rng(0).random((len(labels), 32, 8)).astype(np.float32)
    want = {"N": 4, "M": 7, "A": 5, "M&A": 3}
    g = gan.generate_to_counts(X, labels, want, steps=3, batch_size=2, seed=0, store=tmp_path)
    assert sorted(g.labels.tolist()) == sorted(["M"] * 3 + ["A"] * 2 + ["M&A"] * 2)
    assert set(g.runs) == {"M", "A", "M&A"}                      # no DCGAN for N: Table 2 keeps it
    assert len(g.runs["M&A"].history) == 1                       # fine-tuned for max(1, steps // 10)
    import json
    assert json.loads((g.runs["M&A"].folder / "entry.json").read_text())["args"]["init"] == g.runs["M"].entry_id
    with pytest.raises(DataError, match="no A"):
        gan.generate_to_counts(X[labels != "A"], labels[labels != "A"], {"A": 2}, steps=1, batch_size=2,
                               seed=0, store=tmp_path)


def test_dominance_finds_when_the_discriminator_won_and_outcome_says_it():
    steps = np.arange(1, 101)
    won = pd.DataFrame({"step": steps, "d_loss": 0.0, "g_loss": 0.0, "d_real": 0.9,
                        "d_fake": np.r_[np.full(40, 0.5), np.full(60, 0.05)]})
    # rolling mean of 2 steps: (0.5 + 0.05) / 2 >= 0.2 at step 41, below from step 42 on
    assert gan_checks.dominance(won, window=2)["won from step"] == 42
    still = won.assign(d_fake=0.4)
    assert gan_checks.dominance(still)["won from step"] is None
    runs = {"M": type("Run", (), {"history": won})(), "A": type("Run", (), {"history": still})()}
    realism = pd.DataFrame({"gen_nn / real_nn": [2.0, 1.1], "real vs generated AUC": [0.99, 0.6]}, index=["M", "A"])
    table, sentences = gan_checks.outcome(runs, realism)
    assert table.loc["M", "won from step"] == 42 and pd.isna(table.loc["A", "won from step"])  # window 100 // 50
    assert "won from step 42 of 100" in sentences[0] and "almost perfectly" in sentences[0]
    assert "did not win outright" in sentences[1] and "only partly" in sentences[1]
    assert len(sentences) == 2          # no verdict on D3 unless every class is separable


def test_dominance_names_the_step_after_which_the_plotted_d_generated_stays_below_0_2():
    """The physicist's case: Fig 2.5 shows D(generated) near 0.1 from about step 100 of 1500, with a
    slightly higher stretch near the end; the sentence must say ~step 100, not the end of that stretch."""
    steps = np.arange(1, 1501)
    d_fake = np.full(1500, 0.08)
    d_fake[:100] = 0.5                      # steps 1-100: D still fooled half the time
    d_fake[1439:1466] = 0.15                # steps 1440-1466: a bump, still well below 0.2
    h = pd.DataFrame({"step": steps, "d_loss": 0.0, "g_loss": 0.0, "d_real": 0.9, "d_fake": d_fake})
    got = gan_checks.dominance(h)
    assert got["window"] == 30 == gan_checks.smoothing_window(1500)   # the loss figure's rolling mean
    # rolling mean of 30 with k steps at 0.08: (0.08 k + 0.5 (30 - k)) / 30 < 0.2 from k = 22, step 122
    assert got["won from step"] == 122
    smoothed = h["d_fake"].rolling(30, min_periods=1).mean()
    assert (smoothed[h["step"] >= 122] < 0.2).all() and smoothed[h["step"] == 121].item() >= 0.2
    _, sentences = gan_checks.outcome({"M": type("Run", (), {"history": h})()}, pd.DataFrame())
    assert "won from step 122 of 1500" in sentences[0] and "rolling mean of 30 steps" in sentences[0]
