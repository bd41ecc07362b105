"""Single-process training: Adam, optional LR schedule, validation, checkpoints, resume, export.

A run folder (:class:`~dltrigger.artifacts.RunFolder`) holds ``config.json`` (the
:class:`~dltrigger.config.TrainConfig`), ``features.json`` (the feature settings and schema
of the dataset it was trained on),
``scaling.json`` (the dataset's scaling, which exported models expect applied),
``metrics.csv`` and ``metrics.json`` (one row per epoch: training loss, validation loss,
accuracy, per-class AUC, learning rate, samples/s), ``checkpoint.pt`` (the last epoch, to
resume from), ``best.pt`` (the lowest validation loss) and the best model exported as
``model.onnx`` / ``model.torchscript.pt``. Files are replaced atomically; an existing run
folder is refused unless resumed or overwritten.

:func:`train` prepares the run folder and runs the loop: :func:`~dltrigger.train.loop.fit` in
this process, or on Spark ranks through :mod:`.distributed` (both import :mod:`.loop`, which
imports neither).
"""

from __future__ import annotations

import json

from ..artifacts import RunFolder
from ..config import TrackingConfig, TrainConfig
from ..errors import ConfigError, TrainingError
from ..models.export import FORMATS
from ..schema import CLASS_NAMES
from ..tracking import tracked_run
from .data import Scaling, check_trainable
from .loop import Replica, fit, fit_events, forward, resolve_device
from .run_folder import (
    check_resumable,
    prepare_run_folder,
    read_checkpoint,
    write_text,
    write_training_plot,
)

# The loop lives in .loop (shared with .distributed); its names stay importable from here.
__all__ = [
    "CLASS_NAMES",
    "Replica",
    "TrainingError",
    "fit",
    "fit_events",
    "forward",
    "resolve_device",
    "train",
]


def train(
    config: TrainConfig,
    resume: bool = False,
    progress: bool = False,
    spark=None,
    tracking: TrackingConfig | None = None,
) -> list[dict]:
    """Train ``config.model`` on ``config.data`` into its run folder; return each epoch's metrics.

    ``resume`` continues from ``checkpoint.pt`` (only ``epochs``, ``patience``, ``device``,
    ``threads`` and ``export`` may differ from the checkpoint's configuration). With
    ``config.num_processes > 1`` the training runs data-parallel on Spark (``spark``: the
    session to use; one is started from the defaults when None). With ``tracking``, the run's
    settings, per-epoch metrics and files are logged to MLflow.
    """
    if config.data is None:
        raise ConfigError(
            "train.data is unset: name a features dataset, or resolve the whole configuration "
            "(Config.resolved(), as dltrigger.train.run does) to train on <features.out>/balanced"
        )
    # a bad or degenerate dataset fails before any change to the run folder
    Scaling.load(config.data), check_trainable(config.data)
    out, resume = prepare_run_folder(config, resume)
    if resume:
        saved = read_checkpoint(out / RunFolder.CHECKPOINT)
        check_resumable(config, saved["config"], out / RunFolder.CHECKPOINT)
        write_text(out / RunFolder.CONFIG, config.model_dump_json(indent=2))  # epochs may grow
    else:  # at once: a run stopped before its first epoch can be resumed with the same settings
        RunFolder(out).record_training(config)
    (out / RunFolder.SUMMARY).unlink(missing_ok=True)  # the run is not complete until it says so
    with tracked_run(tracking or TrackingConfig(enabled=False), f"train {config.model}") as log:
        log.params({**config.model_dump(mode="json"), "resume": resume})
        try:
            if config.num_processes > 1:
                from .distributed import fit_distributed

                fit_distributed(config, resume, spark)
                history = json.loads((out / RunFolder.METRICS).read_text())
            else:
                history, _ = fit(config, resume, progress)
        finally:  # a failed run keeps what it had, marked FAILED by MLflow
            if (out / RunFolder.METRICS).exists():
                log.history(json.loads((out / RunFolder.METRICS).read_text()))
        write_training_plot(out, history)
        r = RunFolder
        names = [r.CONFIG, r.FEATURES, r.SUMMARY, r.METRICS_CSV, r.SCALING, r.BEST, r.PLOT,
                 *FORMATS.values()]  # fmt: skip
        log.artifacts([out / name for name in names])
    return history
