"""Checkpoint I/O of a training: ``checkpoint.pt`` and ``best.pt`` ([`save_epoch`][],
[`read_checkpoint`][]) and the epoch's metrics files written beside them.

Every file is written under a temporary name and renamed ([`atomic_path`][]),
so an interrupted run never leaves a half-written checkpoint or metrics file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch

from ..artifacts import RunFolder
from ..errors import TrainingError
from ..io.atomic import atomic_path


def read_checkpoint(path: Path, error: type[Exception] = TrainingError, map_location="cpu"):
    """A checkpoint written by [`save_epoch`][], or ``error`` naming the file when it is
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
    """[`atomic_path`][], with a failure to write said as a [`TrainingError`][] naming
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
