"""This process's part of a training: the device it runs on, torch's CPU threads, its place
in a data-parallel run ([`Replica`][]) and the batches of each epoch ([`BatchSource`][]).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ..artifacts import FeaturesDataset
from ..config import TrainConfig
from .batches import Batch, Events, in_memory_batches, iterate_batches, load_split
from .prefetch import Prefetched, prefetch

__all__ = ["BatchSource", "Replica", "resolve_device", "torch_threads"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass(frozen=True)
class Replica:
    """This process's place in a data-parallel run (rank 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


#: Batches made ahead of the steps: enough to cover a flush of the shuffle pool (~0.1 s for
#: 10,000 events with particle lists) at ~30 ms per step; a few MB.
BATCHES_AHEAD = 16


def torch_threads(
    config: TrainConfig, cores: int | None = None, local_processes: int | None = None
) -> int:
    """Torch's CPU threads for this process: ``threads`` when set; else this process's share
    of its cores (data-parallel processes on one machine, ``LOCAL_WORLD_SIZE``, split them),
    less one for the loader thread when the data streams.

    Measured on 2 cores (docs/benchmarks.md, scale section): torch on both cores starves the
    loader thread (the inclusive epoch ran at 615 samples/s against 1,056 with one thread),
    and the GRU's bare steps are no faster on two threads (1,439 against 1,508 samples/s).
    """
    if config.threads:
        return config.threads
    cores = cores or len(os.sched_getaffinity(0))
    local = local_processes or int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    share = max(1, cores // max(local, 1))
    return max(1, share - (0 if config.holds_in_memory() else 1))


class BatchSource:
    """The batches of one split for each epoch: streamed from Parquet, or held in memory.

    Training batches are this replica's shard; the validation split is read whole (rank 0
    validates) without a shuffle pool, always in length buckets (its loss, accuracy and AUC do
    not depend on how its events are batched). [`start`][] begins an epoch's stream ahead
    of its use (its loader thread fills the shuffle pool meanwhile); [`close`][] stops those
    started and not used.
    """

    def __init__(self, config: TrainConfig, replica: Replica = Replica()):
        self.config = config
        data = config.data
        assert data is not None  # train() refuses a config without data before any loop runs
        self.data: Path = data
        self.shard = (replica.rank, replica.world)
        self._memory: dict[str, Events] = {}
        self._started: dict[tuple[str, int], Iterator[Batch]] = {}

    def split_size(self, split: str) -> int | None:
        if split in self._memory:
            return len(self._memory[split])
        size = FeaturesDataset(self.data).manifest().get("per_split", {}).get(split)
        return None if size is None else -(-size // self.shard[1])

    def start(self, split: str, epoch: int) -> None:
        """Begin producing ``split``'s batches of ``epoch`` now (streamed splits only: held in
        memory there is nothing to prepare); the next ``source(split, epoch)`` returns them."""
        if not self.config.holds_in_memory() and (split, epoch) not in self._started:
            self._started[split, epoch] = self._open(split, epoch)

    def close(self) -> None:
        for batches in self._started.values():
            if isinstance(batches, Prefetched):
                batches.close()
        self._started.clear()

    def __call__(self, split: str, epoch: int) -> Iterator[Batch]:
        started = self._started.pop((split, epoch), None)
        return started if started is not None else self._open(split, epoch)

    def _open(self, split: str, epoch: int) -> Iterator[Batch]:
        c = self.config
        train = split == "train"
        seed = c.seed * 1000 + epoch
        shard = self.shard if train else (0, 1)
        if c.holds_in_memory():
            if split not in self._memory:
                self._memory[split] = load_split(
                    self.data, split, c.max_particles, with_particles=c.uses_particles(),
                    shard=shard,
                )  # fmt: skip
            return in_memory_batches(
                self._memory[split], c.batch_size, seed, shuffle=train,
                bucket_by_length=c.bucket_by_length and train,
            )  # fmt: skip
        return prefetch(
            iterate_batches(
                self.data,
                split,
                c.batch_size,
                seed=seed,
                shuffle_buffer=c.shuffle_buffer if train else 1,
                max_particles=c.max_particles,
                with_particles=c.uses_particles(),
                # validation: always buckets (metrics do not depend on the batches; less padding)
                bucket_by_length=c.bucket_by_length or not train,
                shard=shard,
            ),
            depth=BATCHES_AHEAD,
        )
