"""Classification metrics in numpy: accuracy and one-vs-rest ROC AUC per class."""

from __future__ import annotations

import numpy as np

#: Class names in label order (reference-pipeline.md §1.3: 0 QCD, 1 ttbar, 2 W+jets).
CLASS_NAMES = ("QCD", "ttbar", "W+jets")


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U), NaN when a class is absent."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def per_class_auc(labels: np.ndarray, probabilities: np.ndarray) -> list[float]:
    return [roc_auc(labels == k, probabilities[:, k]) for k in range(probabilities.shape[1])]
