"""Event generation: Pythia 8 processes, a fast Delphes-like detector simulation, and
Delphes-format ROOT files, one Spark task per file (``dltrigger generate``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import GenerateResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["GenerateResult", "run"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> GenerateResult:
    """Generate the ``[generate]`` processes into ``generate.out``.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a progress bar on the terminal.
    """
    from .job import generate

    config = config.resolved()
    start = time.perf_counter()
    files = generate(config, spark=spark, progress=progress)
    return GenerateResult(
        out=Path(config.generate.out), seconds=time.perf_counter() - start, files=tuple(files)
    )
