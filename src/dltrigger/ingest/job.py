"""``dltrigger ingest``: the configured samples' ROOT files -> one Parquet dataset by label.

The driver stats the files (bad paths and unreachable URLs stop the run here, named) and
opens the first one for its layout. Every task checks each of its files against that layout
*by name* before reading it; a file that disagrees (lacks a collection or member, has one more,
or a type that does not fit) is not read but reported, and then the driver surveys every file's
tree (in Spark tasks when there are many), merges the layouts by name and runs the job again:
a file lacking what others have, or with a conflicting type, stops the run naming it (or is
skipped with ``skip_bad_files``), never silently narrowing the others. Files that agree (the
common case) are thus opened once on the driver (the first) and once by their task.

Spark runs one task per planned partition (the ``root`` data source's planning:
cluster-aligned file slices, small files packed): each task reads its slices with the data
source's reader and writes them with pyarrow as zstd Parquet under ``label=N/``, the layout Spark's
``partitionBy("label")`` makes. Writing from the task keeps the events in Arrow from ROOT to
Parquet: measured 5x faster than a DataFrame write, whose JVM side converts every nested
value to rows and back (docs/benchmarks.md). A file that cannot be opened, lacks the tree
or a branch, is truncated (shorter than its header's ``fEND``) or corrupt inside its data (a
basket that cannot be read, or a value no collision can produce: dltrigger.bounds, checked
as each batch is read) stops the run with its name, or with
``skip_bad_files`` is left out whole (rows already written of a file found corrupt mid-way
are removed again); tasks return one record per slice (entries, compressed bytes, or the skip
reason), from which the JSON report is built. Everything lands in a temporary folder that
replaces the output only when complete, report included, and the event count checked.
"""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artifacts import FileEntry, IngestedDataset, IngestReport
from ..config import Config, IngestConfig
from ..errors import IngestError, InputError
from ..executors import Executor, choose
from ..freshness import skippable
from ..io.atomic import atomic_folder, atomic_path
from ..io.paths import bound_remote_waits
from ..io.root_reader import TreeLayout
from ..io.root_survey import file_sizes, first_layout, survey
from ..results import IngestResult
from ..spark.failures import root_cause
from ..spark.root_planning import FileSlice, plan_slices
from ..spark.root_source import RootPartition, RootReader
from .samples import resolve_samples

REPORT_NAME = IngestedDataset.REPORT


@dataclass(frozen=True)
class PartitionTask:
    """One Spark task: file slices of one sample, written to one Parquet file."""

    index: int
    sample: str
    label: int
    slices: tuple[FileSlice, ...]


