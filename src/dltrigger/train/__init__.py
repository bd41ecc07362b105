"""Stage 4: training on a features dataset (data loading, trainer, data-parallel on Spark,
export) (``dltrigger train``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..results import TrainResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["TrainResult", "run"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> TrainResult:
    """Train ``train.model`` on ``train.data`` (unset: ``<features.out>/balanced``) into its run
    folder (``train.out``, unset: ``runs/<model>``), continuing it with ``train.resume``.

    ``spark``: the session of data-parallel training (``train.num_processes > 1``; one is
    started from ``config.spark`` when None); ``progress``: a progress bar on the terminal.
    """
    from .trainer import train

    config = config.resolved()
    settings = config.train
    if settings.num_processes > 1 and spark is None:
        from ..spark.session import get_spark

        spark = get_spark(config.spark)
    start = time.perf_counter()
    history = train(
        settings, resume=settings.resume, progress=progress, spark=spark,
        tracking=config.tracking,
    )  # fmt: skip
    return TrainResult(
        out=settings.run_folder, seconds=time.perf_counter() - start, history=tuple(history)
    )
