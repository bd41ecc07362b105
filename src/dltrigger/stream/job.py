"""``dltrigger stream``: Spark Structured Streaming of arriving ROOT files through the trigger.

Spark's file source watches ``[stream] input`` for new ``*.root`` files (it records which files
each micro-batch took in the checkpoint's offset log before the batch runs). Each micro-batch's
paths are spread over the cores and go through ``process.score_paths`` in an Arrow UDF
(read -> select -> features -> ONNX scores -> decision); the driver writes the batch's outputs:

- ``scores/batch-N.parquet``: one row per event (file, entry, selected, the three scores, the
  predicted class, the summed accept score, accepted);
- ``accepted/batch-N.parquet``: the accepted events, with their HLF;
- ``quarantine/batch-N.parquet``: files that could not be used, with the reason;
- ``batches/batch-N.json``: the batch's counts and latency, written last.

Exactly once: every output file of batch N is written atomically (temporary name + rename) and
is a pure function of the batch's files, and Spark replays an unfinished batch N with the same
files after a restart, so a killed stream restarted on the same checkpoint rewrites batch N
identically: no event is lost or written twice.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..config import Config
from ..errors import InputError, OutputError, StreamError
from ..io.atomic import TEMPORARY_MARK
from ..io.ownership import write_marker, writing
from ..io.parquet import write_table
from ..io.paths import is_remote
from ..results import StreamResult
from ..schema import CLASS_NAMES
from .process import OUTPUT_SCHEMA, score_paths
from .trigger import Trigger, load_trigger

OUTPUTS = ("scores", "accepted", "quarantine", "batches")
REPORT = "_stream_report.json"
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"


def write_atomic(path: Path, write) -> None:
    """``write(temporary_path)``, then rename: readers never see a half-written file."""
    temporary = path.with_name(f"{TEMPORARY_MARK}{path.name}")
    write(temporary)
    temporary.replace(path)


def batch_outputs(rows: pa.Table, batch: int) -> dict[str, pa.Table]:
    """The three tables of one micro-batch from the UDF's rows."""
    is_file_row = pc.is_valid(rows.column("quarantine"))
    events = rows.filter(pc.invert(is_file_row))
    events = events.append_column("batch", pa.array(np.full(len(events), batch, np.int64)))
    quarantine = rows.filter(is_file_row).select(["source_file", "quarantine"])
    quarantine = quarantine.rename_columns(["path", "reason"])
    quarantine = quarantine.append_column(
        "batch", pa.array(np.full(len(quarantine), batch, np.int64))
    )
    return {
        "scores": events.drop_columns(["hlf", "quarantine"]),
        "accepted": events.filter(pc.fill_null(events.column("accepted"), False)).drop_columns(
            ["quarantine"]
        ),
        "quarantine": quarantine,
    }


def batch_stats(outputs: dict[str, pa.Table], batch: int, files: int, seconds: float) -> dict:
    scores = outputs["scores"]
    selected = scores.filter(pc.fill_null(scores.column("selected"), False))
    predicted = selected.column("predicted").to_pylist()
    accepted = selected.column("accepted").to_pylist()
    per_class = {}
    for name in CLASS_NAMES:
        kept = [a for p, a in zip(predicted, accepted, strict=True) if p == name]
        per_class[name] = {"predicted": len(kept), "accepted": int(sum(kept))}
    return {
        "batch": batch,
        "files": files,
        "events": len(scores),
        "selected": len(selected),
        "accepted": int(sum(accepted)),
        "by_predicted_class": per_class,
        "quarantined": outputs["quarantine"].to_pylist(),
        "seconds": seconds,
        "finished": time.time(),
    }


class StreamState:
    """What the stream has done: per-batch records (re-read at start, replaced on a replay)."""

    def __init__(self, out: Path):
        self.out = out
        self.batches: dict[int, dict] = {}
        for path in sorted((out / "batches").glob("batch-*.json")):
            record = json.loads(path.read_text())
            self.batches[record["batch"]] = record

    def add(self, record: dict) -> None:
        self.batches[record["batch"]] = record
        write_atomic(
            self.out / REPORT, lambda p: p.write_text(json.dumps(self.summary(), indent=2))
        )

    def summary(self) -> dict[str, Any]:
        records = list(self.batches.values())
        latencies = np.array([r["seconds"] for r in records]) if records else np.zeros(1)
        events = sum(r["events"] for r in records)
        busy = float(latencies.sum())
        by_class = {
            name: {
                "predicted": sum(r["by_predicted_class"][name]["predicted"] for r in records),
                "accepted": sum(r["by_predicted_class"][name]["accepted"] for r in records),
            }
            for name in CLASS_NAMES
        }
        return {
            "batches": len(records),
            "files": sum(r["files"] for r in records),
            "events": events,
            "selected": sum(r["selected"] for r in records),
            "accepted": sum(r["accepted"] for r in records),
            "by_predicted_class": by_class,
            "events_per_s": events / busy if busy else 0.0,
            "latency_p50_s": float(np.percentile(latencies, 50)),
            "latency_p99_s": float(np.percentile(latencies, 99)),
            "quarantined": [q for r in records for q in r["quarantined"]],
        }


