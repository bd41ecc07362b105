"""The trained model as a trigger: scores against PyTorch, the stream's features against the
features stage, quarantined files, exactly-once output across a kill, and batch scoring."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import uproot

import dltrigger as dlt
from dltrigger.cli import main
from dltrigger.config import (
    Config,
    ScoreConfig,
    SparkConfig,
    StreamConfig,
    TrackingConfig,
    TrainConfig,
)
from dltrigger.errors import EvaluationError
from dltrigger.ml.batches import Scaling, events_from_table, to_batch
from dltrigger.ml.loop import forward
from dltrigger.stream.process import read_events, score_events, score_feature_table
from dltrigger.stream.trigger import load_trigger

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def train(settings: TrainConfig) -> None:
    dlt.train.run(Config(train=settings, tracking=TrackingConfig(enabled=False)))


@pytest.fixture(scope="module")
def run(features_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream-run") / "inclusive"
    train(TrainConfig(model="inclusive", data=features_dataset / "full", out=folder, epochs=1,
                      max_particles=60, export=["onnx"]))  # fmt: skip
    return folder


def settings(run, tmp_path, **more) -> StreamConfig:
    more = {"threshold": 0.5, "settle_seconds": 0.5, "max_wait_seconds": 10, **more}
    return StreamConfig(model=run, input=str(tmp_path / "in"), out=tmp_path / "out", **more)


def all_rows(folder: Path, name: str = "scores"):
    files = sorted((folder / name).glob("batch-*.parquet"))
    return pq.ParquetDataset(files).read() if files else None


def assert_onnx_equals_pytorch(run: Path, model: str, trigger, features_dataset: Path) -> None:
    """The trigger's ONNX scores of a features part equal the run's PyTorch model's."""
    from dltrigger.models import build_model

    table = pq.read_table(sorted((features_dataset / "full").glob("part-*.parquet"))[0])
    rows = score_feature_table(table, trigger)
    network = build_model(model)
    network.load_state_dict(torch.load(run / "best.pt", weights_only=False)["model"])
    events = events_from_table(table, Scaling.from_file(run / "scaling.json"),
                               trigger.max_particles, trigger.uses_particles)  # fmt: skip
    with torch.no_grad():
        expected = torch.softmax(forward(network.eval(), to_batch(events), "cpu"), 1).numpy()
    got = np.stack([rows.column(c).to_numpy() for c in ("score_qcd", "score_ttbar",
                                                           "score_wjets")], axis=1)  # fmt: skip
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_onnx_trigger_scores_equal_pytorch(run, features_dataset, tmp_path):
    trigger = load_trigger(settings(run, tmp_path, threshold=None, background_efficiency=0.25))
    assert trigger.max_particles == 60
    assert_onnx_equals_pytorch(run, "inclusive", trigger, features_dataset)
    assert 0 < trigger.threshold < 1
    with pytest.raises(EvaluationError, match="too few to set a background efficiency"):
        load_trigger(settings(run, tmp_path, threshold=None, background_efficiency=1e-5))


