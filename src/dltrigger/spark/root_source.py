"""``spark.read.format("root")``: ROOT trees as a Spark DataFrame, through uproot and Arrow.

Usage::

    from dltrigger.spark.root_source import register
    register(spark)
    df = (spark.read.format("root")
          .option("tree", "Delphes")
          .option("branches", "Electron,MuonTight,MissingET")   # optional
          .load(["data/raw/*.root", "root://host:1094//store/file.root"]))

Options (all optional): ``tree`` (default ``Delphes``); ``branches`` (comma-separated
collections, ``C.M`` members or scalars; default all readable ones); ``partitionEvents`` and
``partitionBytes`` (upper bounds of one partition in entries and in uncompressed bytes of the
branches read); ``minPartitions`` (lower the entry bound until there are about this many
partitions, e.g. the number of cores, so small inputs still use every core);
``sourceColumns`` (``true``: add ``source_file`` and ``entry``);
``skipBadFiles`` (``true``: leave out files that cannot be opened or lack the tree or a
branch, instead of failing). A user-given schema (``.schema(...)``) selects the columns too.

Partitions are entry ranges aligned to the tree's cluster (basket) boundaries, cut where a
range would exceed the bounds; ranges of small files are packed together, so many small files
do not each cost a task. Each partition's reader yields one Arrow record batch per range.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from ..errors import DLTriggerError, InputError, RootFileError
from ..io.paths import expand_inputs
from ..io.root_reader import (
    ENTRY_COLUMN,
    SOURCE_FILE_COLUMN,
    TreeLayout,
    infer_layout,
    open_tree,
    read_record_batch,
)

DEFAULT_TREE = "Delphes"
DEFAULT_PARTITION_EVENTS = 100_000
DEFAULT_PARTITION_BYTES = 256 * 2**20


@dataclass(frozen=True)
class FileInfo:
    """What planning needs of one file: entries, cluster starts, sizes of the branches read."""

    path: str
    entries: int
    cluster_starts: tuple[int, ...]
    uncompressed_bytes: int
    compressed_bytes: int

    @property
    def bytes_per_entry(self) -> float:
        return self.uncompressed_bytes / self.entries if self.entries else 0.0


@dataclass(frozen=True)
class FileRange:
    path: str
    start: int
    stop: int


@dataclass(frozen=True)
class RootPartition(InputPartition):
    ranges: tuple[FileRange, ...]


def inspect_file(path: str, tree_name: str, requested: list[str]) -> tuple[FileInfo, TreeLayout]:
    """Open ``path`` and check its tree and the requested branches (errors name the file)."""
    file, tree = open_tree(path, tree_name)
    with file:
        layout = infer_layout(tree).select(requested, path, tree_name)
        branches = [tree[b] for b in layout.branch_paths()]
        entries = tree.num_entries
        _check_not_truncated(path, file, branches)
        try:
            names = layout.branch_paths()
            starts = tuple(int(x) for x in tree.common_entry_offsets(filter_name=names)[:-1])
        except Exception:
            starts = (0,)
        info = FileInfo(
            path=path,
            entries=entries,
            cluster_starts=starts or (0,),
            uncompressed_bytes=sum(b.uncompressed_bytes for b in branches),
            compressed_bytes=sum(b.compressed_bytes for b in branches),
        )
    return info, layout


def _check_not_truncated(path: str, file, branches) -> None:
    """Every basket of the branches read must lie inside the file (a cut-off copy opens
    fine, as ROOT keeps its directory near the start, and fails only when read)."""
    size = getattr(file.file.source, "num_bytes", None)
    if not size:
        return
    for branch in branches:
        n = branch.num_baskets
        if n == 0:
            continue
        seeks = branch.member("fBasketSeek")[:n]
        lengths = branch.member("fBasketBytes")[:n]
        ends = [int(s) + int(b) for s, b in zip(seeks, lengths, strict=True)]
        if max(ends) > size:
            raise RootFileError(
                path,
                f"truncated: branch {branch.name!r} has data up to byte {max(ends)} "
                f"but the file has {size} bytes",
            )


def inspect_files(
    paths: list[str], tree_name: str, requested: list[str], skip_bad_files: bool, threads: int = 8
) -> tuple[list[tuple[FileInfo, TreeLayout]], dict[str, str]]:
    """Inspect files in parallel (I/O bound); bad files raise, or are returned with reasons."""

    def attempt(path: str):
        try:
            return inspect_file(path, tree_name, requested)
        except DLTriggerError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(threads, max(len(paths), 1))) as pool:
        results = list(pool.map(attempt, paths))
    good, bad = [], {}
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, Exception):
            if not skip_bad_files:
                raise result
            bad[path] = result.reason if isinstance(result, RootFileError) else str(result)
        else:
            good.append(result)
    return good, bad


def common_layout(layouts: list[TreeLayout], paths: list[str], tree_name: str) -> TreeLayout:
    """The first file's layout; other files must offer at least its columns."""
    reference = layouts[0]
    names = [c.name for c in reference.collections] + [s.name for s in reference.scalars]
    for layout, path in zip(layouts[1:], paths[1:], strict=True):
        if layout.arrow_schema() != reference.arrow_schema():
            try:
                selected = layout.select(names, path, tree_name)
            except DLTriggerError as exc:
                raise RootFileError(path, f"its branches differ from {paths[0]}'s: {exc}") from None
            if selected.arrow_schema() != reference.arrow_schema():
                raise RootFileError(
                    path, f"branch types differ from {paths[0]}'s; select branches in common"
                )
    return reference


