"""Never destroy a user's files (issue 14, cases 1-3): ``--overwrite`` replaces only a dltrigger
output of the same kind that holds none of the inputs, and one writer at a time."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dltrigger as dlt
from dltrigger.cli import main
from dltrigger.config import Config, IngestConfig, TrackingConfig, TrainConfig
from dltrigger.errors import OutputError, TrainingError
from dltrigger.io.ownership import MARKER, kind_of

pytestmark = pytest.mark.spark


def user_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main([*args, "--master", "local[2]"])
    return code, capsys.readouterr().err


def test_case_1_overwrite_never_deletes_the_inputs(spark, generated, ingested, tmp_path, capsys):
    victim = tmp_path / "victim"
    (victim / "raw").mkdir(parents=True)
    for path in generated.files("wjets"):
        shutil.copy(path, victim / "raw" / path.name)
    (victim / "notes.txt").write_text("mine")
    before = user_files(victim)
    code, err = run_cli(capsys, "ingest", str(victim / "raw"), "--out", str(victim),
                        "--overwrite", "--quiet")  # fmt: skip
    assert code == 1 and "holds the input" in err and "victim/raw/wjets_0.root" in err
    assert user_files(victim) == before
    # features: an ingested dataset inside the output
    shutil.copytree(ingested, victim / "ingested")
    before = user_files(victim)
    code, err = run_cli(capsys, "features", str(victim / "ingested"), "--out", str(victim),
                        "--overwrite", "--quiet")  # fmt: skip
    assert code == 1 and "holds the input" in err
    assert user_files(victim) == before


def test_case_2_overwrite_refuses_what_dltrigger_did_not_write(spark, generated, tmp_path,
                                                               capsys):  # fmt: skip
    user = tmp_path / "userdir"
    (user / "sub").mkdir(parents=True)
    (user / "thesis.tex").write_text("\\documentclass{article}")
    (user / "sub" / "figure.pdf").write_bytes(b"%PDF")
    before = user_files(user)
    wjets = str(generated.files("wjets")[0])
    code, err = run_cli(capsys, "ingest", wjets, "--out", str(user), "--overwrite", "--quiet")
    assert code == 1 and "not a dltrigger output" in err and "thesis.tex" in err
    assert user_files(user) == before
    # a training run folder likewise
    runs = tmp_path / "userdir2"
    runs.mkdir()
    (runs / "analysis.C").write_text("void analysis() {}")
    with pytest.raises(TrainingError, match=r"not a dltrigger output.*analysis\.C"):
        from dltrigger.train.run_folder import prepare_run_folder

        prepare_run_folder(TrainConfig(out=runs, overwrite=True), resume=False)
    assert (runs / "analysis.C").read_text() == "void analysis() {}"
    # what dltrigger wrote is replaced: marked, then overwritten; another kind is refused
    out = tmp_path / "ingested"
    config = Config(ingest=IngestConfig(out=out, overwrite=True, inputs=[wjets]))
    dlt.ingest.run(config, spark=spark)
    assert kind_of(out) == "ingest" and (out / MARKER).exists()
    dlt.ingest.run(config, spark=spark)
    code, err = run_cli(capsys, "features", str(out), "--out", str(out.parent / "features"),
                        "--quiet")  # fmt: skip
    assert code == 0
    code, err = run_cli(capsys, "ingest", wjets, "--out", str(out.parent / "features"),
                        "--overwrite", "--quiet")  # fmt: skip
    assert code == 1 and "is a dltrigger features output, not an ingest output" in err
    # an output written before markers existed is still recognised by its own files
    (out / MARKER).unlink()
    assert kind_of(out) == "ingest"
    dlt.ingest.run(config, spark=spark)


HOLD = """
import sys, time
from pathlib import Path
from dltrigger.io.ownership import writing
with writing(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_case_3_a_second_writer_fails_at_once_naming_the_first(spark, generated, tmp_path):
    out = tmp_path / "out"
    config = Config(ingest=IngestConfig(out=out, inputs=[str(generated.files("qcd")[0])]))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), "30"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "holding"
        start = time.monotonic()
        with pytest.raises(OutputError, match=rf"being written by another dltrigger \(pid "
                                              rf"{holder.pid} on "):  # fmt: skip
            dlt.ingest.run(config, spark=spark)
        assert time.monotonic() - start < 20
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    # the dead writer's lock is free again, and its temporary folder is cleaned up
    stale = tmp_path / ".tmp-out-0123456789ab"
    (stale / "label=0").mkdir(parents=True)
    kept = tmp_path / ".tmp-out-else-0123456789ab"
    kept.mkdir()
    dlt.ingest.run(config, spark=spark)
    assert kind_of(out) == "ingest" and not stale.exists() and kept.exists()