def test_working_points_are_chosen_on_the_validation_split(run, tmp_path):
    """The cut from a background efficiency, and from an output-rate budget, counted by hand
    on the validation split's scores (never the test split's)."""
    from dltrigger.config import EvaluateConfig
    from dltrigger.ml.scoring import load_run, score

    trained = load_run(run)
    labels, scores = score(trained, trained.config.data, split="validation")
    accepted = np.isin(labels, [1, 2])
    summed = scores[:, [1, 2]].sum(axis=1)
    trigger = load_trigger(settings(run, tmp_path, threshold=None, background_efficiency=0.25))
    background = summed[~accepted]
    assert (background >= trigger.threshold).mean() <= 0.25
    looser = summed[summed < trigger.threshold].max()  # the next cut down lets more through
    assert (background >= looser).mean() > 0.25
    rates = EvaluateConfig(input_rate_hz=1e5, class_fractions={"QCD": 0.5, "ttbar": 0.2,
                                                                "W+jets": 0.3})  # fmt: skip
    budget = 30e3
    by_rate = load_trigger(
        settings(run, tmp_path, threshold=None, output_rate_hz=budget), rates=rates
    )
    fractions = np.array([0.5, 0.2, 0.3])
    totals = np.bincount(labels, minlength=3)

    def output_rate(cut):
        kept = np.bincount(labels[summed >= cut], minlength=3)
        return 1e5 * (fractions * kept / totals).sum()

    assert output_rate(by_rate.threshold) <= budget
    assert output_rate(summed[summed < by_rate.threshold].max()) > budget
    # 1 Hz: a single validation event of any class is worth more; no cut fits, refused.
    assert output_rate(summed.max()) > 1.0
    with pytest.raises(EvaluationError, match="no cut keeps the output rate within 1 Hz"):
        load_trigger(settings(run, tmp_path, threshold=None, output_rate_hz=1.0), rates=rates)
    with pytest.raises(ValueError, match=r"threshold 0\.5 and output_rate_hz 1000 both set"):
        settings(run, tmp_path, threshold=0.5, output_rate_hz=1e3)


def test_onnx_hlf_trigger_scores_equal_pytorch(features_dataset, tmp_path):
    """The HLF model's path (HLF only, no particle lists) against PyTorch on the same events."""
    run = tmp_path / "hlf"
    train(TrainConfig(model="hlf", data=features_dataset / "full", out=run, epochs=1,
                      export=["onnx"]))  # fmt: skip
    trigger = load_trigger(settings(run, tmp_path))
    assert not trigger.uses_particles
    assert_onnx_equals_pytorch(run, "hlf", trigger, features_dataset)


def test_stream_features_equal_the_features_stage(run, generated, features_dataset, tmp_path):
    trigger = load_trigger(settings(run, tmp_path))
    path = generated.files("ttbar")[0]
    events, collections = read_events(str(path), "Delphes", trigger)
    rows = score_events(events, trigger, collections, str(path))
    assert len(rows) == uproot.open(path)["Delphes"].num_entries
    full = pq.read_table(features_dataset / "full", columns=["source_file", "entry", "hlf"])
    mine = full.filter(np.array([s.endswith(path.name) for s in full["source_file"].to_pylist()]))
    selected = rows.filter(rows.column("selected"))
    assert selected.column("entry").to_pylist() == mine.column("entry").to_pylist()
    np.testing.assert_allclose(np.stack(selected.column("hlf").to_numpy(zero_copy_only=False)),
                               np.stack(mine.column("hlf").to_numpy(zero_copy_only=False)),
                               rtol=1e-6)  # fmt: skip


