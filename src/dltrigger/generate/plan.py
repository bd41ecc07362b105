"""What a ``dltrigger generate`` run writes, before it runs: one task per output file, in a
fixed order, and what each task reports (light: no Pythia, awkward or uproot)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import GENERATE_RECORD
from ..config import GenerateConfig, ProcessSettings


@dataclass(frozen=True)
class FileTask:
    """Everything one Spark task needs to make one output file."""

    process: str
    index: int
    events: int
    seed: int
    path: str
    settings: ProcessSettings
    batch_size: int
    mpi: bool
    pileup_mean: float
    detector: str = "phase2"


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
    """The output files of a run, in a fixed order (process, then index), as absolute paths:
    the tasks' Python workers need not share the driver's working directory."""
    out = Path(config.out).absolute()
    tasks = []
    for process in config.process:
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


def written_record(out: Path) -> dict[str, dict]:
    """The record of the files generate wrote in ``out`` ({} when there is none); a record
    of dltrigger before 0.2 (a list of names) has no settings."""
    try:
        data = json.loads((out / GENERATE_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    if isinstance(data, list):
        return {name: {} for name in data if isinstance(name, str)}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
