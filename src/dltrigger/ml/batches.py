"""Batches from a features dataset (``full/``, ``balanced/`` or ``dev/``) in bounded memory.

Parquet row groups are read one at a time, in a seeded random order of files and row groups,
straight from Arrow buffers into numpy (no Python objects per event), scaled with the
training split's statistics saved beside the data, and pooled in a shuffle buffer of
``shuffle_buffer`` events: when the pool is full it is permuted, half of it leaves as
batches and the rest mixes with the next row groups. Each batch's particle lists are padded
only to its own longest list (capped at ``max_particles``, keeping the rows nearest the end,
i.e. nearest the lepton in the reference's descending-ΔR order); padding stays exactly zero
and is masked by the models. With ``bucket_by_length`` (the default of training), the events
leaving the pool are cut into batches of similar lengths (see [`_batch_indices`][]), which
are yielded in a random order. ``in_memory_batches`` holds a whole split instead (the HLF
model's 14 numbers per event fit easily). [`prefetch`][] runs a
stream in a background thread from the moment it is called.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from ..artifacts import Scaling
from ..errors import DatasetError
from ..schema import HLF_WIDTH, PARTICLE_WIDTH
from .dataset import COLUMNS, dataset_files
from .prefetch import prefetch

__all__ = ["Batch", "DatasetError", "Events", "Scaling", "iterate_batches", "load_split"]


@dataclass
class Batch:
    hlf: torch.Tensor  # (B, 14) scaled
    particles: torch.Tensor | None  # (B, L, 19) scaled, zero padding; None: HLF only
    lengths: torch.Tensor | None  # (B,) real rows
    labels: torch.Tensor  # (B,)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Events:
    """Events as flat numpy arrays: particle rows of all events end to end with ``counts``."""

    labels: np.ndarray  # (N,) int64
    hlf: np.ndarray  # (N, 14) float32, scaled
    counts: np.ndarray | None  # (N,) particle rows per event; None: HLF only
    rows: np.ndarray | None  # (sum(counts), 19) float32, scaled

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Events:
        """The events at ``index``, in that order."""
        if self.counts is None:
            return Events(self.labels[index], self.hlf[index], None, None)
        assert self.rows is not None  # counts and rows are set together
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])[index]
        counts = self.counts[index]
        return Events(
            self.labels[index], self.hlf[index], counts, self.rows[_ragged_index(starts, counts)]
        )

    @staticmethod
    def concatenate(parts: list[Events]) -> Events:
        with_particles = parts[0].counts is not None
        return Events(
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.hlf for p in parts]),
            np.concatenate([p.counts for p in parts]) if with_particles else None,
            np.concatenate([p.rows for p in parts]) if with_particles else None,
        )


def _ragged_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Flat row numbers of the ranges ``[start, start + count)``, one range after another."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return np.arange(total, dtype=np.int64) + shift


def _flat_values(array: pa.ChunkedArray | pa.Array, width: int, what: str) -> np.ndarray:
    """``list<float>`` values of fixed ``width`` as a ``(n, width)`` float32 array."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    sizes = np.diff(array.offsets.to_numpy(zero_copy_only=False))
    if len(sizes) and (sizes != width).any():
        bad = int(sizes[sizes != width][0])
        raise DatasetError(f"{what} has {bad} numbers per entry, expected {width}")
    values = array.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(-1, width)


