"""``spark.read.format("root")``: ROOT trees as a Spark DataFrame, through uproot and Arrow.

Usage::

    from dltrigger.spark.root_source import register
    register(spark)
    df = (spark.read.format("root")
          .option("tree", "Delphes")
          .option("branches", "Electron,MuonTight,MissingET")   # optional
          .load(["data/raw/*.root", "root://host:1094//store/file.root"]))

Options (all optional):

- ``tree``: tree name (default ``Delphes``);
- ``branches``: comma-separated collections, ``C.M`` members or scalars (default: all readable
  ones); a user-given schema (``.schema(...)``) selects columns the same way;
- ``partitionBytes``: bytes on disk per partition (default 128 MiB); bigger files are cut into
  cluster-aligned slices, smaller ones packed together;
- ``minPartitions``: lower that bound until there are about this many partitions (the number of
  cores), so small inputs still use every core;
- ``batchEvents`` / ``batchBytes``: bounds of one Arrow batch, in entries and uncompressed
  bytes (defaults 100,000 and 256 MiB): the memory a task holds at a time;
- ``sourceColumns``: ``true`` (default) adds ``source_file`` and ``entry``;
- ``skipBadFiles``: ``true`` leaves out files that cannot be opened, lack the tree or a branch,
  or are truncated, instead of failing (a file corrupt *inside* its data still fails the read:
  part of it would already have been used);

Skipped files are logged (logger ``dltrigger``) by the task that skips them; the reader also
keeps one record per file slice (entries and compressed bytes read, or the skip reason), from
which ``dltrigger ingest`` builds its report.

The driver opens one file (for the schema); each file is then opened once, by the task that
reads it (see root_planning.py).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import ArrayType, StructType

from ..errors import DLTriggerError, InputError, RootFileError
from ..io.paths import expand_inputs, is_remote
from ..io.root_reader import (
    ENTRY_COLUMN,
    SOURCE_FILE_COLUMN,
    TreeLayout,
    check_not_truncated,
    cluster_starts,
    compressed_bytes,
    infer_layout,
    open_tree,
    read_record_batch,
)
from .root_planning import FileSlice, batch_ranges, plan_slices, slice_entries

log = logging.getLogger("dltrigger")

DEFAULT_TREE = "Delphes"
DEFAULT_PARTITION_BYTES = 128 * 2**20
DEFAULT_BATCH_EVENTS = 100_000
DEFAULT_BATCH_BYTES = 256 * 2**20


@dataclass(frozen=True)
class RootPartition(InputPartition):
    slices: tuple[FileSlice, ...]


def file_size(path: str) -> int:
    """Bytes on disk of a local or remote file (a stat, no ROOT parsing)."""
    try:
        if not is_remote(path):
            return os.path.getsize(path)
        import fsspec

        scheme, rest = path.split("://", 1)
        host, _, name = rest.partition("/")
        fs = fsspec.filesystem(scheme, hostid=host)
        return int(fs.info("/" + name.lstrip("/"))["size"])
    except FileNotFoundError:
        raise RootFileError(path, "file not found") from None
    except Exception as exc:
        raise RootFileError(path, f"cannot reach the file ({exc})") from None


def file_sizes(
    paths: list[str], skip_bad_files: bool, threads: int = 16
) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """Sizes of ``paths`` (in threads: remote stats are round trips); bad ones raise or are
    returned with their reason."""

    def attempt(path: str):
        try:
            return file_size(path)
        except RootFileError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(threads, max(len(paths), 1))) as pool:
        results = list(pool.map(attempt, paths))
    sizes, bad = [], {}
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, RootFileError):
            if not skip_bad_files:
                raise result
            bad[path] = result.reason
        else:
            sizes.append((path, result))
    return sizes, bad


def first_layout(
    paths: list[str], tree_name: str, requested: list[str], skip_bad_files: bool
) -> TreeLayout:
    """The layout of the first readable file, restricted to ``requested``."""
    errors = []
    for path in paths:
        try:
            file, tree = open_tree(path, tree_name)
            with file:
                return infer_layout(tree).select(requested, path, tree_name)
        except RootFileError as exc:
            if not skip_bad_files:
                raise
            errors.append(exc)
    raise InputError(
        f"none of the {len(paths)} input file(s) could be read"
        + (f"; first: {errors[0]}" if errors else "")
    )


def names_in_schema(schema: StructType) -> list[str]:
    """Collections' members (``C.M``) and scalars named by a user-given schema."""
    names = []
    for f in schema.fields:
        if f.name in (SOURCE_FILE_COLUMN, ENTRY_COLUMN):
            continue
        element = f.dataType.elementType if isinstance(f.dataType, ArrayType) else None
        if isinstance(element, StructType):
            names.extend(f"{f.name}.{m}" for m in element.fieldNames())
        else:
            names.append(f.name)
    return names


def column_names(layout: TreeLayout) -> list[str]:
    """The names that select exactly ``layout`` (all members of each collection)."""
    return [f"{c.name}.{m.name}" for c in layout.collections for m in c.members] + [
        s.name for s in layout.scalars
    ]


def _flag(options: dict[str, str], name: str, default: bool = False) -> bool:
    value = options.get(name.lower())
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise InputError(f"option {name} must be true or false, got {value!r}")
    return value.lower() == "true"


