"""Stage 5: the trained classifier as a trigger filter, on files arriving in a folder
(``dltrigger stream``, Structured Streaming) or on a fixed set of files (``dltrigger score``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import ScoreResult, StreamResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["ScoreResult", "StreamResult", "run", "score"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> StreamResult:
    """Run the trigger of ``stream.model`` (unset: the run folder of ``train.model``) on the
    ``*.root`` files arriving in ``stream.input`` until stopped, ``stream.timeout`` seconds or,
    with ``stream.available_now``, until the files there are done.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a line per micro-batch on the terminal.
    """
    from .job import stream

    config = config.resolved()
    settings = config.stream
    start = time.perf_counter()
    summary = stream(
        config, spark=spark, available_now=settings.available_now, timeout=settings.timeout,
        quiet=not progress,
    )  # fmt: skip
    return StreamResult(
        out=Path(settings.out), seconds=time.perf_counter() - start, summary=summary
    )


def score(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> ScoreResult:
    """Score every event of ``score.inputs`` (ROOT or Parquet files, folders, globs, URLs)
    with ``stream.model`` at ``[stream]``'s working point into ``score.out``.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: unused (one Spark job), accepted as by every stage.
    """
    from .batch import score as score_files

    config = config.resolved()
    settings = config.score
    start = time.perf_counter()
    summary = score_files(
        config, list(settings.inputs), Path(settings.out), overwrite=settings.overwrite,
        spark=spark,
    )  # fmt: skip
    return ScoreResult(out=Path(settings.out), seconds=time.perf_counter() - start, summary=summary)
