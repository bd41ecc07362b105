"""Tree baselines on the 14 high-level features: Spark ML random forest and boosted trees,
XGBoost on Spark, single-node LightGBM (``dltrigger baselines``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..results import BaselinesResult
from ..stage import JobFunction, Stage, lazy_attributes, section_settings

if TYPE_CHECKING:
    from ..config import Config
    from .job import run

__all__ = ["STAGE", "BaselinesResult", "run", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job"})


class _Baselines:
    """The baselines stage ([`dltrigger.stage.Stage`][])."""

    name = "baselines"
    kind: str | None = "baselines"
    section = "baselines"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        assert config.baselines.data is not None  # resolved
        return [Path(config.baselines.data)]  # every file of the dataset

    def outputs(self, config: Config) -> list[Path]:
        out = Path(config.baselines.out)
        return [out / name / "metrics.json" for name in config.baselines.models]

    def settings(self, config: Config) -> Any:
        return section_settings(config.baselines)

    def load(self, config: Config) -> BaselinesResult:
        import json

        out = Path(config.baselines.out)
        metrics: dict[str, dict[str, Any]] = {
            str(name): json.loads((out / name / "metrics.json").read_text())
            for name in config.baselines.models
        }
        return BaselinesResult(out=out, seconds=0.0, metrics=metrics)

    def facts(self, result: BaselinesResult) -> dict[str, Any]:
        return {"items": len(result.metrics), "unit": "models fitted"}


STAGE: Stage = _Baselines()


def stages(config: Config) -> list[Stage]:
    """``dltrigger run`` fits the baselines when ``run.baselines`` is on."""
    return [STAGE] if config.run.baselines else []
