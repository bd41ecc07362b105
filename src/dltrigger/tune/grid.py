"""Grids of training settings: expansion, validation against ``TrainConfig``, the reference's.

A grid maps a parameter to its values; a *point* is one value per parameter. Parameters are
``[train]`` fields or ``model_options.NAME`` (the model's keyword arguments).
"""

from __future__ import annotations

import itertools
from typing import Any

from ..config import TrainConfig, apply_point
from ..errors import ConfigError

#: The reference's HLF grid (docs/reference.md §6): 3 x 3 x 27 = 243 points. The widths
#: are the three hidden layers' sizes, each from its own list.
REFERENCE_HLF_GRID: dict[str, list[Any]] = {
    "batch_size": [64, 100, 200],
    "epochs": [10, 30, 50],
    "model_options.widths": [
        [a, b, c] for a in (50, 100, 150) for b in (20, 50, 100) for c in (10, 20, 50)
    ],
}


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in a fixed order."""
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid parameter {name!r} needs a non-empty list of values")
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def validate(base: TrainConfig, points: list[dict[str, Any]]) -> list[TrainConfig]:
    """Every point as a TrainConfig, checking the model accepts its options."""
    from ..models import build_model

    configs = [apply_point(base, point) for point in points]
    checked: set[str] = set()
    for point, config in zip(points, configs, strict=True):
        key = repr(sorted(config.model_options.items()))
        if key not in checked:
            try:
                build_model(config.model, **config.model_options)
            except (ConfigError, TypeError, ValueError) as exc:
                raise ConfigError(f"grid point {point}: {exc}") from None
            checked.add(key)
    return configs
