"""A streaming source of the ``*.root`` files appearing in a ``root://`` (XRootD) folder.

Spark's own file source lists only Hadoop file systems, which XRootD is not here. This Python
data source (``spark.readStream.format("dltrigger_root_folder").option("path", URL)``) lists
the folder with fsspec-xrootd and orders the files by (modification time, URL); an offset is
the last file taken in that order, so Spark's checkpoint of offsets is all the state there is:
a restarted query takes exactly the files after its last committed offset. Rows: one ``path``
per file. ``maxFilesPerTrigger`` bounds a micro-batch; ``availableNow`` is supported.

A file that appears later with an older modification time than the last file taken is not
seen: deliver files by writing them elsewhere and moving them in (which also makes them
appear complete).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import ReadMaxFiles, SupportsTriggerAvailableNow

START = {"mtime": -1, "path": ""}


def list_folder(url: str) -> list[tuple[int, str]]:
    """(modification time, URL) of the folder's ``*.root`` files, oldest first."""
    import fsspec

    from ..errors import InputError

    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    folder = "/" + path.strip("/")
    try:
        fs = fsspec.filesystem(scheme, hostid=host, skip_instance_cache=True)
        entries = fs.ls(folder, detail=True)
    except Exception as exc:
        raise InputError(f"cannot list {url}: {exc}") from None
    files = []
    for entry in entries:
        name = entry["name"].rstrip("/").rpartition("/")[2]
        if entry.get("type") != "directory" and fnmatch.fnmatchcase(name, "*.root"):
            files.append((int(entry.get("mtime") or 0), f"{scheme}://{host}/{folder}/{name}"))
    return sorted(files)


def _key(offset: dict) -> tuple[int, str]:
    return int(offset["mtime"]), str(offset["path"])


class FilePartition(InputPartition):
    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


class RootFolderStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    def __init__(self, options: Mapping[str, str]):
        self.url = options["path"]
        self.max_files = int(options.get("maxFilesPerTrigger", "0"))
        self.target: tuple[int, str] | None = None

    def initialOffset(self) -> dict:
        return dict(START)

    def getDefaultReadLimit(self):
        return ReadMaxFiles(self.max_files) if self.max_files > 0 else super().getDefaultReadLimit()

    def prepareForTriggerAvailableNow(self) -> None:
        files = list_folder(self.url)
        self.target = files[-1] if files else _key(START)

    def latestOffset(self, start: dict, limit) -> dict:
        new = [f for f in list_folder(self.url) if f > _key(start)]
        if self.target is not None:
            new = [f for f in new if f <= self.target]
        if isinstance(limit, ReadMaxFiles):
            new = new[: limit.max_files]
        if not new:
            return start
        mtime, path = new[-1]
        return {"mtime": mtime, "path": path}

    def partitions(self, start: dict, end: dict) -> list[InputPartition]:
        low, high = _key(start), _key(end)
        return [FilePartition(path) for key, path in
                ((f, f[1]) for f in list_folder(self.url)) if low < key <= high]  # fmt: skip

    def read(self, partition):
        yield (partition.path,)

    def commit(self, end: dict) -> None:
        pass


class RootFolderSource(DataSource):
    @classmethod
    def name(cls) -> str:
        return "dltrigger_root_folder"

    def schema(self) -> str:
        return "path string"

    def streamReader(self, schema) -> RootFolderStreamReader:
        return RootFolderStreamReader(self.options)


def register(spark) -> None:
    spark.dataSource.register(RootFolderSource)
