"""Stage 4's evaluation: metrics, working points, plots and the report of trained models
(``dltrigger evaluate``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..results import EvaluateResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config

__all__ = ["EvaluateResult", "run"]


def run(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> EvaluateResult:
    """Score the best model of each of ``evaluate.runs`` (unset: the run folders of
    ``run.models``) on the test split of ``evaluate.data`` (unset: ``train.data``) and write
    the report into ``evaluate.out``, with the tree baselines of ``evaluate.baselines`` when
    that folder exists.

    ``spark`` and ``progress``: unused (the scoring runs in this process), accepted as by
    every stage.
    """
    from .job import evaluate

    config = config.resolved()
    settings = config.evaluate
    assert settings.runs is not None and settings.data is not None  # resolved
    baselines = settings.baselines
    start = time.perf_counter()
    evaluation = evaluate(
        settings.runs, settings.data, settings.out, overwrite=settings.overwrite,
        bootstrap=settings.bootstrap,
        baselines=baselines if baselines is not None and Path(baselines).is_dir() else None,
        settings=settings,
    )  # fmt: skip
    return EvaluateResult(
        out=Path(settings.out), seconds=time.perf_counter() - start, evaluation=evaluation
    )