def progress_line(record: dict, total: dict) -> str:
    rate = record["events"] / record["seconds"] if record["seconds"] else 0.0
    acceptance = ", ".join(
        f"{name} {c['accepted'] / c['predicted']:.0%}" if c["predicted"] else f"{name} -"
        for name, c in record["by_predicted_class"].items()
    )
    quarantined = f", {len(record['quarantined'])} quarantined" if record["quarantined"] else ""
    return (
        f"batch {record['batch']}: {record['files']} files{quarantined}, {record['events']:,} "
        f"events ({record['selected']:,} selected, {record['accepted']:,} accepted; accepted "
        f"by predicted class: {acceptance}), {rate:,.0f} events/s, latency "
        f"{record['seconds']:.2f} s | total {total['files']} files, {total['events']:,} events, "
        f"p99 latency {total['latency_p99_s']:.2f} s"
    )


def _log_offset(path: Path) -> int | None:
    """The file source's log offset recorded for one micro-batch (the offsets file's last
    line: one JSON object per source, ours is the only one)."""
    try:
        return int(json.loads(path.read_text().strip().splitlines()[-1])["logOffset"])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def batch_files(checkpoint: Path, batch: int) -> list[str] | None:
    """The files micro-batch ``batch`` took, from the checkpoint (Spark's ``offsets/N`` and
    the file source's ``sources/0`` log: ``v1``, then one JSON line per file; every 10 batches
    compacted into ``K.compact``). None when the log cannot be read."""
    end = _log_offset(checkpoint / "offsets" / str(batch))
    start = _log_offset(checkpoint / "offsets" / str(batch - 1)) if batch > 0 else -1
    if end is None or start is None:
        return None
    log = checkpoint / "sources" / "0"
    compacts = sorted((int(p.name.split(".")[0]), p) for p in log.glob("*.compact"))
    paths: list[str] = []
    for offset in range(start + 1, end + 1):
        plain = log / str(offset)
        source = plain if plain.exists() else next((p for k, p in compacts if k >= offset), None)
        if source is None:
            return None
        for line in source.read_text().splitlines()[1:]:
            entry = json.loads(line)
            if entry.get("batchId") == offset:
                paths.append(entry["path"])
    return sorted(paths)


def files_frame(spark, names: list[str], cores: int):
    """A one-column (``path``) DataFrame of ``names`` spread over ``cores`` partitions in one
    stage (a range, no shuffle): each micro-batch is one Spark job of one stage."""
    import pyspark.sql.functions as F

    if not names:
        return spark.createDataFrame([], "path string")
    lookup = F.element_at(F.array(*[F.lit(n) for n in names]), F.col("id").cast("int") + 1)
    return spark.range(0, len(names), 1, min(cores, len(names))).select(lookup.alias("path"))


def warm_up(spark, trigger: Trigger, cores: int) -> None:
    """Import the physics and open the ONNX session in the Python workers before the first
    file arrives, so the first micro-batch's latency is not the workers' start-up."""
    from pyspark.sql.pandas.types import from_arrow_schema

    def warm(batches):
        from .process import compute_features  # noqa: F401  (the imports are the point)

        trigger._session()
        yield from batches

    schema = from_arrow_schema(pa.schema([pa.field("id", pa.int64())]))
    spark.range(0, cores, 1, cores).mapInArrow(warm, schema).collect()


def make_handler(spark, trigger: Trigger, config: Config, state: StreamState, say):
    """The ``foreachBatch`` function: score the batch's files, write its outputs atomically."""
    from pyspark.sql.pandas.types import from_arrow_schema

    settings = config.stream
    out = Path(settings.out)
    schema = from_arrow_schema(OUTPUT_SCHEMA)
    udf = score_paths(trigger, settings.tree, settings.settle_seconds, settings.max_wait_seconds)
    cores = spark.sparkContext.defaultParallelism

    def handle(files, batch: int) -> None:
        start = time.perf_counter()
        # The batch's files as Spark's file source logged them: its scan would skip empty
        # files, which must be quarantined like any other unusable file.
        names = batch_files(settings.checkpoint_folder, batch)
        if names is None:  # a log format this code does not know: what the scan gives
            names = sorted(r.path for r in files.select("path").collect())
        rows = files_frame(spark, names, cores).mapInArrow(udf, schema).toArrow()
        rows = rows.cast(OUTPUT_SCHEMA) if rows.schema != OUTPUT_SCHEMA else rows
        outputs = batch_outputs(rows, batch)
        for name, table in outputs.items():
            write_atomic(out / name / f"batch-{batch:06d}.parquet",
                         lambda p, t=table: write_table(t, p))  # fmt: skip
        record = batch_stats(outputs, batch, len(names), time.perf_counter() - start)
        write_atomic(out / "batches" / f"batch-{batch:06d}.json",
                     lambda p: p.write_text(json.dumps(record, indent=2)))  # fmt: skip
        state.add(record)
        say(progress_line(record, state.summary()))

    return handle


