"""The datasets of ``dltrigger features`` (``full/``, ``balanced/``, ``dev/``), their scaling,
and how feature settings are compared by value."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bounds import statistics_problems
from ..config import FeaturesConfig
from ..errors import DatasetError
from ._files import read_json

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
    [`RECORDED_BEFORE`][] take the value that names what it did)."""
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
        """The statistics in the ``_scaling.json`` file at ``path``; a file that does not hold
        them, or holds NaN, infinite or impossible ones (features of damaged data,
        [`statistics_problems`][dltrigger.bounds.statistics_problems]), raises DatasetError
        naming the features."""
        stats = read_json(Path(path))

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


#: The format of ``_manifest.json`` this dltrigger writes and reads.
FEATURES_MANIFEST_VERSION = "dltrigger-features/1"


class FeaturesManifest(BaseModel):
    """The ``_manifest.json`` of a features dataset: what made it and what it holds."""

    model_config = ConfigDict(extra="allow")

    schema_version: Literal["dltrigger-features/1"]
    #: ``full``, ``balanced`` or ``dev``.
    dataset: str
    #: Events per label (as strings: JSON keys).
    counts: dict[str, int]
    per_split: dict[str, int]
    split_counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    hlf_names: list[str]
    particle_features: list[str]
    #: Per sample: events in, selected, efficiency.
    selection_efficiency: dict[str, dict[str, float]]
    rejected: dict[str, int]
    #: The collections read (dltrigger.physics.collections.ResolvedCollections).
    collections: dict[str, Any]
    events_origin: str
    dropped_classes: list[dict[str, Any]] = Field(default_factory=list)
    duplicate_events: int = 0
    duplicates: dict[str, Any] = Field(default_factory=dict)
    #: The ingested files read.
    inputs: list[str]
    #: The ``[features]`` settings that made it.
    config: dict[str, Any]
    scaling: dict[str, Any] | None = None
    seconds: float | None = None

    @classmethod
    def check(cls, data: Any, path: Path) -> FeaturesManifest:
        """``data`` read from ``path`` as a manifest; another format, or a field of the wrong
        type, is refused in one line naming the file."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != FEATURES_MANIFEST_VERSION:
            raise DatasetError(
                f"{path}: a manifest of format {version or 'unknown (none recorded)'}; this "
                f"dltrigger reads {FEATURES_MANIFEST_VERSION}: make the features again "
                "(dltrigger features)"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise DatasetError(f"{path}: {where}: {problem['msg']}") from None


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

    def manifest(self) -> dict[str, Any]:
        """The manifest (checked: [`FeaturesManifest`][]), or ``{}`` for a dataset without
        one (made by hand)."""
        if not self.manifest_file.exists():
            return {}
        data: dict[str, Any] = read_json(self.manifest_file)
        FeaturesManifest.check(data, self.manifest_file)
        return data

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
        stats = read_json(self.scaling_file) if self.scaling_file.exists() else {}
        names = {k: stats.get(k, {}).get("names", []) for k in ("hlf", "particles")}
        if not all(names.values()):
            manifest = self.manifest()
            names = {"hlf": manifest.get("hlf_names", []),
                     "particles": manifest.get("particle_features", [])}  # fmt: skip
        return names

    def digest(self) -> str:
        """The content digest of every file of the dataset (parts and side files): its
        identity, whatever the files' times (``dltrigger.io.digests``)."""
        from ..io.digests import content_digest

        return content_digest([self.path])

    def signature(self) -> str:
        """A cheap digest that changes whenever a file of the dataset is added, removed,
        replaced or rewritten (no byte is read)."""
        from ..io.digests import tree_signature

        return tree_signature([self.path])

    def write_side_files(self, scaling: dict, manifest: dict) -> dict:
        """Write ``_scaling.json`` and ``_manifest.json`` (the scaling in it too)."""
        self.scaling_file.write_text(json.dumps(scaling, indent=2))
        manifest = {**manifest, "scaling": scaling}
        FeaturesManifest.check(manifest, self.manifest_file)  # what readers will accept
        self.manifest_file.write_text(json.dumps(manifest, indent=2))
        return manifest
