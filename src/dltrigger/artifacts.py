"""The folders one stage hands the next: the only code that names their files and checks them.

- :data:`GENERATE_RECORD`: ``_generate.json`` beside the ROOT files of ``dltrigger generate``
  (each file's process, seeds, settings and detector preset).
- :class:`IngestedDataset`: the folder of ``dltrigger ingest``: ``label=N/part-*.parquet``
  and ``_ingest_report.json`` (written last: every file read, its events and bytes).
- :class:`TuneResults`: the folder of ``dltrigger tune``: ``results.csv`` (every point, best
  first), ``best.json`` (the winning point, which ``dltrigger run`` and ``train --tuned``
  apply) and ``summary.json`` (written last).
- :class:`FeaturesDataset`: ``full/``, ``balanced/`` or ``dev/`` of ``dltrigger features``:
  ``part-*.parquet``, ``_scaling.json`` (training-split statistics) and ``_manifest.json``
  (counts, the feature settings that made it, the schema).
- :class:`RunFolder`: a folder of ``dltrigger train``: ``config.json`` (the training
  settings), ``features.json`` (the full feature settings and schema of the dataset it was
  trained on, copied at training time so that the run does not depend on that dataset still
  being there), ``scaling.json``, ``checkpoint.pt``, ``best.pt``, ``metrics.json``/``.csv``,
  ``summary.json`` (written last: the run finished), ``model.onnx``, ``model.torchscript.pt``.

Whoever reads a dataset with a trained model (``evaluate``, ``score``, ``stream``) asks
:meth:`RunFolder.check_settings` first: every feature setting that changes a value must be the
same, not just the feature names, and a difference is refused with the list of differences.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from .bounds import statistics_problems
from .config import FeaturesConfig, TrainConfig
from .errors import DatasetError, EvaluationError
from .io.atomic import atomic_path
from .schema import feature_schema

log = logging.getLogger("dltrigger")

#: Feature settings that change no event's feature values: where the data are and go, which
#: datasets are written, where the objects are found (files of another card may be scored
#: with the same model), what to do with an empty class or with repeated events (copies share
#: their split either way).
NOT_VALUE_SETTINGS = frozenset(
    {"input", "out", "overwrite", "balance", "dev_per_class", "collections", "empty_classes",
     "duplicates"}
)  # fmt: skip
#: Settings that decide only which events form each split: compared by ``evaluate`` (another
#: split would test on training events), not by ``score``/``stream`` (every event).
SPLIT_SETTINGS = frozenset({"test_fraction", "validation_fraction", "split_key"})
#: Settings whose absence from a record does not mean their default: the record was made
#: before they existed, by what the value here names (the split by file name and entry).
RECORDED_BEFORE = {"split_key": "file_entry"}
#: Settings of the particle lists only: no HLF changes with them, so an HLF model ignores them.
PARTICLE_SETTINGS = frozenset(
    {"order", "max_tracks", "max_photons", "max_neutrals", "reference_chpfiso",
     "reference_track_charge"}
)  # fmt: skip

RUN_FEATURES_VERSION = "dltrigger-run-features/1"


def value_settings(settings: FeaturesConfig | dict) -> dict[str, Any]:
    """The settings that change feature values (a newer setting missing from an older record
    takes its default, which is what that older version computed; but those of
    :data:`RECORDED_BEFORE` take the value that names what it did)."""
    if isinstance(settings, dict):
        settings = FeaturesConfig.model_validate({**RECORDED_BEFORE, **settings})
    dumped = json.loads(settings.model_dump_json())
    return {k: v for k, v in dumped.items() if k not in NOT_VALUE_SETTINGS}


def setting_differences(
    trained: dict, other: dict, ignore: frozenset[str] = frozenset()
) -> list[str]:
    """``"name: A in training, B here"`` for each value-changing setting that differs."""
    mine, theirs = value_settings(trained), value_settings(other)
    return [
        f"{key}: {mine[key]!r} in training, {theirs.get(key)!r} here"
        for key in mine
        if key not in ignore and mine[key] != theirs.get(key)
    ]


def schema_differences(trained: dict, other: dict) -> list[str]:
    return [
        f"{kind} features: {trained[kind]} in training, {other.get(kind)} here"
        for kind in ("hlf", "particles")
        if trained.get(kind) and other.get(kind) and trained[kind] != other[kind]
    ]


@dataclass(frozen=True)
class Scaling:
    """Standardisation of HLF and particle features (training-split statistics)."""

    hlf_mean: np.ndarray
    hlf_std: np.ndarray
    particle_mean: np.ndarray
    particle_std: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> Scaling:
        """The statistics saved beside a features dataset (``_scaling.json``)."""
        return FeaturesDataset(Path(folder)).scaling()

    @classmethod
    def from_file(cls, path: Path) -> Scaling:
        stats = _read_json(Path(path))

        def safe(std):  # constant features (one-hot flags of one kind) are left unscaled
            std = np.asarray(std, dtype=np.float32)
            return np.where(std > 0, std, 1.0).astype(np.float32)

        try:
            # NaN, infinite or absurd statistics (features of damaged data) would scale every
            # event's feature to ~0 or NaN, silently: refused, naming the features.
            problems = [
                p for kind in ("hlf", "particles") for p in statistics_problems(stats[kind])
            ]
            scaling = cls(
                np.asarray(stats["hlf"]["mean"], dtype=np.float32),
                safe(stats["hlf"]["std"]),
                np.asarray(stats["particles"]["mean"], dtype=np.float32),
                safe(stats["particles"]["std"]),
            )
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{path}: not feature statistics (missing {exc})") from None
        if problems:
            raise DatasetError(
                f"{path}: impossible scaling statistics ({'; '.join(problems)}): the features "
                "were computed from damaged data; make them again from a clean ingest"
            )
        return scaling

    def scale_hlf(self, hlf: np.ndarray) -> np.ndarray:
        return ((hlf - self.hlf_mean) / self.hlf_std).astype(np.float32, copy=False)

    def scale_particles(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.particle_mean) / self.particle_std).astype(np.float32, copy=False)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)


#: The files ``dltrigger generate`` wrote into its folder, and the settings of the run that
#: wrote each (JSON ``{name: {"process", "seed", "settings", "detector"}}``): what
#: ``--overwrite`` may replace, how to tell files of other settings apart, what they are.
GENERATE_RECORD = "_generate.json"


def read_pipeline_state(path: Path) -> dict[str, dict]:
    """What ``dltrigger run`` recorded of each stage in its state file (``run.state``): its
    settings digest, content digests, time and throughput; {} when there is none (a damaged
    record only costs a re-run)."""
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_pipeline_state(path: Path, state: dict[str, dict]) -> None:
    """Replace the state file atomically (it is rewritten after every stage)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _write_text(Path(path), json.dumps(state, indent=2))