class RootDataSource(DataSource):
    """The ``root`` format (see module doc)."""

    @classmethod
    def name(cls) -> str:
        return "root"

    def __init__(self, options: dict[str, str]):
        super().__init__(options)
        self._options = {k.lower(): v for k, v in options.items()}
        self._paths: list[str] | None = None
        self._layout: TreeLayout | None = None

    @property
    def tree_name(self) -> str:
        return self._options.get("tree", DEFAULT_TREE)

    @property
    def skip_bad_files(self) -> bool:
        return _flag(self._options, "skipBadFiles")

    def _inputs(self) -> list[str]:
        if self._paths is None:
            if "paths" in self._options:
                inputs = json.loads(self._options["paths"])
            elif "path" in self._options:
                inputs = [self._options["path"]]
            else:
                raise InputError("no input: give load() a file, folder, glob, URL or a list")
            self._paths = expand_inputs(inputs)
        return self._paths

    def _requested(self) -> list[str]:
        text = self._options.get("branches", "")
        return [b.strip() for b in text.split(",") if b.strip()]

    def _first_layout(self) -> TreeLayout:
        if self._layout is None:
            self._layout = first_layout(
                self._inputs(), self.tree_name, self._requested(), self.skip_bad_files
            )
        return self._layout

    def schema(self) -> StructType:
        from pyspark.sql.pandas.types import from_arrow_schema

        layout = self._first_layout()
        return from_arrow_schema(layout.arrow_schema(_flag(self._options, "sourceColumns", True)))

    def reader(self, schema: StructType) -> RootReader:
        paths = self._inputs()
        requested = names_in_schema(schema) or self._requested()
        layout = first_layout(paths, self.tree_name, requested, self.skip_bad_files)
        sizes, bad = file_sizes(paths, self.skip_bad_files)
        for path, reason in bad.items():
            log.warning("skipping %s: %s", path, reason)
        slices = plan_slices(
            sizes,
            int(self._options.get("partitionbytes", DEFAULT_PARTITION_BYTES)),
            int(self._options.get("minpartitions", 1)),
        )
        return RootReader(
            tree_name=self.tree_name,
            layout=layout,
            partitions=[RootPartition(tuple(s)) for s in slices],
            source_columns=SOURCE_FILE_COLUMN in schema.fieldNames(),
            skip_bad_files=self.skip_bad_files,
            batch_events=int(self._options.get("batchevents", DEFAULT_BATCH_EVENTS)),
            batch_bytes=int(self._options.get("batchbytes", DEFAULT_BATCH_BYTES)),
        )


class RootReader(DataSourceReader):
    """Reads the slices of one partition, one Arrow batch at a time (see module doc)."""

    def __init__(
        self,
        *,
        tree_name: str,
        layout: TreeLayout,
        partitions: list[RootPartition],
        source_columns: bool,
        skip_bad_files: bool,
        batch_events: int,
        batch_bytes: int,
    ):
        self.tree_name = tree_name
        self.layout = layout
        self.partitions_ = partitions
        self.source_columns = source_columns
        self.skip_bad_files = skip_bad_files
        self.batch_events = batch_events
        self.batch_bytes = batch_bytes
        #: One record per file slice read (entries, compressed bytes) or skipped (the reason).
        self.records: list[dict] = []

    def _note(self, record: dict) -> None:
        if record.get("error"):
            log.warning("skipping %s: %s", record["path"], record["error"])
        self.records.append(record)

    def partitions(self) -> list[RootPartition]:
        return self.partitions_

    def _open(self, piece: FileSlice):
        """Open a slice's file and check it offers the layout; None if skipped."""
        try:
            file, tree = open_tree(piece.path, self.tree_name)
        except RootFileError as exc:
            if not self.skip_bad_files:
                raise
            self._note({"path": piece.path, "slice": piece.index, "error": exc.reason})
            return None
        try:
            names = column_names(self.layout)
            found = infer_layout(tree).select(names, piece.path, self.tree_name)
            if found.arrow_schema() != self.layout.arrow_schema():
                raise RootFileError(piece.path, "branch types differ from the first file's")
            check_not_truncated(piece.path, file, tree, self.layout)
        except RootFileError as exc:
            file.close()
            if not self.skip_bad_files:
                raise
            self._note({"path": piece.path, "slice": piece.index, "error": exc.reason})
            return None
        return file, tree

    def read(self, partition: RootPartition) -> Iterator[pa.RecordBatch]:
        for piece in partition.slices:
            opened = self._open(piece)
            if opened is None:
                continue
            file, tree = opened
            with file:
                starts = cluster_starts(tree, self.layout)
                entries = slice_entries(piece.index, piece.count, tree.num_entries, starts)
                per_entry = sum(
                    tree[b].uncompressed_bytes for b in self.layout.branch_paths()
                ) / max(tree.num_entries, 1)
                batches = batch_ranges(
                    entries, starts, per_entry, self.batch_events, self.batch_bytes
                )
                for start, stop in batches:
                    try:
                        batch = read_record_batch(
                            tree,
                            self.layout,
                            start,
                            stop,
                            piece.path if self.source_columns else None,
                        )
                    except DLTriggerError:
                        raise
                    except Exception as exc:
                        raise RootFileError(
                            piece.path,
                            f"cannot read entries {start}-{stop} of tree {self.tree_name!r} "
                            f"({type(exc).__name__}: {exc})",
                        ) from None
                    yield batch
                self._note(
                    {
                        "path": piece.path,
                        "slice": piece.index,
                        "entries": len(entries),
                        "compressed_bytes": compressed_bytes(
                            tree, self.layout, entries.start, entries.stop
                        ),
                        "error": None,
                    },
                )


_REGISTERED: set[int] = set()


def register(spark) -> None:
    """Make ``spark.read.format("root")`` available in this session (once per session)."""
    if id(spark) not in _REGISTERED:
        spark.dataSource.register(RootDataSource)
        _REGISTERED.add(id(spark))
