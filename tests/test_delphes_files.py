"""Genuine Delphes files (Delphes 3.5.1, standard CMS card; tests/data/delphes/README.md), end
to end: every member a column or a reported skip, the Spark source, features with the card's
collection names, a class that selects nothing, mixes with generated files, and the whole
pipeline, ``score`` and ``stream`` on them."""

import json
import os
import shutil
from pathlib import Path

import awkward as ak
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import uproot

import dltrigger as dlt
from dltrigger.config import (
    CollectionsConfig,
    Config,
    EvaluateConfig,
    FeaturesConfig,
    IngestConfig,
    RunConfig,
    SampleConfig,
    ScoreConfig,
    StreamConfig,
    TrackingConfig,
    TrainConfig,
)
from dltrigger.errors import (
    BranchNotFoundError,
    FeaturesError,
    IncompleteFileError,
    SchemaMismatchError,
)
from dltrigger.ingest import REPORT_NAME
from dltrigger.io.root_layout import TreeLayout, unify
from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch

pytestmark = pytest.mark.spark

FIXTURES = Path(__file__).parent / "data" / "delphes"
#: The 100-event Delphes files the fixtures were cut from (validation/delphes/make_fixtures.sh
#: writes them), compared with the fixtures when $DLTRIGGER_DELPHES_ORIGINALS names their folder.
ORIGINALS = Path(os.environ.get("DLTRIGGER_DELPHES_ORIGINALS", "/nonexistent"))
NAMES = ("Wlnu_lepFilter_13TeV_0.root", "ttbar_lepFilter_13TeV_0.root",
         "qcd_lepFilter_13TeV_0.root")  # fmt: skip
PHYSICS = ["Electron", "Muon", "EFlowTrack", "EFlowPhoton", "EFlowNeutralHadron", "Jet",
           "MissingET"]  # fmt: skip
#: The only reasons a genuine file's member may be left out.
SKIP_REASONS = ("TRef:", "TRefArray:", "TObject bookkeeping member")


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def leaf_branches(tree) -> dict[str, object]:
    return {
        path: branch
        for path, branch in tree.iteritems(recursive=True, full_paths=True)
        if not branch.branches
    }


@pytest.mark.parametrize("name", NAMES)
def test_fixture_is_genuine_delphes_layout(name):
    with uproot.open(fixture(name)) as file:
        assert "ProcessID0;1" in file  # the TRefs' process
        tree = file["Delphes"]
        assert tree.num_entries == 25
        paths = leaf_branches(tree)
        assert "Electron/Electron.PT" in paths and "Muon/Muon.PT" in paths
        assert "MuonTight" not in tree
        assert tree["Jet/Jet.BTag"].typename == "uint32_t[]"
        assert tree.keys()[0] == "Event"
        if (ORIGINALS / name).exists():  # the same events as the original, bit for bit
            with uproot.open(ORIGINALS / name) as original:
                whole = original["Delphes"]
                assert leaf_branches(whole).keys() == paths.keys()
                for path in ("Electron/Electron.PT", "EFlowTrack/EFlowTrack.Z", "Jet/Jet.Tau[5]"):
                    assert ak.all(tree[path].array() == whole[path].array(entry_stop=25))


