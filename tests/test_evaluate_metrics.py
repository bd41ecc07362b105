"""Evaluation metrics against scikit-learn and against brute force over every cut."""

import numpy as np
import pytest
from sklearn import metrics as sk

from dltrigger.ml.metrics import (
    at_background_efficiency,
    at_signal_efficiency,
    bootstrap_auc,
    bootstrap_auc_difference,
    clopper_pearson,
    confusion_matrix,
    measurable,
    one_vs_rest,
    roc_auc,
    roc_curve,
    upper_limit,
)
from dltrigger.ml.rates import at_output_rate, rate_curve


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
    assert point.signal.passed == (scores[signal] >= point.threshold).sum()
    assert point.signal.total == signal.sum()
    assert point.background.passed == (scores[~signal] >= point.threshold).sum()
    low, high = point.signal.interval
    assert low < point.signal_efficiency < high


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


def test_clopper_pearson_against_closed_forms_and_a_tail_sum():
    alpha = 1 - 0.6827
    # 0 of n: the upper bound solves (1 - p)^n = alpha/2; n of n: the lower, p^n = alpha/2.
    assert clopper_pearson(0, 744) == (0.0, pytest.approx(1 - (alpha / 2) ** (1 / 744)))
    assert clopper_pearson(744, 744) == (pytest.approx((alpha / 2) ** (1 / 744)), 1.0)
    assert clopper_pearson(0, 744)[1] == pytest.approx(0.00247, abs=1e-5)
    # One-sided 95% limit for 0 of 744: (1 - p)^744 = 0.05, p = 0.40%.
    assert upper_limit(0, 744) == pytest.approx(1 - 0.05 ** (1 / 744))
    # k of n: the bounds are where the binomial tails are alpha/2 (summed here, no scipy).
    from math import comb

    def tail_at_least(k, n, p):
        return sum(comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))

    low, high = clopper_pearson(7, 40)
    assert tail_at_least(7, 40, low) == pytest.approx(alpha / 2, rel=1e-6)
    assert 1 - tail_at_least(8, 40, high) == pytest.approx(alpha / 2, rel=1e-6)
    assert clopper_pearson(3, 0) == (0.0, 1.0)


def test_a_working_point_with_no_background_passing_is_not_measurable():
    # 744 background events: 0.1% of them is 0.74 expected events, below the minimum of 10.
    rng = np.random.default_rng(11)
    truth = np.r_[np.ones(366, bool), np.zeros(744, bool)]
    scores = np.r_[rng.normal(3, 1, 366), rng.normal(0, 1, 744)]
    point = at_background_efficiency(roc_curve(truth, scores), 0.001)
    assert point.background.passed == 0 and point.background_efficiency == 0.0
    assert point.background.interval[1] > 0  # an upper bound, never a zero-width interval
    assert not measurable(0.001, 744) and measurable(0.1, 744)
    assert measurable(0.001, 744, minimum=0.5) and not measurable(0.01, 744)