def test_case_10_train_refuses_degenerate_data_and_writes_valid_json(features_dataset, tmp_path):
    import json

    import pyarrow.parquet as pq

    from dltrigger.ml.batches import DatasetError

    def train(settings: TrainConfig) -> None:
        dlt.train.run(Config(train=settings, tracking=TrackingConfig(enabled=False)))

    full = features_dataset / "full"

    def subset(name: str, keep) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(full / "_scaling.json", folder)
        table = pq.read_table(sorted(full.glob("part-*.parquet")))
        pq.write_table(table.filter(keep(table)), folder / "part-00000.parquet")
        return folder

    import pyarrow.compute as pc

    one_class = subset("one-class", lambda t: pc.equal(t["label"], 2))
    with pytest.raises(DatasetError, match=r"the train split has \d+ events \(W\+jets \d+\); "
                                           r"training needs at least two classes"):  # fmt: skip
        train(TrainConfig(model="hlf", data=one_class, out=tmp_path / "r1", epochs=1, export=[]))
    assert not (tmp_path / "r1").exists()
    tiny = subset("tiny", lambda t: pc.less(pc.cumulative_sum(pc.cast(pc.is_valid(t["entry"]),
                                                                      "int64")), 4))  # fmt: skip
    with pytest.raises(DatasetError, match=r"split has [0-3] events"):
        train(TrainConfig(model="hlf", data=tiny, out=tmp_path / "r2", epochs=1, export=[]))
    # two classes for training, one of three absent: its AUC is null with a reason, valid JSON
    two = subset("two", lambda t: pc.not_equal(t["label"], 0))
    run = tmp_path / "r3"
    train(TrainConfig(model="hlf", data=two, out=run, epochs=1, batch_size=16, export=[]))
    summary = json.loads((run / "summary.json").read_text(), parse_constant=pytest.fail)
    assert summary["best"]["val_auc_QCD"] is None
    assert "undefined" in summary["undefined"]["val_auc_QCD"]
    history = json.loads((run / "metrics.json").read_text(), parse_constant=pytest.fail)
    assert history[0]["val_auc_QCD"] is None and history[0]["val_auc_ttbar"] is not None


def test_case_7_run_sees_a_new_input_copied_with_an_old_time(generated, tmp_path):
    from dltrigger.pipeline import STATE_VERSION, digest, inputs_digest, why_stale

    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy2(generated.files("wjets")[0], raw / "wjets_0.root")
    marker = tmp_path / "out" / "_ingest_report.json"
    marker.parent.mkdir()
    marker.write_text("{}")  # the stage's output, newer than its input

    class Ingest:  # a stage (dltrigger.stage.Stage) reading raw/ and writing the marker
        name, kind, section = "ingest", "ingest", "ingest"

        def inputs(self, config):
            return sorted(raw.iterdir())

        def outputs(self, config):
            return [marker]

        def settings(self, config):
            return {"a": 1}

        def run(self, config, *, spark=None, progress=False):
            raise AssertionError("only its freshness is checked here")

        def facts(self, result):
            return {}

    stage, config = Ingest(), Config()
    record = {"version": STATE_VERSION, "digest": digest({"a": 1}),
              "inputs": inputs_digest(stage.inputs(config)),
              "outputs": inputs_digest([marker])}  # fmt: skip
    assert why_stale(stage, config, record) is None
    # `cp -p`: a new file whose modification time is older than the outputs
    shutil.copy2(generated.files("wjets")[1], raw / "wjets_1.root")
    assert (raw / "wjets_1.root").stat().st_mtime < marker.stat().st_mtime
    assert why_stale(stage, config, record) == "inputs changed"
    # a file replaced by another of the same name, its old time restored
    (raw / "wjets_1.root").unlink()
    assert why_stale(stage, config, record) is None
    shutil.copy2(generated.files("qcd")[0], raw / "wjets_0.root")
    assert why_stale(stage, config, record) == "inputs changed"


@pytest.mark.xrootd
def test_case_8_an_unreachable_root_url_fails_within_the_timeout(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("XRD_")}
    (tmp_path / "dltrigger.toml").write_text("[ingest]\nremote_timeout = 5\n")
    for url in ("root://127.0.0.1:1//nope/wjets_0.root", "root://127.0.0.1:1//nope/wjets_*.root"):
        start = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "dltrigger", "ingest", url, "--out", str(tmp_path / "out"),
             "--master", "local[1]", "--quiet"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        seconds = time.monotonic() - start
        assert result.returncode == 1, result.stderr[-2000:]
        assert "dltrigger ingest: error:" in result.stderr and "127.0.0.1:1" in result.stderr
        assert seconds < 60, f"{url}: {seconds:.0f} s"


