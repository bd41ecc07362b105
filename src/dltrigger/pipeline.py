"""``dltrigger run``: the whole pipeline from one config, resuming where it stopped.

The stages of [`dltrigger.stage.REGISTRY`][], in its order, as ``config`` asks for them:
generate -> ingest -> features -> [tune] -> train (each of ``run.models``) -> [baselines] ->
[l1] -> evaluate, in one progress display; a Spark session is started only by a stage that runs in
Spark ([`dltrigger.executors`][]), and then shared. A stage is *up to date*, and skipped, when

- its outputs are complete: each stage's completion markers exist (the files a stage writes
  last, atomically: the ROOT files of generate, ``_ingest_report.json``, ``_manifest.json``,
  a run folder's ``summary.json``, ``evaluation.json``);
- it last ran with the same settings: the digest of the config it depends on, recorded in
  ``run.state`` when it finished, is unchanged;
- its inputs are those it last ran on, and its outputs those it made: content digests
  (SHA-256 of every byte, ``dltrigger.io.digests``) of what the stage read and wrote are
  unchanged. A copy of the same data with new times is no change; a change of content with
  the same size and time is one; a run folder re-trained by hand (other settings, same
  name) is no longer the stage's output, so the stage runs again. Digests are cached per
  file beside the state record (``.<state>.digests``) while the file's inode, size and times
  are unchanged, so an up-to-date check reads nothing twice.

One ``dltrigger run`` of a state record at a time: a second one fails at once, naming the
first (``dltrigger.io.ownership.writing``).

A stage that fails stops the run with an error naming the stage and its cause; earlier stages'
outputs and records are kept, so the next ``dltrigger run`` resumes at the failed stage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .artifacts import read_pipeline_state, write_pipeline_state
from .config import Config
from .errors import DLTriggerError, PipelineError
from .freshness import (
    IN_PIPELINE,
    STATE_VERSION,
    digest,
    digests_file,
    inputs_digest,
    why_stale,
)
from .io.ownership import writing
from .results import PipelineResult, StageResult
from .stage import Stage, pipeline_stages

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class StageOutcome:
    name: str
    ran: bool
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    reason: str | None = ""  # why it ran; None when it was skipped as up to date


def run_pipeline(
    config: Config,
    *,
    spark: SparkSession | None = None,
    progress: bool = False,
    on_stage: Callable[[str, StageResult], None] | None = None,
) -> PipelineResult:
    """Run every stage of ``config`` that is not up to date; return what each stage did and
    the evaluation.

    ``spark``: the session of the stages that use Spark (each starts or reuses one when None,
    only if it needs one); ``progress``: the stages' progress display; ``on_stage``: called
    with each stage's name and result when it finishes (the command line prints its table).
    """
    from .progress import pipeline_display

    started = time.perf_counter()
    config = config.resolved()
    stages = pipeline_stages(config)
    outcomes: list[StageOutcome] = []
    # one `dltrigger run` of a pipeline at a time (each stage also locks its own outputs)
    with (
        writing(Path(config.run.state)),
        pipeline_display([s.name for s in stages], enabled=progress) as display,
    ):
        state = read_pipeline_state(config.run.state)
        cache = read_pipeline_state(digests_file(config.run.state))
        for stage in stages:
            record = state.get(stage.name)
            reason = "forced" if config.run.force else why_stale(stage, config, record, cache)
            if reason is None:
                assert record is not None  # up to date: it ran before
                outcomes.append(StageOutcome(stage.name, False, 0.0, record, reason))
                display.stage_done(stage.name, "up to date")
                continue
            display.stage_start(stage.name, reason)
            inputs = inputs_digest(stage.inputs(config), cache)  # what it reads, before it runs
            result, facts = _run_stage(stage, config, spark, progress, [o.name for o in outcomes])
            if on_stage is not None:
                on_stage(stage.name, result)
            state[stage.name] = {
                "version": STATE_VERSION,
                "digest": digest(stage.settings(config)),  # after the run: a tuned point exists
                "settings": stage.settings(config),  # what a refusal lists the changes of
                "inputs": inputs,
                "outputs": inputs_digest(stage.outputs(config), cache),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                **facts,
            }
            write_pipeline_state(config.run.state, state)
            write_pipeline_state(digests_file(config.run.state), cache)
            outcomes.append(StageOutcome(stage.name, True, facts["seconds"], facts, reason))
            display.stage_done(stage.name, f"{facts['seconds']:.1f} s")
        write_pipeline_state(digests_file(config.run.state), cache)
    report = Path(config.evaluate.out)
    return PipelineResult(
        out=report,
        seconds=time.perf_counter() - started,
        stages=tuple(outcomes),
        evaluation=json.loads((report / "evaluation.json").read_text()),
    )


def _overwriting(config: Config, section: str) -> Config:
    """``config`` with the stage's section allowed to replace its outputs: `dltrigger run`
    made them (the state record says so, and ownership markers check it)."""
    settings = getattr(config, section)
    replace = {"overwrite": True, "if_exists": "overwrite"}
    return config.model_copy(update={section: settings.model_copy(update=replace)})


def _run_stage(
    stage: Stage, config: Config, spark: SparkSession | None, progress: bool, done: list[str]
) -> tuple[StageResult, dict[str, Any]]:
    """Run one stage; its failure becomes a PipelineError naming the stage and the cause."""
    start = time.perf_counter()
    inside = IN_PIPELINE.set(True)  # the stage leaves its record to this run
    try:
        result = stage.run(_overwriting(config, stage.section), spark=spark, progress=progress)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        cause = str(exc) if isinstance(exc, DLTriggerError) else f"{type(exc).__name__}: {exc}"
        kept = f"outputs of {', '.join(done)} are kept; " if done else ""
        raise PipelineError(
            f"stage {stage.name!r} failed: {cause} ({kept}`dltrigger run` again resumes here)"
        ) from exc
    finally:
        IN_PIPELINE.reset(inside)
    seconds = time.perf_counter() - start
    facts = {**stage.facts(result), "seconds": seconds}
    if facts.get("items"):
        facts["per_s"] = facts["items"] / seconds
    return result, facts
