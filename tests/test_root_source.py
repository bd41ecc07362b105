"""The Spark ``root`` data source against independent uproot reads of the same files."""

import awkward as ak
import numpy as np
import pytest
import uproot

from dltrigger.io.delphes_writer import DelphesWriter
from dltrigger.spark.root_source import FileInfo, plan_partitions, plan_ranges, register

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
    assert electron.elementType.fieldNames() == ["PT", "Eta", "Phi", "Charge"]
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


def test_ranges_follow_clusters_and_bounds():
    info = FileInfo("f.root", 1000, (0, 100, 200, 300, 700), 1000 * 1000, 0)
    ranges = plan_ranges(info, max_events=250, max_bytes=10**12)
    assert [(r.start, r.stop) for r in ranges] == [
        (0, 200),
        (200, 300),
        (300, 550),
        (550, 700),
        (700, 950),
        (950, 1000),
    ]
    # Bytes bound: 1 kB per entry and 150 kB -> at most 150 entries, cut at clusters.
    ranges = plan_ranges(info, max_events=10**9, max_bytes=150_000)
    assert ranges[0].stop == 100
    assert all(r.stop - r.start <= 150 for r in ranges)
    assert sum(r.stop - r.start for r in ranges) == 1000
    # Small files are packed together.
    small = [FileInfo(f"s{i}.root", 30, (0,), 3000, 0) for i in range(10)]
    parts = plan_partitions(small, max_events=100, max_bytes=10**9)
    assert [len(p.ranges) for p in parts] == [3, 3, 3, 1]


def test_partitions_of_a_multi_cluster_file(spark, reader, tmp_path):
    path = tmp_path / "wjets_0.root"
    with DelphesWriter(path) as writer:
        for chunk in range(5):  # five baskets per branch: clusters of 40 entries
            pt = ak.Array([[float(chunk * 40 + i)] for i in range(40)])
            writer.extend({"Jet": ak.zip({"PT": pt})})
    df = reader().option("partitionEvents", "90").load(str(path))
    assert df.rdd.getNumPartitions() == 3  # [0, 80), [80, 160), [160, 200)
    values = sorted(r["Jet"][0]["PT"] for r in df.select("Jet").collect())
    assert values == [float(i) for i in range(200)]