def corrupt_inside_baskets(good: Path, bad: Path) -> Path:
    """300 events of ``good`` rewritten in baskets of 100, the third basket of one branch
    overwritten: the file opens and its first 200 events read, the rest cannot."""
    import uproot

    from dltrigger.io.delphes_writer import DelphesWriter
    from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
    from dltrigger.physics.events import events_from_arrow

    file, tree = open_tree(str(good), "Delphes")
    with file:
        events = events_from_arrow(read_record_batch(tree, infer_layout(tree), 0, 300))
    with DelphesWriter(bad) as writer:  # three baskets per branch: 100 events each
        for start in (0, 100, 200):
            writer.extend({name: events[name][start : start + 100] for name in events.fields})
    branch = uproot.open(bad)["Delphes"]["EFlowTrack.PT"]
    seek, size = int(branch.member("fBasketSeek")[2]), int(branch.member("fBasketBytes")[2])
    data = bytearray(bad.read_bytes())
    key = 100  # past the basket's key header (~70 bytes)
    data[seek + key : seek + size] = b"\xff" * (size - key)  # the third basket's payload
    bad.write_bytes(bytes(data))
    return bad


def test_case_9_skip_bad_files_skips_a_file_corrupt_inside_its_data_whole(spark, generated,
                                                                          tmp_path):  # fmt: skip
    import pyarrow.dataset as ds

    from dltrigger.errors import IngestError

    good = generated.files("wjets")[0]
    bad = corrupt_inside_baskets(good, tmp_path / "wjets_bad.root")
    inputs = [str(good), str(bad)]
    settings = {"batch_events": 100, "partition_bytes": 10**9}  # one task reads both files
    with pytest.raises(IngestError, match=r"wjets_bad\.root: cannot read entries 200-300"):
        dlt.ingest.run(Config(ingest=IngestConfig(out=tmp_path / "strict", inputs=inputs,
                                                  **settings)), spark=spark)  # fmt: skip
    out = tmp_path / "skipping"
    report = dlt.ingest.run(Config(ingest=IngestConfig(out=out, skip_bad_files=True,
                                                       inputs=inputs, **settings)),
                            spark=spark).report  # fmt: skip
    assert "cannot read entries 200-300" in report.skipped[str(bad)]
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert set(table.column("source_file").to_pylist()) == {str(good)}  # none of its events
    assert len(table) == report.events == report.events_written == 300


def test_case_12_a_nan_track_is_not_an_isolated_lepton():
    """A NaN-poisoned track was left out of every cone sum, so its lepton's own track went
    missing: LepIsoCh = -1 passed the isolation. Such an event is now dropped, counted."""
    import awkward as ak
    import numpy as np

    from dltrigger.config import FeaturesConfig
    from dltrigger.physics.collections import PRESETS, ResolvedCollections
    from dltrigger.physics.features import NON_FINITE_INPUT, compute_features

    def event(own_track_pt: float) -> dict:
        return {
            "Electron": [{"PT": 40.0, "Eta": 0.5, "Phi": 0.0, "Charge": -1}],
            "MuonTight": [{"PT": 10.0, "Eta": -2.0, "Phi": 3.0, "Charge": 1}],  # below 23 GeV
            "EFlowTrack": [
                {
                    "PT": own_track_pt,
                    "Eta": 0.5,
                    "Phi": 0.0,
                    "X": 0.0,
                    "Y": 0.0,
                    "Z": 0.0,
                    "Charge": -1,
                    "PID": 11,
                },
                {
                    "PT": 30.0,
                    "Eta": 0.6,
                    "Phi": 0.1,
                    "X": 0.0,
                    "Y": 0.0,
                    "Z": 0.0,
                    "Charge": 1,
                    "PID": 211,
                },
            ],
            "EFlowPhoton": [{"ET": 2.0, "Eta": -1.0, "Phi": 2.0}],
            "EFlowNeutralHadron": [{"ET": 2.0, "Eta": 1.0, "Phi": -2.0}],
            "Jet": [{"PT": 50.0, "Eta": 0.0, "BTag": 0}],
            "MissingET": [{"MET": 20.0, "Phi": 1.0}],
        }

    table = ak.to_arrow_table(ak.Array([event(40.0), event(np.nan)]), list_to32=True,
                              extensionarray=False)  # fmt: skip
    collections = ResolvedCollections(PRESETS["dltrigger"], "preset dltrigger")
    computed = compute_features(table, FeaturesConfig(), collections)
    # the clean event: a 30 GeV track at ΔR 0.14 makes it non-isolated (0.75 > 0.45)
    assert computed.kept.tolist() == [] and computed.rejected[NON_FINITE_INPUT] == 1
    assert computed.rejected["no isolated lepton"] == 1