def test_bad_and_growing_files_are_handled(run, generated, spark, tmp_path):
    incoming = tmp_path / "in"
    incoming.mkdir()
    good = generated.files("wjets")[0]
    shutil.copy(good, incoming / "good.root")
    (incoming / "truncated.root").write_bytes(good.read_bytes()[:50_000])
    (incoming / "text.root").write_text("not a ROOT file")
    (incoming / "empty.root").write_bytes(b"")
    with uproot.recreate(incoming / "other-tree.root") as f:
        f.mktree("Events", {"x": np.int64}).extend({"x": np.arange(3)})
    # a file still being written: half now, the rest 1 s later
    growing = incoming / "growing.root"
    data = generated.files("qcd")[0].read_bytes()
    growing.write_bytes(data[: len(data) // 2])

    def finish():
        time.sleep(1.0)
        with open(growing, "ab") as f:
            f.write(data[len(data) // 2 :])

    writer = threading.Thread(target=finish)
    writer.start()
    config = Config(stream=settings(run, tmp_path, settle_seconds=2.0, available_now=True))
    summary = dlt.stream.run(config, spark=spark).summary
    writer.join()
    reasons = {Path(q["path"]).name: q["reason"] for q in summary["quarantined"]}
    assert set(reasons) == {"truncated.root", "text.root", "empty.root", "other-tree.root"}
    assert "truncated" in reasons["truncated.root"]
    assert "empty file" in reasons["empty.root"]
    assert (
        "no tree 'Delphes'" in reasons["other-tree.root"] and "Events" in reasons["other-tree.root"]
    )
    scores = all_rows(tmp_path / "out")
    names = {Path(p).name for p in scores.column("source_file").to_pylist()}
    assert names == {"good.root", "growing.root"}
    sources = scores.column("source_file").to_pylist()
    entries = sum(p.endswith("growing.root") for p in sources)
    assert entries == uproot.open(generated.files("qcd")[0])["Delphes"].num_entries
    accepted = all_rows(tmp_path / "out", "accepted")
    assert len(accepted) == summary["accepted"] == sum(scores.column("accepted").to_pylist())
    report = json.loads((tmp_path / "out" / "_stream_report.json").read_text())
    assert report["events"] == len(scores) and report["latency_p99_s"] > 0


def test_a_killed_stream_restarts_exactly_once(run, generated, tmp_path):
    staging, incoming = tmp_path / "staging", tmp_path / "in"
    staging.mkdir()
    incoming.mkdir()
    files = [f for p in ("wjets", "ttbar", "qcd") for f in generated.files(p)]
    expected = sum(uproot.open(f)["Delphes"].num_entries for f in files)
    config = tmp_path / "dltrigger.toml"
    config.write_text(
        f'[spark]\nmaster = "local[2]"\n[spark.conf]\n"spark.ui.enabled" = "false"\n'
        f'[stream]\nmodel = "{run}"\ninput = "{incoming}"\nout = "{tmp_path / "out"}"\n'
        "max_files_per_trigger = 1\ntrigger_seconds = 0.2\nsettle_seconds = 0\nthreshold = 0.5\n"
    )

    def arrive(paths):  # written elsewhere, then renamed in: the file appears complete
        for path in paths:
            shutil.copy(path, staging / path.name)
            os.replace(staging / path.name, incoming / path.name)

    arrive(files[:3])
    command = [sys.executable, "-m", "dltrigger", "stream", "--config", str(config)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    markers = tmp_path / "out" / "batches"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(markers.glob("batch-*.json")):
        time.sleep(0.2)
    arrive(files[3:])
    os.killpg(process.pid, signal.SIGKILL)  # mid-stream, probably mid-batch
    process.wait()
    assert list(markers.glob("batch-*.json")), "the stream wrote no batch before the kill"
    done_before = len(list(markers.glob("batch-*.json")))
    assert done_before < len(files)
    restart = subprocess.run([*command, "--available-now", "--quiet"], capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert restart.returncode == 0, restart.stderr[-2000:]
    scores = all_rows(tmp_path / "out")
    keys = list(zip(scores.column("source_file").to_pylist(), scores.column("entry").to_pylist(),
                    strict=True))  # fmt: skip
    assert len(keys) == len(set(keys)) == expected  # every event, once
    assert {Path(k[0]).name for k in keys} == {f.name for f in files}
    assert f"{len(files)} files" in restart.stdout


def test_score_command(run, generated, features_dataset, tmp_path, capsys):
    out = tmp_path / "scored"
    (tmp_path / "junk.root").write_text("junk")
    inputs = [str(generated.files("wjets")[0]), str(tmp_path / "junk.root"),
              str(features_dataset / "dev")]  # fmt: skip
    assert main(["score", *inputs, "--model", str(run), "--out", str(out),
                 "--threshold", "0.5", "--master", "local[2]"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "1 files quarantined" in printed and "junk.root" in printed
    summary = json.loads((out / "summary.json").read_text())
    scores = pq.read_table(out / "scores")
    dev = pq.read_table(features_dataset / "dev", columns=["entry"])
    root_entries = uproot.open(generated.files("wjets")[0])["Delphes"].num_entries
    assert summary["events"] == len(scores) == root_entries + len(dev)
    assert summary["accepted"] == len(pq.read_table(out / "accepted"))
    assert all(a == (s >= 0.5) for a, s in zip(scores["accepted"].to_pylist(),
               scores["accept_score"].to_pylist(), strict=True) if s is not None)  # fmt: skip
    assert main(["score", *inputs, "--model", str(run), "--out", str(out)]) == 1  # exists
    empty = tmp_path / "norun"
    empty.mkdir()
    with pytest.raises(EvaluationError, match=r"no config\.json"):
        load_trigger(StreamConfig(model=empty))


def test_score_writes_the_same_output_with_either_executor(
    run, generated, features_dataset, spark, tmp_path
):
    """``dlt.stream.score`` in the local process pool and in Spark tasks: the same part files,
    the same rows and schema in each, the same summary."""
    (tmp_path / "junk.root").write_text("junk")
    inputs = [*(str(f) for p in ("wjets", "ttbar", "qcd") for f in generated.files(p)[:1]),
              str(tmp_path / "junk.root"), str(features_dataset / "dev")]  # fmt: skip
    stream_settings = StreamConfig(model=run, threshold=0.5)
    summaries = {}
    for executor in ("local", "spark"):
        config = Config(
            spark=SparkConfig(master="local[2]", executor=executor),
            stream=stream_settings,
            score=ScoreConfig(inputs=inputs, out=tmp_path / executor),
        )
        result = dlt.stream.score(config, spark=spark)
        summaries[executor] = json.loads((tmp_path / executor / "summary.json").read_text())
        assert summaries[executor] == result.summary
    assert summaries["local"] == summaries["spark"]
    assert summaries["local"]["events"] > 0 and len(summaries["local"]["quarantined"]) == 1
    for name in ("scores", "accepted"):
        local, spark_parts = (
            sorted(p.name for p in (tmp_path / executor / name).iterdir())
            for executor in ("local", "spark")
        )
        assert local == spark_parts and local, name
        for part in local:
            a = pq.read_table(tmp_path / "local" / name / part)
            b = pq.read_table(tmp_path / "spark" / name / part)
            assert a.schema.equals(b.schema, check_metadata=True), part
            assert a.equals(b), part


@pytest.mark.xrootd
def test_stream_watches_a_root_folder(run, generated, spark, xrootd_server, tmp_path):
    folder = xrootd_server.folder / "incoming"
    folder.mkdir()
    os.chmod(folder, 0o755)
    files = generated.files("wjets")[:2]
    for path in files:
        shutil.copy(path, folder / path.name)
    (folder / "broken.root").write_bytes(b"nope")
    url = xrootd_server.url_of("incoming/")
    watching = settings(run, tmp_path, max_files_per_trigger=2, available_now=True)
    config = Config(stream=watching.model_copy(update={"input": url}))
    first = dlt.stream.run(config, spark=spark).summary
    assert first["files"] == 3 and [q["reason"] for q in first["quarantined"]]
    shutil.copy(generated.files("ttbar")[0], folder / "late.root")
    os.utime(folder / "late.root", (time.time() + 5, time.time() + 5))  # arrives later
    second = dlt.stream.run(config, spark=spark).summary
    scores = all_rows(tmp_path / "out")
    keys = list(zip(scores.column("source_file").to_pylist(), scores.column("entry").to_pylist(),
                    strict=True))  # fmt: skip
    expected = sum(uproot.open(f)["Delphes"].num_entries
                   for f in [*files, generated.files("ttbar")[0]])  # fmt: skip
    assert len(keys) == len(set(keys)) == expected
    assert all(k[0].startswith("root://") for k in keys)
    assert second["files"] == 4  # the restarted query took only the new file
