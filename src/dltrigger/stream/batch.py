"""``dltrigger score``: a trained model as a trigger over a fixed set of files, in batch.

Inputs: ROOT files (paths, globs, folders, ``root://``), or Parquet files of ``dltrigger
ingest`` or ``dltrigger features`` (a folder is searched for ``*.parquet``). One Spark task per
file runs the same Arrow UDF as the stream; the output folder (written atomically) holds
``scores/`` (one row per event, as the stream's), ``accepted/`` (the accepted events with their
HLF) and ``quarantine.json`` (the files that could not be used, and why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InputError
from ..io.atomic import atomic_folder
from ..io.paths import expand_inputs
from .job import files_frame
from .process import OUTPUT_SCHEMA, score_paths
from .trigger import load_trigger

#: Files are scored in about this many Spark tasks per core: a task costs ~0.2 s on its own
#: (measured: 24 one-file tasks of ~0.25 s of work each ran at half the one-process rate).
TASKS_PER_CORE = 4


def find_inputs(inputs: list[str]) -> list[str]:
    """ROOT inputs expanded as ``dltrigger ingest`` does; Parquet files and folders of them."""
    if not inputs:
        raise InputError(
            "no input to score: name files (dltrigger score INPUT...) or [score] inputs"
        )
    files: list[str] = []
    for item in inputs:
        path = Path(item)
        if "://" not in item and path.is_dir() and any(path.rglob("*.parquet")):
            files += sorted(str(p) for p in path.rglob("*.parquet") if ".tmp-" not in str(p))
        elif item.endswith(".parquet"):
            if not path.exists():
                raise InputError(f"{item}: file not found")
            files.append(item)
        else:
            files += expand_inputs(item)
    if not files:
        raise InputError(f"no input file in {', '.join(inputs)}")
    return files


def score(config: Config, inputs: list[str], out: Path, overwrite: bool = False,
          spark=None) -> dict[str, Any]:  # fmt: skip
    """Score every event of ``inputs`` into ``out``; return the counts and quarantined files."""
    import pyspark.sql.functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from ..spark.session import get_spark

    config = config.resolved()
    settings = config.stream
    files = find_inputs(inputs)
    trigger = load_trigger(settings, config.features.collections, config.evaluate)
    spark = spark or get_spark(config.spark)
    udf = score_paths(trigger, settings.tree, settings.settle_seconds, settings.max_wait_seconds)
    tasks = min(len(files), TASKS_PER_CORE * spark.sparkContext.defaultParallelism)
    rows = files_frame(spark, files, tasks).mapInArrow(udf, from_arrow_schema(OUTPUT_SCHEMA))
    rows = rows.persist()
    try:
        with atomic_folder(out, overwrite, kind="scores", inputs=files) as folder:
            folder.mkdir(parents=True)
            events = rows.where(F.col("quarantine").isNull()).drop("quarantine")
            events.drop("hlf").write.parquet(str(folder / "scores"))
            events.where(F.col("accepted")).write.parquet(str(folder / "accepted"))
            good = F.col("quarantine").isNull()
            counts = rows.agg(  # one job for the counts and the quarantine rows
                F.count(F.when(good, 1)),
                F.sum(F.when(good, F.col("selected").cast("long"))),
                F.sum(F.when(good, F.col("accepted").cast("long"))),
                F.collect_list(F.when(~good, F.struct("source_file", "quarantine"))),
            ).first()  # fmt: skip
            quarantined = [{"path": r[0], "reason": r[1]} for r in counts[3]]
            summary = {
                "files": len(files),
                "events": int(counts[0]),
                "selected": int(counts[1] or 0),
                "accepted": int(counts[2] or 0),
                "threshold": trigger.threshold,
                "accept_classes": list(settings.accept_classes),
                "model": trigger.run,
                "quarantined": quarantined,
            }
            (folder / "quarantine.json").write_text(json.dumps(quarantined, indent=2))
            (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    finally:
        rows.unpersist()
    return summary
