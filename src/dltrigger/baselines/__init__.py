"""Tree baselines on the 14 high-level features: Spark ML random forest and boosted trees,
XGBoost on Spark, single-node LightGBM (``dltrigger baselines``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import BaselinesResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["BaselinesResult", "run"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> BaselinesResult:
    """Fit ``baselines.models`` on ``baselines.data`` (unset: ``train.data``) into
    ``baselines.out``, scored on its test split.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: unused (Spark ML shows no progress), accepted as by every stage.
    """
    from ..spark.session import get_spark
    from .job import train_baselines

    config = config.resolved()
    start = time.perf_counter()
    metrics = train_baselines(config.baselines, spark or get_spark(config.spark), config.tracking)
    return BaselinesResult(
        out=Path(config.baselines.out), seconds=time.perf_counter() - start, metrics=metrics
    )
