"""What a stage is, and the one list of them.

Every stage package (``dltrigger.ingest``, ...) fills in [`Stage`][] once, itself: its
``run`` is the stage's job (``dlt.ingest.run(config)``), and ``inputs``, ``outputs`` and
``settings`` say what ``dltrigger run`` needs to know to skip it when it is up to date. The
package's ``stages(config)`` gives the instances a run of ``config`` has (none for a stage
the run leaves out, one per model for ``train``).

[`REGISTRY`][] is the only list of stages: ``dlt.STAGES``, the order of ``dltrigger run``
and the kinds of output folder ``dltrigger.io.ownership`` knows all come from it.
"""

from __future__ import annotations

import contextvars
import hashlib
import importlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

log = logging.getLogger("dltrigger")

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .config import Config
    from .results import StageResult


class Stage(Protocol):
    """One step of the pipeline, as ``dltrigger run`` and a notebook see it."""

    #: The name ``dltrigger run`` shows and records (``"train hlf"`` for one model).
    name: str
    #: The kind of folder it writes (``dltrigger.io.ownership``); None: its own files.
    kind: str | None
    #: Its section of the configuration (``dltrigger run`` lets it replace its own outputs).
    section: str

    def inputs(self, config: Config) -> list[Path]:
        """Files whose change makes the outputs stale (folders: every file under them)."""
        ...

    def outputs(self, config: Config) -> list[Path]:
        """The files that prove it finished (each written last, atomically) and whose content
        is digested: changed by hand since, the stage runs again."""
        ...

    def settings(self, config: Config) -> Any:
        """Exactly the configuration its outputs depend on (JSON-able, digested)."""
        ...

    def run(
        self, config: Config, *, spark: SparkSession | None = None, progress: bool = False
    ) -> StageResult:
        """Run the stage with ``config``; ``spark``: a session to use when it needs one."""
        ...

    def facts(self, result: Any) -> dict[str, Any]:
        """What ``dltrigger run`` records of a finished run: ``items`` and their ``unit``."""
        ...

    def load(self, config: Config) -> StageResult:
        """The result of the existing outputs, read back (``if_exists="skip"``)."""
        ...


@dataclass(frozen=True)
class StageEntry:
    """A stage of the registry: its package and the kinds of folder it writes."""

    name: str
    kinds: tuple[str, ...]
    about: str

    def package(self) -> Any:
        """The stage's package (imported now: Spark, torch... load with it)."""
        return importlib.import_module(f"dltrigger.{self.name}")

    def stages(self, config: Config) -> list[Stage]:
        """The instances of this stage a ``dltrigger run`` of ``config`` has."""
        found: list[Stage] = self.package().stages(config)
        return found


#: The stages in pipeline order.
REGISTRY = (
    StageEntry("generate", (), "Pythia 8 + a Delphes-like detector -> ROOT files"),
    StageEntry("ingest", ("ingest",), "ROOT files -> Parquet by label"),
    StageEntry("features", ("features",), "selection, HLF and particle lists, split, scaling"),
    StageEntry("tune", ("tune",), "grid search, one model per task"),
    StageEntry("train", ("run",), "one run folder per model"),
    StageEntry("baselines", ("baselines",), "tree models on the HLF"),
    StageEntry("evaluate", ("report",), "ROC, AUC, rates, report on the test split"),
    StageEntry("stream", ("stream", "scores"), "the trained model as a trigger on files"),
)

#: The stages' names, in order.
STAGES = tuple(entry.name for entry in REGISTRY)

#: Every kind of folder a stage writes.
OUTPUT_KINDS = tuple(kind for entry in REGISTRY for kind in entry.kinds)


#: Set while ``dltrigger run`` runs the stages: it records them itself (and holds the lock of
#: the state file), so a stage's own ``if_exists="skip"`` record is not written then.
IN_PIPELINE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "dltrigger_in_pipeline", default=False
)


#: The state record's format: 3 records the settings too, and digests them without how a
#: stage writes (overwrite, if_exists, resume); 2 digested the content of inputs and outputs
#: (1: names, sizes and times of the inputs).
STATE_VERSION = 3


def digest(settings: Any) -> str:
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digests_file(state: Path) -> Path:
    """The cache of file digests beside the state record (hidden; only a speed-up)."""
    return Path(state).with_name(f".{Path(state).name}.digests")


def inputs_digest(paths: list[Path], cache: dict[str, dict] | None = None) -> str:
    """A digest of the content of the files ``paths`` name (folders: every file under them,
    hidden ones left out): a change of any byte is seen, whatever the files' sizes and
    times, and a copy with new times of the same content is not a change. ``cache`` keeps
    each file's digest while its signature (inode, size, times) holds
    (``dltrigger.io.digests``)."""
    from .io.digests import content_digest

    return content_digest(paths, cache)


