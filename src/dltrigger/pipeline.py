"""``dltrigger run``: the whole pipeline from one config, resuming where it stopped.

generate -> ingest -> features -> [tune] -> train (each of ``run.models``) -> evaluate, in one
Spark session and one progress display. A stage is *up to date*, and skipped, when

- its outputs are complete: each stage's completion markers exist (the files a stage writes
  last, atomically: the ROOT files of generate, ``_ingest_report.json``, ``_manifest.json``,
  a run folder's ``summary.json``, ``evaluation.json``);
- it last ran with the same settings: the digest of the config it depends on, recorded in
  ``run.state`` when it finished, is unchanged;
- its inputs are those it last ran on: a digest of their names, sizes and modification times
  (every file under an input folder) is unchanged, so a new input copied with its old time
  (``cp -p``, ``rsync -a``, a moved download) is seen; and its outputs are newer than them.

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
from .results import PipelineResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STAGE_ORDER = ("generate", "ingest", "features", "tune", "train", "evaluate")


@dataclass
class Stage:
    """One step of the run: what it depends on, what proves it finished, how to run it."""

    name: str
    settings: Callable[[], Any]  # the JSON-able config the outputs depend on (digested)
    markers: Callable[[], list[Path]]  # exist only once the outputs are complete
    inputs: Callable[[], list[Path]]  # files whose change makes the outputs stale
    action: Callable[[], dict[str, Any]]  # runs the stage; returns facts for the summary


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


def _newest(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            newest = max([newest, *(p.stat().st_mtime for p in files)])
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def inputs_digest(paths: list[Path]) -> str:
    """A digest of the files ``paths`` name (folders: every file under them): names, sizes
    and modification times; content-level freshness without reading the data."""
    entries: list[tuple[str, int | None, int | None]] = []
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if TEMPORARY_MARK in str(file):
                continue
            try:
                stat = file.stat()
                entries.append((str(file), stat.st_size, stat.st_mtime_ns))
            except OSError:
                entries.append((str(file), None, None))
    return digest(entries)


def why_stale(stage: Stage, record: dict | None) -> str | None:
    """Why ``stage`` must run, or None when it is up to date."""
    if record is None:
        return "never ran"
    markers = stage.markers()
    missing = [m for m in markers if not m.exists()]
    if missing or not markers:
        return f"output incomplete ({missing[0] if missing else 'no outputs'})"
    if record.get("digest") != digest(stage.settings()):
        return "settings changed"
    inputs = stage.inputs()
    # records of dltrigger 0.1 have no inputs digest: judged by times alone
    if "inputs" in record and record["inputs"] != inputs_digest(inputs):
        return "inputs changed"
    oldest_output = min(m.stat().st_mtime for m in markers)
    if _newest(inputs) > oldest_output:
        return "inputs changed"
    return None


def features_note(manifest: dict) -> str:
    """What a user should know of a features run: the collections read, classes dropped."""
    from .features.collections import ResolvedCollections

    note = ResolvedCollections(**manifest["collections"]).describe()
    for dropped in manifest.get("dropped_classes", []):
        note += (
            f"; class {dropped['class']} dropped: none of its {dropped['events']} events "
            "passes the selection"
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
        inputs = [featured] + ([tuned] if config.run.tune and model == config.tune.model else [])

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

        stages.append(
            Stage(f"train {model}", train_settings, train_markers, train_inputs, run_train)
        )

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
            lambda: [featured, *(RunFolder(r) / RunFolder.SUMMARY for r in runs)],
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
    state = load_state(config.run.state)
    outcomes: list[StageOutcome] = []
    with pipeline_display([s.name for s in stages], enabled=progress) as display:
        for stage in stages:
            reason = "forced" if config.run.force else why_stale(stage, state.get(stage.name))
            if reason is None:
                outcomes.append(StageOutcome(stage.name, False, 0.0, state[stage.name], reason))
                display.stage_done(stage.name, "up to date")
                continue
            display.stage_start(stage.name, reason)
            inputs = inputs_digest(stage.inputs())  # what this run reads, before it runs
            facts = _run_stage(stage, done=[o.name for o in outcomes])
            state[stage.name] = {
                "digest": digest(stage.settings()),  # after the run: a tuned point exists now
                "inputs": inputs,
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                **facts,
            }
            save_state(config.run.state, state)
            outcomes.append(StageOutcome(stage.name, True, facts["seconds"], facts, reason))
            display.stage_done(stage.name, f"{facts['seconds']:.1f} s")
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
