"""One typed configuration for the whole pipeline, loaded from TOML and overridable from the CLI.

The file is ``dltrigger.toml`` in the working directory unless ``--config`` or the environment
variable ``DLTRIGGER_CONFIG`` names another; with no file, the defaults below are used. Every
command-line flag maps onto one field here (see [`with_overrides`][]).

The sections are defined by topic (``spark``, ``generate``, ``data``: ingest and features,
``training``: train, tune and baselines, ``trigger``: stream and score, ``evaluate``: evaluate,
tracking and run; ``l1``: the Level-1 path; ``root``: [`Config`][] and its loading) and all
are imported from here.
"""

from ._base import (
    LABELS,
    MODEL_NAMES,
    ClassName,
    HeavyFlavour,
    ModelName,
    ProcessLabel,
)
from ._base import _overwrite as _overwrite
from ._base import _Strict as _Strict
from .data import (
    COLLECTION_ROLES,
    CollectionsConfig,
    FeaturesConfig,
    IngestConfig,
    SampleConfig,
)
from .data import _default_samples as _default_samples
from .evaluate import REFERENCE_CLASS_MIX, EvaluateConfig, RunConfig, TrackingConfig
from .generate import _RESERVED_PYTHIA as _RESERVED_PYTHIA
from .generate import DecayVariantSettings, GenerateConfig, LeptonFilter, ProcessSettings
from .generate import _builtin_processes as _builtin_processes
from .generate import _migration_error as _migration_error
from .l1 import L1Config
from .root import DEFAULT_CONFIG_NAME, Config, load_config, with_overrides
from .root import _format_validation_error as _format_validation_error
from .spark import SparkConfig
from .training import (
    MAX_THREADS,
    BaselineName,
    BaselinesConfig,
    ExportFormat,
    TrainConfig,
    TuneConfig,
    apply_point,
)
from .trigger import ScoreConfig, StreamConfig

__all__ = [
    "COLLECTION_ROLES",
    "DEFAULT_CONFIG_NAME",
    "LABELS",
    "MAX_THREADS",
    "MODEL_NAMES",
    "REFERENCE_CLASS_MIX",
    "BaselineName",
    "BaselinesConfig",
    "ClassName",
    "CollectionsConfig",
    "Config",
    "DecayVariantSettings",
    "EvaluateConfig",
    "ExportFormat",
    "FeaturesConfig",
    "GenerateConfig",
    "HeavyFlavour",
    "IngestConfig",
    "L1Config",
    "LeptonFilter",
    "ModelName",
    "ProcessLabel",
    "ProcessSettings",
    "RunConfig",
    "SampleConfig",
    "ScoreConfig",
    "SparkConfig",
    "StreamConfig",
    "TrackingConfig",
    "TrainConfig",
    "TuneConfig",
    "apply_point",
    "load_config",
    "with_overrides",
]
