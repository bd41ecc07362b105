"""``dltrigger score``: a trained model as a trigger over a fixed set of files, in batch.

Inputs: ROOT files (paths, globs, folders, ``root://``), or Parquet files of ``dltrigger
ingest`` or ``dltrigger features`` (a folder is searched for ``*.parquet``). The files are
scored in groups, one task each (Spark's or the local pool's, [`dltrigger.executors`][]), by
the stream's per-file function; each task writes its own parts. The output folder (written
atomically) holds ``scores/`` (one row per event, as the stream's), ``accepted/`` (the accepted
events with their HLF) and ``quarantine.json`` (the files that could not be used, and why).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..artifacts import ScoreOutput
from ..config import Config, StreamConfig
from ..errors import InputError, StreamError
from ..executors import choose
from ..freshness import skippable
from ..io.atomic import atomic_folder
from ..io.paths import expand_inputs
from ..results import ScoreResult
from ..spark.failures import root_cause
from .process import local_path, process_file
from .trigger import Trigger, load_trigger

#: Files are scored in about this many tasks per core: a Spark task costs ~0.2 s on its own
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


@skippable(__package__, "SCORE_STAGE")
def score(config: Config, *, spark=None, progress: bool = False) -> ScoreResult:
    """Score every event of ``score.inputs`` (ROOT or Parquet files, folders, globs, URLs)
    with ``stream.model`` at ``[stream]``'s working point into ``score.out``; the result has
    the counts and the quarantined files.

    ``spark``: a session to run the tasks in (else [`dltrigger.executors`][] chooses);
    ``progress``: a progress bar of the scoring tasks.

    Example: the repository's genuine Delphes files scored with the model that ``dltrigger
    train`` writes by default (the call needs that run folder, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> config = dlt.with_overrides(dlt.Config(), "score", inputs=["tests/data/delphes"])
    >>> resolved = config.resolved()
    >>> resolved.stream.model, resolved.score.out, resolved.stream.background_efficiency
    (PosixPath('runs/inclusive'), PosixPath('runs/score'), 0.01)
    >>> result = dlt.stream.score(config)  # doctest: +SKIP

    ```
    """
    start = time.perf_counter()
    config = config.resolved()
    settings = config.stream
    out, overwrite = Path(config.score.out), config.score.overwrite
    files = find_inputs(list(config.score.inputs))
    trigger = load_trigger(settings, config.features.collections, config.evaluate)
    executor = choose(config.spark, input_bytes=_size(files), spark=spark)
    tasks = min(len(files), TASKS_PER_CORE * executor.cores)
    groups = [list(g) for g in np.array_split(np.asarray(files, dtype=object), tasks)]
    with atomic_folder(out, overwrite, kind="scores", inputs=files) as folder:
        for name in (ScoreOutput.SCORES, ScoreOutput.ACCEPTED):
            (folder / name).mkdir(parents=True)

        def run(item: tuple[int, list[str]]) -> dict[str, Any]:
            return score_files(item[1], folder, item[0], trigger, settings)

        try:
            parts = executor.map(
                run, list(enumerate(groups)), description=f"scoring {len(files)} file(s)",
                progress=progress,
            )  # fmt: skip
        except Exception as exc:
            raise StreamError(f"score failed, nothing written: {root_cause(exc)}") from None
        quarantined = [q for part in parts for q in part["quarantined"]]
        summary = {
            "files": len(files),
            "events": sum(part["events"] for part in parts),
            "selected": sum(part["selected"] for part in parts),
            "accepted": sum(part["accepted"] for part in parts),
            "threshold": trigger.threshold,
            "accept_classes": list(settings.accept_classes),
            "model": trigger.run,
            "quarantined": quarantined,
        }
        ScoreOutput(folder).write_summary(summary)
    return ScoreResult(out=out, seconds=time.perf_counter() - start, summary=summary)


def score_files(
    paths: list[str], folder: Path, index: int, trigger: Trigger, settings: StreamConfig
) -> dict[str, Any]:
    """One task: score ``paths`` into ``scores/part-<index>.parquet`` (every event of the usable
    files) and ``accepted/part-<index>.parquet`` (the accepted ones, with their HLF); return
    the counts and the quarantined files."""
    import pyarrow.compute as pc

    from ..io.parquet import write_table

    # a fixed set of files: none is still being written (the stream's settle wait is not needed)
    rows = pa.concat_tables(
        process_file(local_path(p), trigger, settings.tree, 0.0, 0.0)
        for p in paths
    )  # fmt: skip
    bad = rows.column("quarantine").is_valid()
    events = rows.filter(pc.invert(bad)).drop_columns(["quarantine"])
    output = ScoreOutput(folder)
    write_table(events.drop_columns(["hlf"]), output.part(output.SCORES, index))
    write_table(events.filter(events.column("accepted")), output.part(output.ACCEPTED, index))
    return {
        "events": events.num_rows,
        "selected": int(pc.sum(events.column("selected")).as_py() or 0),
        "accepted": int(pc.sum(events.column("accepted")).as_py() or 0),
        "quarantined": [
            {"path": r["source_file"], "reason": r["quarantine"]}
            for r in rows.filter(bad).select(["source_file", "quarantine"]).to_pylist()
        ],
    }


def _size(files: list[str]) -> int:
    """Bytes of the local inputs (remote ones count as the threshold: Spark takes them)."""
    from ..io.paths import is_remote

    return sum(10**18 if is_remote(f) else Path(f).stat().st_size for f in files)
