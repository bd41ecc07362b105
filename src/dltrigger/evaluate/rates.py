"""Trigger rates from test-split efficiencies: what a trigger physicist asks of a classifier.

A cut on one class's score keeps a share ε_c of each class c; events of class c arrive at
``input_rate_hz · f_c`` (``f_c``: the class fractions of the trigger's input), so the cut's
output rate is ``input_rate_hz · Σ_c f_c ε_c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RateCurve:
    """For each distinct cut on the signal class's score (descending, as
    :class:`~dltrigger.evaluate.metrics.Roc`): the signal efficiency and the expected total
    output rate."""

    thresholds: np.ndarray  # keep score >= threshold
    signal_efficiency: np.ndarray
    output_rate_hz: np.ndarray
