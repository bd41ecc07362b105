"""Partition planning of the ``root`` data source: pure functions, no file is opened here.

Planning uses only file sizes on disk, so thousands of files (or remote ones) are planned
without reading a single ROOT header on the driver; every file is opened once, by the task
that reads it. A file larger than the byte bound is cut into ``count`` slices of equal entry
fractions; the reader snaps each slice's ends to the tree's cluster boundaries (the same
snapping for neighbouring slices, so they never overlap or leave a gap) and reads it in
batches bounded in entries and bytes, so memory stays bounded whatever the file sizes.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class FileSlice:
    """Slice ``index`` of ``count`` equal entry fractions of one file."""

    path: str
    index: int
    count: int
    size: int  # bytes on disk of the whole file


def plan_slices(
    sizes: list[tuple[str, int]], max_bytes: int, min_partitions: int = 1
) -> list[list[FileSlice]]:
    """Group file slices into partitions of about ``max_bytes`` bytes on disk.

    ``min_partitions`` lowers the bound so that small inputs still make about that many
    partitions (one per core); small files are packed together.
    """
    total = sum(size for _, size in sizes)
    target = max(1, min(max_bytes, math.ceil(total / max(min_partitions, 1))))
    partitions: list[list[FileSlice]] = []
    current: list[FileSlice] = []
    filled = 0.0
    for path, size in sizes:
        count = max(1, math.ceil(size / target))
        for index in range(count):
            share = size / count
            if current and filled + share > target:
                partitions.append(current)
                current, filled = [], 0.0
            current.append(FileSlice(path, index, count, size))
            filled += share
    if current:
        partitions.append(current)
    return partitions


def snap(entry: int, cluster_starts: list[int]) -> int:
    """The cluster start nearest to ``entry`` (ties go to the earlier one)."""
    i = bisect.bisect_left(cluster_starts, entry)
    candidates = cluster_starts[max(i - 1, 0) : i + 1]
    return min(candidates, key=lambda c: (abs(c - entry), c))


def slice_entries(index: int, count: int, entries: int, cluster_starts: list[int]) -> range:
    """Entries of slice ``index``/``count``, with both ends on cluster boundaries."""
    boundaries = sorted(set(cluster_starts) | {0, entries})

    def edge(k: int) -> int:
        return entries if k == count else snap(entries * k // count, boundaries)

    return range(edge(index), edge(index + 1))


def batch_ranges(
    entries: range,
    cluster_starts: list[int],
    bytes_per_entry: float,
    max_events: int,
    max_bytes: int,
) -> list[tuple[int, int]]:
    """Cut ``entries`` into batches at cluster starts, each within the bounds where possible.

    A single cluster larger than the bounds is cut inside it (memory stays bounded; its
    baskets are then decompressed by more than one batch).
    """
    by_bytes = int(max_bytes / bytes_per_entry) if bytes_per_entry > 0 else max_events
    limit = max(1, min(max_events, by_bytes))
    inside = [c for c in cluster_starts if entries.start < c < entries.stop]
    boundaries = [entries.start, *inside, entries.stop]
    batches: list[tuple[int, int]] = []
    start = entries.start
    for previous, boundary in itertools.pairwise(boundaries):
        if boundary - start > limit and previous > start:
            batches.append((start, previous))
            start = previous
        while boundary - start > limit:
            batches.append((start, start + limit))
            start += limit
    if entries.stop > start:
        batches.append((start, entries.stop))
    return batches