def test_an_unmeasurable_working_point_in_the_evaluation_json():
    """ttbar against 744 background events, separated but for one QCD event scored high:
    the 0.1% point (0.74 events expected) is not measurable and quotes a nonzero 95% upper
    limit; 99% of ttbar is kept with no background, so the rejection is unbounded above."""
    import json

    from dltrigger.artifacts._files import strict_json
    from dltrigger.evaluate.job import evaluate_model

    rng = np.random.default_rng(2)
    labels = np.r_[np.zeros(400, int), np.ones(366, int), np.full(344, 2)]
    ttbar = np.where(labels == 1, rng.uniform(0.6, 0.9, len(labels)), rng.uniform(0, 0.5, 1110))
    ttbar[0] = 0.95  # one QCD event above every ttbar one: no cut keeps 0.1% of the background
    scores = np.stack([(1 - ttbar) / 2, ttbar, (1 - ttbar) / 2], axis=1)
    metrics = evaluate_model(labels, scores, bootstrap=0, min_background_events=10)
    cls = metrics["classes"]["ttbar"]
    assert cls["background_events"] == 744
    tight, loose = cls["signal_efficiency_at_background"]["0.001"], (
        cls["signal_efficiency_at_background"]["0.1"])  # fmt: skip
    assert not tight["measurable"] and tight["expected_background_events"] == pytest.approx(0.744)
    assert tight["background_efficiency"]["passed"] == 0
    assert tight["background_efficiency_upper_limit_95"] == pytest.approx(1 - 0.05 ** (1 / 744))
    assert tight["threshold"] is None and "keeps nothing" in tight["threshold_note"]
    assert loose["measurable"] and "background_efficiency_upper_limit_95" not in loose
    assert loose["signal_efficiency"]["value"] == 1.0  # 366/366, with a lower bound below 1
    assert loose["signal_efficiency"]["interval"][0] == pytest.approx(0.15865 ** (1 / 366))
    at99 = cls["at_signal_efficiency"]
    assert at99["background_efficiency"]["passed"] == 1  # the one high QCD event
    assert at99["background_rejection"] == pytest.approx(744)
    low, high = at99["background_rejection_interval"]
    bounds = clopper_pearson(1, 744)
    assert (low, high) == (pytest.approx(1 / bounds[1]), pytest.approx(1 / bounds[0]))
    # Fully separated: the 99% cut keeps no background, the rejection is unbounded above.
    clean = np.where(labels == 1, 0.9, 0.1)
    separated = evaluate_model(labels, np.stack([(1 - clean) / 2, clean, (1 - clean) / 2], 1), 0)
    at99 = separated["classes"]["ttbar"]["at_signal_efficiency"]
    assert at99["background_rejection"] is None and at99["background_rejection_interval"][1] is None
    assert at99["background_rejection_interval"][0] == pytest.approx(1 / clopper_pearson(0, 744)[1])
    assert "unbounded above" in at99["background_rejection_note"]
    json.dumps(strict_json(metrics), allow_nan=False)  # NaN AUC errors (no bootstrap): null


def test_rates_against_a_hand_count():
    # 10 QCD, 4 ttbar, 6 W+jets test events; cut on the W+jets score.
    labels = np.array([0] * 10 + [1] * 4 + [2] * 6)
    w_score = np.array([0.1] * 9 + [0.95] + [0.2, 0.3, 0.8, 0.1] + [0.99, 0.9, 0.85, 0.6, 0.5, 0.2])
    scores = np.stack([1 - w_score, np.zeros(20), w_score], axis=1)
    fractions = {"QCD": 0.5, "ttbar": 0.1, "W+jets": 0.4}
    curve = rate_curve(labels, scores, 2, 1000.0, fractions)
    # Keeping score >= 0.85: W+jets 3/6, QCD 1/10 (0.95), ttbar 0/4 -> 1000 (0.5/10 + 0.4/2).
    index = list(curve.thresholds).index(0.85)
    assert curve.output_rate_hz[index] == pytest.approx(1000 * (0.5 * 0.1 + 0.4 * 0.5))
    assert curve.signal_efficiency[index] == pytest.approx(0.5)
    point = at_output_rate(curve, 260.0, min_events=2)
    assert point["threshold"] == 0.85 and point["output_rate_hz"] == pytest.approx(250.0)
    qcd, w = point["classes"]["QCD"], point["classes"]["W+jets"]
    assert (qcd["passed"], qcd["total"], w["passed"]) == (1, 10, 3)
    assert qcd["rate_hz"] == pytest.approx(50.0) and not qcd["measurable"]
    assert qcd["rate_upper_limit_95_hz"] == pytest.approx(500 * upper_limit(1, 10))
    low, high = clopper_pearson(3, 6)
    assert w["rate_interval_hz"] == [pytest.approx(400 * low), pytest.approx(400 * high)]
    nothing = at_output_rate(curve, 1.0)  # nothing fits: keep nothing, said so (JSON: no inf)
    assert nothing["threshold"] is None and "keeps nothing" in nothing["threshold_note"]
    assert nothing["output_rate_hz"] == 0 and nothing["classes"]["W+jets"]["passed"] == 0
    with pytest.raises(ValueError, match="no test event of ttbar"):
        rate_curve(labels[labels != 1], scores[labels != 1], 2, 1000.0, fractions)


def test_uncertainties():
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