def plan_ranges(info: FileInfo, max_events: int, max_bytes: int) -> list[FileRange]:
    """Cut a file into entry ranges at cluster starts, each within the bounds where possible.

    A single cluster larger than the bounds is cut inside (memory stays bounded; its baskets
    are then decompressed by more than one range).
    """
    limit = max(
        1,
        min(
            max_events,
            int(max_bytes / info.bytes_per_entry) if info.bytes_per_entry else max_events,
        ),
    )
    boundaries = sorted(set(info.cluster_starts) | {info.entries})
    ranges: list[FileRange] = []
    start = 0
    for previous, boundary in itertools.pairwise(boundaries):
        if boundary - start > limit and previous > start:
            ranges.append(FileRange(info.path, start, previous))
            start = previous
        while boundary - start > limit:  # one cluster larger than the limit
            ranges.append(FileRange(info.path, start, start + limit))
            start += limit
    if info.entries > start:
        ranges.append(FileRange(info.path, start, info.entries))
    return ranges


def plan_partitions(
    infos: list[FileInfo], max_events: int, max_bytes: int, min_partitions: int = 1
) -> list[RootPartition]:
    """Pack ranges, in file order, into partitions within the bounds.

    With ``min_partitions``, the entry bound is lowered so that small inputs are still cut
    into about that many partitions (to keep every core busy).
    """
    total = sum(i.entries for i in infos)
    max_events = max(1, min(max_events, -(-total // max(min_partitions, 1))))
    partitions: list[RootPartition] = []
    current: list[FileRange] = []
    events = 0
    size = 0.0
    per_entry = {i.path: i.bytes_per_entry for i in infos}
    for info in infos:
        for r in plan_ranges(info, max_events, max_bytes):
            n = r.stop - r.start
            b = n * per_entry[r.path]
            if current and (events + n > max_events or size + b > max_bytes):
                partitions.append(RootPartition(tuple(current)))
                current, events, size = [], 0, 0.0
            current.append(r)
            events += n
            size += b
    if current:
        partitions.append(RootPartition(tuple(current)))
    return partitions


def _names_in_schema(schema: StructType) -> list[str]:
    """Collections' members (``C.M``) and scalars named by a user-given schema."""
    from pyspark.sql.types import ArrayType

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
        self._planned: tuple[list[tuple[FileInfo, TreeLayout]], TreeLayout] | None = None

    @property
    def tree_name(self) -> str:
        return self._options.get("tree", DEFAULT_TREE)

    def _inputs(self) -> list[str]:
        if "paths" in self._options:
            inputs = json.loads(self._options["paths"])
        elif "path" in self._options:
            inputs = [self._options["path"]]
        else:
            raise InputError("no input: give load() a file, folder, glob, URL or a list of them")
        return expand_inputs(inputs)

    def _requested(self, schema: StructType | None = None) -> list[str]:
        if schema is not None and len(schema.fields) > 0:
            return _names_in_schema(schema)
        text = self._options.get("branches", "")
        return [b.strip() for b in text.split(",") if b.strip()]

    def _plan(self, schema: StructType | None = None):
        if self._planned is None:
            paths = self._inputs()
            good, _bad = inspect_files(
                paths, self.tree_name, self._requested(schema), _flag(self._options, "skipBadFiles")
            )
            if not good:
                raise InputError(f"none of the {len(paths)} input file(s) could be read")
            layout = common_layout([g[1] for g in good], [g[0].path for g in good], self.tree_name)
            self._planned = (good, layout)
        return self._planned

    def schema(self) -> StructType:
        from pyspark.sql.pandas.types import from_arrow_schema

        _, layout = self._plan()
        return from_arrow_schema(layout.arrow_schema(_flag(self._options, "sourceColumns", True)))

    def reader(self, schema: StructType) -> RootReader:
        good, layout = self._plan()
        requested = self._requested(schema)
        if requested:
            layout = layout.select(requested, good[0][0].path, self.tree_name)
        max_events = int(self._options.get("partitionevents", DEFAULT_PARTITION_EVENTS))
        max_bytes = int(self._options.get("partitionbytes", DEFAULT_PARTITION_BYTES))
        min_partitions = int(self._options.get("minpartitions", 1))
        partitions = plan_partitions([g[0] for g in good], max_events, max_bytes, min_partitions)
        with_source = SOURCE_FILE_COLUMN in schema.fieldNames()
        return RootReader(self.tree_name, layout, partitions, with_source)


class RootReader(DataSourceReader):
    def __init__(
        self, tree_name: str, layout: TreeLayout, partitions: list[RootPartition], source: bool
    ):
        self.tree_name = tree_name
        self.layout = layout
        self._partitions = partitions
        self.source_columns = source

    def partitions(self) -> list[RootPartition]:
        return self._partitions

    def read(self, partition: RootPartition) -> Iterator[pa.RecordBatch]:
        open_path, file, tree = None, None, None
        try:
            for r in partition.ranges:
                if r.path != open_path:
                    if file is not None:
                        file.close()
                    file, tree = open_tree(r.path, self.tree_name)
                    open_path = r.path
                try:
                    yield read_record_batch(
                        tree, self.layout, r.start, r.stop, r.path if self.source_columns else None
                    )
                except DLTriggerError:
                    raise
                except Exception as exc:
                    raise RootFileError(
                        r.path,
                        f"cannot read entries {r.start}-{r.stop} of tree {self.tree_name!r} "
                        f"({type(exc).__name__}: {exc})",
                    ) from None
        finally:
            if file is not None:
                file.close()


def register(spark) -> None:
    """Make ``spark.read.format("root")`` available in this session."""
    spark.dataSource.register(RootDataSource)
