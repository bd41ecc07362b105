"""Evaluation metrics against scikit-learn and against brute force over every cut."""

import numpy as np
import pytest
from sklearn import metrics as sk

from dltrigger.evaluate.metrics import (
    at_background_efficiency,
    at_signal_efficiency,
    binomial_error,
    bootstrap_auc,
    bootstrap_auc_difference,
    confusion_matrix,
    one_vs_rest,
    roc_auc,
    roc_curve,
)


@pytest.fixture(scope="module")
def scored():
    """Three overlapping classes with rounded scores (so there are ties)."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 5000)
    logits = rng.normal(size=(5000, 3)) + 1.5 * np.eye(3)[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return labels, np.round(probabilities, 3)


def test_roc_and_auc_equal_scikit_learn(scored):
    labels, probabilities = scored
    for signal in range(3):
        roc = one_vs_rest(labels, probabilities, signal)
        fpr, tpr, thresholds = sk.roc_curve(
            labels == signal, probabilities[:, signal], drop_intermediate=False
        )
        np.testing.assert_allclose(roc.false_positive_rate, fpr)
        np.testing.assert_allclose(roc.true_positive_rate, tpr)
        np.testing.assert_allclose(roc.thresholds[1:], thresholds[1:])
        expected = sk.roc_auc_score(labels == signal, probabilities[:, signal])
        assert roc.auc == pytest.approx(expected, rel=1e-12)
        # The NaN-safe form used in training gives the same area.
        assert roc_auc(labels == signal, probabilities[:, signal]) == pytest.approx(expected)


def test_working_points_equal_brute_force(scored):
    labels, probabilities = scored
    signal, scores = labels == 1, probabilities[:, 1]
    roc = roc_curve(signal, scores)
    cuts = np.r_[np.inf, np.unique(scores)[::-1]]
    tpr = np.array([(scores[signal] >= c).mean() for c in cuts])
    fpr = np.array([(scores[~signal] >= c).mean() for c in cuts])
    for target in (0.1, 0.01, 0.001):
        point = at_background_efficiency(roc, target)
        best = tpr[fpr <= target].max()  # the most signal any allowed cut keeps
        assert point.signal_efficiency == pytest.approx(best)
        assert point.background_efficiency <= target
        kept = (scores[signal] >= point.threshold).mean()
        assert kept == pytest.approx(point.signal_efficiency)
    point = at_signal_efficiency(roc, 0.99)
    assert point.signal_efficiency >= 0.99
    assert point.background_efficiency == pytest.approx(fpr[tpr >= 0.99].min())
    assert point.background_rejection == pytest.approx(1 / point.background_efficiency)
    assert point.signal_error == pytest.approx(
        np.sqrt(point.signal_efficiency * (1 - point.signal_efficiency) / signal.sum())
    )


def test_confusion_matrix_equals_scikit_learn(scored):
    labels, probabilities = scored
    predicted = probabilities.argmax(1)
    np.testing.assert_array_equal(
        confusion_matrix(labels, predicted), sk.confusion_matrix(labels, predicted)
    )
    np.testing.assert_allclose(
        confusion_matrix(labels, predicted, normalize=True),
        sk.confusion_matrix(labels, predicted, normalize="true"),
    )


def test_uncertainties():
    assert binomial_error(0.5, 100) == pytest.approx(0.05)
    assert np.isnan(binomial_error(0.5, 0))
    rng = np.random.default_rng(3)
    truth = rng.random(2000) < 0.5
    scores = rng.normal(size=2000) + truth
    spread = bootstrap_auc(truth, scores, samples=200, seed=1)
    # The AUC's standard error for ~1000 + 1000 events is ~0.01 (Hanley & McNeil).
    assert 0.005 < spread < 0.02


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="both signal and background"):
        roc_curve(np.ones(5, bool), np.arange(5.0))
    with pytest.raises(ValueError, match="NaN"):
        roc_curve(np.array([True, False]), np.array([np.nan, 0.1]))


def test_paired_bootstrap_of_a_difference_is_tighter_than_quadrature():
    rng = np.random.default_rng(5)
    truth = rng.random(2000) < 0.4
    common = rng.normal(size=2000) + 1.5 * truth  # what both models see
    a = common + 0.3 * rng.normal(size=2000)
    b = common + 0.3 * rng.normal(size=2000)
    paired = bootstrap_auc_difference(truth, a, b, samples=200, seed=2)
    quadrature = np.hypot(bootstrap_auc(truth, a, 200, 2), bootstrap_auc(truth, b, 200, 2))
    assert 0 < paired < 0.7 * quadrature
    assert bootstrap_auc_difference(truth, a, a, samples=50) == 0.0