def _write_partitions(
    tasks,
    folder: str,
    layout: TreeLayout,
    settings: IngestConfig,
    speculative: bool = False,
    read_all: bool = False,
):
    """Read each task's slices and write them as one Parquet file; yield the slice records
    (with ``speculative``, a file that disagrees with ``layout`` is not read but recorded)."""
    import pyarrow as pa

    from ..io.parquet import parquet_writer

    for task in tasks:
        reader = RootReader(
            tree_name=settings.tree,
            layout=layout,
            partitions=[],
            source_columns=True,
            skip_bad_files=settings.skip_bad_files,
            batch_events=settings.batch_events,
            batch_bytes=settings.batch_bytes,
            spark_types=False,
            speculative=speculative,
            read_all=read_all,
            skip_corrupt=settings.skip_bad_files,
        )
        target = Path(folder) / f"label={task.label}" / f"part-{task.index:05d}.parquet"
        writer = None
        try:
            for batch in reader.read(RootPartition(task.slices)):
                sample = pa.array([task.sample]).take(np.zeros(batch.num_rows, dtype=np.int32))
                table = pa.Table.from_batches([batch]).add_column(
                    batch.num_columns - 2, "sample", sample
                )
                if writer is None:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    writer = parquet_writer(target, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        yield from reader.records


def _remove_rows_of(part: str, paths: list[str]) -> None:
    """Rewrite one written Parquet part without the rows of ``paths`` (deleted if none stay)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ..io.parquet import write_table

    sources = pq.read_table(part, columns=["source_file"]).column("source_file")
    drop = pc.is_in(sources, value_set=pa.array(paths, pa.string()))
    if not pc.any(drop).as_py():
        return
    table = pq.read_table(part).filter(pc.invert(drop))
    if table.num_rows == 0:
        Path(part).unlink()
        return
    with atomic_path(part) as temporary:
        write_table(table, temporary)


#: More input files than this are surveyed in the executor's tasks (a tree's metadata takes
#: ~0.2 s to read for a genuine Delphes file), fewer in driver threads (no job start-up).
SURVEY_IN_TASKS_ABOVE = 4


def _mapper(executor: Executor):
    def mapper(function, paths: list[str]) -> list:
        return executor.map(function, paths)

    return mapper


def _count_rows(folder: Path) -> int:
    """Rows written, from the parts' footers (pyarrow.dataset costs 0.3 s of imports)."""
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(part).num_rows for part in IngestedDataset(folder).parts())


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> IngestResult:
    """Read ``ingest.inputs`` (else the ``[ingest.samples]``) into ``ingest.out``.

    ``spark``: a session to run the tasks in (else [`dltrigger.executors`][] chooses: a
    local process pool for small inputs on a local master); ``progress``: a progress bar.

    Example: the repository's three genuine Delphes files of 25 events each
    (``tests/data/delphes/``, from the repository root) into a temporary folder:

    ```pycon
    >>> import tempfile
    >>> from pathlib import Path
    >>> import dltrigger as dlt
    >>> out = Path(tempfile.mkdtemp()) / "ingested"
    >>> config = dlt.with_overrides(dlt.Config(), "ingest", inputs=["tests/data/delphes"], out=out)
    >>> result = dlt.ingest.run(config)
    >>> result.events, result.report.executor
    (75, 'local')
    >>> sorted(folder.name for folder in out.glob("label=*"))
    ['label=0', 'label=1', 'label=2']

    ```
    """
    config = config.resolved()
    settings = config.ingest
    bound_remote_waits(settings.remote_timeout)
    start = time.perf_counter()
    files_by_sample = resolve_samples(settings, settings.inputs or None)
    all_files = [f for files in files_by_sample.values() for f in files]
    sizes, skipped = file_sizes(all_files, settings.skip_bad_files)
    executor = choose(config.spark, input_bytes=sum(n for _, n in sizes), spark=spark)
    cores = executor.cores
    sample_of = {f: s for s, files in files_by_sample.items() for f in files}
    paths = [p for p, _ in sizes] or all_files
    # Speculatively, the first readable file's layout: every task checks its files against
    # it by name, so the common case (files alike) opens each file once more only in its task.
    layout, bad = first_layout(paths, settings.tree, settings.branches, settings.skip_bad_files)
    skipped.update(bad)

    def plan() -> list[PartitionTask]:
        tasks: list[PartitionTask] = []
        for sample in files_by_sample:
            readable = [(f, n) for f, n in sizes if sample_of[f] == sample and f not in skipped]
            for slices in (
                plan_slices(readable, settings.partition_bytes, cores) if readable else []
            ):
                tasks.append(
                    PartitionTask(
                        index=len(tasks),
                        sample=sample,
                        label=settings.samples[sample].label,
                        slices=tuple(slices),
                    )
                )
        return tasks

    def run(folder: Path, tasks: list[PartitionTask], layout, speculative: bool) -> list[dict]:
        read_all = not settings.branches

        def write(task: PartitionTask) -> list[dict]:
            return list(
                _write_partitions([task], str(folder), layout, settings, speculative, read_all)
            )

        try:
            written = executor.map(
                write, tasks, description=f"ingesting {len(sizes)} file(s)", progress=progress
            )
        except Exception as exc:
            raise IngestError(f"ingest failed, nothing written: {root_cause(exc)}") from None
        return [record for records in written for record in records]

    with atomic_folder(settings.out, settings.overwrite, kind="ingest", inputs=all_files) as folder:
        folder.mkdir(parents=True)
        tasks = plan()
        slices = run(folder, tasks, layout, speculative=True)
        if any(r.get("disagrees") for r in slices):
            # Files differ: merge every file's layout by name (conflicts and incomplete files
            # named, or skipped), then read again with the merged layout.
            found = survey(
                [p for p in paths if p not in skipped],
                settings.tree,
                settings.branches,
                settings.skip_bad_files,
                mapper=_mapper(executor) if len(paths) > SURVEY_IN_TASKS_ABOVE else None,
            )
            layout = found.layout
            skipped.update(found.bad)
            shutil.rmtree(folder)
            folder.mkdir(parents=True)
            tasks = plan()
            slices = run(folder, tasks, layout, speculative=False)

        report = IngestReport(
            output=str(settings.out),
            tree=settings.tree,
            columns=layout.top_names(),
            skipped_branches=dict(sorted(layout.skipped.items())),
            partitions=len(tasks),
            executor=executor.name,
        )
        read: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for record in slices:
            if record["error"] is not None:
                skipped[record["path"]] = record["error"]
        # A file corrupt inside its data is left out whole: the rows already written of it
        # (its readable part, or its other slices) are removed again.
        written = {r["path"] for r in slices if r["error"] is None or r.get("partial")}
        purge = sorted(written & set(skipped))
        if purge:
            parts = sorted(str(p) for p in Path(folder).glob("label=*/*.parquet"))
            executor.map(lambda part: _remove_rows_of(part, purge), parts)
        for record in slices:
            if record["error"] is not None:
                continue
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
    return IngestResult(out=Path(settings.out), seconds=report.seconds, report=report)
