"""Stage 4: training on a features dataset, in this process or data-parallel on Spark, into a
run folder (``dltrigger train``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import RunFolder, TuneResults
from ..results import TrainResult
from ..stage import JobFunction, Stage, lazy_attributes

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ..config import Config, ModelName, TrainConfig
    from .trainer import run

__all__ = ["TrainResult", "model_settings", "run", "stages", "standalone_stage"]

__getattr__ = lazy_attributes(__name__, {"run": ".trainer"})


def model_settings(config: Config, model: ModelName) -> TrainConfig:
    """``dltrigger run``'s training settings of ``model``: ``[train]`` for that model into its
    run folder, at the tuned point when ``run.tune`` searched a grid for it."""
    update = {"model": model, "overwrite": True, "if_exists": "overwrite"}
    settings = config.train.model_copy(update=update)
    if config.train.out is not None:  # unset, the run folder is runs/<model> anyway
        settings = settings.model_copy(update={"out": config.run_folder(model)})
    tuned = TuneResults(Path(config.tune.out))
    if config.run.tune and model == config.tune.model and (tuned / TuneResults.BEST).exists():
        settings = tuned.tuned(settings)
    return settings


#: Settings that say how to train, not what: not in the freshness digest.
_HOW = {"overwrite", "if_exists", "resume"}


class _Train:
    """Training one model of ``run.models``, or the ``[train]`` model of a ``dlt.train.run``
    call (``standalone``: ``[train]`` as it is) ([`dltrigger.stage.Stage`][])."""

    kind: str | None = "run"
    section = "train"
    _job = JobFunction(__package__, ".trainer")

    def __init__(self, model: ModelName, standalone: bool = False):
        self.model = model
        self.name = f"train {model}"
        self.standalone = standalone

    def _settings(self, config: Config) -> TrainConfig:
        return config.train if self.standalone else model_settings(config, self.model)

    def run(
        self, config: Config, *, spark: SparkSession | None = None, progress: bool = False
    ) -> TrainResult:
        settings = self._settings(config)  # the tuned point exists by now
        trained = config.model_copy(update={"train": settings})
        result: TrainResult = self._job(trained, spark=spark, progress=progress)
        return result

    def inputs(self, config: Config) -> list[Path]:
        settings = self._settings(config)
        assert settings.data is not None  # resolved
        tuned = not self.standalone and config.run.tune and self.model == config.tune.model
        point = [TuneResults(Path(config.tune.out)) / TuneResults.SUMMARY] if tuned else []
        return [Path(settings.data), *point]  # every file of the dataset

    def outputs(self, config: Config) -> list[Path]:
        folder = RunFolder(self._settings(config).run_folder)
        return [folder / RunFolder.SUMMARY, folder / RunFolder.CONFIG, folder / RunFolder.BEST]

    def settings(self, config: Config) -> Any:
        return self._settings(config).model_dump(mode="json", exclude=_HOW)

    def load(self, config: Config) -> TrainResult:
        import json

        folder = RunFolder(self._settings(config).run_folder)
        history = tuple(json.loads((folder / RunFolder.METRICS).read_text()))
        return TrainResult(out=folder.path, seconds=0.0, history=history)

    def facts(self, result: TrainResult) -> dict[str, Any]:
        samples = sum(epoch.get("samples", 0) for epoch in result.history)
        return {"items": samples, "unit": "training samples", "epochs": len(result.history)}


def standalone_stage(config: Config) -> Stage:
    """The stage of a ``dlt.train.run(config)`` call: ``[train]``'s model into its folder."""
    return _Train(config.train.model, standalone=True)


def stages(config: Config) -> list[Stage]:
    """One training per model of ``run.models``."""
    return [_Train(model) for model in config.run.models]
