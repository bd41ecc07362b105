"""Stage 2: event selection, the 14 high-level features, particle lists, split and
scaling statistics (``dltrigger features``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import FeaturesResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["FeaturesResult", "run"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> FeaturesResult:
    """Select and compute the features of ``features.input`` (unset: ``ingest.out``) into the
    datasets ``full``, ``balanced`` and ``dev`` of ``features.out``.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a progress bar on the terminal.
    """
    from .job import features

    config = config.resolved()
    start = time.perf_counter()
    manifests = features(config, spark=spark, progress=progress)
    return FeaturesResult(
        out=Path(config.features.out), seconds=time.perf_counter() - start, manifests=manifests
    )
