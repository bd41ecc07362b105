"""The Spark session every stage shares, built from :class:`dltrigger.config.SparkConfig`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..config import SparkConfig


def get_spark(config: SparkConfig | None = None):
    """Return the active Spark session or build one from ``config``.

    Python workers are pointed at this interpreter, so they see the same virtual
    environment's packages (stack-notes: without it tasks miss pyarrow, pythia8mc, ...).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    config = config or SparkConfig()
    builder = SparkSession.builder.master(config.master).appName(config.app_name)
    log4j = Path(__file__).with_name("log4j2.properties")
    builder = builder.config(
        "spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile=file:{log4j}"
    )
    for key, value in config.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
