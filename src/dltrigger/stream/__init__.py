"""Stage 6: the trained classifier as a trigger filter, on files arriving in a folder
(``dltrigger stream``, Structured Streaming) or on a fixed set of files (``dltrigger score``,
Spark tasks or a local process pool)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..results import ScoreResult, StreamResult
from ..stage import lazy_attributes

if TYPE_CHECKING:
    from ..config import Config
    from ..stage import Stage
    from .batch import score
    from .job import run

__all__ = ["ScoreResult", "StreamResult", "run", "score", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job", "score": ".batch"})


def stages(config: Config) -> list[Stage]:
    """None: a stream runs until stopped, so ``dltrigger run`` never starts one."""
    return []
