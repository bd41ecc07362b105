"""Session fixtures: one Spark session and one generated sample per test run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from dltrigger.config import Config, GenerateConfig, SparkConfig

#: Events per process in the shared sample: enough for the physics checks' tolerances.
SAMPLE_EVENTS = 600
SAMPLE_EVENTS_PER_FILE = 300
SAMPLE_SEED = 4242


@pytest.fixture(scope="session")
def spark():
    from dltrigger.spark.session import get_spark

    session = get_spark(
        SparkConfig(
            master="local[2]",
            app_name="dltrigger-tests",
            conf={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"},
        )
    )
    yield session
    session.stop()


@dataclass(frozen=True)
class GeneratedSample:
    folder: Path
    reports: list
    config: Config

    def files(self, process: str) -> list[Path]:
        return sorted(self.folder.glob(f"{process}_*.root"))


@pytest.fixture(scope="session")
def generated(spark, tmp_path_factory) -> GeneratedSample:
    """W+jets, ttbar and QCD files made once, through Spark, as ``dltrigger generate`` does."""
    from dltrigger.generate.job import generate

    folder = tmp_path_factory.mktemp("raw")
    config = Config(
        generate=GenerateConfig(
            out=folder,
            events=SAMPLE_EVENTS,
            events_per_file=SAMPLE_EVENTS_PER_FILE,
            seed=SAMPLE_SEED,
            batch_size=150,
        )
    )
    reports = generate(config, spark=spark, progress=False)
    return GeneratedSample(folder, reports, config)
