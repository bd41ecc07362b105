"""Freshness: whether a stage's outputs are up to date, for ``dltrigger run`` and for a stage
called with ``if_exists = "skip"``.

A stage is *up to date* when its settings (:meth:`Stage.settings`), the content of what it
read (:meth:`Stage.inputs`) and the content of what it made (:meth:`Stage.outputs`) are those
recorded in the state file (``run.state``) when it last ran: SHA-256 digests of every byte
(:mod:`dltrigger.io.digests`), cached per file beside the state file while the file's inode,
size and times hold. ``dltrigger run`` records every stage it runs; a stage called with
``if_exists = "skip"`` records itself, so both see each other's runs.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import importlib
import json
import logging
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from .config import Config
    from .stage import Stage

log = logging.getLogger("dltrigger")

#: A stage's job: ``run(config, *, spark=None, progress=False) -> <Stage>Result``.
Job = TypeVar("Job", bound=Callable[..., Any])

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


def skippable(package: str, attribute: str) -> Callable[[Job], Job]:
    """Give a stage's job ``if_exists = "skip"``: the decorated ``run`` returns the existing
    output's result when it is up to date, refuses it when it is not, and otherwise runs and
    records the run. ``attribute`` of ``package`` is the stage (or a function of the
    configuration giving it), looked up when the job is called."""

    def decorate(job: Job) -> Job:
        @functools.wraps(job)
        def run(config: Config, *, spark: Any = None, progress: bool = False) -> Any:
            config = config.resolved()
            found = getattr(importlib.import_module(package), attribute)
            stage: Stage = found(config) if isinstance(found, types.FunctionType) else found
            if (done := existing_result(stage, config)) is not None:
                return done
            recorded = before_run(stage, config)
            result = job(config, spark=spark, progress=progress)
            record_run(stage, config, recorded, stage.facts(result))
            return result

        return cast(Job, run)

    return decorate
