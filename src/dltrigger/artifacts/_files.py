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


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
