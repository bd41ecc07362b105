"""Event generation: Pythia 8 processes, a fast Delphes-like detector simulation, and
Delphes-format ROOT files, one task per file (``dltrigger generate``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..results import GenerateResult
from ..stage import JobFunction, Stage, lazy_attributes, section_settings
from .plan import FileReport, plan, written_record

if TYPE_CHECKING:
    from ..config import Config
    from .job import run

__all__ = ["STAGE", "GenerateResult", "run", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job"})


class _Generate:
    """The generate stage ([`dltrigger.stage.Stage`][])."""

    name = "generate"
    kind: str | None = None  # its files carry their own record (_generate.json)
    section = "generate"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        return []

    def outputs(self, config: Config) -> list[Path]:
        return [Path(task.path) for task in plan(config.generate)]

    def settings(self, config: Config) -> Any:
        return section_settings(config.generate)

    def load(self, config: Config) -> GenerateResult:
        out = Path(config.generate.out)
        record = written_record(out)
        files = tuple(
            FileReport(**record[Path(task.path).name]["report"]) for task in plan(config.generate)
        )
        return GenerateResult(out=out, seconds=0.0, files=files)

    def facts(self, result: GenerateResult) -> dict[str, Any]:
        return {"items": sum(r.events for r in result.files), "unit": "events written"}


STAGE: Stage = _Generate()


def stages(config: Config) -> list[Stage]:
    """``dltrigger run`` generates unless ``run.generate`` is off."""
    return [STAGE] if config.run.generate else []
