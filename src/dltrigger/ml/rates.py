"""Trigger rates from test-split efficiencies: what a trigger physicist asks of a classifier.

A cut on one class's score keeps a share ε_c of each class c; events of class c arrive at
``input_rate_hz · f_c`` (``f_c``: the class fractions of the trigger's input), so the cut's
output rate is ``input_rate_hz · Σ_c f_c ε_c``. For an output-rate budget (1 kHz, 10 kHz) the
loosest cut within it is found, and each class's efficiency and rate are quoted with their
Clopper-Pearson intervals; a class rate resting on fewer passing events than the
measurability minimum is quoted as a 95% upper limit instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..schema import CLASS_NAMES
from .metrics import MIN_BACKGROUND_EVENTS, Efficiency, upper_limit

#: Why a rate point's threshold is null: even the single highest-scored event's class rate
#: exceeds the budget.
KEEPS_NOTHING = "no cut keeps the output rate within the target: the trigger keeps nothing"


@dataclass(frozen=True)
class RateCurve:
    """For each distinct cut on the signal class's score (descending, as
    [`Roc`][dltrigger.ml.metrics.Roc], the first keeping nothing): the signal
    efficiency and the expected total output rate, from the events of each class kept."""

    thresholds: np.ndarray  # keep score >= threshold
    signal_efficiency: np.ndarray
    output_rate_hz: np.ndarray
    passed: np.ndarray  # (cuts, classes): events of each class kept
    totals: np.ndarray  # (classes,): events of each class
    class_rates_hz: np.ndarray  # (classes,): input_rate_hz · f_c


def rate_curve(
    labels: np.ndarray,
    scores: np.ndarray,
    signal: int,
    input_rate_hz: float,
    fractions: dict[str, float],
) -> RateCurve:
    """The rate curve of cuts on ``scores[:, signal]``. Every class with a nonzero input
    fraction needs test events (else no rate can be estimated: ValueError naming it)."""
    labels = np.asarray(labels, dtype=np.int64)
    column = np.asarray(scores, dtype=np.float64)[:, signal]
    totals = np.bincount(labels, minlength=len(CLASS_NAMES))[: len(CLASS_NAMES)]
    weights = np.array([fractions[name] for name in CLASS_NAMES], dtype=np.float64)
    missing = [n for n, t, f in zip(CLASS_NAMES, totals, weights, strict=True) if f > 0 and not t]
    if missing:
        raise ValueError(
            f"no test event of {', '.join(missing)}, whose input fraction is not 0: its rate "
            "cannot be estimated"
        )
    order = np.argsort(-column, kind="mergesort")
    ordered = column[order]
    last = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]  # a cut keeps ties whole
    one_hot = labels[order][:, None] == np.arange(len(CLASS_NAMES))[None, :]
    passed = np.vstack([np.zeros(len(CLASS_NAMES), np.int64), np.cumsum(one_hot, 0)[last]])
    class_rates = input_rate_hz * weights
    efficiencies = np.divide(passed, totals, out=np.zeros(passed.shape), where=totals > 0)
    return RateCurve(
        thresholds=np.r_[np.inf, ordered[last]],
        signal_efficiency=efficiencies[:, signal],
        output_rate_hz=efficiencies @ class_rates,
        passed=passed,
        totals=totals,
        class_rates_hz=class_rates,
    )


def at_output_rate(
    curve: RateCurve, target_hz: float, min_events: int = MIN_BACKGROUND_EVENTS
) -> dict[str, Any]:
    """The loosest cut whose expected output rate does not exceed ``target_hz``: threshold
    (None, with ``threshold_note``, when even the tightest cut exceeds it: nothing is kept),
    total rate (central value and the sum of the classes' bounds: conservative), and per
    class the efficiency (passed/total, Clopper-Pearson interval) and rate. A class with
    fewer than ``min_events`` passing events gets ``"measurable": false`` and its 95% upper
    limit."""
    index = int(np.flatnonzero(curve.output_rate_hz <= target_hz)[-1])  # 0 keeps nothing
    classes: dict[str, Any] = {}
    low_total = high_total = 0.0
    for c, name in enumerate(CLASS_NAMES):
        efficiency = Efficiency(int(curve.passed[index, c]), int(curve.totals[c]))
        rate = curve.class_rates_hz[c]
        low, high = efficiency.interval if efficiency.total else (0.0, 0.0)
        entry = {
            **efficiency.to_json(),
            "rate_hz": rate * efficiency.value if efficiency.total else 0.0,
            "rate_interval_hz": [rate * low, rate * high],
            "measurable": efficiency.passed >= min_events,
        }
        if not entry["measurable"]:
            entry["efficiency_upper_limit_95"] = upper_limit(efficiency.passed, efficiency.total)
            entry["rate_upper_limit_95_hz"] = rate * entry["efficiency_upper_limit_95"]
        low_total += rate * low
        high_total += rate * high
        classes[name] = entry
    point: dict[str, Any] = {
        "target_hz": target_hz,
        "threshold": float(curve.thresholds[index]),
        "output_rate_hz": float(curve.output_rate_hz[index]),
        "output_rate_interval_hz": [low_total, high_total],
        "classes": classes,
    }
    if index == 0:
        # No cut fits: the trigger keeps nothing. Its cut is +inf, which strict JSON cannot
        # hold, so null with the reason.
        point["threshold"] = None
        point["threshold_note"] = KEEPS_NOTHING
    return point


def trigger_rates(
    labels: np.ndarray,
    scores: np.ndarray,
    input_rate_hz: float,
    fractions: dict[str, float],
    output_rates_hz: list[float],
    min_events: int = MIN_BACKGROUND_EVENTS,
) -> tuple[dict[str, Any], dict[str, RateCurve]]:
    """Per signal class: the points at each output rate (JSON), and the curves (for plots).
    A class whose rate cannot be estimated gets ``{"absent": why}``."""
    results: dict[str, Any] = {}
    curves: dict[str, RateCurve] = {}
    for signal, name in enumerate(CLASS_NAMES):
        if not (np.asarray(labels) == signal).any():
            results[name] = {"absent": "no test event of this class"}
            continue
        try:
            curve = rate_curve(labels, scores, signal, input_rate_hz, fractions)
        except ValueError as exc:
            results[name] = {"absent": str(exc)}
            continue
        curves[name] = curve
        results[name] = {
            "points": [at_output_rate(curve, target, min_events) for target in output_rates_hz]
        }
    return results, curves
