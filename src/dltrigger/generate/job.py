"""``dltrigger generate``: plan the output files, make each one in its own Spark task.

One Spark task per output file, so generation spreads over ``local[*]`` cores or a cluster's
executors alike. Each file's seeds derive from (seed, process, file index) only, so a file's
content does not depend on how many tasks run or in which order. On a cluster, ``out`` must be
a folder every executor can write to (a shared file system).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from ..config import LABELS, Config, GenerateConfig, ProcessName, ProcessSettings
from ..errors import GenerationError, OutputExistsError
from ..io.atomic import TEMPORARY_MARK
from ..io.delphes_writer import DelphesWriter
from ..physics.selection import has_isolated_lepton
from ..spark.failures import root_cause

#: Events accumulated before they are written as one ROOT basket per branch.
WRITE_CHUNK_EVENTS = 2000


@dataclass(frozen=True)
class FileTask:
    """Everything one Spark task needs to make one output file."""

    process: ProcessName
    index: int
    events: int
    seed: int
    path: str
    settings: ProcessSettings
    batch_size: int
    mpi: bool
    pileup_mean: float
    detector: str = "reference"


@dataclass(frozen=True)
class FileReport:
    """What one task produced, with per-file physics summaries for a quick look."""

    process: str
    label: int
    path: str
    events: int
    generated: int
    selected: int
    bytes: int
    seconds: float
    mean_tracks: float
    mean_jets: float
    mean_btags: float
    mean_met: float
    electrons: int
    muons: int


def file_name(process: str, index: int) -> str:
    return f"{process}_{index}.root"


def plan(config: GenerateConfig) -> list[FileTask]:
    """The output files of a run, in a fixed order (process, then index)."""
    out = Path(config.out)
    tasks = []
    for process in config.processes:
        remaining, index = config.events_of(process), 0
        while remaining > 0:
            n = min(config.events_per_file, remaining)
            tasks.append(
                FileTask(
                    process=process,
                    index=index,
                    events=n,
                    seed=config.seed,
                    path=str(out / file_name(process, index)),
                    settings=config.settings(process),
                    batch_size=config.batch_size,
                    mpi=config.mpi,
                    pileup_mean=config.pileup_mean,
                    detector=config.detector,
                )
            )
            remaining -= n
            index += 1
    return tasks


def check_output_folder(config: GenerateConfig, tasks: list[FileTask]) -> None:
    """Refuse an unwritable folder, or existing files unless ``overwrite`` is set."""
    out = Path(config.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerationError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not out.is_dir():
        raise GenerationError(f"output path {out} exists and is not a folder")
    if not os.access(out, os.W_OK | os.X_OK):
        raise GenerationError(f"output folder {out} is not writable")
    existing = [t.path for t in tasks if Path(t.path).exists()]
    if existing and not config.overwrite:
        shown = ", ".join(Path(p).name for p in existing[:3])
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise OutputExistsError(
            f"{len(existing)} output file(s) already exist in {out}: {shown}{more} "
            "(use --overwrite to replace them)"
        )


def file_seeds(task: FileTask) -> tuple[np.random.SeedSequence, ...]:
    root = np.random.SeedSequence([task.seed, LABELS[task.process], task.index])
    return tuple(root.spawn(3))


def generate_file(task: FileTask) -> FileReport:
    """Generate, simulate and write one file (runs inside a Spark task, or anywhere)."""
    # Imported here so the driver does not need Pythia or fastjet loaded to plan a job.
    from .detector import simulate
    from .detector_card import DETECTOR_PRESETS
    from .pythia_source import EventSource

    start = time.perf_counter()
    source_seed, detector_seed, file_seed = file_seeds(task)
    source = EventSource(
        task.process, task.settings, source_seed, mpi=task.mpi, pileup_mean=task.pileup_mean
    )
    rng = np.random.default_rng(detector_seed)
    stats = {"selected": 0, "tracks": 0, "jets": 0, "btags": 0, "e": 0, "mu": 0}
    met_sum = 0.0
    pending: list[dict[str, ak.Array]] = []
    written = 0

    def flush(writer: DelphesWriter) -> None:
        nonlocal written
        if not pending:
            return
        chunk = {k: ak.concatenate([p[k] for p in pending]) for k in pending[0]}
        number = np.arange(written, written + len(chunk["Jet"]), dtype=np.int64)
        # Delphes stores Event as a one-element collection (Event_size = 1, Event.Number).
        chunk["Event"] = ak.unflatten(ak.zip({"Number": number}), np.ones_like(number))
        writer.extend(chunk)
        written += len(number)
        pending.clear()

    Path(task.path).parent.mkdir(parents=True, exist_ok=True)
    with DelphesWriter(task.path, uuid_seed=int(file_seed.generate_state(1)[0])) as writer:
        done = 0
        while done < task.events:
            events = source.next(min(task.batch_size, task.events - done))
            collections = simulate(events, rng, DETECTOR_PRESETS[task.detector])
            stats["selected"] += int(ak.sum(has_isolated_lepton(collections)))
            stats["tracks"] += int(ak.sum(ak.num(collections["EFlowTrack"])))
            stats["jets"] += int(ak.sum(ak.num(collections["Jet"])))
            stats["btags"] += int(ak.sum(collections["Jet"].BTag))
            met_sum += float(ak.sum(collections["MissingET"].MET))
            stats["e"] += int(ak.sum(ak.num(collections["Electron"])))
            stats["mu"] += int(ak.sum(ak.num(collections["MuonTight"])))
            pending.append(collections)
            done += len(events)
            if sum(len(p["Jet"]) for p in pending) >= WRITE_CHUNK_EVENTS:
                flush(writer)
        flush(writer)
    n = task.events
    return FileReport(
        process=task.process,
        label=LABELS[task.process],
        path=task.path,
        events=n,
        generated=source.generated,
        selected=stats["selected"],
        bytes=Path(task.path).stat().st_size,
        seconds=time.perf_counter() - start,
        mean_tracks=stats["tracks"] / n,
        mean_jets=stats["jets"] / n,
        mean_btags=stats["btags"] / n,
        mean_met=met_sum / n,
        electrons=stats["e"],
        muons=stats["mu"],
    )


def _run_partition(tasks):
    for task in tasks:
        yield asdict(generate_file(task))


def _remove_stale_temporaries(out: Path) -> None:
    """Leftovers of killed tasks: hidden temporary folders never look like outputs, but
    removing them keeps the folder clean."""
    for leftover in out.glob(f"{TEMPORARY_MARK}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def generate(config: Config, spark=None, progress: bool = True) -> list[FileReport]:
    """Run ``dltrigger generate`` with ``config``; return one report per file written."""
    from ..progress import run_spark_job_with_progress
    from ..spark.session import get_spark

    tasks = plan(config.generate)
    check_output_folder(config.generate, tasks)
    _remove_stale_temporaries(Path(config.generate.out))
    spark = spark or get_spark(config.spark)
    rdd = spark.sparkContext.parallelize(tasks, numSlices=len(tasks)).mapPartitions(_run_partition)
    description = f"generating {len(tasks)} file(s)"
    try:
        if progress:
            rows = run_spark_job_with_progress(spark, description, len(tasks), rdd.collect)
        else:
            rows = rdd.collect()
    except Exception as exc:
        raise GenerationError(f"event generation failed: {root_cause(exc)}") from exc
    _record_written(Path(config.generate.out), [t.path for t in tasks])
    return [FileReport(**row) for row in rows]


#: The files the last ``dltrigger generate`` wrote into its folder (JSON list of names).
WRITTEN_RECORD = "_generate.json"


def _record_written(out: Path, paths: list[str]) -> None:
    """Remember what this run wrote; files an earlier run wrote that this one did not (an
    ``--overwrite`` with fewer files) are removed, so no stale file joins the next ingest.
    Only files dltrigger recorded are ever removed."""
    import json

    from ..io.atomic import atomic_path

    record = out / WRITTEN_RECORD
    names = sorted(Path(p).name for p in paths)
    try:
        earlier = json.loads(record.read_text()) if record.exists() else []
    except ValueError:
        earlier = []
    for name in set(earlier) - set(names):
        if isinstance(name, str) and "/" not in name:
            (out / name).unlink(missing_ok=True)
    with atomic_path(record) as temporary:
        temporary.write_text(json.dumps(names, indent=1))
