"""Feature arrays <-> Arrow columns (``hlf``: list<float>, ``particles``: list<list<float>>)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def list_column(values: np.ndarray, counts: np.ndarray) -> pa.ListArray:
    """A list<float32> column from flat values and per-row counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values.astype(np.float32)))


def hlf_column(hlf: np.ndarray) -> pa.ListArray:
    return list_column(hlf.reshape(-1), np.full(len(hlf), hlf.shape[1]))


def particles_column(rows: np.ndarray, counts: np.ndarray) -> pa.ListArray:
    """list<list<float32>>: ``rows`` is (n_rows, n_features), ``counts`` rows per event."""
    inner = list_column(rows.reshape(-1), np.full(len(rows), rows.shape[1]))
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), inner)
