"""``dltrigger ingest``: the configured samples' ROOT files -> one Parquet dataset by label.

The driver first inspects every file (in threads; it reads headers only): a file that cannot
be opened, lacks the tree or a requested branch stops the run with its name, or with
``skip_bad_files`` is left out and listed in the report. The good files are then read by the
``root`` Spark data source, labelled, and written as zstd Parquet partitioned by ``label``
into a temporary folder that replaces the output only when everything, report included, is
written.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import IngestError, InputError
from ..io.atomic import atomic_folder
from ..io.root_reader import ENTRY_COLUMN, SOURCE_FILE_COLUMN
from ..spark.failures import root_cause
from ..spark.root_source import common_layout, inspect_files, plan_partitions, register
from .samples import resolve_samples

#: Leading underscore: Spark and pyarrow skip it when reading the folder as a dataset.
REPORT_NAME = "_ingest_report.json"


@dataclass
class FileEntry:
    path: str
    sample: str
    label: int
    events: int
    compressed_bytes: int


@dataclass
class IngestReport:
    output: str
    tree: str
    columns: list[str]
    files: list[FileEntry] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    events: int = 0
    events_written: int = 0
    bytes_read: int = 0
    partitions: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def to_json(self) -> str:
        data = asdict(self)
        data["events_per_second"] = self.events_per_second
        data["events_per_file"] = {f.path: f.events for f in self.files}
        return json.dumps(data, indent=2)


def ingest(
    config: Config, inputs: list[str] | None = None, spark=None, progress: bool = True
) -> IngestReport:
    """Run the ingest stage with ``config.ingest``; ``inputs`` replace the configured samples."""
    from pyspark.sql import functions as F

    from ..progress import run_spark_job_with_progress
    from ..spark.session import get_spark

    settings = config.ingest
    start = time.perf_counter()
    files_by_sample = resolve_samples(settings, inputs)
    all_files = [f for files in files_by_sample.values() for f in files]
    good, skipped = inspect_files(
        all_files, settings.tree, settings.branches, settings.skip_bad_files
    )
    if not good:
        raise InputError(
            f"none of the {len(all_files)} input file(s) could be read: "
            + "; ".join(f"{p}: {r}" for p, r in list(skipped.items())[:3])
        )
    layout = common_layout([g[1] for g in good], [g[0].path for g in good], settings.tree)
    columns = [c.name for c in layout.collections] + [s.name for s in layout.scalars]
    info_by_path = {g[0].path: g[0] for g in good}

    report = IngestReport(output=str(settings.out), tree=settings.tree, columns=columns)
    report.skipped = skipped
    spark = spark or get_spark(config.spark)
    register(spark)
    frames = []
    for sample, files in files_by_sample.items():
        readable = [f for f in files if f in info_by_path]
        if not readable:
            continue
        label = settings.samples[sample].label
        for path in readable:
            info = info_by_path[path]
            report.files.append(FileEntry(path, sample, label, info.entries, info.compressed_bytes))
        report.partitions += len(
            plan_partitions(
                [info_by_path[f] for f in readable],
                settings.partition_events,
                settings.partition_bytes,
                spark.sparkContext.defaultParallelism,
            )
        )
        frames.append(
            spark.read.format("root")
            .option("tree", settings.tree)
            .option("branches", ",".join(columns))
            .option("partitionEvents", str(settings.partition_events))
            .option("partitionBytes", str(settings.partition_bytes))
            .option("minPartitions", str(spark.sparkContext.defaultParallelism))
            .load(readable)
            .withColumn("label", F.lit(label))
            .withColumn("sample", F.lit(sample))
        )
    report.events = sum(f.events for f in report.files)
    report.bytes_read = sum(f.compressed_bytes for f in report.files)
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    frame = frame.select(*columns, "label", "sample", SOURCE_FILE_COLUMN, ENTRY_COLUMN)

    with atomic_folder(settings.out, settings.overwrite) as folder:
        data = str(folder)

        def write() -> None:
            frame.write.partitionBy("label").option("compression", "zstd").parquet(data)

        try:
            if progress:
                description = f"ingesting {len(report.files)} file(s)"
                run_spark_job_with_progress(spark, description, report.partitions, write)
            else:
                write()
        except Exception as exc:
            raise IngestError(f"ingest failed, nothing written: {root_cause(exc)}") from None
        report.events_written = spark.read.parquet(data).count()
        if report.events_written != report.events:
            raise InputError(
                f"wrote {report.events_written} events but the files hold {report.events}"
            )
        report.seconds = time.perf_counter() - start
        (Path(folder) / REPORT_NAME).write_text(report.to_json())
    return report
