"""Stage 3: hyper-parameter grid search, one training per Spark task (``dltrigger tune``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import TuneResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["TuneResult", "run"]


def run(config: Config, *, spark: SparkSession | None = None, progress: bool = False) -> TuneResult:
    """Train ``tune.model`` at every point of ``tune.grid`` on ``tune.data`` (unset:
    ``<features.out>/dev``), ranked by ``tune.metric``, into ``tune.out``.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a progress bar on the terminal.
    """
    from .job import tune

    config = config.resolved()
    start = time.perf_counter()
    summary = tune(config, spark=spark, progress=progress)
    return TuneResult(
        out=Path(config.tune.out), seconds=time.perf_counter() - start, summary=summary
    )
