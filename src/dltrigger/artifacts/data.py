"""What ``dltrigger generate`` and ``dltrigger ingest`` hand on: the generate record beside
the ROOT files, and the ingested dataset."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger("dltrigger")


#: The files ``dltrigger generate`` wrote into its folder, and the settings of the run that
#: wrote each (JSON ``{name: {"process", "seed", "settings", "detector"}}``): what
#: ``--overwrite`` may replace, how to tell files of other settings apart, what they are.
GENERATE_RECORD = "_generate.json"


@dataclass
class FileEntry:
    path: str
    sample: str
    label: int
    events: int
    compressed_bytes: int


@dataclass
class IngestReport:
    output: str
    tree: str
    columns: list[str]
    files: list[FileEntry] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    #: Branches of the inputs that are not columns, and why (TRef links, bookkeeping...).
    skipped_branches: dict[str, str] = field(default_factory=dict)
    events: int = 0
    events_written: int = 0
    bytes_read: int = 0
    partitions: int = 0
    #: Who ran the tasks: "spark" or "local" (dltrigger.executors).
    executor: str = ""
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @classmethod
    def read(cls, path: Path) -> IngestReport:
        """A report written by :meth:`to_json` (the fields it adds are left out)."""
        data = json.loads(Path(path).read_text())
        names = {f for f in cls.__dataclass_fields__}
        report = cls(**{k: v for k, v in data.items() if k in names})
        report.files = [FileEntry(**entry) for entry in data.get("files", [])]
        return report

    def to_json(self) -> str:
        data = asdict(self)
        data["events_per_second"] = self.events_per_second
        data["events_per_file"] = {f.path: f.events for f in self.files}
        return json.dumps(data, indent=2)


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
