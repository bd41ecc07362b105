"""Batches from a features dataset (``full/``, ``balanced/`` or ``dev/``) in bounded memory.

Parquet row groups are read one at a time, in a seeded random order of files and row groups,
into a shuffle buffer of ``shuffle_buffer`` events; batches are drawn from the buffer. Each
batch's particle lists are padded only to its own longest list (capped at ``max_particles``,
keeping the rows nearest the end, i.e. nearest the lepton in the reference's descending-ΔR
order), and scaled with the training split's statistics saved beside the data (padding stays
exactly zero and is masked by the models).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from ..errors import DLTriggerError

HLF_WIDTH, PARTICLE_WIDTH = 14, 19
COLUMNS = ("label", "split", "hlf", "particles")


class DatasetError(DLTriggerError):
    """A dataset that cannot be trained on (names the folder or file and what is wrong)."""


@dataclass(frozen=True)
class Scaling:
    """Standardisation of HLF and particle features (training-split statistics)."""

    hlf_mean: np.ndarray
    hlf_std: np.ndarray
    particle_mean: np.ndarray
    particle_std: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> Scaling:
        path = Path(folder) / "_scaling.json"
        if not path.exists():
            raise DatasetError(f"{folder}: no _scaling.json (is it a dltrigger features dataset?)")
        stats = json.loads(path.read_text())

        def safe(std):  # constant features (one-hot flags of one kind) are left unscaled
            std = np.asarray(std, dtype=np.float32)
            return np.where(std > 0, std, 1.0).astype(np.float32)

        return cls(
            np.asarray(stats["hlf"]["mean"], dtype=np.float32),
            safe(stats["hlf"]["std"]),
            np.asarray(stats["particles"]["mean"], dtype=np.float32),
            safe(stats["particles"]["std"]),
        )


@dataclass
class Batch:
    hlf: torch.Tensor  # (B, 14) scaled
    particles: torch.Tensor | None  # (B, L, 19) scaled, zero padding; None: HLF only
    lengths: torch.Tensor | None  # (B,) real rows
    labels: torch.Tensor  # (B,)

    def __len__(self) -> int:
        return len(self.labels)


def dataset_files(folder: Path) -> list[Path]:
    files = sorted(Path(folder).glob("part-*.parquet"))
    if not files:
        raise DatasetError(f"{folder}: no part-*.parquet files (empty or not a features dataset)")
    for path in files[:1]:
        names = pq.read_schema(path).names
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DatasetError(
                f"{path}: missing column {missing[0]!r} (columns: {', '.join(names)})"
            )
    return files


def _collate(rows: list[tuple], scaling: Scaling, max_particles: int) -> Batch:
    labels = torch.tensor([r[0] for r in rows], dtype=torch.long)
    hlf = np.asarray([r[1] for r in rows], dtype=np.float32)
    if hlf.ndim != 2 or hlf.shape[1] != HLF_WIDTH:
        raise DatasetError(f"hlf has shape {hlf.shape[1:]} per event, expected ({HLF_WIDTH},)")
    if rows[0][2] is None:  # HLF only
        return Batch(
            torch.from_numpy((hlf - scaling.hlf_mean) / scaling.hlf_std), None, None, labels
        )
    lists = [
        np.asarray(r[2], dtype=np.float32).reshape(-1, PARTICLE_WIDTH)[-max_particles:]
        for r in rows
    ]
    lengths = np.array([len(p) for p in lists])
    padded = np.zeros((len(rows), max(lengths.max(), 1), PARTICLE_WIDTH), dtype=np.float32)
    for i, p in enumerate(lists):
        padded[i, : len(p)] = (p - scaling.particle_mean) / scaling.particle_std
    return Batch(
        torch.from_numpy((hlf - scaling.hlf_mean) / scaling.hlf_std),
        torch.from_numpy(padded),
        torch.from_numpy(lengths),
        labels,
    )


def iterate_batches(
    folder: Path,
    split: str,
    batch_size: int,
    seed: int = 0,
    shuffle_buffer: int = 10_000,
    max_particles: int = 801,
    scaling: Scaling | None = None,
    with_particles: bool = True,
) -> Iterator[Batch]:
    """Batches of ``split`` ('train' or 'test'), shuffled through a bounded buffer."""
    folder = Path(folder)
    scaling = scaling or Scaling.load(folder)
    rng = np.random.default_rng(seed)
    groups = [
        (f, g) for f in dataset_files(folder) for g in range(pq.ParquetFile(f).num_row_groups)
    ]
    order = rng.permutation(len(groups)) if shuffle_buffer > 1 else np.arange(len(groups))
    columns = list(COLUMNS) if with_particles else ["label", "split", "hlf"]
    buffer: list[tuple] = []

    def take(n: int) -> Batch:
        if shuffle_buffer > 1:
            picks = sorted(rng.choice(len(buffer), size=n, replace=False).tolist(), reverse=True)
            picked = [buffer[i] for i in picks]
            for i in picks:  # remove by moving the last element into the hole
                buffer[i] = buffer[-1]
                buffer.pop()
        else:
            picked = buffer[:n]
            del buffer[:n]
        return _collate(picked, scaling, max_particles)

    threshold = max(shuffle_buffer, batch_size)
    for index in order:
        path, group = groups[index]
        table = pq.ParquetFile(path).read_row_group(int(group), columns=columns).to_pydict()
        for i, s in enumerate(table["split"]):
            if s == split:
                particles = table["particles"][i] if with_particles else None
                buffer.append((table["label"][i], table["hlf"][i], particles))
        while len(buffer) >= threshold:
            yield take(batch_size)
    while buffer:
        yield take(min(batch_size, len(buffer)))