@dataclass(frozen=True)
class IngestedDataset:
    """The folder of ``dltrigger ingest``."""

    path: Path

    #: Leading underscore: Spark and pyarrow skip it when reading the folder as a dataset.
    REPORT = "_ingest_report.json"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def report_file(self) -> Path:
        return self.path / self.REPORT

    def parts(self) -> list[Path]:
        """The Parquet parts, ``label=N/part-*.parquet``, in order."""
        return sorted(self.path.glob("label=*/*.parquet"))

    def source_files(self) -> list[str]:
        """The ROOT files the dataset was read from (its report), or [] without one."""
        try:
            report = json.loads(self.report_file.read_text())
        except (OSError, ValueError):
            return []
        files = report.get("files", [])
        return [f["path"] for f in files if isinstance(f, dict) and "path" in f]


@dataclass(frozen=True)
class FeaturesDataset:
    """One dataset folder of ``dltrigger features``."""

    path: Path

    SCALING = "_scaling.json"
    MANIFEST = "_manifest.json"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def scaling_file(self) -> Path:
        return self.path / self.SCALING

    @property
    def manifest_file(self) -> Path:
        return self.path / self.MANIFEST

    def parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*.parquet"))

    def scaling(self) -> Scaling:
        if not self.scaling_file.exists():
            raise DatasetError(
                f"{self.path}: no {self.SCALING} (is it a dltrigger features dataset?)"
            )
        return Scaling.from_file(self.scaling_file)

    def manifest(self) -> dict:
        """The manifest, or ``{}`` for a dataset without one (made by hand)."""
        return _read_json(self.manifest_file) if self.manifest_file.exists() else {}

    def settings(self) -> dict | None:
        """The ``[features]`` settings that made the dataset (None: not recorded)."""
        return self.manifest().get("config")

    def events_origin(self) -> str:
        """What the events are, for plot labels and reports: ``"dltrigger generator,
        detector <preset>"``, ``"Delphes, <card> card"`` or ``"Delphes-format files"`` (a
        dataset made before the manifest recorded it: ``"simulated events"``)."""
        return str(self.manifest().get("events_origin", "simulated events"))

    def schema(self) -> dict[str, list[str]]:
        """Feature names of the dataset, as its statistics file names them (the columns its
        scaling applies to), else as its manifest does."""
        stats = _read_json(self.scaling_file) if self.scaling_file.exists() else {}
        names = {k: stats.get(k, {}).get("names", []) for k in ("hlf", "particles")}
        if not all(names.values()):
            manifest = self.manifest()
            names = {"hlf": manifest.get("hlf_names", []),
                     "particles": manifest.get("particle_features", [])}  # fmt: skip
        return names

    def digest(self) -> str:
        """The content digest of every file of the dataset (parts and side files): its
        identity, whatever the files' times (:mod:`dltrigger.io.digests`)."""
        from .io.digests import content_digest

        return content_digest([self.path])

    def signature(self) -> str:
        """A cheap digest that changes whenever a file of the dataset is added, removed,
        replaced or rewritten (no byte is read)."""
        from .io.digests import tree_signature

        return tree_signature([self.path])

    def write_side_files(self, scaling: dict, manifest: dict) -> dict:
        """Write ``_scaling.json`` and ``_manifest.json`` (the scaling in it too)."""
        self.scaling_file.write_text(json.dumps(scaling, indent=2))
        manifest = {**manifest, "scaling": scaling}
        self.manifest_file.write_text(json.dumps(manifest, indent=2))
        return manifest


