"""Scaling statistics as mergeable partial sums (fitted per task, combined on the driver)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FeatureStats:
    """count, sum, sum of squares, min and max per feature; ``merge`` adds two of them."""

    count: np.ndarray
    total: np.ndarray
    squares: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @classmethod
    def empty(cls, n: int) -> FeatureStats:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, np.inf), np.full(n, -np.inf))

    @classmethod
    def of(cls, rows: np.ndarray) -> FeatureStats:
        """Statistics of a ``(n_rows, n_features)`` array (rows are real values only)."""
        rows = np.asarray(rows, dtype=np.float64)
        n = rows.shape[1]
        if len(rows) == 0:
            return cls.empty(n)
        return cls(
            np.full(n, float(len(rows))),
            rows.sum(axis=0),
            np.square(rows).sum(axis=0),
            rows.min(axis=0),
            rows.max(axis=0),
        )

    def merge(self, other: FeatureStats) -> FeatureStats:
        return FeatureStats(
            self.count + other.count,
            self.total + other.total,
            self.squares + other.squares,
            np.minimum(self.minimum, other.minimum),
            np.maximum(self.maximum, other.maximum),
        )

    def summary(self, names: tuple[str, ...]) -> dict[str, list[float]]:
        """mean, std (population), min, max per feature, in ``names`` order."""
        count = np.maximum(self.count, 1)
        mean = self.total / count
        std = np.sqrt(np.maximum(self.squares / count - mean**2, 0.0))
        return {
            "names": list(names),
            "count": self.count.tolist(),
            "mean": mean.tolist(),
            "std": std.tolist(),
            "min": self.minimum.tolist(),
            "max": self.maximum.tolist(),
        }

    def to_lists(self) -> list[list[float]]:
        return [
            a.tolist() for a in (self.count, self.total, self.squares, self.minimum, self.maximum)
        ]

    @classmethod
    def from_lists(cls, lists: list[list[float]]) -> FeatureStats:
        return cls(*(np.array(x, dtype=np.float64) for x in lists))
