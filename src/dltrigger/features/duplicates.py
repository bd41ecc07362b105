"""Selected events that repeat (the same content key, physics/split.py) across the dataset.

An event in two ingested files (a renamed or merged copy of a file) or twice in one has one
content key: its copies share their split (no copy of a training event is tested on), and this
module finds them after the ``full`` parts are written, with one Spark SQL job (run locally:
Arrow in this process) over the parts' ``event_key`` column (grouped by key across every task's
output, so copies in files read by different tasks are found; only counts per pair of files
and, when dropping, the repeated keys per part reach the driver). The copy kept of each event
is the lowest (``source_file``, ``entry``, part): the same whatever the partitioning or the
order of the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: File pairs listed in the manifest and in the warning (the most repeated events first).
SHOWN_PAIRS = 5

#: One part's repeated events: the keys of its rows that repeat, and those of them whose kept
#: copy lies in this part.
PartDuplicates = tuple[np.ndarray, np.ndarray]


@dataclass
class Duplicates:
    """Repeated selected events: ``events`` copies beyond the first of each repeated event."""

    events: int = 0
    #: Events with more than one copy.
    keys: int = 0
    #: Copies beyond the first, per label (the class of the copy).
    per_label: dict[int, int] = field(default_factory=dict)
    #: ``{"files": [file of the kept copy, file of the other], "events": n}``, most first.
    file_pairs: list[dict] = field(default_factory=list)
    #: Part file name -> its repeated keys (only when dropping).
    parts: dict[str, PartDuplicates] = field(default_factory=dict)

    def to_json(self, dropped: bool) -> dict:
        return {
            "events": self.events,
            "dropped": self.events if dropped else 0,
            "events_with_copies": self.keys,
            "file_pairs": self.file_pairs[:SHOWN_PAIRS],
            "file_pairs_total": len(self.file_pairs),
        }

    def describe(self, dropped: bool) -> str:
        shown = "; ".join(
            f"{p['events']} of {p['files'][0]} again in {p['files'][1]}"
            if p["files"][0] != p["files"][1]
            else f"{p['events']} again within {p['files'][0]}"
            for p in self.file_pairs[:SHOWN_PAIRS]
        )
        more = len(self.file_pairs) - SHOWN_PAIRS
        if more > 0:
            shown += f"; and {more} more pair(s) of files"
        fate = (
            'Only the first copy of each is kept (duplicates = "drop")'
            if dropped
            else 'Every copy is kept, in the split of the others (duplicates = "keep")'
        )
        return (
            f"{self.events} selected event(s) repeat others (the same content: {self.keys} "
            f"event(s) in more than one copy): {shown}. {fate}"
        )


def find_duplicates(folder: Path, *, drop: bool, spark=None) -> Duplicates:
    """The repeated events among the ``part-*.parquet`` of ``folder`` (a ``full`` dataset being
    written); with ``drop``, which keys each part holds a copy of.

    With ``spark``, one Spark action: the counts per pair of files and class (``drop`` false),
    or every row of a repeated event, summarised here (``drop``: the parts' keys are needed
    anyway). Without, the same in this process with Arrow (the parts' four small columns)."""
    if spark is not None:
        return _find_with_spark(spark, folder, drop)
    return _summarised(_copies(Path(folder)), drop)


#: The columns of a repeated event's row, with its copy number (1: the kept one) and where
#: the kept copy lies.
_GROUPS = ["first_file", "source_file", "label"]


def _find_with_spark(spark, folder: Path, drop: bool) -> Duplicates:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = spark.read.parquet(str(folder)).select(
        "event_key", "label", "source_file", "entry", F.col("_metadata.file_name").alias("part")
    )
    repeated = rows.groupBy("event_key").count().where("count > 1").select("event_key")
    order = Window.partitionBy("event_key").orderBy("source_file", "entry", "part")
    copies = rows.join(repeated, "event_key").select(
        "event_key",
        "label",
        "source_file",
        "part",
        F.row_number().over(order).alias("copy"),
        F.first("source_file").over(order).alias("first_file"),
        F.first("part").over(order).alias("first_part"),
    )
    if not drop:
        counted = (
            copies.where("copy > 1")
            .groupBy(*_GROUPS)
            .agg(F.count("*").alias("events"), F.count_if(F.col("copy") == 2).alias("keys"))
            .toArrow()
        )
        return _summary(counted)
    return _summarised(copies.toArrow(), drop)


def _copies(folder: Path):
    """The rows of repeated events, as [`_find_with_spark`][]'s ``copies``, with Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = []
    for part in sorted(folder.glob("part-*.parquet")):
        table = pq.read_table(part, columns=["event_key", "label", "source_file", "entry"])
        name = pa.array([part.name], pa.string()).take(np.zeros(table.num_rows, np.int32))
        tables.append(table.append_column("part", name))
    if not tables:
        return pa.table({"event_key": pa.array([], pa.int64())})
    rows = pa.concat_tables(tables)
    counts = rows.group_by("event_key").aggregate([("event_key", "count")])
    repeated = counts.filter(pc.greater(counts.column("event_key_count"), 1))
    copies = rows.filter(pc.is_in(rows.column("event_key"), value_set=repeated.column(0)))
    copies = copies.sort_by(
        [(c, "ascending") for c in ("event_key", "source_file", "entry", "part")]
    )
    keys = copies.column("event_key").to_numpy()
    index = np.arange(len(keys))
    starts = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, index, 0))
    return (
        copies.drop_columns(["entry"])
        .append_column("copy", pa.array(index - first + 1, pa.int32()))
        .append_column("first_file", copies.column("source_file").take(first))
        .append_column("first_part", copies.column("part").take(first))
    )


def _summarised(found, drop: bool) -> Duplicates:
    """Repeated events from the rows of their copies (``_copies``); with ``drop``, per part."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not found.num_rows:
        return Duplicates()
    others = found.filter(pc.greater(found.column("copy"), 1))
    second = pc.cast(pc.equal(others.column("copy"), 2), pa.int64())
    counted = (
        others.append_column("second", second)
        .group_by(_GROUPS)
        .aggregate([("copy", "count"), ("second", "sum")])
        .rename_columns([*_GROUPS, "events", "keys"])
    )
    summary = _summary(counted)
    if drop:
        summary.parts = _per_part(
            np.asarray(found.column("part").to_pylist(), dtype=object),
            found.column("event_key").to_numpy(),
            pc.equal(found.column("part"), found.column("first_part")).to_numpy(
                zero_copy_only=False
            ),
        )
    return summary


def _summary(counted) -> Duplicates:
    """Repeated events from their counts (``events``, ``keys``: the events counted at their
    second copy) per file of the first copy, file of the other and class (an Arrow table)."""
    per_label: dict[int, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    keys = 0
    for r in counted.to_pylist():
        per_label[int(r["label"])] = per_label.get(int(r["label"]), 0) + int(r["events"])
        pair = (r["first_file"], r["source_file"])
        pairs[pair] = pairs.get(pair, 0) + int(r["events"])
        keys += int(r["keys"])
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
    return Duplicates(
        events=sum(per_label.values()),
        keys=keys,
        per_label=per_label,
        file_pairs=[{"files": list(files), "events": n} for files, n in ranked],
    )


def _per_part(parts: np.ndarray, keys: np.ndarray, here: np.ndarray) -> dict[str, PartDuplicates]:
    names, codes = np.unique(parts, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    result = {}
    for i, name in enumerate(names):
        rows = order[bounds[i] : bounds[i + 1]]
        result[str(name)] = (np.unique(keys[rows]), np.unique(keys[rows][here[rows]]))
    return result


def repeated_rows(
    keys: np.ndarray, sources: np.ndarray, entries: np.ndarray, duplicates: PartDuplicates
) -> np.ndarray:
    """Which rows of one part are copies to drop: every row of a repeated key but, for the keys
    whose kept copy lies in this part, the lowest (source file, entry) row (the first of equal
    ones), which is the kept copy of [`find_duplicates`][]."""
    repeated, kept_here = duplicates
    drop = np.isin(keys, repeated)
    mine = np.flatnonzero(np.isin(keys, kept_here))
    if len(mine):
        # np.unique sorts, so the codes order the files as their names (Spark's order too).
        files = np.unique(sources[mine], return_inverse=True)[1]
        order = mine[np.lexsort((mine, entries[mine], files, keys[mine]))]
        first = np.r_[True, keys[order][1:] != keys[order][:-1]]
        drop[order[first]] = False
    return drop
