"""The features stage's second line of defence against impossible values.

``dltrigger ingest`` refuses a ROOT file holding a value no collision can produce
([`dltrigger.bounds`][]); an ingested dataset made by another program, or by a dltrigger from
before that check, may still hold one. [`check_inputs`][] refuses such a value in the
members the physics reads, and [`check_scaling`][] refuses statistics no real features
give, before ``_scaling.json`` is written: one garbage value makes a standard deviation of
1e36, and scaled by it the feature is ~0 for every event, silently.

NaN and infinite inputs are not refused here: the physics drops their events and counts them
(``non-finite input values``, physics/features.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ..bounds import first_outside, member_bound, statistics_problems
from ..errors import FeaturesError
from ..physics.collections import PHYSICS_MEMBERS, ResolvedCollections


def check_inputs(table: pa.Table, collections: ResolvedCollections, where: str) -> None:
    """Refuse a finite value outside its physical bounds in a member the physics reads, naming
    ``where`` (the ingested file), the column and the event (its ROOT file and entry)."""
    for role, name in collections.names.items():
        if name not in table.column_names:
            continue  # the physics names what is missing
        column = table.column(name)
        lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        # The offsets index the whole child array, as ``values`` gives it.
        offsets = lists.offsets.to_numpy()
        struct = lists.values
        for member, values in zip([f.name for f in struct.type], struct.flatten(), strict=True):
            if member not in PHYSICS_MEMBERS.get(role, ()):
                continue
            numbers = values.to_numpy(zero_copy_only=False)
            bound = member_bound(name, member, numbers.dtype)
            index = None if bound is None else first_outside(numbers, bound, allow_nonfinite=True)
            if bound is None or index is None:
                continue
            row = int(np.searchsorted(offsets, index, side="right")) - 1
            entry, source = _cell(table, "entry", row), _cell(table, "source_file", row)
            raise FeaturesError(
                f"{where}: column '{name}.{member}' holds {float(numbers[index]):.6g} in the "
                f"event of entry {entry} of {source}, not {bound.describe()}: the ingested data "
                "are damaged (dltrigger ingest refuses such values: ingest the ROOT files again)"
            )


def _cell(table: pa.Table, column: str, row: int) -> Any:
    return table.column(column)[row].as_py() if column in table.column_names else "?"


def check_scaling(scaling: Mapping[str, Any], where: str) -> None:
    """Refuse scaling statistics no real features give (NaN, infinite, or beyond a feature's
    physical limit), naming ``where`` and every such feature, before they are written."""
    problems = [p for kind in ("hlf", "particles") for p in statistics_problems(scaling[kind])]
    if problems:
        raise FeaturesError(
            f"{where}: impossible scaling statistics, nothing written: {'; '.join(problems)}"
        )