@pytest.mark.parametrize("name", NAMES)
def test_every_member_is_a_column_or_a_reported_skip(name):
    file, tree = open_tree(fixture(name), "Delphes")
    with file:
        layout = infer_layout(tree)
        read = set(layout.branch_paths())
        for path, branch in leaf_branches(tree).items():
            if branch.name.endswith("_size"):
                continue  # counters: the list lengths
            if path in read:
                continue
            reason = layout.skipped.get(branch.name)
            assert reason is not None, f"{path} neither read nor reported"
            assert reason.startswith(SKIP_REASONS), (path, reason)
        batch = read_record_batch(tree, layout, 0, tree.num_entries, fixture(name))
        raw = {
            path: tree[path].array(library="ak")
            for path in ("Jet/Jet.PT", "Jet/Jet.BTag", "Tower/Tower.Edges[4]",
                         "FatJet/FatJet.SoftDroppedJet", "Jet/Jet.TrimmedP4[5]")
        }  # fmt: skip
    assert batch.num_rows == 25
    jets = ak.from_arrow(batch.column("Jet"))
    assert ak.all(raw["Jet/Jet.PT"] == jets.PT)
    # unsigned widened, values intact
    jet_type = batch.schema.field("Jet").type.value_type
    assert jet_type.field("BTag").type == pa.int64()
    assert ak.all(jets.BTag == raw["Jet/Jet.BTag"])
    # fixed-size arrays stay fixed-size
    edges_type = batch.schema.field("Tower").type.value_type.field("Edges").type
    assert pa.types.is_fixed_size_list(edges_type) and edges_type.list_size == 4
    towers = ak.from_arrow(batch.column("Tower"))
    assert ak.all(towers.Edges == raw["Tower/Tower.Edges[4]"])
    # TLorentzVector -> (px, py, pz, E), single and in fixed arrays of five
    fat = ak.from_arrow(batch.column("FatJet"))
    vector = raw["FatJet/FatJet.SoftDroppedJet"]
    assert ak.all(fat.SoftDroppedJet.px == vector.fP.fX)
    assert ak.all(vector.fE == fat.SoftDroppedJet.E)
    trimmed = raw["Jet/Jet.TrimmedP4[5]"]
    assert ak.all(jets.TrimmedP4.pz == trimmed.fP.fZ)
    assert ak.num(jets.TrimmedP4, axis=2).tolist() == ak.num(trimmed, axis=2).tolist()


def ingest_config(out: Path, **settings) -> Config:
    return Config(ingest=IngestConfig(out=out, **settings))


