"""What each stage's ``run`` returns: a frozen record of what it did, for a notebook or a script.

Every result has the folder it wrote (``out``), the wall time (``seconds``) and the stage's own
facts (counts, manifests, metrics), and turns into JSON with [`StageResult.to_json`][]. The
command line prints them; the library never does.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifacts import IngestReport
    from .generate.plan import FileReport
    from .pipeline import StageOutcome


def _plain(value: Any) -> Any:
    """``value`` with dataclasses, paths and tuples made JSON-able."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass(frozen=True)
class StageResult:
    """The common part of every stage's result."""

    #: The folder the stage wrote (a run folder for ``train``).
    out: Path
    #: Wall-clock seconds of the stage, Spark jobs included.
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-able values."""
        return {"stage": type(self).__name__.removesuffix("Result").lower(), **_plain(self)}

    def to_json(self) -> str:
        """The result as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)


@dataclass(frozen=True)
class GenerateResult(StageResult):
    """``dltrigger.generate.run``: one report per ROOT file written."""

    files: tuple[FileReport, ...] = ()

    @property
    def events(self) -> dict[str, int]:
        """Events written per process."""
        counts: dict[str, int] = {}
        for report in self.files:
            counts[report.process] = counts.get(report.process, 0) + report.events
        return counts

    @property
    def paths(self) -> list[Path]:
        """The ROOT files written."""
        return [Path(report.path) for report in self.files]


@dataclass(frozen=True)
class IngestResult(StageResult):
    """``dltrigger.ingest.run``: the ingest report (also written as ``_ingest_report.json``)."""

    report: IngestReport | None = None

    @property
    def events(self) -> int:
        """Events read from the ROOT files."""
        return self.report.events if self.report is not None else 0


@dataclass(frozen=True)
class FeaturesResult(StageResult):
    """``dltrigger.features.run``: the manifest of each dataset written (``full``,
    ``balanced``, ``dev``)."""

    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def datasets(self) -> dict[str, Path]:
        """Each dataset's folder, by name."""
        return {name: Path(self.out) / name for name in self.manifests}

    @property
    def selection_efficiency(self) -> dict[str, float]:
        """Share of each sample's events that pass the selection."""
        full = self.manifests.get("full", {})
        return {s: e["efficiency"] for s, e in full.get("selection_efficiency", {}).items()}


@dataclass(frozen=True)
class TuneResult(StageResult):
    """``dltrigger.tune.run``: the grid search's summary, best point first."""

    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> dict[str, Any]:
        """The best grid point and its metrics."""
        best: dict[str, Any] = self.summary["best"]
        return best


@dataclass(frozen=True)
class TrainResult(StageResult):
    """``dltrigger.train.run``: every epoch's metrics; ``out`` is the run folder."""

    history: tuple[dict[str, Any], ...] = ()

    @property
    def best(self) -> dict[str, Any]:
        """The metrics of the epoch with the lowest validation loss (the saved model's)."""
        return min(self.history, key=lambda epoch: epoch["val_loss"])

    @property
    def aucs(self) -> dict[str, float]:
        """The best epoch's one-vs-rest validation AUC per class."""
        return {k.removeprefix("val_auc_"): v for k, v in self.best.items() if "val_auc_" in k}


@dataclass(frozen=True)
class BaselinesResult(StageResult):
    """``dltrigger.baselines.run``: each tree model's test metrics (per-class AUC, accuracy)."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class L1Result(StageResult):
    """``dltrigger.l1.run``: the content of ``l1.json`` (``summary["agreement"]["agreement"]``:
    the share of test events the emulated firmware decides as the quantised model)."""

    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        """The emulation's share of identical decisions with the quantised model."""
        return float(self.summary["agreement"]["agreement"])


@dataclass(frozen=True)
class EvaluateResult(StageResult):
    """``dltrigger.evaluate.run``: the content of ``evaluation.json`` (reports beside it)."""

    evaluation: dict[str, Any] = field(default_factory=dict)

    @property
    def aucs(self) -> dict[str, dict[str, float]]:
        """Per model, the one-vs-rest test AUC of each class."""
        return {
            name: {
                c: item["auc"]
                for c, item in model["classes"].items()
                if item.get("auc") is not None
            }
            for name, model in self.evaluation.get("models", {}).items()
        }

    @property
    def report(self) -> Path:
        """The HTML report."""
        return Path(self.out) / "report.html"


@dataclass(frozen=True)
class StreamResult(StageResult):
    """``dltrigger.stream.run``: micro-batches, files, events, accepted, latency."""

    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreResult(StageResult):
    """``dltrigger.stream.score``: files, events, selected, accepted, quarantined."""

    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineResult(StageResult):
    """``dltrigger.run_pipeline``: what each stage did (ran or up to date, why, time) and the
    evaluation; ``out`` is the report folder."""

    stages: tuple[StageOutcome, ...] = ()
    evaluation: dict[str, Any] = field(default_factory=dict)