def claim_stream_output(out: Path) -> None:
    """Refuse an output folder that is not a stream's (an existing stream's is continued)."""
    from ..io.ownership import check_replaceable, kind_of

    if out.is_symlink():
        try:
            check_replaceable(out, "stream", overwrite=True)  # the rule for links, worded once
        except OutputError as exc:
            raise StreamError(str(exc)) from None
    if out.exists() and any(out.iterdir()) and kind_of(out) != "stream":
        found = kind_of(out)
        what = f"a dltrigger {found} output" if found else "not a dltrigger output"
        raise StreamError(
            f"output {out} is {what}: a stream writes only into a new folder or continues "
            "its own; choose another output folder"
        )


def run(config: Config, *, spark=None, progress: bool = False) -> StreamResult:
    """Run the trigger of ``stream.model`` (unset: the run folder of ``train.model``) on the
    ``*.root`` files arriving in ``stream.input`` until stopped (Ctrl-C), ``stream.timeout``
    seconds or, with ``stream.available_now``, until the files there are done; the result has
    the micro-batches, files, events, accepted and latency.

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a line per micro-batch on the terminal.

    Example: the files already in ``data/incoming``, then stop, with the trigger at a 1 kHz
    output rate (the call needs a trained run folder and Spark, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> config = dlt.with_overrides(
    ...     dlt.Config(), "stream", available_now=True, output_rate_hz=1000.0
    ... )
    >>> settings = config.resolved().stream
    >>> settings.model, settings.input, settings.out, settings.accept_classes
    (PosixPath('runs/inclusive'), 'data/incoming', PosixPath('runs/stream'), ['ttbar', 'W+jets'])
    >>> result = dlt.stream.run(config)  # doctest: +SKIP

    ```
    """
    from ..progress import console
    from ..spark.session import get_spark

    start = time.perf_counter()
    config = config.resolved()
    settings = config.stream
    quiet, available_now, timeout = not progress, settings.available_now, settings.timeout
    source = str(settings.input)
    if not is_remote(source) and not Path(source).is_dir():
        raise InputError(f"{source}: the input folder does not exist")
    trigger = load_trigger(settings, config.features.collections, config.evaluate)
    out = Path(settings.out)
    claim_stream_output(out)
    with writing(out):  # one stream writes a folder at a time
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "stream")
        for name in OUTPUTS:
            (out / name).mkdir(parents=True, exist_ok=True)
        state = StreamState(out)
        spark = spark or get_spark(config.spark)

        def say(text: str) -> None:
            if not quiet:
                console.print(text, highlight=False)

        say(f"trigger: {trigger.model} model of {trigger.run}, accepting "
            f"{'+'.join(CLASS_NAMES[i] for i in trigger.accept)} score >= {trigger.threshold:.4f}; "
            f"watching {source}")  # fmt: skip
        warm_up(spark, trigger, spark.sparkContext.defaultParallelism)
        xrootd = source.startswith(("root://", "xroot://"))
        if xrootd:  # our listing source: Spark's file source lists Hadoop file systems only
            from ..spark.root_folder_source import list_folder, register

            list_folder(source)  # unreachable or missing: said now, not in the first batch
            register(spark)
            reader = spark.readStream.format("dltrigger_root_folder").option("path", source)
        else:
            reader = (
                spark.readStream.format("binaryFile")
                .schema(BINARY_FILE_SCHEMA)  # a stream needs it; the content is never read
                .option("pathGlobFilter", "*.root")
            )
        files = (
            reader.option("maxFilesPerTrigger", settings.max_files_per_trigger)
            .load(None if xrootd else source)
            .select("path")
        )
        writer = (
            files.writeStream.foreachBatch(make_handler(spark, trigger, config, state, say))
            .option("checkpointLocation", str(settings.checkpoint_folder))
            .queryName(f"dltrigger-stream-{time.time_ns()}")
        )
        if available_now:
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
        from pyspark.errors import StreamingQueryException

        query = writer.start()
        try:
            query.awaitTermination(timeout)
        except KeyboardInterrupt:
            say("stopping the stream (the checkpoint keeps its place)")
        except StreamingQueryException as exc:
            raise StreamError(f"the stream failed: {str(exc).strip().splitlines()[0]}") from None
        finally:
            if query.isActive:
                query.stop()
        summary = state.summary()
    return StreamResult(out=out, seconds=time.perf_counter() - start, summary=summary)