@dataclass(frozen=True)
class TuneResults:
    """The folder of ``dltrigger tune``."""

    path: Path

    RESULTS = "results.csv"
    BEST = "best.json"
    SUMMARY = "summary.json"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def best(self) -> dict[str, Any]:
        """``{"model", "metric", "value", "point"}`` of the winning grid point."""
        if not (self.path / self.BEST).exists():
            raise DatasetError(
                f"{self.path / self.BEST} not found (is {self.path} a `dltrigger tune` output?)"
            )
        best: dict[str, Any] = _read_json(self.path / self.BEST)
        return best

    def tuned(self, settings: TrainConfig) -> TrainConfig:
        """``settings`` for the tuned model at the winning point."""
        from .config import apply_point

        best = self.best()
        return apply_point(settings.model_copy(update={"model": best["model"]}), best["point"])

    def write(self, results_csv: str, best: dict[str, Any], summary: dict[str, Any]) -> None:
        """The three files, ``summary.json`` last (into a folder being written atomically)."""
        (self.path / self.RESULTS).write_text(results_csv)
        (self.path / self.BEST).write_text(json.dumps(best, indent=2))
        (self.path / self.SUMMARY).write_text(json.dumps(summary, indent=2))


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
        _write_text(self.path / self.CONFIG, config.model_dump_json(indent=2))
        _write_text(self.path / self.SCALING, dataset.scaling_file.read_text())
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
        _write_text(self.path / self.FEATURES, json.dumps(record, indent=2))

    def features(self) -> dict:
        """The feature settings and schema the run was trained with.

        A run folder written before ``features.json`` existed takes them from its dataset's
        manifest if that dataset is still there; otherwise they are unknown (settings None)."""
        path = self.path / self.FEATURES
        if path.exists():
            return _read_json(path)
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
