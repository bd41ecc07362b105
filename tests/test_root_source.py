"""The Spark ``root`` data source against independent uproot reads of the same files."""

import awkward as ak
import numpy as np
import pytest
import uproot

from dltrigger.io.delphes_writer import DelphesWriter
from dltrigger.spark.root_planning import batch_ranges, plan_slices, slice_entries
from dltrigger.spark.root_source import register

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def reader(spark):
    """A fresh DataFrameReader per call (``option`` mutates a reader)."""
    register(spark)
    return lambda: spark.read.format("root").option("tree", "Delphes")


def test_dataframe_equals_uproot_event_by_event(reader, generated):
    files = generated.files("ttbar")
    df = reader().load([str(f) for f in files])
    assert df.count() == sum(uproot.open(f)["Delphes"].num_entries for f in files)
    table = df.select("Electron", "Jet", "EFlowTrack", "source_file", "entry").toArrow()
    rows = ak.from_arrow(table)
    for path in files:
        mine = rows[rows.source_file == str(path)]
        mine = mine[np.argsort(ak.to_numpy(mine.entry))]
        tree = uproot.open(path)["Delphes"]
        expected = tree.arrays(["Jet.PT", "Jet.BTag", "Electron.Charge", "EFlowTrack.PT"])
        assert ak.to_list(mine.entry) == list(range(tree.num_entries))
        assert ak.all(expected["Jet.PT"] == mine.Jet.PT)
        assert ak.all(mine.Jet.BTag == expected["Jet.BTag"])
        assert ak.all(mine.Electron.Charge == expected["Electron.Charge"])
        assert ak.all(ak.num(mine.EFlowTrack) == ak.num(expected["EFlowTrack.PT"]))
        assert np.array_equal(
            ak.to_numpy(ak.flatten(mine.EFlowTrack.PT)),
            ak.to_numpy(ak.flatten(expected["EFlowTrack.PT"])),
        )


def test_schema_is_nested_collections(reader, generated):
    schema = reader().load(str(generated.folder)).schema
    electron = schema["Electron"].dataType
    assert electron.typeName() == "array"
    assert electron.elementType.fieldNames() == [
        "PT",
        "Eta",
        "Phi",
        "Charge",
        "IsolationVar",
        "SumPtCharged",
        "SumPtNeutral",
        "SumPt",
    ]
    assert {"source_file", "entry", "MissingET", "EFlowTrack", "Event"} <= set(schema.fieldNames())
    assert "Electron_size" not in schema.fieldNames()


def test_branches_option_and_user_schema_read_only_what_is_asked(reader, generated):
    path = str(generated.files("wjets")[0])
    df = reader().option("branches", "Electron,MissingET.MET").load(path)
    assert df.columns == ["Electron", "MissingET", "source_file", "entry"]
    assert df.schema["MissingET"].dataType.elementType.fieldNames() == ["MET"]
    chosen = reader().schema("Jet array<struct<PT: float, BTag: int>>").load(path)
    assert chosen.columns == ["Jet"]
    first = chosen.limit(1).collect()[0]["Jet"]
    with uproot.open(path) as f:
        assert [j["PT"] for j in first] == pytest.approx(f["Delphes"]["Jet.PT"].array()[0].tolist())


def test_slices_and_batches_follow_clusters_and_bounds():
    starts = [0, 100, 200, 300, 700]
    # Slices of equal entry fractions, snapped to cluster starts: no overlap, no gap.
    slices = [slice_entries(i, 3, 1000, starts) for i in range(3)]
    assert [(r.start, r.stop) for r in slices] == [(0, 300), (300, 700), (700, 1000)]
    assert sum(len(r) for r in slices) == 1000
    # Batches: cut at cluster starts within 250 entries; a 400-entry cluster is cut inside.
    batches = batch_ranges(range(0, 1000), starts, 1.0, 250, 10**12)
    assert batches == [(0, 200), (200, 300), (300, 550), (550, 700), (700, 950), (950, 1000)]
    # The byte bound: 1 kB per entry and 150 kB -> at most 150 entries per batch.
    batches = batch_ranges(range(0, 1000), starts, 1000.0, 10**9, 150_000)
    assert batches[0] == (0, 100)
    assert all(b - a <= 150 for a, b in batches)
    assert sum(b - a for a, b in batches) == 1000


def test_small_files_are_packed_and_big_ones_sliced():
    small = [(f"s{i}.root", 30) for i in range(10)]
    assert [len(p) for p in plan_slices(small, max_bytes=100)] == [3, 3, 3, 1]
    big = plan_slices([("big.root", 1000), ("s.root", 10)], max_bytes=300)
    pieces = [(s.path, s.index, s.count) for p in big for s in p]
    assert pieces[:4] == [("big.root", i, 4) for i in range(4)]
    assert pieces[-1] == ("s.root", 0, 1)
    # minPartitions lowers the bound so that small inputs still use every core.
    assert len(plan_slices(small, max_bytes=10**9, min_partitions=5)) == 5


def test_a_multi_cluster_file_is_read_in_slices_without_loss(spark, reader, tmp_path):
    path = tmp_path / "wjets_0.root"
    with DelphesWriter(path) as writer:
        for chunk in range(5):  # five baskets per branch: clusters of 40 entries
            pt = ak.Array([[float(chunk * 40 + i)] for i in range(40)])
            writer.extend({"Jet": ak.zip({"PT": pt})})
    size = path.stat().st_size
    df = (
        reader()
        .option("partitionBytes", str(size // 3 + 1))
        .option("batchEvents", "30")
        .load(str(path))
    )
    assert df.rdd.getNumPartitions() == 3
    values = sorted(r["Jet"][0]["PT"] for r in df.select("Jet").collect())
    assert values == [float(i) for i in range(200)]  # every entry once
