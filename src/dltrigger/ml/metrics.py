"""Classifier metrics for a trigger, in numpy: one-vs-rest ROC curves and AUC, working
points, confusion matrices, and their statistical uncertainties: Clopper-Pearson intervals
for efficiencies (the field's convention: never of zero width at 0 or 1), bootstrap for AUCs.

A *working point* is a cut on one class's score. For class c as the signal and the two other
classes as the background, the trigger keeps events with score >= cut: the signal efficiency
is the true-positive rate, the background efficiency the false-positive rate, and the
background rejection its inverse. The original paper's headline was keeping ~99% of the
signal while cutting false positives by more than 10x (docs/reference.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Background efficiencies (false-positive rates) at which the signal efficiency is quoted.
BACKGROUND_EFFICIENCIES = (0.1, 0.01, 0.001)
#: Signal efficiency at which the background rejection is quoted.
SIGNAL_EFFICIENCY = 0.99


@dataclass(frozen=True)
class Roc:
    """A ROC curve: for each distinct cut (descending), the rates of events kept."""

    false_positive_rate: np.ndarray
    true_positive_rate: np.ndarray
    thresholds: np.ndarray  # keep score >= threshold; the first is +inf (nothing kept)
    positives: int
    negatives: int

    @property
    def auc(self) -> float:
        """Area under the curve (trapezoids: ties count half, as the rank statistic)."""
        return float(np.trapezoid(self.true_positive_rate, self.false_positive_rate))


def roc_curve(is_signal: np.ndarray, scores: np.ndarray) -> Roc:
    """The ROC curve of ``scores`` for the boolean truth ``is_signal``, at every distinct cut."""
    is_signal = np.asarray(is_signal, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if is_signal.shape != scores.shape or scores.ndim != 1:
        raise ValueError(f"labels {is_signal.shape} and scores {scores.shape} must be 1-d, alike")
    positives = int(is_signal.sum())
    negatives = len(is_signal) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("a ROC curve needs both signal and background events")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_truth = scores[order], is_signal[order]
    # The last index of each run of equal scores: a cut keeps all of them or none.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    true_kept = np.cumsum(sorted_truth)[last]
    false_kept = (last + 1) - true_kept
    return Roc(
        false_positive_rate=np.r_[0.0, false_kept / negatives],
        true_positive_rate=np.r_[0.0, true_kept / positives],
        thresholds=np.r_[np.inf, sorted_scores[last]],
        positives=positives,
        negatives=negatives,
    )


def roc_auc(is_signal: np.ndarray, scores: np.ndarray) -> float:
    """The ROC curve's area; NaN when a class is absent or a score is not finite (a
    diverged training's validation), where no curve exists."""
    is_signal = np.asarray(is_signal, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if is_signal.all() or not is_signal.any() or not np.isfinite(scores).all():
        return float("nan")
    return roc_curve(is_signal, scores).auc


def per_class_auc(labels: np.ndarray, probabilities: np.ndarray) -> list[float]:
    """One-vs-rest AUC of each class's column (NaN for a class without events)."""
    labels = np.asarray(labels)
    return [roc_auc(labels == k, probabilities[:, k]) for k in range(probabilities.shape[1])]


def one_vs_rest(labels: np.ndarray, probabilities: np.ndarray, signal: int) -> Roc:
    """Class ``signal`` against the others, cutting on that class's score."""
    return roc_curve(np.asarray(labels) == signal, np.asarray(probabilities)[:, signal])


#: Coverage of an efficiency's interval: 68.27%, one standard deviation's (Clopper-Pearson).
INTERVAL_LEVEL = 0.6827
#: Confidence level of the one-sided upper limit quoted for an unmeasurable efficiency.
LIMIT_LEVEL = 0.95
#: A working point is measurable when the test split is expected to hold at least this many
#: background events passing its cut (``[evaluate] min_background_events``).
MIN_BACKGROUND_EVENTS = 10


def clopper_pearson(passed: int, total: int, level: float = INTERVAL_LEVEL) -> tuple[float, float]:
    """The central Clopper-Pearson interval of ``passed`` / ``total`` at ``level`` (beta
    quantiles): its lower bound is 0 only when nothing passed, its upper bound 1 only when
    everything did. ``total`` 0: (0, 1), nothing is known."""
    from scipy.stats import beta

    if total <= 0:
        return 0.0, 1.0
    tail = (1.0 - level) / 2
    low = float(beta.ppf(tail, passed, total - passed + 1)) if passed > 0 else 0.0
    high = float(beta.ppf(1 - tail, passed + 1, total - passed)) if passed < total else 1.0
    return low, high


def upper_limit(passed: int, total: int, level: float = LIMIT_LEVEL) -> float:
    """The one-sided Clopper-Pearson upper limit on an efficiency at ``level`` (0 of 744:
    0.40% at 95%)."""
    from scipy.stats import beta

    if total <= 0 or passed >= total:
        return 1.0
    return float(beta.ppf(level, passed + 1, total - passed))


@dataclass(frozen=True)
class Efficiency:
    """``passed`` of ``total`` events, with its Clopper-Pearson interval."""

    passed: int
    total: int

    @property
    def value(self) -> float:
        return self.passed / self.total if self.total else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return clopper_pearson(self.passed, self.total)

    def to_json(self) -> dict:
        low, high = self.interval
        return {"value": self.value, "passed": self.passed, "total": self.total,
                "interval": [low, high], "level": INTERVAL_LEVEL}  # fmt: skip


@dataclass(frozen=True)
class WorkingPoint:
    """A cut on the signal class's score: the signal and background events it keeps."""

    threshold: float
    signal: Efficiency
    background: Efficiency

    @property
    def signal_efficiency(self) -> float:
        return self.signal.value

    @property
    def background_efficiency(self) -> float:
        return self.background.value

    @property
    def background_rejection(self) -> float:
        """1 / background efficiency (infinite when no background event passes)."""
        eff = self.background_efficiency
        return float("inf") if eff == 0 else 1.0 / eff

    def rejection_interval(self) -> tuple[float, float | None]:
        """The rejection's interval from the background efficiency's (None: unbounded above,
        when the efficiency's lower bound is 0)."""
        low, high = self.background.interval
        return 1.0 / high, (1.0 / low if low > 0 else None)


def _point(roc: Roc, index: int) -> WorkingPoint:
    tpr, fpr = roc.true_positive_rate[index], roc.false_positive_rate[index]
    return WorkingPoint(
        threshold=float(roc.thresholds[index]),
        signal=Efficiency(round(float(tpr) * roc.positives), roc.positives),
        background=Efficiency(round(float(fpr) * roc.negatives), roc.negatives),
    )


def at_background_efficiency(roc: Roc, target: float) -> WorkingPoint:
    """The loosest cut whose background efficiency does not exceed ``target``."""
    allowed = np.flatnonzero(roc.false_positive_rate <= target)
    return _point(roc, int(allowed[-1]))  # index 0 (keep nothing) always qualifies


def at_signal_efficiency(roc: Roc, target: float = SIGNAL_EFFICIENCY) -> WorkingPoint:
    """The tightest cut that keeps at least ``target`` of the signal."""
    enough = np.flatnonzero(roc.true_positive_rate >= target)
    return _point(roc, int(enough[0]))  # the last point keeps everything


def measurable(target: float, background_events: int, minimum: int = MIN_BACKGROUND_EVENTS) -> bool:
    """Can a background efficiency of ``target`` be measured on ``background_events``? Only
    when at least ``minimum`` of them are expected to pass (0.1% of 744 events: 0.74, no)."""
    return target * background_events >= minimum


def _resampled_aucs(
    is_signal: np.ndarray, scores: list[np.ndarray], samples: int, seed: int
) -> np.ndarray:
    """AUCs of each score array on the same bootstrap resamples: shape (resamples, arrays)."""
    is_signal = np.asarray(is_signal, dtype=bool)
    scores = [np.asarray(s, dtype=np.float64) for s in scores]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        pick = rng.integers(0, len(is_signal), len(is_signal))
        truth = is_signal[pick]
        if truth.all() or not truth.any():
            continue
        values.append([roc_curve(truth, s[pick]).auc for s in scores])
    return np.array(values).reshape(-1, len(scores))


def bootstrap_auc(
    is_signal: np.ndarray, scores: np.ndarray, samples: int = 200, seed: int = 0
) -> float:
    """Standard deviation of the AUC over bootstrap resamples of the events."""
    values = _resampled_aucs(is_signal, [scores], samples, seed)[:, 0]
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def bootstrap_auc_difference(
    is_signal: np.ndarray,
    scores: np.ndarray,
    baseline: np.ndarray,
    samples: int = 200,
    seed: int = 0,
) -> float:
    """Standard deviation of AUC(scores) - AUC(baseline) over *paired* resamples (the same
    events for both): two models scored on one test set are correlated, so this is smaller
    than the two AUC errors added in quadrature."""
    values = _resampled_aucs(is_signal, [scores, baseline], samples, seed)
    differences = values[:, 0] - values[:, 1]
    return float(np.std(differences, ddof=1)) if len(differences) > 1 else float("nan")


def confusion_matrix(
    labels: np.ndarray, predicted: np.ndarray, classes: int = 3, normalize: bool = False
) -> np.ndarray:
    """Counts of (true class, predicted class); ``normalize``: each true class's row sums to 1."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    matrix = np.bincount(labels * classes + predicted, minlength=classes * classes)
    matrix = matrix.reshape(classes, classes).astype(np.float64 if normalize else np.int64)
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    return matrix
