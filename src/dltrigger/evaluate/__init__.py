"""Stage 5: metrics, working points, plots and the report of trained models on the test split
(``dltrigger evaluate``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import EvaluationReport, FeaturesDataset, RunFolder
from ..results import EvaluateResult
from ..stage import JobFunction, Stage, lazy_attributes, section_settings

if TYPE_CHECKING:
    from ..config import Config
    from .job import run

__all__ = ["STAGE", "EvaluateResult", "run", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job"})


class _Evaluate:
    """The evaluate stage ([`dltrigger.stage.Stage`][])."""

    name = "evaluate"
    kind: str | None = "report"
    section = "evaluate"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        runs = [RunFolder(r) for r in config.evaluate.runs or []]
        made = [run / name for run in runs for name in (RunFolder.SUMMARY, RunFolder.BEST)]
        # the baselines this run fits join the report: their change is the report's too
        fitted = config.evaluate.baselines if config.run.baselines else None
        baselines = [Path(fitted)] if fitted is not None else []
        # so does the L1 model this run makes (its l1.json: written last)
        if config.run.l1 and config.evaluate.l1 is not None:
            baselines.append(Path(config.evaluate.l1) / "l1.json")
        # dev/ is the features stage's last dataset: its manifest changes with any of them
        return [FeaturesDataset(Path(config.features.out) / "dev").manifest_file, *made,
                *baselines]  # fmt: skip

    def outputs(self, config: Config) -> list[Path]:
        return [EvaluationReport(Path(config.evaluate.out)).evaluation_file]

    def settings(self, config: Config) -> Any:
        return {
            "evaluate": section_settings(config.evaluate),
            "runs": [str(r) for r in config.evaluate.runs or []],
            "data": str(config.evaluate.data),
        }

    def load(self, config: Config) -> EvaluateResult:
        out = Path(config.evaluate.out)
        return EvaluateResult(out=out, seconds=0.0, evaluation=EvaluationReport(out).evaluation())

    def facts(self, result: EvaluateResult) -> dict[str, Any]:
        models = result.evaluation["models"].values()
        return {"items": sum(m["test_events"] for m in models), "unit": "test events scored"}


STAGE: Stage = _Evaluate()


def stages(config: Config) -> list[Stage]:
    return [STAGE]
