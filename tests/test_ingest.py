"""``dltrigger ingest``: labelled Parquet, the report, and bad input that loses nothing."""

import json
import shutil

import pytest
import uproot

import dltrigger as dlt
from dltrigger.config import Config, IngestConfig, SampleConfig
from dltrigger.errors import (
    BranchNotFoundError,
    DLTriggerError,
    InputError,
    OutputError,
    TreeNotFoundError,
)
from dltrigger.ingest import REPORT_NAME

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def config_for(out, samples=None, **ingest_options):
    return Config(
        ingest=IngestConfig(out=out, samples=samples or IngestConfig().samples, **ingest_options)
    )


def copy_sample(generated, folder, processes=("wjets", "qcd")):
    folder.mkdir(exist_ok=True)
    for process in processes:
        for f in generated.files(process):
            shutil.copy(f, folder / f.name)
    return folder


def test_ingest_from_configured_samples(spark, generated, tmp_path):
    samples = {
        name: SampleConfig(label=s.label, paths=[str(generated.folder / f"{name}_*.root")])
        for name, s in IngestConfig().samples.items()
    }
    out = tmp_path / "ingested"
    report = dlt.ingest.run(config_for(out, samples), spark=spark).report
    df = spark.read.parquet(str(out))
    counts = {r["label"]: r["count"] for r in df.groupBy("label").count().collect()}
    expected = {
        s.label: sum(uproot.open(f)["Delphes"].num_entries for f in generated.files(name))
        for name, s in samples.items()
    }
    assert counts == expected
    assert {"label", "sample", "source_file", "entry", "Electron", "EFlowTrack"} <= set(df.columns)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("label=")) == [
        "label=0",
        "label=1",
        "label=2",
    ]
    # One row per (file, entry), and the sample column matches the label.
    assert df.select("source_file", "entry").distinct().count() == df.count()
    pairs = {(r["sample"], r["label"]) for r in df.select("sample", "label").distinct().collect()}
    assert pairs == {("qcd", 0), ("ttbar", 1), ("wjets", 2)}
    saved = json.loads((out / REPORT_NAME).read_text())
    assert saved["events"] == saved["events_written"] == sum(expected.values()) == report.events
    assert sum(saved["events_per_file"].values()) == report.events
    assert saved["bytes_read"] > 0 and saved["seconds"] > 0 and saved["events_per_second"] > 0
    assert saved["skipped"] == {}


def test_inputs_are_assigned_to_samples_by_name(spark, generated, tmp_path):
    folder = copy_sample(generated, tmp_path / "in")
    (folder / "qcd_0.root").rename(folder / "qcd_lepFilter_13TeV_7.root")  # reference naming
    out = tmp_path / "out"
    report = dlt.ingest.run(config_for(out, inputs=[str(folder / "*.root")]), spark=spark).report
    assert {f.sample for f in report.files} == {"wjets", "qcd"}
    assert {f.label for f in report.files if f.path.endswith("qcd_lepFilter_13TeV_7.root")} == {0}
    stranger = folder / "zjets_0.root"
    shutil.copy(folder / "wjets_0.root", stranger)
    with pytest.raises(InputError, match=r"cannot tell which sample .*zjets_0\.root"):
        dlt.ingest.run(config_for(tmp_path / "out2", inputs=[str(stranger)]), spark=spark)


@pytest.fixture
def bad_files(generated, tmp_path):
    """One good folder plus a bad file of each kind, named like a W+jets file."""
    good = generated.files("wjets")[0]
    data = good.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "wjets_corrupt.root").write_bytes(b"this is not a ROOT file" * 100)
    (bad / "wjets_truncated.root").write_bytes(data[: len(data) // 2])
    (bad / "wjets_empty.root").write_bytes(b"")
    with uproot.recreate(bad / "wjets_othertree.root") as f:
        f.mktree("Events", {"x": "float32"}).extend({"x": [1.0, 2.0]})
    return good, bad


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("wjets_corrupt.root", r"not a ROOT file \(2,300 bytes, starts with b'this is"),
        ("wjets_truncated.root", "truncated: the file has .* bytes but its header says"),
        ("wjets_empty.root", "empty file"),
        ("wjets_othertree.root", "no tree 'Delphes'.*trees in the file: Events"),
    ],
)
def test_each_bad_file_is_named(spark, bad_files, tmp_path, name, message):
    good, bad = bad_files
    out = tmp_path / "out"
    with pytest.raises(DLTriggerError, match=message) as info:
        dlt.ingest.run(config_for(out, inputs=[str(good), str(bad / name)]), spark=spark)
    assert name in str(info.value)
    assert not out.exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_wrong_tree_and_missing_branch_suggest_names(spark, generated, tmp_path):
    good = str(generated.files("wjets")[0])
    with pytest.raises(TreeNotFoundError, match="did you mean 'Delphes'"):
        dlt.ingest.run(config_for(tmp_path / "a", tree="Delphs", inputs=[good]), spark=spark)
    with pytest.raises(BranchNotFoundError, match=r"'Electorn'.*did you mean 'Electron'"):
        dlt.ingest.run(
            config_for(tmp_path / "b", branches=["Electorn"], inputs=[good]), spark=spark
        )


def test_paths_that_match_nothing(spark, tmp_path):
    with pytest.raises(InputError, match=r"no files match .*nothing_\*\.root"):
        dlt.ingest.run(
            config_for(tmp_path / "a", inputs=[str(tmp_path / "nothing_*.root")]), spark=spark
        )
    with pytest.raises(InputError, match="no such file or folder"):
        dlt.ingest.run(
            config_for(tmp_path / "a", inputs=[str(tmp_path / "wjets_9.root")]), spark=spark
        )


def test_skip_bad_files_keeps_every_good_event(spark, generated, bad_files, tmp_path):
    good, bad = bad_files
    out = tmp_path / "out"
    inputs = [str(good), str(bad / "*.root")]
    report = dlt.ingest.run(config_for(out, skip_bad_files=True, inputs=inputs), spark=spark).report
    assert set(report.skipped) == {str(p) for p in bad.iterdir()}
    assert "empty file" in report.skipped[str(bad / "wjets_empty.root")]
    entries = uproot.open(good)["Delphes"].num_entries
    assert spark.read.parquet(str(out)).count() == entries == report.events_written
    saved = json.loads((out / REPORT_NAME).read_text())
    assert set(saved["skipped"]) == set(report.skipped)
    # Nothing readable at all: an error, and no output.
    with pytest.raises(InputError, match="none of the 4 input file"):
        dlt.ingest.run(
            config_for(tmp_path / "none", skip_bad_files=True, inputs=[str(bad)]), spark=spark
        )
    assert not (tmp_path / "none").exists()


def test_existing_output_needs_overwrite(spark, generated, tmp_path):
    good = str(generated.files("wjets")[0])
    out = tmp_path / "out"
    dlt.ingest.run(config_for(out, inputs=[good]), spark=spark)
    marker = out / "keep-me"
    marker.write_text("old run")
    with pytest.raises(OutputError, match="already exists"):
        dlt.ingest.run(config_for(out, inputs=[good]), spark=spark)
    assert marker.exists()
    dlt.ingest.run(config_for(out, overwrite=True, inputs=[good]), spark=spark)
    assert not marker.exists()
    assert (out / REPORT_NAME).exists()
