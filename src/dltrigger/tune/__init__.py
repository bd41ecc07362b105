"""Stage 3: hyper-parameter grid search, one training per Spark task (``dltrigger tune``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import FeaturesDataset, TuneResults
from ..results import TuneResult
from ..stage import JobFunction, Stage, lazy_attributes, section_settings

if TYPE_CHECKING:
    from ..config import Config
    from .job import run

__all__ = ["STAGE", "TuneResult", "run", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job"})


class _Tune:
    """The tune stage ([`dltrigger.stage.Stage`][])."""

    name = "tune"
    kind: str | None = "tune"
    section = "tune"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        assert config.tune.data is not None  # resolved
        return [FeaturesDataset(Path(config.tune.data)).manifest_file]

    def outputs(self, config: Config) -> list[Path]:
        return [TuneResults(Path(config.tune.out)) / TuneResults.SUMMARY]

    def settings(self, config: Config) -> Any:
        return {"tune": section_settings(config.tune), "train": section_settings(config.train)}

    def load(self, config: Config) -> TuneResult:
        import json

        out = Path(config.tune.out)
        summary = json.loads((TuneResults(out) / TuneResults.SUMMARY).read_text())
        return TuneResult(out=out, seconds=0.0, summary=summary)

    def facts(self, result: TuneResult) -> dict[str, Any]:
        return {"items": result.summary["tasks"], "unit": "models trained"}


STAGE: Stage = _Tune()


def stages(config: Config) -> list[Stage]:
    """``dltrigger run`` searches the grid when ``run.tune`` is on."""
    return [STAGE] if config.run.tune else []
