"""Stage 1: ROOT files (local, globs, ``root://``) into Parquet partitioned by label
(``dltrigger ingest``), in Spark tasks or a local process pool."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..artifacts import IngestedDataset, IngestReport
from ..errors import DLTriggerError
from ..results import IngestResult
from ..stage import JobFunction, Stage, lazy_attributes, section_settings
from .samples import resolve_samples

if TYPE_CHECKING:
    from ..config import Config
    from .job import run

__all__ = ["REPORT_NAME", "STAGE", "IngestReport", "IngestResult", "run", "stages"]

__getattr__ = lazy_attributes(__name__, {"run": ".job"})

#: The ingest report's name (written last: the dataset is complete).
REPORT_NAME = IngestedDataset.REPORT


class _Ingest:
    """The ingest stage ([`dltrigger.stage.Stage`][])."""

    name = "ingest"
    kind: str | None = "ingest"
    section = "ingest"

    run = JobFunction(__package__, ".job")

    def inputs(self, config: Config) -> list[Path]:
        try:
            files = resolve_samples(config.ingest, config.ingest.inputs or None)
        except DLTriggerError:
            return []  # no files yet: the stage itself will say so when it runs
        return [Path(f) for paths in files.values() for f in paths if "://" not in f]

    def outputs(self, config: Config) -> list[Path]:
        return [Path(config.ingest.out) / REPORT_NAME]

    def settings(self, config: Config) -> Any:
        return section_settings(config.ingest)

    def load(self, config: Config) -> IngestResult:
        out = Path(config.ingest.out)
        report = IngestReport.read(IngestedDataset(out).report_file)
        return IngestResult(out=out, seconds=0.0, report=report)

    def facts(self, result: IngestResult) -> dict[str, Any]:
        return {"items": result.events, "unit": "events read"}


STAGE: Stage = _Ingest()


def stages(config: Config) -> list[Stage]:
    return [STAGE]