def events_from_table(
    table: pa.Table, scaling: Scaling, max_particles: int, with_particles: bool
) -> Events:
    """Scaled numpy events from a features table (particle lists capped at their last rows)."""
    labels = table.column("label").to_numpy().astype(np.int64)
    hlf = _flat_values(table.column("hlf"), HLF_WIDTH, "hlf")
    if not with_particles:
        return Events(labels, scaling.scale_hlf(hlf), None, None)
    particles = table.column("particles").combine_chunks()
    rows = _flat_values(particles.flatten(), PARTICLE_WIDTH, "particles")
    counts = np.diff(particles.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
    return model_inputs(labels, hlf, rows, counts, scaling, max_particles)


def model_inputs(
    labels: np.ndarray,
    hlf: np.ndarray,
    rows: np.ndarray,
    counts: np.ndarray,
    scaling: Scaling,
    max_particles: int,
) -> Events:
    """Unscaled features as the models take them: each particle list capped at its last
    ``max_particles`` rows (those nearest the lepton), HLF and rows standardised. The one
    cap-and-scale of training, evaluation and the ONNX trigger; [`padded`][] pads."""
    kept = np.minimum(counts, max_particles)
    starts = np.cumsum(counts) - counts
    rows = rows[_ragged_index(starts + counts - kept, kept)]
    return Events(labels, scaling.scale_hlf(hlf), kept, scaling.scale_particles(rows))


def padded(rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Ragged rows zero-padded to ``(events, longest list (at least 1), width)``."""
    out = np.zeros((len(counts), max(int(counts.max(initial=0)), 1), rows.shape[1]), np.float32)
    event = np.repeat(np.arange(len(counts)), counts)
    out[event, _ragged_index(np.zeros_like(counts), counts)] = rows
    return out


def to_batch(events: Events) -> Batch:
    """A training batch: particle lists zero-padded to the batch's longest one."""
    labels = torch.from_numpy(events.labels)
    hlf = torch.from_numpy(np.ascontiguousarray(events.hlf, dtype=np.float32))
    if events.counts is None:
        return Batch(hlf, None, None, labels)
    assert events.rows is not None  # counts and rows are set together
    particles = torch.from_numpy(padded(events.rows, events.counts))
    return Batch(hlf, particles, torch.from_numpy(events.counts), labels)


#: Length buckets: consecutive (already shuffled) events sorted by length together, in groups
#: of this many batches. Groups, rather than the whole pool, so that which events share a
#: batch changes from epoch to epoch even when the pool holds the whole split; 32 batches
#: keep the padding within ~10% of a full sort (demo data: 1.06x the real rows at batch 32,
#: 1.08x at 128, against 2.2x and 2.5x for random batches).
BUCKET_BATCHES = 32


def _batch_indices(
    n: int, batch_size: int, rng: np.random.Generator | None, lengths: np.ndarray | None = None
) -> list[np.ndarray]:
    """Index arrays of consecutive batches of ``n`` events (already in random order).

    With ``lengths`` (length buckets), each group of [`BUCKET_BATCHES`][] batches' worth of
    events is sorted by particle-list length before it is cut into batches, and all the
    batches are then returned in a random order: each batch pads little, consecutive batches
    have unrelated lengths, and every event is still in exactly one batch.
    """
    order = np.arange(n)
    if lengths is not None:
        group = BUCKET_BATCHES * batch_size
        order = np.concatenate(
            [start + np.argsort(lengths[start : start + group], kind="stable")
             for start in range(0, n, group)] or [order]
        )  # fmt: skip
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if lengths is not None and rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _shard(order: np.ndarray, shard: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int] | None]:
    """A rank's row groups: every world-th of the (epoch-shuffled) order, so ranks read
    disjoint files; with fewer row groups than ranks, every rank reads all of them and keeps
    every world-th event instead."""
    rank, world = shard
    if world == 1:
        return order, None
    if len(order) >= world:
        return order[rank::world], None
    return order, (rank, world)


def _row_groups(folder: Path) -> list[tuple[Path, int]]:
    return [(f, g) for f in dataset_files(folder) for g in range(pq.ParquetFile(f).num_row_groups)]


def _read_events(
    path: Path, group: int, split: str, columns: list[str], scaling: Scaling, max_particles: int
) -> Events:
    table = pq.ParquetFile(path).read_row_group(group, columns=columns)
    table = table.filter(pc.equal(table.column("split"), split))
    try:
        return events_from_table(table, scaling, max_particles, "particles" in columns)
    except DatasetError as exc:
        raise DatasetError(f"{path} (row group {group}): {exc}") from None


def iterate_batches(
    folder: Path,
    split: str,
    batch_size: int,
    seed: int = 0,
    shuffle_buffer: int = 10_000,
    max_particles: int = 801,
    scaling: Scaling | None = None,
    with_particles: bool = True,
    bucket_by_length: bool = False,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[Batch]:
    """Batches of ``split`` ('train', 'validation' or 'test'), shuffled through a bounded buffer.

    ``shuffle_buffer <= 1`` keeps the dataset's order (for evaluation);
    ``bucket_by_length`` batches events of similar lengths among those leaving the buffer,
    in a random batch order ([`_batch_indices`][]);
    ``shard=(rank, world)`` yields only this data-parallel rank's share (see [`_shard`][]).
    """
    folder = Path(folder)
    scaling = scaling or Scaling.load(folder)
    rng = np.random.default_rng(seed)
    groups = _row_groups(folder)
    shuffle = shuffle_buffer > 1
    order = rng.permutation(len(groups)) if shuffle else np.arange(len(groups))
    order, stride = _shard(order, shard)
    columns = list(COLUMNS) if with_particles else ["label", "split", "hlf"]

    def read() -> Iterator[Events]:
        for index in order:
            path, group = groups[index]
            events = _read_events(path, int(group), split, columns, scaling, max_particles)
            if stride is not None:
                events = events.take(np.arange(stride[0], len(events), stride[1]))
            yield events

    # the next row group decodes in its own thread while this pool's batches are taken
    parts = prefetch(read(), depth=1)
    try:
        yield from _pooled_batches(parts, batch_size, rng, shuffle_buffer, bucket_by_length)
    finally:
        parts.close()


def _pooled_batches(
    parts: Iterator[Events],
    batch_size: int,
    rng: np.random.Generator,
    shuffle_buffer: int,
    bucket_by_length: bool,
) -> Iterator[Batch]:
    shuffle = shuffle_buffer > 1
    pool: list[Events] = []
    pooled = 0
    threshold = max(shuffle_buffer, batch_size)
    for events in parts:
        if not len(events):
            continue
        pool.append(events)
        pooled += len(events)
        if pooled < threshold:
            continue
        events = Events.concatenate(pool)
        if shuffle:
            events = events.take(rng.permutation(len(events)))
        keep = threshold // 2 if shuffle else len(events) % batch_size
        leave = (len(events) - keep) // batch_size * batch_size
        lengths = events.counts[:leave] if bucket_by_length and events.counts is not None else None
        for index in _batch_indices(leave, batch_size, rng, lengths):
            yield to_batch(events.take(index))
        rest = events.take(np.arange(leave, len(events)))
        pool, pooled = [rest], len(rest)
    if pooled:
        events = Events.concatenate(pool)
        if shuffle:
            events = events.take(rng.permutation(len(events)))
        lengths = events.counts if bucket_by_length else None
        for index in _batch_indices(len(events), batch_size, rng, lengths):
            yield to_batch(events.take(index))


def load_split(
    folder: Path,
    split: str,
    max_particles: int = 801,
    scaling: Scaling | None = None,
    with_particles: bool = False,
    shard: tuple[int, int] = (0, 1),
) -> Events:
    """A whole split in memory (for the HLF model, ~60 bytes per event); ``shard=(rank,
    world)`` keeps every world-th event."""
    folder = Path(folder)
    scaling = scaling or Scaling.load(folder)
    columns = list(COLUMNS) if with_particles else ["label", "split", "hlf"]
    parts = [
        _read_events(path, group, split, columns, scaling, max_particles)
        for path, group in _row_groups(folder)
    ]
    events = Events.concatenate(parts)
    if not len(events):
        raise DatasetError(f"{folder}: no {split!r} events")
    rank, world = shard
    return events if world == 1 else events.take(np.arange(rank, len(events), world))


def in_memory_batches(
    events: Events,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    bucket_by_length: bool = False,
) -> Iterator[Batch]:
    """Batches of events already in memory, in a seeded random order (or in order)."""
    rng = np.random.default_rng(seed) if shuffle else None
    order = rng.permutation(len(events)) if rng is not None else np.arange(len(events))
    lengths = events.counts[order] if bucket_by_length and events.counts is not None else None
    for index in _batch_indices(len(events), batch_size, rng, lengths):
        yield to_batch(events.take(order[index]))
