"""``dltrigger run``: the whole pipeline from one config, resuming where it stopped.

generate -> ingest -> features -> [tune] -> train (each of ``run.models``) -> evaluate, in one
Spark session and one progress display. A stage is *up to date*, and skipped, when

- its outputs are complete: each stage's completion markers exist (the files a stage writes
  last, atomically: the ROOT files of generate, ``_ingest_report.json``, ``_manifest.json``,
  a run folder's ``summary.json``, ``evaluation.json``);
- it last ran with the same settings: the digest of the config it depends on, recorded in
  ``run.state`` when it finished, is unchanged;
- its inputs are those it last ran on, and its outputs those it made: content digests
  (SHA-256 of every byte, :mod:`dltrigger.io.digests`) of what the stage read and wrote are
  unchanged. A copy of the same data with new times is no change; a change of content with
  the same size and time is one; a run folder re-trained by hand (other settings, same
  name) is no longer the stage's output, so the stage runs again. Digests are cached per
  file beside the state record (``.<state>.digests``) while the file's inode, size and times
  are unchanged, so an up-to-date check reads nothing twice.

One ``dltrigger run`` of a state record at a time: a second one fails at once, naming the
first (:func:`dltrigger.io.ownership.writing`).

A stage that fails stops the run with an error naming the stage and its cause; earlier stages'
outputs and records are kept, so the next ``dltrigger run`` resumes at the failed stage.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .artifacts import FeaturesDataset, RunFolder
from .config import Config, ModelName, TrainConfig
from .errors import DLTriggerError, PipelineError
from .io.atomic import TEMPORARY_MARK
from .io.ownership import writing
from .results import PipelineResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The state record's format: 2 digests the content of inputs and outputs (1: names, sizes
#: and times of the inputs).
STATE_VERSION = 2

STAGE_ORDER = ("generate", "ingest", "features", "tune", "train", "evaluate")


@dataclass
class Stage:
    """One step of the run: what it depends on, what proves it finished, how to run it."""

    name: str
    settings: Callable[[], Any]  # the JSON-able config the outputs depend on (digested)
    markers: Callable[[], list[Path]]  # exist only once the outputs are complete
    inputs: Callable[[], list[Path]]  # files whose change makes the outputs stale
    action: Callable[[], dict[str, Any]]  # runs the stage; returns facts for the summary
    # what the stage made, digested when it finishes (None: its markers): changed by hand
    # since (a run re-trained with other settings), the stage runs again
    outputs: Callable[[], list[Path]] | None = None

    def made(self) -> list[Path]:
        return self.outputs() if self.outputs is not None else self.markers()


@dataclass
class StageOutcome:
    name: str
    ran: bool
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    reason: str | None = ""  # why it ran; None when it was skipped as up to date


def digest(settings: Any) -> str:
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_state(path: Path) -> dict[str, dict]:
    path = Path(path)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}  # a damaged record only costs a re-run


def save_state(path: Path, state: dict[str, dict]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{TEMPORARY_MARK}{path.name}")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(path)


def digests_file(state: Path) -> Path:
    """The cache of file digests beside the state record (hidden; only a speed-up)."""
    return Path(state).with_name(f".{Path(state).name}.digests")


def inputs_digest(paths: list[Path], cache: dict[str, dict] | None = None) -> str:
    """A digest of the content of the files ``paths`` name (folders: every file under them,
    hidden ones left out): a change of any byte is seen, whatever the files' sizes and
    times, and a copy with new times of the same content is not a change. ``cache`` keeps
    each file's digest while its signature (inode, size, times) holds
    (:mod:`dltrigger.io.digests`)."""
    from .io.digests import content_digest

    return content_digest(paths, cache)


def why_stale(
    stage: Stage, record: dict | None, cache: dict[str, dict] | None = None
) -> str | None:
    """Why ``stage`` must run, or None when it is up to date."""
    if record is None:
        return "never ran"
    markers = stage.markers()
    missing = [m for m in markers if not m.exists()]
    if missing or not markers:
        return f"output incomplete ({missing[0] if missing else 'no outputs'})"
    if record.get("digest") != digest(stage.settings()):
        return "settings changed"
    if record.get("version") != STATE_VERSION:  # digests of names and times, or none
        return "recorded by an earlier dltrigger"
    if record.get("outputs") != inputs_digest(stage.made(), cache):
        return "outputs changed since `dltrigger run` made them"
    if record.get("inputs") != inputs_digest(stage.inputs(), cache):
        return "inputs changed"
    return None


def features_note(manifest: dict) -> str:
    """What a user should know of a features run: the collections read, classes dropped."""
    from .features.collections import ResolvedCollections

    note = ResolvedCollections(**manifest["collections"]).describe()
    for dropped in manifest.get("dropped_classes", []):
        note += (
            f"; class {dropped['class']} dropped: none of its {dropped['events']:,} events "
            "passes the selection (the models will have no AUC for it)"
        )
    return note


def _train_config(config: Config, model: ModelName) -> TrainConfig:
    settings = config.train.model_copy(update={"model": model, "overwrite": True})
    if config.train.out is not None:  # unset, the run folder is runs/<model> anyway
        settings = settings.model_copy(update={"out": config.run_folder(model)})
    if config.run.tune and model == config.tune.model:
        best = Path(config.tune.out) / "best.json"
        if best.exists():
            from .tune.grid import apply

            settings = apply(settings, json.loads(best.read_text())["point"])
    return settings


def build_stages(config: Config, spark, progress: bool) -> list[Stage]:
    """The stages ``config`` asks for, in order."""
    from .evaluate.job import evaluate
    from .features.job import features
    from .generate.job import generate, plan
    from .generate.summary import print_summary as print_generated
    from .ingest.job import REPORT_NAME, ingest
    from .ingest.samples import resolve_samples
    from .ingest.summary import print_report as print_ingested
    from .progress import console
    from .train.trainer import train
    from .tune.job import tune

    def dump(section) -> dict:
        return section.model_dump(mode="json", exclude={"overwrite"})

    def overwriting(name: str) -> Config:
        return config.model_copy(
            update={name: getattr(config, name).model_copy(update={"overwrite": True})}
        )

    ingested = Path(config.ingest.out) / REPORT_NAME
    assert config.features.input is not None  # resolved
    features_input = Path(config.features.input) / REPORT_NAME
    # dev/ is the features stage's last dataset (full/ and balanced/ come before it)
    featured = FeaturesDataset(Path(config.features.out) / "dev").manifest_file
    stages: list[Stage] = []

    if config.run.generate:

        def run_generate() -> dict:
            reports = generate(overwriting("generate"), spark=spark, progress=progress)
            if progress:
                print_generated(reports, config.generate.out, console=console)
            return {"items": sum(r.events for r in reports), "unit": "events written"}

        stages.append(
            Stage(
                "generate",
                lambda: dump(config.generate),
                lambda: [Path(t.path) for t in plan(config.generate)],
                lambda: [],
                run_generate,
            )
        )

    def ingest_inputs() -> list[Path]:
        try:
            files = resolve_samples(config.ingest, None)
        except DLTriggerError:
            return []  # no files yet: the stage itself will say so when it runs
        return [Path(f) for paths in files.values() for f in paths if "://" not in f]

    def run_ingest() -> dict:
        report = ingest(overwriting("ingest"), spark=spark, progress=progress)
        if progress:
            print_ingested(report, console=console)
        return {"items": report.events, "unit": "events read"}

    stages.append(
        Stage("ingest", lambda: dump(config.ingest), lambda: [ingested], ingest_inputs, run_ingest)
    )

    def run_features() -> dict:
        manifests = features(overwriting("features"), spark=spark, progress=progress)
        full = manifests["full"]
        efficiency = full["selection_efficiency"].values()
        return {
            "items": sum(e["events"] for e in efficiency),
            "unit": "events in",
            "selected": sum(e["selected"] for e in efficiency),
            "note": features_note(full),
        }

    stages.append(
        Stage(
            "features",
            lambda: dump(config.features),
            lambda: [featured],
            lambda: [features_input],
            run_features,
        )
    )

    if config.run.tune:
        tuned = Path(config.tune.out) / "summary.json"

        def run_tune() -> dict:
            summary = tune(overwriting("tune"), spark=spark, progress=progress)
            return {"items": summary["tasks"], "unit": "models trained"}

        stages.append(
            Stage(
                "tune",
                lambda: {"tune": dump(config.tune), "train": dump(config.train)},
                lambda: [tuned],
                lambda: [featured],
                run_tune,
            )
        )

    for model in config.run.models:
        settings = _train_config(config, model)
        assert settings.data is not None  # resolved
        tuned_point = [tuned] if config.run.tune and model == config.tune.model else []
        inputs = [Path(settings.data), *tuned_point]

        def run_train(settings=settings) -> dict:
            fresh = _train_config(config, settings.model)  # the tuned point exists by now
            history = train(fresh, progress=progress, spark=spark, tracking=config.tracking)
            samples = sum(h.get("samples", 0) for h in history)
            return {"items": samples, "unit": "training samples", "epochs": len(history)}

        # Default arguments bind this iteration's values (a closure would see the last's).
        def train_settings(model: ModelName = model) -> dict[str, Any]:
            return _train_config(config, model).model_dump(mode="json")

        def train_markers(settings: TrainConfig = settings) -> list[Path]:
            return [RunFolder(settings.run_folder) / RunFolder.SUMMARY]

        def train_inputs(inputs: list[Path] = inputs) -> list[Path]:
            return inputs

        def train_outputs(settings: TrainConfig = settings) -> list[Path]:
            run = RunFolder(settings.run_folder)
            return [run / RunFolder.SUMMARY, run / RunFolder.CONFIG, run / RunFolder.BEST]

        stages.append(
            Stage(f"train {model}", train_settings, train_markers, train_inputs, run_train,
                  train_outputs)
        )  # fmt: skip

    evaluation = Path(config.evaluate.out) / "evaluation.json"
    runs = list(config.evaluate.runs or [])
    data = config.evaluate.data
    assert data is not None  # resolved
    baselines = config.evaluate.baselines

    def run_evaluate() -> dict:
        results = evaluate(
            runs,
            data,
            config.evaluate.out,
            overwrite=True,
            bootstrap=config.evaluate.bootstrap,
            stages=load_state(config.run.state),
            baselines=baselines if baselines is not None and Path(baselines).is_dir() else None,
            settings=config.evaluate,
        )
        return {
            "items": sum(m["test_events"] for m in results["models"].values()),
            "unit": "test events scored",
        }

    stages.append(
        Stage(
            "evaluate",
            lambda: {
                "evaluate": dump(config.evaluate),
                "runs": [str(r) for r in runs],
                "data": str(data),
            },
            lambda: [evaluation],
            lambda: [
                featured,
                *(
                    RunFolder(r) / name
                    for r in runs
                    for name in (RunFolder.SUMMARY, RunFolder.BEST)
                ),
            ],
            run_evaluate,
        )
    )
    return stages


def run_pipeline(
    config: Config, *, spark: SparkSession | None = None, progress: bool = False
) -> PipelineResult:
    """Run every stage of ``config`` that is not up to date; return what each stage did and
    the evaluation.

    ``spark``: the one session of every stage (started from ``config.spark`` when None);
    ``progress``: the stages' progress display and tables on the terminal.
    """
    from .progress import pipeline_display
    from .spark.session import get_spark

    started = time.perf_counter()
    config = config.resolved()
    spark = spark or get_spark(config.spark)
    stages = build_stages(config, spark, progress)
    outcomes: list[StageOutcome] = []
    # one `dltrigger run` of a pipeline at a time (each stage also locks its own outputs)
    with (
        writing(Path(config.run.state)),
        pipeline_display([s.name for s in stages], enabled=progress) as display,
    ):
        state = load_state(config.run.state)
        cache = load_state(digests_file(config.run.state))
        for stage in stages:
            reason = (
                "forced" if config.run.force else why_stale(stage, state.get(stage.name), cache)
            )
            if reason is None:
                outcomes.append(StageOutcome(stage.name, False, 0.0, state[stage.name], reason))
                display.stage_done(stage.name, "up to date")
                continue
            display.stage_start(stage.name, reason)
            inputs = inputs_digest(stage.inputs(), cache)  # what this run reads, before it runs
            facts = _run_stage(stage, done=[o.name for o in outcomes])
            state[stage.name] = {
                "version": STATE_VERSION,
                "digest": digest(stage.settings()),  # after the run: a tuned point exists now
                "inputs": inputs,
                "outputs": inputs_digest(stage.made(), cache),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                **facts,
            }
            save_state(config.run.state, state)
            save_state(digests_file(config.run.state), cache)
            outcomes.append(StageOutcome(stage.name, True, facts["seconds"], facts, reason))
            display.stage_done(stage.name, f"{facts['seconds']:.1f} s")
        save_state(digests_file(config.run.state), cache)
    report = Path(config.evaluate.out)
    return PipelineResult(
        out=report,
        seconds=time.perf_counter() - started,
        stages=tuple(outcomes),
        evaluation=json.loads((report / "evaluation.json").read_text()),
    )


def _run_stage(stage: Stage, done: list[str]) -> dict[str, Any]:
    """Run one stage; its failure becomes a PipelineError naming the stage and the cause."""
    start = time.perf_counter()
    try:
        facts = stage.action()
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        cause = str(exc) if isinstance(exc, DLTriggerError) else f"{type(exc).__name__}: {exc}"
        kept = f"outputs of {', '.join(done)} are kept; " if done else ""
        raise PipelineError(
            f"stage {stage.name!r} failed: {cause} ({kept}`dltrigger run` again resumes here)"
        ) from exc
    seconds = time.perf_counter() - start
    facts = {**facts, "seconds": seconds}
    if facts.get("items"):
        facts["per_s"] = facts["items"] / seconds
    return facts
