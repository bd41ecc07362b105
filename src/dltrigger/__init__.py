"""dltrigger: an end-to-end event-topology classification pipeline for the LHC.

ROOT files -> Spark -> Parquet -> features -> PyTorch classifiers -> a trigger filter. From a
notebook:

    import dltrigger as dlt

    config = dlt.load_config()  # ./dltrigger.toml, or the defaults
    dlt.generate.run(config)
    dlt.ingest.run(config)
    features = dlt.features.run(config)
    hlf = dlt.train.run(dlt.with_overrides(config, "train", model="hlf"))
    report = dlt.evaluate.run(config)

Every stage has the same entry point, ``dlt.<stage>.run(config, *, spark=None,
progress=False)``, returning a frozen result ([`dltrigger.results`][]) with ``out``,
``seconds``, the stage's own facts and ``.to_json()``. Each stage reads its input from the
upstream stage's output unless the config names another ([`Config.resolved`][]).
[`run_pipeline`][] runs them all, skipping the stages that are up to date.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import Config, load_config, with_overrides
from .errors import (
    BadValueError,
    BranchNotFoundError,
    ConfigError,
    DatasetError,
    DLTriggerError,
    EvaluationError,
    FeaturesError,
    GenerationError,
    IncompleteFileError,
    IngestError,
    InputError,
    L1Error,
    OutputError,
    OutputExistsError,
    PipelineError,
    RootFileError,
    SchemaMismatchError,
    SparkError,
    StreamError,
    TrainingError,
    TreeNotFoundError,
)
from .schema import CLASS_NAMES, HLF_NAMES, PARTICLE_FEATURES
from .stage import STAGES  # the pipeline's stages in order (dltrigger.stage.REGISTRY)

if TYPE_CHECKING:
    from . import (
        baselines,
        evaluate,
        features,
        generate,
        ingest,
        l1,
        results,
        stream,
        train,
        tune,
    )  # fmt: skip
    from .pipeline import run_pipeline
    from .spark.session import spark_session

__version__ = "0.1.0"


__all__ = [
    "CLASS_NAMES",
    "HLF_NAMES",
    "PARTICLE_FEATURES",
    "STAGES",
    "BadValueError",
    "BranchNotFoundError",
    "Config",
    "ConfigError",
    "DLTriggerError",
    "DatasetError",
    "EvaluationError",
    "FeaturesError",
    "GenerationError",
    "IncompleteFileError",
    "IngestError",
    "InputError",
    "L1Error",
    "OutputError",
    "OutputExistsError",
    "PipelineError",
    "RootFileError",
    "SchemaMismatchError",
    "SparkError",
    "StreamError",
    "TrainingError",
    "TreeNotFoundError",
    "__version__",
    "baselines",
    "evaluate",
    "features",
    "generate",
    "ingest",
    "l1",
    "load_config",
    "results",
    "run_pipeline",
    "spark_session",
    "stream",
    "train",
    "tune",
    "with_overrides",
]

_LAZY_MODULES = {*STAGES, "results"}


def __getattr__(name: str) -> Any:
    # The stage packages are imported when first used: `import dltrigger` stays light (no
    # Spark, torch or uproot until a stage needs them).
    if name in _LAZY_MODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name == "run_pipeline":
        from .pipeline import run_pipeline

        return run_pipeline
    if name == "spark_session":
        from .spark.session import spark_session

        return spark_session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
