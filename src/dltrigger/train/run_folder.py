"""The run folder of a training: preparing it, checking a resume, its training plot (each
epoch's files are written by [`dltrigger.ml.checkpoints`][]).

Every file is written under a temporary name and renamed ([`atomic_path`][]),
so an interrupted run never leaves a half-written checkpoint or metrics file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import RunFolder
from ..config import TrainConfig
from ..errors import OutputError, OutputExistsError, TrainingError, option
from ..io.atomic import atomic_path, temporary_folder
from ..io.ownership import check_replaceable, marker_of, write_marker
from ..ml.checkpoints import _why

log = logging.getLogger("dltrigger")

#: Settings a resumed run may change; any other difference means another model or data.
RESUMABLE_CHANGES = frozenset(
    {
        "epochs",
        "patience",
        "device",
        "threads",
        "export",
        "overwrite",
        "out",
        "resume",
        "bucket_by_length",
    }  # batching order, not the model: a run saved before the default changed
)


@dataclass(frozen=True)
class Workspace:
    """Where a training writes: ``final``, the run folder named, or (``--overwrite`` of an
    existing run) a hidden sibling ``work`` that replaces it only once the new run is
    complete, so a failed or killed re-train leaves the previous run as it was."""

    final: Path
    work: Path
    resume: bool

    @property
    def aside(self) -> bool:
        return self.work != self.final

    def commit(self) -> None:
        """Put the finished run in place of the old one (a no-op when written in place)."""
        if not self.aside:
            return
        old = temporary_folder(self.final)
        os.replace(self.final, old)
        os.replace(self.work, self.final)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove an unfinished run built aside (never the run folder named)."""
        if self.aside:
            shutil.rmtree(self.work, ignore_errors=True)


def prepare_run_folder(config: TrainConfig, resume: bool) -> Workspace:
    """The folder this training writes, ready (call it holding the run folder's writer lock,
    [`dltrigger.io.ownership.writing`][]): refused if the run folder holds a run and
    neither resume nor overwrite.

    ``resume`` of a run killed before its first epoch ended (its folder marked and
    configured, no checkpoint yet) starts it again from epoch 1, if the settings are the
    same. ``overwrite`` of an existing run builds the new one aside ([`Workspace`][])."""
    out = config.run_folder
    run = RunFolder(out)
    if resume:
        if out.is_symlink():
            check_replaceable(out, "run", overwrite=True)  # says why a link is refused
        if (out / run.CHECKPOINT).exists():
            return Workspace(out, out, True)
        if marker_of(out) is None or not (out / run.CONFIG).exists():
            raise TrainingError(
                f"nothing to resume in {out}: no {run.CHECKPOINT} and not a run folder that "
                "dltrigger started (train without --resume)"
            )
        saved = json.loads((out / run.CONFIG).read_text())
        check_resumable(config, saved, out / run.CONFIG)
        log.warning(
            "%s: the run was stopped before its first epoch ended (no %s): training from "
            "epoch 1", out, run.CHECKPOINT,
        )  # fmt: skip
        return Workspace(out, out, False)
    # unset data (a caller other than train(), which refuses it): no input to protect
    inputs = [] if config.data is None else [config.data]
    work = out
    if out.is_symlink() or (out.exists() and any(out.iterdir())):
        if not config.overwrite and not out.is_symlink():
            raise OutputExistsError(
                f"run folder {out} exists and is not empty ({option('--resume', 'resume=True')}"
                f" to continue it, {option('--overwrite', 'overwrite=True')} to replace it)"
            )
        try:  # only a run folder dltrigger wrote, and not the training data
            check_replaceable(out, "run", overwrite=True, inputs=inputs)
        except OutputError as exc:
            raise TrainingError(str(exc)) from None
        work = temporary_folder(out)
    try:
        work.mkdir(parents=True, exist_ok=True)
        write_marker(work, "run")  # at once: a run killed before its first epoch is still ours
    except OSError as exc:
        raise TrainingError(f"cannot create the run folder {work}: {_why(exc, work)}") from None
    return Workspace(out, work, False)


def check_resumable(config: TrainConfig, saved: dict, path: Path) -> None:
    """Refuse to resume a checkpoint whose settings differ beyond RESUMABLE_CHANGES."""
    current = config.model_dump(mode="json")
    differences = [
        f"{key}: {saved.get(key)!r} in the checkpoint, {value!r} now"
        for key, value in current.items()
        if key not in RESUMABLE_CHANGES and saved.get(key) != value
    ]
    if differences:
        raise TrainingError(
            f"{path} was trained with another configuration ({'; '.join(differences)}); "
            "train into a new run folder, or --overwrite this one"
        )


def write_training_plot(out: Path, history: list[dict]) -> None:
    """``training.png``: losses and per-class validation AUC per epoch (if the plots extra is
    installed; matplotlib's global state is left as it was)."""
    from ..errors import DLTriggerError
    from ..ml.plots import DEFAULT_EVENTS, training_figure

    try:
        events = RunFolder(out).features().get("events_origin", DEFAULT_EVENTS)
        figure = training_figure(history, out.name, events=events)
    except DLTriggerError:
        return
    with atomic_path(out / RunFolder.PLOT) as temporary:
        figure.savefig(temporary, dpi=80, format="png")
