"""``dltrigger generate``: plan the output files, make each one in its own Spark task.

One Spark task per output file, so generation spreads over ``local[*]`` cores or a cluster's
executors alike. Each file's seeds derive from (seed, process, file index) only, so a file's
content does not depend on how many tasks run or in which order. On a cluster, ``out`` must be
a folder every executor can write to (a shared file system).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zlib
from dataclasses import asdict
from pathlib import Path

import awkward as ak
import numpy as np

from ..artifacts import GENERATE_RECORD
from ..config import LABELS, Config, GenerateConfig
from ..errors import GenerationError, OutputExistsError, option
from ..executors import choose
from ..freshness import skippable
from ..io.atomic import TEMPORARY_MARK
from ..io.delphes_writer import DelphesWriter
from ..physics.selection import has_isolated_lepton
from ..results import GenerateResult
from ..spark.failures import root_cause
from .plan import FileReport, FileTask, plan, written_record

log = logging.getLogger("dltrigger")

#: Events accumulated before they are written as one ROOT basket per branch.
WRITE_CHUNK_EVENTS = 2000


def check_output_folder(config: GenerateConfig, tasks: list[FileTask]) -> None:
    """Refuse an unwritable folder, or existing files unless ``overwrite`` is set and every
    one of them is a file ``dltrigger generate`` wrote there (named in its record)."""
    out = Path(config.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerationError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not out.is_dir():
        raise GenerationError(f"output path {out} exists and is not a folder")
    if not os.access(out, os.W_OK | os.X_OK):
        raise GenerationError(f"output folder {out} is not writable")
    existing = [Path(t.path) for t in tasks if Path(t.path).exists() or Path(t.path).is_symlink()]
    if not existing:
        return
    shown = _names(existing)
    if not config.overwrite:
        raise OutputExistsError(
            f"{len(existing)} output file(s) already exist in {out}: {shown} "
            f"(use {option('--overwrite', 'overwrite=True')} to replace them)"
        )
    recorded = written_record(out)
    foreign = [p for p in existing if p.name not in recorded or p.is_symlink()]
    if foreign:
        raise OutputExistsError(
            f"{_names(foreign)} in {out}: not written by `dltrigger generate` (not in its "
            f"{WRITTEN_RECORD}): --overwrite replaces only files it wrote; move them away or "
            "choose another output folder"
        )


def _names(paths: list[Path], limit: int = 3) -> str:
    shown = ", ".join(p.name for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def process_key(process: str) -> int:
    """A number of the process's name, the same on every machine and Python (no hash salt)."""
    return zlib.crc32(process.encode())


def file_seeds(task: FileTask) -> tuple[np.random.SeedSequence, ...]:
    root = np.random.SeedSequence([task.seed, process_key(task.process), task.index])
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
            stats["btags"] += int(ak.sum(collections["Jet"].BTag > 0))
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
        label=LABELS[task.settings.label],
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


def _generate_file_row(task: FileTask) -> dict:
    return asdict(generate_file(task))


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> GenerateResult:
    """Generate the ``[generate]`` processes into ``generate.out``; the result has one report
    per file written.

    Only the files this run writes are replaced (``--overwrite``); every other file of the
    folder, earlier runs' included, is left as it is. The folder has one writer at a time.
    ``spark``: a session to run the files' tasks in (else [`dltrigger.executors`][] chooses);
    ``progress``: a progress bar on the terminal.

    Example: what a run of 200 W+jets events would write, and where ``ingest`` then reads it
    (the call itself runs Pythia and the detector simulation, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> config = dlt.with_overrides(dlt.Config(), "generate", process=["wjets"], events=200)
    >>> settings = config.resolved().generate
    >>> settings.process, settings.events, settings.events_per_file, settings.out
    (['wjets'], 200, 1000, PosixPath('data/raw'))
    >>> config.resolved().ingest.samples["wjets"].paths
    ['data/raw/wjets_[0-9]*.root']
    >>> result = dlt.generate.run(config)  # doctest: +SKIP

    ```
    """
    from ..io.ownership import writing

    config = config.resolved()
    start = time.perf_counter()
    out = Path(config.generate.out)
    tasks = plan(config.generate)
    check_output_folder(config.generate, tasks)
    with writing(out):
        check_output_folder(config.generate, tasks)  # as it is now, under the lock
        _remove_stale_temporaries(out)
        rows = _generate_files(config, tasks, spark, progress)
        _record_written(out, config.generate, rows)
    _warn_of_earlier_files(out, config.generate)
    files = tuple(FileReport(**row) for row in rows)
    return GenerateResult(out=out, seconds=time.perf_counter() - start, files=files)


def _generate_files(config: Config, tasks: list[FileTask], spark, progress: bool) -> list[dict]:
    # no input: a local master generates in a local process pool, without a JVM
    executor = choose(config.spark, input_bytes=0, spark=spark)
    try:
        return executor.map(
            _generate_file_row, tasks, description=f"generating {len(tasks)} file(s)",
            progress=progress,
        )  # fmt: skip
    except Exception as exc:
        raise GenerationError(f"event generation failed: {root_cause(exc)}") from exc


def _remove_stale_temporaries(out: Path) -> None:
    """Leftovers of killed tasks (the folder's writer lock is held: no live task's): hidden
    temporary folders never look like outputs, but removing them keeps the folder clean."""
    from ..io.ownership import remove_leftover

    for leftover in out.glob(f"{TEMPORARY_MARK}*"):
        remove_leftover(leftover)


WRITTEN_RECORD = GENERATE_RECORD


def _settings_digest(config: GenerateConfig, process: str) -> str:
    """A digest of everything that makes a file of ``process`` what it is."""
    every = {"out", "overwrite", "process", "processes", "events"}
    settings = config.model_dump(mode="json", exclude=every)
    settings["process"] = config.settings(process).model_dump(
        mode="json", exclude={"events", "description"}
    )
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _record_written(out: Path, config: GenerateConfig, rows: list[dict]) -> None:
    """Add this run's files (their reports: ``rows``) to the folder's record (the earlier
    runs' entries of files still there are kept). Nothing is ever removed."""
    from ..io.atomic import atomic_path

    record = {name: entry for name, entry in written_record(out).items() if (out / name).exists()}
    for row in rows:
        path = row["path"]
        process = Path(path).name.rsplit("_", 1)[0]
        record[Path(path).name] = {
            "process": process,
            "seed": config.seed,
            "settings": _settings_digest(config, process),
            "detector": config.detector,
            "report": row,  # what `if_exists = "skip"` gives back
        }
    with atomic_path(out / WRITTEN_RECORD) as temporary:
        temporary.write_text(json.dumps(dict(sorted(record.items())), indent=1))


def _warn_of_earlier_files(out: Path, config: GenerateConfig) -> None:
    """Say which files of this run's processes an earlier run wrote with other settings (or
    beyond this run's last index): they stay, and a folder-wide ingest reads them too."""
    planned = {Path(t.path).name for t in plan(config)}
    for process in config.process:
        current = _settings_digest(config, process)
        others = sorted(
            name
            for name, entry in written_record(out).items()
            if entry.get("process") == process
            and name not in planned
            and entry.get("settings") != current
        )
        if others:
            log.warning(
                "%s: %s made by an earlier `dltrigger generate` with other settings than this "
                "run's %s files %s kept; an ingest of the whole folder reads them too (remove "
                "them, or ingest this run's files by name)",
                out, _names([Path(n) for n in others]), process,
                "is" if len(others) == 1 else "are",
            )  # fmt: skip
