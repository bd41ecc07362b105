"""The run folder of a training: preparing it, checking a resume, writing each epoch's files.

Every file is written under a temporary name and renamed (:func:`~dltrigger.io.atomic.atomic_path`),
so an interrupted run never leaves a half-written checkpoint or metrics file.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
from pathlib import Path

import torch

from ..artifacts import RunFolder
from ..config import TrainConfig
from ..errors import OutputError, TrainingError
from ..io.atomic import atomic_path
from ..io.ownership import check_replaceable, marker_of, write_marker
from ..schema import CLASS_NAMES

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


def prepare_run_folder(config: TrainConfig, resume: bool) -> tuple[Path, bool]:
    """The run folder, ready, and whether there is a checkpoint to resume: refused if it
    holds a run and neither resume nor overwrite.

    ``resume`` of a run killed before its first epoch ended (its folder marked and
    configured, no checkpoint yet) starts it again from epoch 1, if the settings are the
    same."""
    out = config.run_folder
    run = RunFolder(out)
    if resume:
        if (out / run.CHECKPOINT).exists():
            return out, True
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
        return out, False
    if out.exists() and any(out.iterdir()):
        if not config.overwrite:
            raise TrainingError(
                f"run folder {out} exists and is not empty "
                "(--resume to continue it, --overwrite to replace it)"
            )
        # unset data (a caller other than train(), which refuses it): no input to protect
        inputs = [] if config.data is None else [config.data]
        try:  # only a run folder dltrigger wrote, and not the training data
            check_replaceable(out, "run", overwrite=True, inputs=inputs)
        except OutputError as exc:
            raise TrainingError(str(exc)) from None
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_marker(out, "run")  # at once: a run killed before its first epoch is still ours
    return out, False


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


def save(obj, path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
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


def write_training_plot(out: Path, history: list[dict]) -> None:
    """``training.png``: losses and per-class validation AUC per epoch (if the plots extra is
    installed; matplotlib's global state is left as it was)."""
    from ..errors import DLTriggerError
    from ..evaluate.plots import new_figure

    try:
        figure = new_figure(figsize=(10, 4), layout="tight")
    except DLTriggerError:
        return
    epochs = [h["epoch"] for h in history]
    left, right = figure.subplots(1, 2)
    left.plot(epochs, [h["loss"] for h in history], "o-", label="training")
    left.plot(epochs, [h["val_loss"] for h in history], "s-", label="validation (test split)")
    left.set(xlabel="epoch", ylabel="cross-entropy loss")
    left.legend()
    for name in CLASS_NAMES:
        right.plot(epochs, [h[f"val_auc_{name}"] for h in history], "o-", label=name)
    right.set(xlabel="epoch", ylabel="one-vs-rest AUC (test split)")
    right.legend(title="signal class")
    figure.suptitle(f"{out.name}")
    with atomic_path(out / RunFolder.PLOT) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
