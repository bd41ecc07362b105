"""What ``dltrigger generate`` and ``dltrigger ingest`` hand on: the generate record beside
the ROOT files, and the ingested dataset."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("dltrigger")


#: The files ``dltrigger generate`` wrote into its folder, and the settings of the run that
#: wrote each (JSON ``{name: {"process", "seed", "settings", "detector"}}``): what
#: ``--overwrite`` may replace, how to tell files of other settings apart, what they are.
GENERATE_RECORD = "_generate.json"


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
