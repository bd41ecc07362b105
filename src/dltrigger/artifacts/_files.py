"""Reading and writing the small JSON side files every hand-over has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from ..io.atomic import atomic_path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None


def strict_json(value: Any) -> Any:
    """``value`` as strict JSON holds it: numpy scalars as Python numbers, NaN and infinities
    as None (``null``; an AUC error without bootstrap, a baseline's undefined AUC). Where a
    null needs a reason (a cut keeping nothing, an unbounded rejection) its producer adds it."""
    import math

    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
