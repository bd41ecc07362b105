"""``dltrigger ingest``: the configured samples' ROOT files -> one Parquet dataset by label.

The driver only stats the files (bad paths and unreachable URLs stop the run here, named)
and opens the first one for the columns. The ``root`` Spark data source then reads every
file once, in the task that reads it; a file that cannot be opened, lacks the tree or a
branch, or is truncated stops the run with its name, or with ``skip_bad_files`` is left out.
Tasks leave one record per file slice (entries, compressed bytes, or the reason for a skip),
from which the JSON report is built. The labelled rows are written as zstd Parquet
partitioned by ``label`` into a temporary folder that replaces the output only when
everything, report included, is written and the event count checked.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import IngestError, InputError
from ..io.atomic import atomic_folder, temporary_folder
from ..io.root_reader import ENTRY_COLUMN, SOURCE_FILE_COLUMN
from ..spark.failures import root_cause
from ..spark.root_planning import plan_slices
from ..spark.root_source import (
    column_names,
    file_sizes,
    first_layout,
    read_report_records,
    register,
)
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


def _count_rows(folder: Path) -> int:
    import pyarrow.dataset as ds

    return ds.dataset(str(folder), format="parquet", partitioning="hive").count_rows()


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
    sizes, skipped = file_sizes(all_files, settings.skip_bad_files)
    size_of = dict(sizes)
    layout = first_layout(
        [p for p, _ in sizes] or all_files,
        settings.tree,
        settings.branches,
        settings.skip_bad_files,
    )
    columns = [c.name for c in layout.collections] + [s.name for s in layout.scalars]
    sample_of = {f: s for s, files in files_by_sample.items() for f in files}

    report = IngestReport(output=str(settings.out), tree=settings.tree, columns=columns)
    spark = spark or get_spark(config.spark)
    register(spark)
    cores = spark.sparkContext.defaultParallelism

    with atomic_folder(settings.out, settings.overwrite) as folder:
        records = temporary_folder(Path(settings.out))
        records.mkdir()
        try:
            frames = []
            for sample, files in files_by_sample.items():
                readable = [f for f in files if f in size_of]
                if not readable:
                    continue
                report.partitions += len(
                    plan_slices(
                        [(f, size_of[f]) for f in readable], settings.partition_bytes, cores
                    )
                )
                frames.append(
                    spark.read.format("root")
                    .option("tree", settings.tree)
                    .option("branches", ",".join(column_names(layout)))
                    .option("partitionBytes", str(settings.partition_bytes))
                    .option("minPartitions", str(cores))
                    .option("batchEvents", str(settings.batch_events))
                    .option("batchBytes", str(settings.batch_bytes))
                    .option("skipBadFiles", str(settings.skip_bad_files).lower())
                    .option("reportFolder", str(records))
                    .load(readable)
                    .withColumn("label", F.lit(settings.samples[sample].label))
                    .withColumn("sample", F.lit(sample))
                )
            frame = frames[0]
            for other in frames[1:]:
                frame = frame.unionByName(other)
            frame = frame.select(*columns, "label", "sample", SOURCE_FILE_COLUMN, ENTRY_COLUMN)

            def write() -> None:
                frame.write.partitionBy("label").option("compression", "zstd").parquet(str(folder))

            try:
                if progress:
                    description = f"ingesting {len(sizes)} file(s)"
                    run_spark_job_with_progress(spark, description, report.partitions, write)
                else:
                    write()
            except Exception as exc:
                raise IngestError(f"ingest failed, nothing written: {root_cause(exc)}") from None
            slices = read_report_records(records)
        finally:
            shutil.rmtree(records, ignore_errors=True)

        read: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for record in slices:
            if record["error"] is not None:
                skipped[record["path"]] = record["error"]
            else:
                read[record["path"]][0] += record["entries"]
                read[record["path"]][1] += record["compressed_bytes"]
        report.skipped = skipped
        for path in all_files:
            if path in read and path not in skipped:
                sample = sample_of[path]
                events, nbytes = read[path]
                label = settings.samples[sample].label
                report.files.append(FileEntry(path, sample, label, events, nbytes))
        if not report.files:
            raise InputError(
                f"none of the {len(all_files)} input file(s) could be read: "
                + "; ".join(f"{p}: {r}" for p, r in list(skipped.items())[:3])
            )
        report.events = sum(f.events for f in report.files)
        report.bytes_read = sum(f.compressed_bytes for f in report.files)
        report.events_written = _count_rows(folder)
        if report.events_written != report.events:
            raise IngestError(
                f"wrote {report.events_written} events but read {report.events}: output discarded"
            )
        report.seconds = time.perf_counter() - start
        (Path(folder) / REPORT_NAME).write_text(report.to_json())
    return report