def why_stale(
    stage: Stage, config: Config, record: dict | None, cache: dict[str, dict] | None = None
) -> str | None:
    """Why ``stage`` must run with ``config``, or None when it is up to date (``record``: what
    its last run recorded in the state file)."""
    if record is None:
        return "never ran"
    outputs = stage.outputs(config)
    missing = [m for m in outputs if not m.exists()]
    if missing or not outputs:
        return f"output incomplete ({missing[0] if missing else 'no outputs'})"
    if record.get("version") != STATE_VERSION:  # other digests, or none
        return "recorded by an earlier dltrigger"
    if record.get("digest") != digest(stage.settings(config)):
        changed = settings_differences(record.get("settings"), stage.settings(config))
        return f"settings changed: {changed}" if changed else "settings changed"
    if record.get("outputs") != inputs_digest(outputs, cache):
        return "outputs changed since `dltrigger run` made them"
    if record.get("inputs") != inputs_digest(stage.inputs(config), cache):
        return "inputs changed"
    return None


def settings_differences(recorded: Any, current: Any, where: str = "") -> str:
    """``"epochs 1 -> 5; model_options.widths [...] -> [...]"``: what differs (at most 5)."""
    found: list[str] = []

    def walk(old: Any, new: Any, path: str) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new), key=str):
                walk(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        elif old != new:
            found.append(f"{path or 'settings'} {old!r} -> {new!r}")

    if recorded is None:
        return ""
    walk(recorded, current, where)
    return "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")


def existing_result(stage: Stage, config: Config) -> Any | None:
    """With ``if_exists="skip"``: the result of the stage's existing outputs when they are up
    to date (by the digests ``dltrigger run`` uses, recorded in ``run.state``); None when there
    is no output yet (the stage runs). Outputs that are not up to date are refused, saying why.
    Any other ``if_exists``: None."""
    from .artifacts import read_pipeline_state
    from .errors import OutputExistsError, option

    if getattr(getattr(config, stage.section), "if_exists", "error") != "skip":
        return None
    outputs = stage.outputs(config)
    if not any(path.exists() for path in outputs):
        return None
    state = Path(config.run.state)
    record = read_pipeline_state(state).get(stage.name)
    reason = why_stale(stage, config, record, read_pipeline_state(digests_file(state)))
    if reason is None:
        return stage.load(config)
    if record is None:
        reason = f"no record of the run that made it in {state}"
    replace = option("--if-exists overwrite", "if_exists='overwrite'")
    raise OutputExistsError(
        f"{stage.name}: the output exists but is not up to date ({reason}); {replace} replaces it"
    )


def before_run(stage: Stage, config: Config) -> str | None:
    """The digest of the inputs a run of ``stage`` with ``if_exists="skip"`` reads (recorded
    when it finishes); None when nothing is recorded (other modes, or inside ``dltrigger run``)."""
    if IN_PIPELINE.get():
        return None
    if getattr(getattr(config, stage.section), "if_exists", "error") != "skip":
        return None
    return inputs_digest(stage.inputs(config))


def record_run(stage: Stage, config: Config, inputs: str | None, facts: dict[str, Any]) -> None:
    """Record a finished run of ``stage`` in ``run.state`` as ``dltrigger run`` does, so that
    the next ``if_exists="skip"`` (or ``dltrigger run``) finds it up to date."""
    from datetime import UTC, datetime

    from .artifacts import read_pipeline_state, write_pipeline_state
    from .errors import OutputError
    from .io.ownership import writing

    if inputs is None:
        return
    state = Path(config.run.state)
    try:
        with writing(state):
            records = read_pipeline_state(state)
            records[stage.name] = {
                "version": STATE_VERSION,
                "digest": digest(stage.settings(config)),
                "settings": stage.settings(config),
                "inputs": inputs,
                "outputs": inputs_digest(stage.outputs(config)),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                **facts,
            }
            write_pipeline_state(state, records)
    except OutputError as exc:  # a `dltrigger run` holds the record: this run is not recorded
        log.warning("%s not recorded in %s: %s", stage.name, state, exc)


def pipeline_stages(config: Config) -> list[Stage]:
    """The stages a ``dltrigger run`` of ``config`` runs, in order."""
    return [stage for entry in REGISTRY for stage in entry.stages(config)]


def section_settings(section: Any) -> dict[str, Any]:
    """A config section as the freshness digest sees it (``overwrite`` is how, not what)."""
    settings: dict[str, Any] = section.model_dump(
        mode="json", exclude={"overwrite", "if_exists", "resume"}
    )
    return settings


def lazy_attributes(package: str, modules: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving each name of ``modules`` from its module (relative to
    ``package``) when first asked for: a stage's package stays light (no Spark, torch or
    uproot) until its job is called, and ``dlt.<stage>.run`` is the job itself."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(modules[name], package), name)

    return __getattr__


class JobFunction:
    """A stage class's ``run``: the job function ``name`` of ``module`` (relative to
    ``package``), imported when first used, so that ``STAGE.run is dlt.<stage>.run``."""

    def __init__(self, package: str | None, module: str, name: str = "run"):
        self.package, self.module, self.name = package, module, name

    def __get__(self, stage: object, owner: type | None = None) -> Callable[..., Any]:
        job: Callable[..., Any] = getattr(importlib.import_module(self.module, self.package),
                                          self.name)  # fmt: skip
        return job
