"""Stage 6: the trained classifier as a trigger filter, on files arriving in a folder
(``dltrigger stream``, Structured Streaming) or on a fixed set of files (``dltrigger score``,
Spark tasks or a local process pool)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import ScoreOutput
from ..results import ScoreResult, StreamResult
from ..stage import JobFunction, lazy_attributes, section_settings

if TYPE_CHECKING:
    from ..config import Config
    from ..stage import Stage
    from .batch import score
    from .job import run

__all__ = ["SCORE_STAGE", "ScoreResult", "StreamResult", "run", "score", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job", "score": ".batch"})


class _Score:
    """``dltrigger score`` as a stage ([`dltrigger.stage.Stage`][]): not in ``dltrigger run``,
    but re-runnable with ``if_exists = "skip"`` like the others."""

    name = "score"
    kind: str | None = "scores"
    section = "score"
    run = JobFunction(__package__, ".batch", "score")

    def inputs(self, config: Config) -> list[Path]:
        local = [Path(p) for p in config.score.inputs if "://" not in str(p)]
        model = [Path(config.stream.model)] if config.stream.model is not None else []
        return [*local, *model]

    def outputs(self, config: Config) -> list[Path]:
        return [Path(config.score.out) / ScoreOutput.SUMMARY]

    def settings(self, config: Config) -> Any:
        return {"score": section_settings(config.score), "stream": section_settings(config.stream)}

    def load(self, config: Config) -> ScoreResult:
        import json

        out = Path(config.score.out)
        summary = json.loads((out / ScoreOutput.SUMMARY).read_text())
        return ScoreResult(out=out, seconds=0.0, summary=summary)

    def facts(self, result: ScoreResult) -> dict[str, Any]:
        return {"items": result.summary["events"], "unit": "events scored"}


SCORE_STAGE: Stage = _Score()


def stages(config: Config) -> list[Stage]:
    """None: a stream runs until stopped, so ``dltrigger run`` never starts one."""
    return []
