"""Single-process training: Adam, optional LR schedule, validation, checkpoints, resume, export.

A run folder ([`RunFolder`][]) holds ``config.json`` (the [`TrainConfig`][]), ``features.json`` (the
feature settings and schema of the dataset it was trained on), ``scaling.json`` (the dataset's
scaling, which exported models expect applied), ``metrics.csv`` and ``metrics.json`` (one row per
epoch: training loss, validation loss, accuracy, per-class AUC, learning rate, samples/s),
``checkpoint.pt`` (the last epoch, to resume from), ``best.pt`` (the lowest validation loss) and the
best model exported as ``model.onnx`` / ``model.torchscript.pt``. Files are replaced atomically; an
existing run folder is refused unless resumed or overwritten.

[`run`][] prepares the run folder and runs the loop: ``fit`` in this process, or on Spark ranks
through ``distributed`` (both import ``dltrigger.ml.loop``, which imports neither).
"""

from __future__ import annotations

import json
import logging
import time

from ..artifacts import RunFolder, Scaling
from ..config import Config, TrackingConfig, TrainConfig
from ..errors import ConfigError, TrainingError
from ..freshness import skippable
from ..io.ownership import writing
from ..ml.checkpoints import read_checkpoint, write_text
from ..ml.dataset import DatasetWatch, check_trainable
from ..ml.loop import fit
from ..models.export import FORMATS
from ..results import TrainResult
from ..schema import CLASS_NAMES
from ..tracking import tracked_run
from .run_folder import Workspace, check_resumable, prepare_run_folder, write_training_plot

logger = logging.getLogger("dltrigger")

__all__ = [
    "CLASS_NAMES",
    "TrainingError",
    "run",
]


@skippable(__package__, "standalone_stage")
def run(config: Config, *, spark=None, progress: bool = False) -> TrainResult:
    """Train ``train.model`` on ``train.data`` (unset: ``<features.out>/balanced``) into its run
    folder (``train.out``, unset: ``runs/<model>``), continuing it with ``train.resume``; the
    result has each epoch's metrics.

    ``train.resume`` continues from ``checkpoint.pt`` (only ``epochs``, ``patience``,
    ``device``, ``threads`` and ``export`` may differ from the checkpoint's configuration).
    With ``train.num_processes > 1`` the training runs data-parallel on Spark (``spark``: the
    session to use; one is started from ``config.spark`` when None). With ``[tracking]``
    enabled, the run's settings, per-epoch metrics and files are logged to MLflow.

    Example: the HLF model for 5 epochs on the default dataset (the call needs the
    ``balanced`` dataset of ``dltrigger features``, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> config = dlt.with_overrides(dlt.Config(), "train", model="hlf", epochs=5)
    >>> settings = config.resolved().train
    >>> settings.data, settings.run_folder, settings.batch_size, settings.learning_rate
    (PosixPath('data/features/balanced'), PosixPath('runs/hlf'), 32, 0.001)
    >>> result = dlt.train.run(config)  # doctest: +SKIP

    ```
    """
    start = time.perf_counter()
    config = config.resolved()
    settings = config.train
    if settings.data is None:
        raise ConfigError("train.data is unset: name a features dataset")
    if settings.num_processes > 1 and spark is None:
        from ..spark.session import get_spark

        spark = get_spark(config.spark)
    # a bad or degenerate dataset fails before any change to the run folder
    Scaling.load(settings.data), check_trainable(settings.data, settings.validation_split)
    with writing(settings.run_folder):  # one writer of the run folder for the training's life
        space = prepare_run_folder(settings, settings.resume)
        try:
            history = _train_in(space, settings, progress, spark, config.tracking)
        except TrainingError as exc:
            raise TrainingError(f"{exc}{_kept(space)}") from None
        finally:
            space.discard()  # an unfinished run built aside; the named folder is untouched
    return TrainResult(
        out=settings.run_folder, seconds=time.perf_counter() - start, history=tuple(history)
    )


def _kept(space: Workspace) -> str:
    """What a failed training leaves, for its error line."""
    if space.aside:
        return f"; {space.final} is left as it was (the new run was discarded)"
    if (space.final / RunFolder.CHECKPOINT).exists():
        return "; the last complete epoch is in checkpoint.pt (--resume continues it)"
    return ""


def _train_in(
    space: Workspace,
    config: TrainConfig,
    progress: bool,
    spark,
    tracking: TrackingConfig | None,
) -> list[dict]:
    """Train into ``space.work``; put the run in place when it is complete."""
    data = config.data
    assert data is not None  # train() refused it before
    recorded = config
    config = config.model_copy(update={"out": space.work})
    out, resume = space.work, space.resume
    run = RunFolder(out)
    if resume:
        saved = read_checkpoint(out / RunFolder.CHECKPOINT)
        check_resumable(config, saved["config"], out / RunFolder.CHECKPOINT)
        watch = _resumed_dataset(run, data)
        write_text(out / RunFolder.CONFIG, recorded.model_dump_json(indent=2))  # epochs may grow
    else:  # at once: a run stopped before its first epoch can be resumed with the same settings
        watch = DatasetWatch.pinned(data)
        run.record_training(recorded, dataset_digest=watch.digest)
    (out / RunFolder.SUMMARY).unlink(missing_ok=True)  # the run is not complete until it says so
    with tracked_run(tracking or TrackingConfig(enabled=False), f"train {config.model}") as log:
        log.params({**recorded.model_dump(mode="json"), "resume": resume})
        try:
            if config.num_processes > 1:
                from .distributed import fit_distributed

                fit_distributed(config, resume, spark)
                watch.check("during the training")
                history = json.loads((out / RunFolder.METRICS).read_text())
            else:
                history, _ = fit(config, resume, progress, watch=watch)
        finally:  # a failed run keeps what it had, marked FAILED by MLflow
            if (out / RunFolder.METRICS).exists():
                log.history(json.loads((out / RunFolder.METRICS).read_text()))
        write_training_plot(out, history)
        space.commit()
        r = RunFolder
        names = [r.CONFIG, r.FEATURES, r.SUMMARY, r.METRICS_CSV, r.SCALING, r.BEST, r.PLOT,
                 *FORMATS.values()]  # fmt: skip
        log.artifacts([space.final / name for name in names])
    return history


def _resumed_dataset(run: RunFolder, data) -> DatasetWatch:
    """The pinned identity of a resumed run's dataset: refused if the dataset is not the one
    the run started on (a run from before digests were recorded is pinned as it is now)."""
    recorded = run.features().get("dataset_digest")
    watch = DatasetWatch.pinned(data)
    if recorded is None:
        logger.warning(
            "%s does not record its dataset's content digest (trained by an earlier "
            "dltrigger): resuming without checking that %s is the dataset it started on",
            run.path, data,
        )  # fmt: skip
    elif recorded != watch.digest:
        raise TrainingError(
            f"{data} is not the dataset {run.path} started training on (its content digest "
            "differs from the one in features.json: re-made since?); resuming would mix two "
            "datasets: train again with --overwrite, or into a new run folder"
        )
    return watch