@pytest.fixture(scope="module")
def genuine_ingested(spark, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("genuine") / "ingested"
    dlt.ingest.run(ingest_config(out, inputs=[str(FIXTURES)]), spark=spark)
    return out


def test_ingest_reads_every_event_and_reports_the_skipped_members(genuine_ingested):
    report = json.loads((genuine_ingested / REPORT_NAME).read_text())
    assert report["events"] == report["events_written"] == 75
    assert sorted(Path(p).name for p in report["events_per_file"]) == sorted(NAMES)
    assert set(report["events_per_file"].values()) == {25}
    assert report["columns"][0] == "Event" and "FatJet" in report["columns"]
    skipped = report["skipped_branches"]
    assert skipped["Electron.Particle"].startswith("TRef:")
    assert skipped["Jet.Constituents"].startswith("TRefArray:")
    assert skipped["Jet.fBits"] == "TObject bookkeeping member"
    assert "Jet.TrimmedP4[5]" not in skipped and "Tower.Edges[4]" not in skipped
    table = ds.dataset(genuine_ingested, format="parquet", partitioning="hive").to_table()
    assert sorted(set(table.column("label").to_pylist())) == [0, 1, 2]
    edges = table.schema.field("Tower").type.value_type.field("Edges").type
    assert pa.types.is_fixed_size_list(edges)  # kept fixed in Parquet


def test_spark_source_reads_whole_collections(spark):
    from dltrigger.spark.root_source import register

    register(spark)
    df = (
        spark.read.format("root")
        .option("branches", "Electron,Muon,MissingET,Jet")
        .load(str(FIXTURES / "*.root"))
    )
    assert df.columns == ["Electron", "Muon", "MissingET", "Jet", "source_file", "entry"]
    assert df.count() == 75
    rows = df.selectExpr("aggregate(Jet.PT, 0D, (a, x) -> a + x) AS ht", "Jet.FracPt",
                         "Jet.BTag").collect()  # fmt: skip
    expected = sum(
        float(ak.sum(uproot.open(fixture(n))["Delphes"]["Jet/Jet.PT"].array())) for n in NAMES
    )
    assert sum(r.ht for r in rows) == pytest.approx(expected, rel=1e-6)
    assert all(len(f) == 5 for r in rows for f in r.FracPt)
    assert dict(df.dtypes)["Jet"].count("BTag:bigint") == 1
    with pytest.raises(
        Exception, match=r"no branch or collection 'MuonTight'.*did you mean 'Muon'"
    ):
        spark.read.format("root").option("branches", "MuonTight").load(fixture(NAMES[0])).count()


def features_config(root: Path, ingested: Path, **settings) -> Config:
    return Config(features=FeaturesConfig(input=ingested, out=root, dev_per_class=20, **settings))


def test_features_with_the_cms_preset_and_detection(spark, genuine_ingested, tmp_path):
    detected = dlt.features.run(
        features_config(tmp_path / "auto", genuine_ingested, empty_classes="drop"),
        spark=spark,
    ).manifests["full"]  # fmt: skip
    preset = dlt.features.run(
        features_config(tmp_path / "cms", genuine_ingested, empty_classes="drop",
                        collections=CollectionsConfig(preset="cms")),
        spark=spark,
    ).manifests["full"]  # fmt: skip
    assert detected["collections"]["origin"] == "detected (as preset cms)"
    assert detected["collections"]["names"]["muons"] == "Muon"
    assert preset["collections"]["origin"] == "preset cms"
    assert detected["events_origin"] == preset["events_origin"] == "Delphes, CMS card"
    assert detected["counts"] == preset["counts"] and set(detected["counts"]) == {"1", "2"}
    a = pq.read_table(tmp_path / "auto" / "full").sort_by([("source_file", "ascending"),
                                                           ("entry", "ascending")])  # fmt: skip
    b = pq.read_table(tmp_path / "cms" / "full").sort_by([("source_file", "ascending"),
                                                          ("entry", "ascending")])  # fmt: skip
    assert a.column("hlf").equals(b.column("hlf"))
    # an independent count: events with an e or mu above 23 GeV bound the selection
    selected = sum(detected["counts"].values())
    leptons = 0
    for name in NAMES:
        tree = uproot.open(fixture(name))["Delphes"]
        pts = ak.concatenate([tree["Electron/Electron.PT"].array(),
                              tree["Muon/Muon.PT"].array()], axis=1)  # fmt: skip
        leptons += int(ak.sum(ak.any(pts > 23.0, axis=1)))
    assert 0 < selected <= leptons
    with pytest.raises(FeaturesError, match=r"no collection 'MuonTight' for the muons.*'Muon'"):
        dlt.features.run(
            features_config(tmp_path / "wrong", genuine_ingested,
                            collections=CollectionsConfig(preset="dltrigger")),
            spark=spark,
        )  # fmt: skip
    assert not (tmp_path / "wrong").exists()


def test_a_class_that_selects_nothing(spark, genuine_ingested, tmp_path):
    # The card isolates Electron/Muon itself: the unfiltered QCD file has no lepton at all.
    with pytest.raises(FeaturesError, match=r"class QCD \(label 0, sample qcd\): none of its "
                                            r"25 events in 1 file\(s\) passes"):  # fmt: skip
        dlt.features.run(features_config(tmp_path / "err", genuine_ingested), spark=spark)
    assert not (tmp_path / "err").exists()
    manifests = dlt.features.run(
        features_config(tmp_path / "drop", genuine_ingested, empty_classes="drop"),
        spark=spark,
    ).manifests  # fmt: skip
    for name in ("full", "balanced", "dev"):
        labels = set(pq.read_table(tmp_path / "drop" / name).column("label").to_pylist())
        assert labels == {1, 2}
        assert manifests[name]["dropped_classes"][0]["class"] == "QCD"
    assert manifests["full"]["selection_efficiency"]["qcd"]["selected"] == 0


def generated_file(generated, tmp_path: Path) -> Path:
    path = tmp_path / "wjets_0.root"
    shutil.copy(generated.files("wjets")[0], path)
    return path


MIX_BRANCHES = ["Jet.PT", "Jet.Eta", "Jet.BTag", "MissingET.MET", "MissingET.Phi",
                "Electron.PT", "Electron.Eta"]  # fmt: skip


@pytest.mark.parametrize("genuine_first", [True, False])
def test_a_genuine_and_a_generated_file_in_one_ingest(spark, generated, tmp_path, genuine_first):
    mine = generated_file(generated, tmp_path)
    theirs = fixture(NAMES[0])
    inputs = [theirs, str(mine)] if genuine_first else [str(mine), theirs]
    out = tmp_path / "mixed"
    report = dlt.ingest.run(ingest_config(out, branches=MIX_BRANCHES, inputs=inputs),
                            spark=spark).report  # fmt: skip
    assert report.columns == ["Jet", "MissingET", "Electron"]
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    jet = table.schema.field("Jet").type.value_type
    assert jet.field("BTag").type == pa.int64()  # UInt_t there, int32 here: one wider type
    assert len(table) == report.events == 25 + uproot.open(mine)["Delphes"].num_entries
    # Without a branch list each file lacks what the other has: named, nothing written.
    with pytest.raises(IncompleteFileError, match=r"root: tree 'Delphes' lacks '\w+'.*, "
                                                  r"which .*root has"):  # fmt: skip
        dlt.ingest.run(ingest_config(tmp_path / "all", inputs=inputs), spark=spark)
    assert not (tmp_path / "all").exists()


def test_a_file_missing_a_collection_first_is_named_not_a_silent_drop(spark, generated, tmp_path):
    from dltrigger.io.delphes_writer import DelphesWriter

    full = generated_file(generated, tmp_path)
    from dltrigger.physics.events import events_from_arrow

    file, tree = open_tree(str(full), "Delphes")
    with file:
        kept = infer_layout(tree).select(["Electron", "MuonTight", "MissingET"])
        events = events_from_arrow(read_record_batch(tree, kept, 0, tree.num_entries))
    collections = {name: events[name] for name in ("Electron", "MuonTight", "MissingET")}
    lacking = tmp_path / "wjets_lacking.root"
    with DelphesWriter(lacking) as writer:
        writer.extend(collections)  # no Jet, no EFlow*
    lacks = r"wjets_lacking\.root: tree 'Delphes' lacks 'EFlowTrack', .* and \d+ more, which "
    with pytest.raises(IncompleteFileError, match=lacks):
        dlt.ingest.run(ingest_config(tmp_path / "out", inputs=[str(lacking), str(full)]),
                       spark=spark)  # fmt: skip
    assert not (tmp_path / "out").exists()
    report = dlt.ingest.run(ingest_config(tmp_path / "skip", skip_bad_files=True,
                                          inputs=[str(lacking), str(full)]),
                            spark=spark).report  # fmt: skip
    assert "lacks" in report.skipped[str(lacking)]
    assert "Jet" in report.columns and [f.path for f in report.files] == [str(full)]
    # asking for a collection only one file has names the other
    with pytest.raises(BranchNotFoundError, match=r"wjets_lacking\.root.*no branch or collection "
                                                  r"'Jet'"):  # fmt: skip
        dlt.ingest.run(ingest_config(tmp_path / "jet", branches=["Jet"],
                                     inputs=[str(full), str(lacking)]),
                       spark=spark)  # fmt: skip


def test_types_that_cannot_be_reconciled_name_both_files():
    from dltrigger.io.root_layout import Collection, Column

    def layout(dtype: str) -> TreeLayout:
        return TreeLayout((Collection("Jet", (Column("BTag", "Jet.BTag", dtype),)),), ())

    assert (
        unify([("a.root", layout("<i4")), ("b.root", layout("<i8"))])
        .collections[0]
        .members[0]
        .dtype
        == "<i8"
    )
    with pytest.raises(
        SchemaMismatchError,
        match=r"b\.root: branch 'Jet\.BTag' of tree "
        r"'Delphes' is float32 here but int32 in a\.root",
    ):
        unify([("a.root", layout("<i4")), ("b.root", layout("<f4"))])


@pytest.fixture(scope="module")
def genuine_run(spark, tmp_path_factory):
    """``dltrigger run`` on the genuine files: no generation, samples pointing at them."""
    from dltrigger.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("genuine-run")
    samples = {
        "qcd": SampleConfig(label=0, paths=[fixture(NAMES[2])]),
        "ttbar": SampleConfig(label=1, paths=[fixture(NAMES[1])]),
        "wjets": SampleConfig(label=2, paths=[fixture(NAMES[0])]),
    }
    config = Config(
        ingest=IngestConfig(out=root / "ingested", samples=samples, branches=PHYSICS),
        features=FeaturesConfig(input=root / "ingested", out=root / "features",
                                empty_classes="drop", test_fraction=0.35,
                                validation_fraction=0.3),
        train=TrainConfig(data=root / "features" / "full", out=root / "runs" / "hlf", epochs=2,
                          batch_size=8, max_particles=40, export=["onnx"]),
        evaluate=EvaluateConfig(out=root / "report", bootstrap=5),
        run=RunConfig(generate=False, models=["hlf"], state=root / "pipeline.json"),
        tracking=TrackingConfig(enabled=False),
    )  # fmt: skip
    outcomes = run_pipeline(config, spark=spark).stages
    return root, config, outcomes


def test_run_on_genuine_files_end_to_end(genuine_run):
    root, _, outcomes = genuine_run
    assert [o.name for o in outcomes if o.ran] == ["ingest", "features", "train hlf", "evaluate"]
    evaluation = json.loads((root / "report" / "evaluation.json").read_text())
    classes = evaluation["models"]["hlf"]["classes"]
    assert classes["QCD"]["auc"] is None  # no QCD event: no AUC, not a number made up
    assert 0.0 <= classes["ttbar"]["auc"] <= 1.0
    first = (root / "report" / "report.md").read_text().split("## AUC and accuracy")[0]
    assert "Simulated events (Delphes, CMS card)" in first
    assert "**QCD: no events** (dropped at features: none of the 25 events of qcd" in first


def test_score_and_stream_take_genuine_files(genuine_run, spark, tmp_path):
    root, _, _ = genuine_run
    run = root / "runs" / "hlf"
    settings = StreamConfig(model=run, threshold=0.5, input=str(tmp_path / "in"),
                            out=tmp_path / "stream", settle_seconds=0)  # fmt: skip
    scoring = ScoreConfig(inputs=[fixture(NAMES[0]), fixture(NAMES[2])], out=tmp_path / "scored")
    summary = dlt.stream.score(Config(stream=settings, score=scoring), spark=spark).summary
    manifest = json.loads((root / "features" / "full" / "_manifest.json").read_text())
    wjets = manifest["selection_efficiency"]["wjets"]["selected"]
    assert summary["events"] == 50 and summary["quarantined"] == []
    assert summary["selected"] == wjets  # the same selection as the features stage, QCD none
    (tmp_path / "in").mkdir()
    shutil.copy(fixture(NAMES[1]), tmp_path / "in" / NAMES[1])
    now = settings.model_copy(update={"available_now": True})
    streamed = dlt.stream.run(Config(stream=now), spark=spark).summary
    assert streamed["events"] == 25 and streamed["quarantined"] == []
    assert streamed["selected"] == manifest["selection_efficiency"]["ttbar"]["selected"]


def test_spark_source_schema_from_the_first_file_checks_the_others(spark, generated, tmp_path):
    from dltrigger.spark.root_source import register

    register(spark)
    mine = str(generated_file(generated, tmp_path))
    fast = spark.read.format("root").option("schemaFrom", "first")
    alike = fast.load([fixture(NAMES[0]), fixture(NAMES[1])])
    merged = spark.read.format("root").load([fixture(NAMES[0]), fixture(NAMES[1])])
    assert alike.schema == merged.schema and alike.count() == 50
    # a generated file after a genuine one: named, not read with a narrower schema
    narrower = r"wjets_0\.root: has MuonLoose, MuonTight that the first file lacks.*schemaFrom=all"
    with pytest.raises(Exception, match=narrower):
        fast.load([fixture(NAMES[0]), mine]).count()
    with pytest.raises(Exception, match=r"lacks .*, which .* has"):
        spark.read.format("root").load([fixture(NAMES[0]), mine]).count()


def test_ingest_of_alike_files_opens_only_the_first_on_the_driver(spark, tmp_path, monkeypatch):
    import dltrigger.ingest.job as job

    surveyed = []
    monkeypatch.setattr(job, "survey", lambda *a, **k: surveyed.append(a) or None)
    report = dlt.ingest.run(ingest_config(tmp_path / "out", branches=PHYSICS,
                                          inputs=[fixture(n) for n in NAMES]),
                            spark=spark).report  # fmt: skip
    assert report.events == 75 and surveyed == []  # no merge needed: files alike


def test_spark_source_sees_a_file_changed_between_reads(spark, generated, tmp_path):
    """The source remembers a survey for a while (Spark plans twice): keyed by the files'
    sizes and times, so a changed file is surveyed again."""
    from dltrigger.spark.root_source import register

    register(spark)
    path = tmp_path / "wjets_0.root"
    shutil.copy(fixture(NAMES[0]), path)
    before = spark.read.format("root").load(str(path))
    assert "Particle" in before.columns and before.count() == 25
    shutil.copy(generated.files("wjets")[0], path)
    after = spark.read.format("root").load(str(path))
    assert "Particle" not in after.columns and "MuonTight" in after.columns
    assert after.count() == uproot.open(path)["Delphes"].num_entries
