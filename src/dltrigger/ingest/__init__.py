"""Stage 1: ROOT files (local, globs, ``root://``) into Spark, saved as Parquet partitioned
by label (``dltrigger ingest``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import IngestResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["IngestResult", "run"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> IngestResult:
    """Read ``ingest.inputs`` (or else the ``[ingest.samples]``) into ``ingest.out``.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a progress bar on the terminal.
    """
    from .job import ingest

    config = config.resolved()
    start = time.perf_counter()
    report = ingest(config, spark=spark, progress=progress)
    return IngestResult(
        out=Path(config.ingest.out), seconds=time.perf_counter() - start, report=report
    )
