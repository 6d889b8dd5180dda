"""The prior correction of Saerens, Latinne & Decaestecker (2002) in evaluation.metrics."""
import numpy as np
import pytest
from scipy import stats as sps
from sklearn.linear_model import LogisticRegression

from dspic_lib.errors import DataError
from dspic_lib.evaluation import metrics
from dspic_lib.vocab import OUTPUTS

MEANS = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])     # one 2-D Gaussian per output (N, M, A), unit variance


def _posterior(x, prior):
    like = np.stack([sps.multivariate_normal(m).pdf(x) for m in MEANS], axis=1)
    joint = like * prior
    return joint / joint.sum(axis=1, keepdims=True)


def _sample(counts, rng):
    y = np.repeat(np.arange(3), counts)
    return MEANS[y] + rng.standard_normal((len(y), 2)), y


def test_exact_bayes_posteriors_are_moved_to_the_new_prior():
    """Bayes posteriors under one prior, corrected, are the Bayes posteriors under the other."""
    x = np.random.default_rng(0).normal(1.0, 1.5, size=(200, 2))
    shifted, original = np.array([0.22, 0.39, 0.39]), np.array([0.44, 0.28, 0.28])
    got = metrics.prior_correct(_posterior(x, shifted), shifted, original)
    np.testing.assert_allclose(got, _posterior(x, original), atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_a_classifier_trained_on_a_shifted_prior_recovers_the_test_shares():
    """Logistic regression trained where N is 20 % predicts too few N on a test set where N is 50 %; the
    corrected outputs' mean and arg-max shares come back to the test set's shares."""
    rng = np.random.default_rng(1)
    x_tr, y_tr = _sample([400, 800, 800], rng)                  # N 20 %: the shifted (D2-like) prior
    x_te, y_te = _sample([2000, 1000, 1000], rng)               # N 50 %: the original prior
    clf = LogisticRegression(max_iter=1000).fit(x_tr, y_tr)
    p = clf.predict_proba(x_te)
    trained = np.bincount(y_tr) / len(y_tr)
    original = np.bincount(y_te) / len(y_te)
    q = metrics.prior_correct(p, trained, original)
    assert abs(p.mean(axis=0)[0] - 0.5) > 0.1                   # the shift shows before correction ...
    np.testing.assert_allclose(q.mean(axis=0), original, atol=0.03)   # ... and is gone after
    before = metrics.predicted_shares(p)["N"]
    after = metrics.predicted_shares(q)["N"]
    assert before < 0.4 and abs(after - 0.5) < abs(before - 0.5)
    assert np.mean(q.argmax(axis=1) == y_te) > np.mean(p.argmax(axis=1) == y_te)   # Bayes rule of the test prior


def test_equal_priors_are_the_identity():
    p = np.random.default_rng(2).dirichlet([1, 1, 1], size=50)
    prior = [0.3, 0.5, 0.2]
    np.testing.assert_allclose(metrics.prior_correct(p, prior, prior), p, atol=1e-15)
    np.testing.assert_allclose(metrics.prior_correct(p, [3, 5, 2], prior), p, atol=1e-15)   # normalised


def test_output_priors_count_m_and_a_as_half_of_each_like_the_training_targets():
    from dspic_lib.pipeline.datasets import targets_for

    labels = ["N"] * 5 + ["M"] * 2 + ["A"] * 1 + ["M&A"] * 2
    got = metrics.output_priors(labels)
    np.testing.assert_allclose(got, [0.5, 0.3, 0.2])
    np.testing.assert_allclose(got, targets_for(labels).mean(axis=0))   # the prior the softmax is trained to


def test_bad_priors_and_labels_are_named():
    p = np.full((2, 3), 1 / 3)
    with pytest.raises(DataError, match="trained_prior: class M has prior 0"):
        metrics.prior_correct(p, [0.5, 0.0, 0.5], [1 / 3] * 3)
    with pytest.raises(DataError, match="target_prior"):
        metrics.prior_correct(p, [1 / 3] * 3, [0.5, 0.5])
    with pytest.raises(DataError, match="no label"):
        metrics.output_priors([])
    with pytest.raises(DataError, match="unknown label"):
        metrics.output_priors(["N", "X"])


def test_predicted_shares_are_arg_max_shares():
    p = np.array([[0.6, 0.3, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
    assert metrics.predicted_shares(p).to_dict() == {"N": 0.5, "M": 0.25, "A": 0.25}
    assert list(metrics.predicted_shares(p).index) == list(OUTPUTS)


def test_chapter_priors_count_the_fitted_rows_and_their_originals():
    """beyond.priors_of: the D2 prior from the rows train.fit fits on (validation patients out), the
    original prior from their originals; both from the build's labels, never typed."""
    import pandas as pd

    from dspic_lib.chapters import beyond
    from dspic_lib.pipeline.train import validation_split

    rows = []
    for i in range(12):
        label = ["N", "N", "M", "A"][i % 4]
        rows.append({"image": f"p{i}", "patient": f"p{i}", "label": label, "source": "original"})
        if label != "N":                                        # D2 adds copies of diseased images only
            rows += [{"image": f"p{i}#c{k}", "patient": f"p{i}", "label": label, "source": "mirror"} for k in range(3)]
    meta = pd.DataFrame(rows)

    class Part:
        def __init__(self, m):
            self.meta = m

    class Build:
        train, test = Part(meta), Part(pd.DataFrame({"image": ["t0", "t1"]}))

    pr = beyond.priors_of(Build(), seed=0)
    fit, _ = validation_split(meta, 0)
    kept = meta.iloc[fit]
    assert len(kept) < len(meta)                                # the validation patients are left out
    np.testing.assert_allclose(pr.trained, metrics.output_priors(kept["label"]))
    np.testing.assert_allclose(pr.original, metrics.output_priors(kept[kept["source"] == "original"]["label"]))
    assert pr.trained[0] < pr.original[0]                       # copies of M and A lower N's share
    assert pr.counts.loc["N", "fitted images"] == (kept["label"] == "N").sum()
    assert pr.test_images == ("t0", "t1")
