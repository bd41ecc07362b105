"""The folders of tune, evaluate and score, and the state file of ``dltrigger run``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import DatasetError
from ._files import read_json, strict_json, write_text

log = logging.getLogger("dltrigger")


def read_pipeline_state(path: Path) -> dict[str, dict]:
    """What ``dltrigger run`` recorded of each stage in its state file (``run.state``): its
    settings digest, content digests, time and throughput; {} when there is none (a damaged
    record only costs a re-run)."""
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_pipeline_state(path: Path, state: dict[str, dict]) -> None:
    """Replace the state file atomically (it is rewritten after every stage)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text(Path(path), json.dumps(state, indent=2))


@dataclass(frozen=True)
class TuneResults:
    """The folder of ``dltrigger tune``."""

    path: Path

    RESULTS = "results.csv"
    BEST = "best.json"
    SUMMARY = "summary.json"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def best(self) -> dict[str, Any]:
        """``{"model", "metric", "value", "point"}`` of the winning grid point."""
        if not (self.path / self.BEST).exists():
            raise DatasetError(
                f"{self.path / self.BEST} not found (is {self.path} a `dltrigger tune` output?)"
            )
        best: dict[str, Any] = read_json(self.path / self.BEST)
        return best

    def tuned(self, settings: TrainConfig) -> TrainConfig:
        """``settings`` for the tuned model at the winning point."""
        from ..config import apply_point

        best = self.best()
        return apply_point(settings.model_copy(update={"model": best["model"]}), best["point"])

    def write(self, results_csv: str, best: dict[str, Any], summary: dict[str, Any]) -> None:
        """The three files, ``summary.json`` last (into a folder being written atomically)."""
        (self.path / self.RESULTS).write_text(results_csv)
        (self.path / self.BEST).write_text(json.dumps(best, indent=2))
        (self.path / self.SUMMARY).write_text(json.dumps(summary, indent=2))


@dataclass(frozen=True)
class EvaluationReport:
    """The folder of ``dltrigger evaluate``."""

    path: Path

    EVALUATION = "evaluation.json"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def evaluation_file(self) -> Path:
        return self.path / self.EVALUATION

    def evaluation(self) -> dict[str, Any]:
        """The metrics, rates and plots of every model, as written."""
        data: dict[str, Any] = read_json(self.evaluation_file)
        return data

    def write_evaluation(self, results: dict[str, Any]) -> None:
        """``evaluation.json`` (strict JSON: no NaN; into a folder written atomically)."""
        self.evaluation_file.write_text(json.dumps(results, indent=2, allow_nan=False))


@dataclass(frozen=True)
class L1Output:
    """The folder of ``dltrigger l1``."""

    path: Path

    SUMMARY = "l1.json"
    SCORES = "scores.parquet"
    QAT_WEIGHTS = "qat.pt"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def summary_file(self) -> Path:
        return self.path / self.SUMMARY

    def summary(self) -> dict[str, Any]:
        """Metrics, agreement and estimates of every version, as written."""
        data: dict[str, Any] = read_json(self.summary_file)
        return data

    def write_summary(self, summary: dict[str, Any]) -> None:
        """``l1.json`` (strict JSON; written last, into a folder written atomically)."""
        self.summary_file.write_text(json.dumps(strict_json(summary), indent=2, allow_nan=False))

    def write_scores(self, labels: Any, logits: dict[str, Any]) -> None:
        """``scores.parquet``: the label and each version's logits of every test event."""
        import pyarrow as pa

        from ..io.parquet import write_table

        columns = {"label": labels, **{name: list(values) for name, values in logits.items()}}
        write_table(pa.table(columns), self.path / self.SCORES)


@dataclass(frozen=True)
class ScoreOutput:
    """The folder of ``dltrigger score``."""

    path: Path

    SCORES = "scores"
    ACCEPTED = "accepted"
    QUARANTINE = "quarantine.json"
    SUMMARY = "summary.json"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def part(self, table: str, index: int) -> Path:
        """The Parquet part of task ``index`` in ``scores/`` or ``accepted/``."""
        return self.path / table / f"part-{index:05d}.parquet"

    def write_summary(self, summary: dict[str, Any]) -> None:
        """``quarantine.json`` and ``summary.json`` (last: the output is complete)."""
        (self.path / self.QUARANTINE).write_text(json.dumps(summary["quarantined"], indent=2))
        (self.path / self.SUMMARY).write_text(json.dumps(summary, indent=2))
