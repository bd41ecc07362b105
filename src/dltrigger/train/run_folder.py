"""The run folder of a training: preparing it, checking a resume, writing each epoch's files.

Every file is written under a temporary name and renamed (:func:`~dltrigger.io.atomic.atomic_path`),
so an interrupted run never leaves a half-written checkpoint or metrics file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import logging
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ..artifacts import FeaturesDataset, RunFolder
from ..config import TrainConfig
from ..errors import OutputError, TrainingError
from ..io.atomic import atomic_path, temporary_folder
from ..io.ownership import check_replaceable, marker_of, write_marker

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
    :func:`dltrigger.io.ownership.writing`): refused if the run folder holds a run and
    neither resume nor overwrite.

    ``resume`` of a run killed before its first epoch ended (its folder marked and
    configured, no checkpoint yet) starts it again from epoch 1, if the settings are the
    same. ``overwrite`` of an existing run builds the new one aside (:class:`Workspace`)."""
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
            raise TrainingError(
                f"run folder {out} exists and is not empty "
                "(--resume to continue it, --overwrite to replace it)"
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


def read_checkpoint(path: Path, error: type[Exception] = TrainingError, map_location="cpu"):
    """A checkpoint written by :func:`save_epoch`, or ``error`` naming the file when it is
    truncated, overwritten or not a checkpoint at all."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # pickle, zip and EOF errors alike
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no detail"
        raise error(f"{path}: not a readable checkpoint ({type(exc).__name__}: {detail})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise error(f"{path}: not a dltrigger checkpoint (no model state)")
    return state


#: Free bytes below which a failed write is put down to a full file system.
_NEARLY_FULL = 64 << 20


def _why(exc: BaseException, path: Path) -> str:
    """What went wrong writing ``path``, in words: "no space left" where the disk is full
    (torch's writer says only "enforce fail at inline_container.cc")."""
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    if not full and ("inline_container" in str(exc) or "write failed" in str(exc)):
        # torch keeps the errno to itself: a nearly full file system (the failed file is
        # removed by now) is the cause it does not name
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            free = None
        if free is not None and free < _NEARLY_FULL:
            return f"no space left on the device ({free / 1e6:.1f} MB free after the attempt)"
        return "the write failed (is the file system full, or over its quota?)"
    if full:
        return "no space left on the device"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@contextlib.contextmanager
def _writing_file(path: Path) -> Iterator[Path]:
    """:func:`atomic_path`, with a failure to write said as a :class:`TrainingError` naming
    the file and why."""
    try:
        with atomic_path(path) as temporary:
            yield temporary
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, TrainingError):
            raise
        raise TrainingError(f"cannot write {path}: {_why(exc, path)}") from None


def save(obj, path: Path) -> None:
    with _writing_file(path) as temporary:
        torch.save(obj, temporary)


def write_text(path: Path, text: str) -> None:
    with _writing_file(path) as temporary:
        temporary.write_text(text)


class DatasetWatch:
    """The training dataset's identity, pinned when training starts (its content digest,
    recorded in the run's ``features.json``) and checked after every epoch: a dataset
    replaced or rewritten under a running training (``features --overwrite``) stops it
    before an epoch trained on other data is saved."""

    def __init__(self, data: Path, digest: str, signature: str | None = None):
        self.dataset = FeaturesDataset(Path(data))
        self.digest = digest
        self.signature = signature or self.dataset.signature()

    @classmethod
    def pinned(cls, data: Path) -> DatasetWatch:
        """The dataset as it is now (its signature first: a change while it is hashed is
        seen at the first check)."""
        dataset = FeaturesDataset(Path(data))
        signature = dataset.signature()
        return cls(dataset.path, dataset.digest(), signature)

    def check(self, when: str, *, read: bool = False) -> None:
        """Refuse a dataset whose content is not the pinned one any more (``read``: hash its
        content even if no file looks changed)."""
        now = self.dataset.signature()
        if now == self.signature and not read:
            return
        if self.dataset.path.is_dir() and self.dataset.digest() == self.digest:
            self.signature = now  # touched or copied back, same content
            return
        raise TrainingError(
            f"the training dataset {self.dataset.path} changed {when} (its content is not the "
            "one training started on: re-made by `dltrigger features --overwrite`?); the "
            "epochs would mix two datasets that features.json and scaling.json describe only "
            "one of: train again on the new dataset (--overwrite)"
        )


def save_epoch(out, config, model, optimizer, scheduler, history, best, stale, improved):
    epoch = history[-1]["epoch"]
    if improved:
        save(
            {"model": model.state_dict(), "config": config.model_dump(mode="json"),
             "epoch": epoch},
            out / RunFolder.BEST,
        )  # fmt: skip
    write_metrics(out, history)
    # the checkpoint last: once it exists, the epoch's other files are complete
    save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "config": config.model_dump(mode="json"),
            "epoch": epoch,
            "history": history,
            "best": best,
            "stale": stale,
            "torch_rng": torch.get_rng_state(),
        },
        out / RunFolder.CHECKPOINT,
    )


#: Why a validation AUC has no value (``null`` in the run folder's JSON).
UNDEFINED_AUC = "no event of this class in the validation split: AUC undefined"


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_text(value) -> str:
    """Strict JSON: NaN and infinities (an undefined AUC) become ``null``."""
    return json.dumps(_finite(value), indent=2, allow_nan=False)


def write_metrics(out: Path, history: list[dict]) -> None:
    write_text(out / RunFolder.METRICS, json_text(history))
    with (
        atomic_path(out / RunFolder.METRICS_CSV) as temporary,
        open(temporary, "w", newline="") as f,
    ):
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def write_training_plot(out: Path, history: list[dict]) -> None:
    """``training.png``: losses and per-class validation AUC per epoch (if the plots extra is
    installed; matplotlib's global state is left as it was)."""
    from ..errors import DLTriggerError
    from ..evaluate.plots import DEFAULT_EVENTS, training_figure

    try:
        events = RunFolder(out).features().get("events_origin", DEFAULT_EVENTS)
        figure = training_figure(history, out.name, events=events)
    except DLTriggerError:
        return
    with atomic_path(out / RunFolder.PLOT) as temporary:
        figure.savefig(temporary, dpi=80, format="png")
