"""Events as awkward arrays, from the Arrow tables the pipeline stores.

Arrow (and Parquet, and Spark) mark every column, list and struct field nullable, which
awkward turns into option types; the physics functions want plain ones. Ingested events never
hold missing values, so the options are dropped, and a real missing value is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import awkward as ak
import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa


def _strip(layout: ak.contents.Content, where: str) -> ak.contents.Content:
    if layout.is_option:
        if np.any(layout.mask_as_bool(valid_when=False)):
            raise ValueError(f"missing values in {where or 'the events'}")
        return _strip(layout.project(), where)
    if isinstance(layout, ak.contents.RegularArray):
        return ak.contents.RegularArray(
            _strip(layout.content, where), layout.size, layout.length, parameters=layout.parameters
        )
    if layout.is_list:
        packed = layout.to_ListOffsetArray64(True)
        return ak.contents.ListOffsetArray(
            packed.offsets, _strip(packed.content, where), parameters=packed.parameters
        )
    if layout.is_record:
        return ak.contents.RecordArray(
            [
                _strip(c, f"{where}.{f}".lstrip("."))
                for c, f in zip(layout.contents, layout.fields, strict=True)
            ],
            layout.fields,
            length=layout.length,
            parameters=layout.parameters,
        )
    return layout


def without_options(array: ak.Array) -> ak.Array:
    """The same data with option types removed (ValueError naming the field if any None)."""
    return ak.Array(_strip(ak.to_layout(array), ""))


def events_from_arrow(table: pa.Table | pa.RecordBatch) -> ak.Array:
    """Events from an Arrow table or record batch of ingested columns."""
    return without_options(ak.from_arrow(table))
