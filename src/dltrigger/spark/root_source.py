"""``spark.read.format("root")``: ROOT trees as a Spark DataFrame, through uproot and Arrow.

Usage:

    from dltrigger.spark.root_source import register
    register(spark)
    df = (spark.read.format("root")
          .option("tree", "Delphes")
          .option("branches", "Electron,Muon,MissingET")   # optional
          .load(["data/raw/*.root", "root://host:1094//store/file.root"]))

Options (all optional):

- ``tree``: tree name (default ``Delphes``);
- ``branches``: comma-separated collections, ``C.M`` members or scalars (default: all readable
  ones, which every file must then have); a user-given schema (``.schema(...)``) selects
  columns the same way;
- ``partitionBytes``: bytes on disk per partition (default 128 MiB); bigger files are cut into
  cluster-aligned slices, smaller ones packed together;
- ``minPartitions``: lower that bound until there are about this many partitions (the number of
  cores), so small inputs still use every core;
- ``batchEvents`` / ``batchBytes``: bounds of one Arrow batch, in entries and uncompressed
  bytes (defaults 100,000 and 256 MiB): the memory a task holds at a time;
- ``sourceColumns``: ``true`` (default) adds ``source_file`` and ``entry``;
- ``schemaFrom``: ``all`` (default) opens every file's tree on the driver and merges the layouts
  by name; ``first`` takes the first file's and checks every other against it by name in its
  task (a file that differs fails the read, naming it): one tree open fewer per file;
- ``skipBadFiles``: ``true`` leaves out files that cannot be opened, lack the tree or a branch
  (or a collection other files have), have a branch of a conflicting type, or are truncated,
  instead of failing (a file corrupt *inside* its data, a basket that cannot be read or a
  value no collision can produce (dltrigger.bounds), still fails the read: part of it would
  already have been used);

Skipped files are logged (logger ``dltrigger``) by the task that skips them; the reader also
keeps one record per file slice (entries and compressed bytes read, or the skip reason), from
which ``dltrigger ingest`` builds its report.

The driver opens every file's tree once for the schema ([`survey`][], in threads: the
layouts are merged by collection and member name, so file order never matters and no file's
collections are dropped to match another's; ``schemaFrom=first`` opens only the first); each
file is then opened again by the task that reads it, which checks it against the schema by
name (see root_planning.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import ArrayType, StructType

from ..errors import (
    BranchNotFoundError,
    InputError,
    RootFileError,
    SchemaMismatchError,
)
from ..io.paths import expand_inputs
from ..io.root_layout import missing_names
from ..io.root_reader import (
    ENTRY_COLUMN,
    SOURCE_FILE_COLUMN,
    TreeLayout,
    bind,
    check_not_truncated,
    cluster_starts,
    compressed_bytes,
    infer_layout,
    open_tree,
    read_record_batch,
)
from ..io.root_survey import (
    Survey,
    cache_survey,
    cached_survey,
    file_sizes,
    first_layout,
    stamps,
    survey,
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


def names_in_schema(schema: StructType) -> list[str]:
    """Collections' members (``C.M``) and scalars named by a user-given schema."""
    names: list[str] = []
    for f in schema.fields:
        if f.name in (SOURCE_FILE_COLUMN, ENTRY_COLUMN):
            continue
        element = f.dataType.elementType if isinstance(f.dataType, ArrayType) else None
        if isinstance(element, StructType):
            names.extend(f"{f.name}.{m}" for m in element.fieldNames())
        else:
            names.append(f.name)
    return names


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
        self._surveys: dict[tuple[str, ...], Survey] = {}

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

    @property
    def schema_from_first(self) -> bool:
        value = self._options.get("schemafrom", "all")
        if value not in ("all", "first"):
            raise InputError(f"option schemaFrom must be all or first, got {value!r}")
        return value == "first"

    def _cache_key(self, requested: list[str]) -> tuple:
        paths = self._inputs()
        return (tuple(paths), stamps(paths), self.tree_name, tuple(requested),
                self.skip_bad_files, self.schema_from_first)  # fmt: skip

    def _survey(self, requested: list[str]) -> Survey:
        key = tuple(requested)
        if key not in self._surveys:
            paths = self._inputs()
            # Spark plans schema() and reader() in separate Python workers: the survey is kept
            # in a small file on the driver's machine for a while, keyed by the files' sizes
            # and times, so that the files' trees are opened once per read.
            found = cached_survey(self._cache_key(requested))
            if found is None:
                if self.schema_from_first:
                    layout, bad = first_layout(
                        paths, self.tree_name, requested, self.skip_bad_files
                    )
                    found = Survey(layout, [p for p in paths if p not in bad], bad)
                else:
                    found = survey(paths, self.tree_name, requested, self.skip_bad_files)
                cache_survey(self._cache_key(requested), found)
            self._surveys[key] = found
        return self._surveys[key]

    def schema(self) -> StructType:
        from pyspark.sql.pandas.types import from_arrow_schema

        found = self._survey(self._requested())
        # reader() gets this schema back and asks for exactly its columns: the same survey
        cache_survey(self._cache_key(found.layout.column_names()), found)
        layout = found.layout
        return from_arrow_schema(layout.arrow_schema(_flag(self._options, "sourceColumns", True)))

    def reader(self, schema: StructType) -> RootReader:
        requested = names_in_schema(schema) or self._requested()
        found = self._survey(requested)
        layout = found.layout
        # Reading every column of the first file: a file with more is a disagreement too.
        read_all = self.schema_from_first and not self._requested()
        if read_all:
            read_all = set(requested) == set(self._survey([]).layout.column_names())
        sizes, bad = file_sizes(found.paths, self.skip_bad_files)
        for path, reason in {**found.bad, **bad}.items():
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
            speculative=self.schema_from_first,
            read_all=read_all,
            record_disagreements=False,
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
        spark_types: bool = True,
        speculative: bool = False,
        read_all: bool = False,
        record_disagreements: bool = True,
        skip_corrupt: bool = False,
    ):
        self.tree_name = tree_name
        self.layout = layout
        self.partitions_ = partitions
        self.source_columns = source_columns
        self.skip_bad_files = skip_bad_files
        self.batch_events = batch_events
        self.batch_bytes = batch_bytes
        #: ``layout`` is one file's, not yet every file's: a file that disagrees with it is
        #: recorded (``disagrees``), not read; ``read_all``: the layout is the whole file's, so
        #: a file with more is a disagreement too.
        self.speculative = speculative
        self.read_all = read_all
        #: A disagreeing file: recorded for the caller to merge and re-read (ingest), or an
        #: error (the data source with ``schemaFrom=first``, which cannot re-plan).
        self.record_disagreements = record_disagreements
        #: A file whose data turn out unreadable mid-way is recorded (``partial``) and the
        #: reader goes on with the next; the caller removes its rows already passed on
        #: (ingest does; a DataFrame cannot take back rows, so the source fails instead).
        self.skip_corrupt = skip_corrupt
        #: Spark's Arrow reader takes no fixed-size lists: make them plain lists (ingest keeps
        #: them fixed in Parquet).
        self.spark_schema = (
            _spark_schema(layout.arrow_schema(source_columns)) if spark_types else None
        )
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
            whole = self.speculative and self.read_all
            found = infer_layout(tree, None if whole else self.layout.top_names())
            if self.speculative:
                reason = self._disagreement(found, piece.path)
                if reason and not self.record_disagreements:
                    raise RootFileError(
                        piece.path,
                        f"{reason}; the schema is the first file's (schemaFrom=first): load with "
                        "schemaFrom=all to merge every file's by name",
                    )
                if reason:
                    file.close()
                    self.records.append({"path": piece.path, "slice": piece.index,
                                         "error": None, "disagrees": reason})  # fmt: skip
                    return None
            layout = bind(self.layout, found, piece.path, self.tree_name)
            check_not_truncated(piece.path, file, tree, layout)
        except RootFileError as exc:
            file.close()
            if not self.skip_bad_files:
                raise
            self._note({"path": piece.path, "slice": piece.index, "error": exc.reason})
            return None
        return file, tree, layout

    def _disagreement(self, found: TreeLayout, path: str) -> str | None:
        """Why a file does not fit the speculative layout (None if it does)."""
        if self.read_all:
            more = missing_names(self.layout, found)
            if more:
                return f"has {', '.join(more[:3])} that the first file lacks"
        try:
            bind(self.layout, found, path, self.tree_name)
        except (BranchNotFoundError, SchemaMismatchError) as exc:
            return exc.reason
        except RootFileError as exc:  # a member the first file reads is unreadable here
            return exc.reason
        return None

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, RootPartition)  # Spark hands back what partitions() made
        for piece in partition.slices:
            opened = self._open(piece)
            if opened is None:
                continue
            file, tree, layout = opened
            with file:
                starts = cluster_starts(tree, layout)
                entries = slice_entries(piece.index, piece.count, tree.num_entries, starts)
                per_entry = sum(tree[b].uncompressed_bytes for b in layout.branch_paths()) / max(
                    tree.num_entries, 1
                )
                batches = batch_ranges(
                    entries, starts, per_entry, self.batch_events, self.batch_bytes
                )
                failed = None
                for start, stop in batches:
                    try:
                        batch = read_record_batch(
                            tree,
                            layout,
                            start,
                            stop,
                            piece.path if self.source_columns else None,
                        )
                    except Exception as exc:
                        failed = exc if isinstance(exc, RootFileError) else RootFileError(
                            piece.path,
                            f"cannot read entries {start}-{stop} of tree {self.tree_name!r} "
                            f"({type(exc).__name__}: {exc})",
                        )  # fmt: skip
                        if not self.skip_corrupt:
                            raise failed from None
                        break
                    if self.spark_schema is not None:
                        batch = _cast(batch, self.spark_schema)
                    yield batch
                if failed is not None:
                    self._note({"path": piece.path, "slice": piece.index,
                                "error": failed.reason, "partial": True})  # fmt: skip
                    continue
                self._note(
                    {
                        "path": piece.path,
                        "slice": piece.index,
                        "entries": len(entries),
                        "compressed_bytes": compressed_bytes(
                            tree, layout, entries.start, entries.stop
                        ),
                        "error": None,
                    },
                )


def _plain_lists(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_fixed_size_list(dtype) or pa.types.is_list(dtype):
        return pa.list_(_plain_lists(dtype.value_type))
    if pa.types.is_struct(dtype):
        return pa.struct([f.with_type(_plain_lists(f.type)) for f in dtype])
    return dtype


def _spark_schema(schema: pa.Schema) -> pa.Schema | None:
    """``schema`` with fixed-size lists made plain, or None if it has none."""
    plain = pa.schema([f.with_type(_plain_lists(f.type)) for f in schema])
    return None if plain.equals(schema) else plain


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    return pa.Table.from_batches([batch]).cast(schema).combine_chunks().to_batches()[0]


_REGISTERED: set[int] = set()


def register(spark) -> None:
    """Make ``spark.read.format("root")`` available in this session (once per session)."""
    if id(spark) not in _REGISTERED:
        spark.dataSource.register(RootDataSource)
        _REGISTERED.add(id(spark))
