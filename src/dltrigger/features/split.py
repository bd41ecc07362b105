"""Deterministic per-event random numbers: train/test split and sampling without Spark state.

An event's number is a hash of (source file name, entry, salt), uniform in [0, 1): the same
event gets the same split and the same sampling decision whatever the partitioning, the
number of cores or the order of the files.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np


def event_uniform(source_files: np.ndarray, entries: np.ndarray, salt: str = "") -> np.ndarray:
    """Uniform [0, 1) numbers from (basename of source file, entry, salt)."""
    out = np.empty(len(entries))
    cache: dict[str, int] = {}
    for i, (path, entry) in enumerate(zip(source_files, entries, strict=True)):
        base = cache.get(path)
        if base is None:
            digest = hashlib.blake2b(f"{os.path.basename(path)}|{salt}".encode(), digest_size=8)
            base = cache[path] = int.from_bytes(digest.digest(), "little")
        # splitmix64 of (file hash + entry): cheap, well mixed, reproducible.
        z = (base + int(entry) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out[i] = ((z ^ (z >> 31)) >> 11) / float(1 << 53)
    return out


def split_of(uniform: np.ndarray, test_fraction: float) -> np.ndarray:
    """'test' for the lowest ``test_fraction`` of the numbers, else 'train'."""
    return np.where(uniform < test_fraction, "test", "train")
