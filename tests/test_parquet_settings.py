"""The Parquet writer settings every stage shares (``dltrigger.io.parquet``)."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dltrigger.io.parquet import dictionary_columns, parquet_writer, write_table


def _table(n: int = 2000) -> pa.Table:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 20, n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.StructArray.from_arrays(
        [pa.array(rng.normal(size=offsets[-1]).astype(np.float32))], names=["PT"]
    )
    return pa.table(
        {
            "Jet": pa.ListArray.from_arrays(pa.array(offsets), values),
            "weight": pa.array(rng.random(n)),
            "sample": pa.array(["ttbar"] * n),
            "source_file": pa.array([f"file_{i % 3}.root" for i in range(n)]),
        }
    )


def test_only_string_columns_get_a_dictionary(tmp_path):
    table = _table()
    assert dictionary_columns(table.schema) == ["sample", "source_file"]
    write_table(table, tmp_path / "a.parquet")
    with parquet_writer(tmp_path / "b.parquet", table.schema) as writer:
        writer.write_table(table)
    for name in ("a.parquet", "b.parquet"):
        path = tmp_path / name
        assert pq.read_table(path).equals(table)
        group = pq.ParquetFile(path).metadata.row_group(0)
        encodings = {
            group.column(i).path_in_schema: group.column(i).encodings
            for i in range(group.num_columns)
        }
        assert "RLE_DICTIONARY" in encodings["sample"]
        assert "RLE_DICTIONARY" not in encodings["Jet.list.element.PT"]
        assert "RLE_DICTIONARY" not in encodings["weight"]
        assert all(group.column(i).compression == "ZSTD" for i in range(group.num_columns))
