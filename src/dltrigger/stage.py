"""What a stage is, and the one list of them.

Every stage package (``dltrigger.ingest``, ...) fills in [`Stage`][] once, itself: its
``run`` is the stage's job (``dlt.ingest.run(config)``), and ``inputs``, ``outputs`` and
``settings`` say what ``dltrigger run`` needs to know to skip it when it is up to date. The
package's ``stages(config)`` gives the instances a run of ``config`` has (none for a stage
the run leaves out, one per model for ``train``).

[`REGISTRY`][] is the only list of stages: ``dlt.STAGES``, the order of ``dltrigger run``
and the kinds of output folder ``dltrigger.io.ownership`` knows all come from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .config import Config
    from .results import StageResult


class Stage(Protocol):
    """One step of the pipeline, as ``dltrigger run`` and a notebook see it."""

    #: The name ``dltrigger run`` shows and records (``"train hlf"`` for one model).
    name: str
    #: The kind of folder it writes (``dltrigger.io.ownership``); None: its own files.
    kind: str | None
    #: Its section of the configuration (``dltrigger run`` lets it replace its own outputs).
    section: str

    def inputs(self, config: Config) -> list[Path]:
        """Files whose change makes the outputs stale (folders: every file under them)."""
        ...

    def outputs(self, config: Config) -> list[Path]:
        """The files that prove it finished (each written last, atomically) and whose content
        is digested: changed by hand since, the stage runs again."""
        ...

    def settings(self, config: Config) -> Any:
        """Exactly the configuration its outputs depend on (JSON-able, digested)."""
        ...

    def run(
        self, config: Config, *, spark: SparkSession | None = None, progress: bool = False
    ) -> StageResult:
        """Run the stage with ``config``; ``spark``: a session to use when it needs one."""
        ...

    def facts(self, result: Any) -> dict[str, Any]:
        """What ``dltrigger run`` records of a finished run: ``items`` and their ``unit``."""
        ...

    def load(self, config: Config) -> StageResult:
        """The result of the existing outputs, read back (``if_exists="skip"``)."""
        ...


@dataclass(frozen=True)
class StageEntry:
    """A stage of the registry: its package and the kinds of folder it writes."""

    name: str
    kinds: tuple[str, ...]
    about: str

    def package(self) -> Any:
        """The stage's package (imported now: Spark, torch... load with it)."""
        return importlib.import_module(f"dltrigger.{self.name}")

    def stages(self, config: Config) -> list[Stage]:
        """The instances of this stage a ``dltrigger run`` of ``config`` has."""
        found: list[Stage] = self.package().stages(config)
        return found


#: The stages in pipeline order.
REGISTRY = (
    StageEntry("generate", (), "Pythia 8 + a Delphes-like detector -> ROOT files"),
    StageEntry("ingest", ("ingest",), "ROOT files -> Parquet by label"),
    StageEntry("features", ("features",), "selection, HLF and particle lists, split, scaling"),
    StageEntry("tune", ("tune",), "grid search, one model per task"),
    StageEntry("train", ("run",), "one run folder per model"),
    StageEntry("baselines", ("baselines",), "tree models on the HLF"),
    StageEntry("l1", ("l1",), "the HLF model quantised, emulated bit for bit, estimated"),
    StageEntry("evaluate", ("report",), "ROC, AUC, rates, report on the test split"),
    StageEntry("stream", ("stream", "scores"), "the trained model as a trigger on files"),
)

#: The stages' names, in order.
STAGES = tuple(entry.name for entry in REGISTRY)

#: Every kind of folder a stage writes.
OUTPUT_KINDS = tuple(kind for entry in REGISTRY for kind in entry.kinds)


def pipeline_stages(config: Config) -> list[Stage]:
    """The stages a ``dltrigger run`` of ``config`` runs, in order."""
    return [stage for entry in REGISTRY for stage in entry.stages(config)]


def section_settings(section: Any) -> dict[str, Any]:
    """A config section as the freshness digest sees it (``overwrite`` is how, not what)."""
    settings: dict[str, Any] = section.model_dump(
        mode="json", exclude={"overwrite", "if_exists", "resume"}
    )
    return settings


def lazy_attributes(package: str, modules: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving each name of ``modules`` from its module (relative to
    ``package``) when first asked for: a stage's package stays light (no Spark, torch or
    uproot) until its job is called, and ``dlt.<stage>.run`` is the job itself."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(modules[name], package), name)

    return __getattr__


class JobFunction:
    """A stage class's ``run``: the job function ``name`` of ``module`` (relative to
    ``package``), imported when first used, so that ``STAGE.run is dlt.<stage>.run``."""

    def __init__(self, package: str | None, module: str, name: str = "run"):
        self.package, self.module, self.name = package, module, name

    def __get__(self, stage: object, owner: type | None = None) -> Callable[..., Any]:
        job: Callable[..., Any] = getattr(importlib.import_module(self.module, self.package),
                                          self.name)  # fmt: skip
        return job
