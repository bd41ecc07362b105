"""The run folder of ``dltrigger train``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..config import FeaturesConfig, TrainConfig
from ..errors import DatasetError, EvaluationError
from ..schema import feature_schema
from ._files import read_json, write_text
from .features import (
    PARTICLE_SETTINGS,
    RUN_FEATURES_VERSION,
    SPLIT_SETTINGS,
    FeaturesDataset,
    schema_differences,
    setting_differences,
)

log = logging.getLogger("dltrigger")


@dataclass(frozen=True)
class RunFolder:
    """One run folder of ``dltrigger train``."""

    path: Path

    CONFIG = "config.json"
    FEATURES = "features.json"
    SCALING = "scaling.json"
    CHECKPOINT = "checkpoint.pt"
    BEST = "best.pt"
    METRICS = "metrics.json"
    METRICS_CSV = "metrics.csv"
    SUMMARY = "summary.json"
    PLOT = "training.png"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def complete(self) -> bool:
        """The training finished (``summary.json`` is written last)."""
        return (self.path / self.SUMMARY).exists()

    def require(self, *names: str, hint: str = "") -> None:
        """Refuse a folder without ``names``, naming the first missing file."""
        if not (self.path / self.CONFIG).exists():
            raise EvaluationError(
                f"{self.path}: not a run folder of `dltrigger train` (no {self.CONFIG})"
            )
        for name in names:
            if not (self.path / name).exists():
                raise EvaluationError(f"{self.path}: no {name}{hint}")

    def train_config(self) -> TrainConfig:
        self.require()
        try:
            return TrainConfig.model_validate_json((self.path / self.CONFIG).read_text())
        except ValidationError as exc:
            raise EvaluationError(f"{self.path / self.CONFIG}: {exc.errors()[0]['msg']}") from None

    def record_training(self, config: TrainConfig, dataset_digest: str | None = None) -> None:
        """Copy what the model depends on into the folder: settings, statistics, the full
        feature settings and schema of its dataset, and the dataset's content digest (its
        identity, checked after every epoch and on resume)."""
        data = config.data
        assert data is not None  # train() refuses a config without data before recording it
        dataset = FeaturesDataset(Path(data))
        write_text(self.path / self.CONFIG, config.model_dump_json(indent=2))
        write_text(self.path / self.SCALING, dataset.scaling_file.read_text())
        manifest = dataset.manifest()
        record = {
            "version": RUN_FEATURES_VERSION,
            "dataset": str(dataset.path),
            "settings": manifest.get("config"),
            "schema": {"classes": feature_schema()["classes"], **dataset.schema()},
            "collections": manifest.get("collections"),
            "events_origin": dataset.events_origin(),
            "dropped_classes": manifest.get("dropped_classes", []),
            "dataset_digest": dataset_digest,
        }
        write_text(self.path / self.FEATURES, json.dumps(record, indent=2))

    def features(self) -> dict:
        """The feature settings and schema the run was trained with.

        A run folder written before ``features.json`` existed takes them from its dataset's
        manifest if that dataset is still there; otherwise they are unknown (settings None)."""
        path = self.path / self.FEATURES
        if path.exists():
            return read_json(path)
        data = self.train_config().data
        assert data is not None  # the saved config is the one train() checked (record_training)
        dataset = FeaturesDataset(data)
        return {
            "version": None,
            "dataset": str(dataset.path),
            "settings": dataset.settings() if dataset.manifest_file.exists() else None,
            "schema": dataset.schema() if dataset.path.exists() else {},
        }

    def feature_settings(self) -> FeaturesConfig:
        """The ``[features]`` settings to compute features for this model with; refused if
        the run does not record them (never the defaults in their place)."""
        saved = self.features().get("settings")
        if saved is None:
            raise EvaluationError(
                f"{self.path}: the feature settings it was trained with are unknown (no "
                f"{self.FEATURES}, and its dataset's {FeaturesDataset.MANIFEST} is gone): "
                "features computed for it could differ from training's; retrain it"
            )
        return FeaturesConfig.model_validate(saved)

    def ignored_settings(self, *, split: bool) -> frozenset[str]:
        """The settings a dataset may differ in for this model: the particle lists' for an
        HLF model; without ``split``, the test split's."""
        ignored = frozenset() if split else SPLIT_SETTINGS
        if not self.train_config().uses_particles():
            ignored |= PARTICLE_SETTINGS
        return ignored

    def check_dataset(self, dataset: FeaturesDataset, *, split: bool = True) -> None:
        """Refuse a dataset made with other feature settings or names than training's
        (``split``: also the settings that decide the test split)."""
        recorded = self.features()
        differences = schema_differences(recorded.get("schema") or {}, dataset.schema())
        trained, theirs = recorded.get("settings"), dataset.settings()
        if trained is not None and theirs is not None:
            differences += setting_differences(
                trained, theirs, ignore=self.ignored_settings(split=split)
            )
        elif not differences:
            side = "the run" if trained is None else "the dataset"
            log.warning(
                "%s was not checked against %s: %s does not record its feature settings "
                "(only the feature names were compared)", dataset.path, self.path, side,
            )  # fmt: skip
        if differences:
            raise DatasetError(
                f"{dataset.path} was made with other feature settings than {self.path} was "
                f"trained on: {'; '.join(differences)}. Make the features with the training's "
                "settings (or train on this dataset)"
            )
