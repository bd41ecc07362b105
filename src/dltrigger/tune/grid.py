"""Grids of training settings: expansion, validation against ``TrainConfig``, the reference's.

A grid maps a parameter to its values; a *point* is one value per parameter. Parameters are
``[train]`` fields or ``model_options.NAME`` (the model's keyword arguments).
"""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import ValidationError

from ..config import TrainConfig
from ..errors import ConfigError, did_you_mean

#: The reference's HLF grid (reference-pipeline.md §6): 3 x 3 x 27 = 243 points. The widths
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


def apply(base: TrainConfig, point: dict[str, Any]) -> TrainConfig:
    """``base`` with the point's values; a bad name or value raises ConfigError naming it."""
    fields = dict(base.model_dump())
    options = dict(fields["model_options"])
    for name, value in point.items():
        if name.startswith("model_options."):
            options[name.split(".", 1)[1]] = value
        elif name in TrainConfig.model_fields:
            fields[name] = value
        else:
            choices = [*TrainConfig.model_fields, "model_options.<name>"]
            raise ConfigError(
                f"unknown grid parameter {name!r}{did_you_mean(name, choices)}; "
                "use a [train] setting or model_options.<name>"
            )
    fields["model_options"] = options
    try:
        return TrainConfig.model_validate(fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(
            f"grid point {point}: {where}: {problem['msg']} (got {problem.get('input')!r})"
        ) from None


def validate(base: TrainConfig, points: list[dict[str, Any]]) -> list[TrainConfig]:
    """Every point as a TrainConfig, checking the model accepts its options."""
    from ..models import build_model

    configs = [apply(base, point) for point in points]
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
