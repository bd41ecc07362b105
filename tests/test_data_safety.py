"""Never lose a user's data, round two (issue 28): generate replaces only what it writes, a
user's folder is never taken for an old output, a re-train replaces the old run only when
complete, one writer per output, a training notices its dataset changing, freshness and
class counts from the content, and the disk-full, link and leftover cases."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import dltrigger as dlt
from dltrigger.cli import main
from dltrigger.config import Config, StreamConfig, TrackingConfig, TrainConfig
from dltrigger.errors import DatasetError, EvaluationError, OutputError, TrainingError
from dltrigger.io.ownership import check_replaceable, kind_of, writing
from dltrigger.ml.dataset import check_trainable
from dltrigger.pipeline import STATE_VERSION, digest, inputs_digest, why_stale
from dltrigger.stage import Stage
from dltrigger.train.run_folder import prepare_run_folder

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[1]


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def generate(capsys, out: Path, process: str, *extra: str) -> tuple[int, str]:
    code = main(["generate", "--process", process, "--events", "10", "--events-per-file",
                 "10", "--no-mpi", "--out", str(out), "--quiet", *extra])  # fmt: skip
    return code, capsys.readouterr().err


def training(dataset: Path, run: Path, **values) -> TrainConfig:
    settings = {"model": "hlf", "epochs": 1, "batch_size": 64, "export": [], **values}
    return TrainConfig(data=dataset, out=run, **settings)


def train(settings: TrainConfig) -> tuple[dict, ...]:
    """``dlt.train.run`` with ``settings`` and no tracking: each epoch's metrics."""
    return dlt.train.run(Config(train=settings, tracking=TrackingConfig(enabled=False))).history


def cli_train(dataset: Path, run: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "dltrigger", "train", "--model", "hlf", "--data",
               str(dataset), "--out", str(run), "--batch-size", "16", "--quiet",
               *extra]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dataset(features_dataset) -> Path:
    return features_dataset / "full"


@pytest.fixture
def own_dataset(dataset, tmp_path) -> Path:
    """A copy of the dataset that a test may change."""
    copy = tmp_path / "dataset"
    shutil.copytree(dataset, copy)
    return copy


# --- 1, 2: generate -----------------------------------------------------------------------


def test_generate_into_a_folder_keeps_the_files_of_earlier_runs(spark, tmp_path, capsys):
    out = tmp_path / "gen"
    assert generate(capsys, out, "wjets")[0] == 0
    wjets = (out / "wjets_0.root").read_bytes()
    assert generate(capsys, out, "ttbar")[0] == 0
    assert sorted(p.name for p in out.glob("*.root")) == ["ttbar_0.root", "wjets_0.root"]
    assert (out / "wjets_0.root").read_bytes() == wjets
    record = json.loads((out / "_generate.json").read_text())
    assert set(record) == {"ttbar_0.root", "wjets_0.root"}


def test_generate_overwrite_replaces_only_the_files_it_writes(spark, tmp_path, capsys, caplog):
    out = tmp_path / "gen"
    assert generate(capsys, out, "wjets", "--seed", "1")[0] == 0
    assert generate(capsys, out, "ttbar")[0] == 0
    ttbar = (out / "ttbar_0.root").read_bytes()
    old = (out / "wjets_0.root").read_bytes()
    assert generate(capsys, out, "wjets", "--seed", "2", "--overwrite")[0] == 0
    assert (out / "ttbar_0.root").read_bytes() == ttbar  # another process: untouched
    assert (out / "wjets_0.root").read_bytes() != old  # the file it writes: replaced
    # a file of the same name that generate did not write is never replaced
    (out / "qcd_0.root").write_bytes(b"the user's own file")
    code, err = generate(capsys, out, "qcd", "--overwrite")
    assert code == 1 and "qcd_0.root" in err and "not written by `dltrigger generate`" in err
    assert len(err.strip().splitlines()) == 1
    assert (out / "qcd_0.root").read_bytes() == b"the user's own file"
    # files of an earlier run with other settings stay, and are named
    more = ["--events", "20"]  # wjets_1 with seed 2 ...
    assert generate(capsys, out, "wjets", "--seed", "2", "--overwrite", *more)[0] == 0
    with caplog.at_level("WARNING", logger="dltrigger"):
        assert generate(capsys, out, "wjets", "--seed", "3", "--overwrite")[0] == 0
    assert (out / "wjets_1.root").exists()  # ... kept by a seed-3 run of one file
    assert "wjets_1.root made by an earlier `dltrigger generate` with other settings" in (
        caplog.text
    )


# --- 3: a user's folder is never an old output because of one file name -------------------


def test_a_user_folder_with_an_output_file_name_is_not_replaced(dataset, tmp_path, capsys):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "config.json").write_text("{}")
    (project / "thesis.tex").write_text("\\documentclass{article}")
    (project / "src" / "main.C").write_text("void main() {}")
    before = contents(project)
    code = main(["train", "--model", "hlf", "--data", str(dataset), "--out", str(project),
                 "--overwrite", "--epochs", "1", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "not a dltrigger output" in err and "thesis.tex" in err
    assert contents(project) == before
    report = tmp_path / "report"
    report.mkdir()
    (report / "evaluation.json").write_text("{}")
    (report / "notes.md").write_text("mine")
    with pytest.raises(OutputError, match=r"files dltrigger never writes there \(notes.md\)"):
        check_replaceable(report, "report", overwrite=True)
    # a folder written before markers, holding only what the stage writes, is still one
    (report / "notes.md").unlink()
    (report / "roc_qcd.png").write_bytes(b"png")
    assert kind_of(report) == "report"
    check_replaceable(report, "report", overwrite=True)


# --- 4: a re-train replaces the old run only when complete --------------------------------


def test_a_failed_retrain_leaves_the_previous_run_intact(dataset, tmp_path):
    run = tmp_path / "run"
    train(training(dataset, run))
    before = contents(run)
    with pytest.raises(TrainingError, match=r"at epoch 1.*is left as it was"):
        train(training(dataset, run, overwrite=True, learning_rate=1e30, epochs=3))
    assert contents(run) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_killed_retrain_leaves_the_previous_run_intact(dataset, tmp_path):
    run = tmp_path / "run"
    train(training(dataset, run))
    before = contents(run)
    process = cli_train(dataset, run, "--overwrite", "--epochs", "500")
    try:
        aside = lambda: [p for p in tmp_path.glob(".tmp-run-*") if (p / "checkpoint.pt").exists()]  # noqa: E731
        wait_for(lambda: aside() or process.poll() is not None)
        assert aside(), process.stderr.read() if process.stderr else ""
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert contents(run) == before  # the new run was built aside
    train(training(dataset, run, overwrite=True))  # the next writer removes the leftover
    assert not list(tmp_path.glob(".tmp-run-*"))


# --- 5: one writer per output, for its whole life -----------------------------------------


def test_two_concurrent_trainings_of_one_run_folder_the_second_fails_at_once(dataset, tmp_path):
    run = tmp_path / "run"
    first = cli_train(dataset, run, "--overwrite", "--epochs", "500")
    try:
        wait_for(lambda: (run / "config.json").exists() or first.poll() is not None)
        assert first.poll() is None
        start = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "dltrigger", "train", "--model", "hlf", "--data", str(dataset),
             "--out", str(run), "--overwrite", "--epochs", "1", "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 1
        line = second.stderr.strip().splitlines()[-1]
        assert f"being written by another dltrigger (pid {first.pid} on " in line
        assert "dltrigger train" in line  # the holder's command
        assert time.monotonic() - start < 60  # at once: imports, no training
        # a resume is refused likewise, and the holder goes on
        with pytest.raises(OutputError, match="being written by another dltrigger"):
            train(training(dataset, run, epochs=2, resume=True))
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


HOLD = """
import sys, time
from pathlib import Path
from dltrigger.io.ownership import writing
with writing(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_second_pipeline_or_stream_of_one_folder_fails_at_once(spark, tmp_path, capsys):
    state = tmp_path / "runs" / "pipeline.json"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        from dltrigger.config import Config, RunConfig
        from dltrigger.pipeline import run_pipeline

        config = Config(run=RunConfig(state=state, generate=False))
        with pytest.raises(OutputError, match=rf"pipeline.json is being written by another "
                                              rf"dltrigger \(pid {holder.pid}"):  # fmt: skip
            run_pipeline(config, spark=spark)
    finally:
        holder.kill()
        holder.wait()


def test_a_stream_refuses_a_folder_that_is_not_a_stream_output(tmp_path):
    from dltrigger.errors import StreamError
    from dltrigger.stream.job import claim_stream_output

    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("x")
    with pytest.raises(StreamError, match="is not a dltrigger output: a stream writes only"):
        claim_stream_output(user)
    claim_stream_output(tmp_path / "new")  # a new folder is fine


# --- 7: the training dataset is pinned --------------------------------------------------


def remake(dataset: Path) -> None:
    """The dataset re-made: a part's events in another order (the same counts, so that only
    the content tells)."""
    part = sorted(dataset.glob("part-*.parquet"))[0]
    table = pq.read_table(part)
    remade = dataset.parent / ".remade.parquet"
    pq.write_table(table.take(np.arange(len(table))[::-1]), remade)
    os.replace(remade, part)


def test_a_dataset_remade_during_training_stops_it(own_dataset, tmp_path):
    run = tmp_path / "run"
    process = cli_train(own_dataset, run, "--epochs", "500", "--in-memory")
    try:
        wait_for(lambda: (run / "checkpoint.pt").exists() or process.poll() is not None)
        remake(own_dataset)
        process.wait(timeout=120)
        assert process.stderr is not None
        err = process.stderr.read()
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1
    assert f"the training dataset {own_dataset} changed during epoch" in err
    assert len(json.loads((run / "metrics.json").read_text())) < 500


def test_resuming_on_a_remade_dataset_is_refused(own_dataset, tmp_path):
    run = tmp_path / "run"
    train(training(own_dataset, run))
    recorded = json.loads((run / "features.json").read_text())["dataset_digest"]
    assert len(recorded) == 64
    # the same content, copied back with new times, is the same dataset
    shutil.copytree(own_dataset, tmp_path / "copy")
    shutil.rmtree(own_dataset)
    shutil.copytree(tmp_path / "copy", own_dataset, copy_function=shutil.copy)
    train(training(own_dataset, run, epochs=2, resume=True))
    remake(own_dataset)
    with pytest.raises(TrainingError, match=r"is not the dataset .* started training on"):
        train(training(own_dataset, run, epochs=3, resume=True))


# --- 8: freshness by content; no stale model ----------------------------------------------


class FileStage:
    """A stage (:class:`dltrigger.stage.Stage`) that reads one file and writes another, with
    no settings; only its freshness is asked, it never runs."""

    name = "s"
    kind: str | None = None
    section = "run"

    def __init__(self, data: Path, made: Path):
        self.data, self.made = data, made

    def inputs(self, config: Config) -> list[Path]:
        return [self.data]

    def outputs(self, config: Config) -> list[Path]:
        return [self.made]

    def settings(self, config: Config) -> dict:
        return {}

    def run(self, config: Config, *, spark=None, progress: bool = False):
        raise AssertionError("only the freshness of this stage is checked")

    def facts(self, result) -> dict:
        return {}


def test_freshness_sees_a_content_change_with_the_same_size_and_time(tmp_path):
    data = tmp_path / "in.bin"
    data.write_bytes(b"a" * 100)
    made = tmp_path / "out.bin"
    made.write_bytes(b"result")
    stage: Stage = FileStage(data, made)
    config = Config()
    cache: dict = {}
    record = {"version": STATE_VERSION, "digest": digest({}),
              "inputs": inputs_digest([data], cache),
              "outputs": inputs_digest([made], cache)}  # fmt: skip
    assert why_stale(stage, config, record, cache) is None
    stat = data.stat()
    data.write_bytes(b"b" * 100)  # same size, and the old time put back
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert why_stale(stage, config, record, cache) == "inputs changed"
    data.write_bytes(b"a" * 100)
    shutil.copy(data, tmp_path / "x")
    os.replace(tmp_path / "x", data)  # a copy of the same content: no change
    assert why_stale(stage, config, record, cache) is None
    made.write_bytes(b"re-made by hand")  # e.g. a run folder re-trained with other settings
    assert (
        why_stale(stage, config, record, cache) == "outputs changed since `dltrigger run` made them"
    )


def test_a_run_whose_training_did_not_finish_is_not_scored(dataset, tmp_path):
    from dltrigger.stream.trigger import load_trigger

    run = tmp_path / "run"
    train(training(dataset, run, export=["onnx"]))
    load_trigger(StreamConfig(model=run, threshold=0.5))
    (run / "summary.json").unlink()  # as a resume does when it starts; then killed
    with pytest.raises(EvaluationError, match="its training did not finish"):
        load_trigger(StreamConfig(model=run, threshold=0.5))


# --- 10: class counts from the data --------------------------------------------------------


def test_class_counts_come_from_the_data_not_the_side_files(dataset, tmp_path):
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    part = sorted(dataset.glob("part-*.parquet"))[0]
    table = pq.read_table(part)
    labels = np.asarray(table["label"])
    pq.write_table(table.take(np.flatnonzero(labels == labels[0])[:3]), tiny / part.name)
    for side in ("_scaling.json", "_manifest.json"):
        shutil.copy(dataset / side, tiny)
    with pytest.raises(DatasetError, match=r"_manifest.json counts .* but its parts hold"):
        check_trainable(tiny)
    (tiny / "_manifest.json").unlink()
    with pytest.raises(DatasetError, match=r"the train split has \d events"):
        check_trainable(tiny)
    with pytest.raises(DatasetError):
        train(training(tiny, tmp_path / "run"))
    assert not (tmp_path / "run").exists()


# --- 13: disk full, links, leftovers ----------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_during_training_is_said_so(dataset, small_disk):
    with pytest.raises(TrainingError, match=r"cannot write .*: no space left on the device"):
        train(training(dataset, small_disk / "run", model="particle"))


def test_a_link_as_the_output_is_refused_with_the_rule(dataset, tmp_path):
    run = tmp_path / "run"
    train(training(dataset, run))
    link = tmp_path / "link"
    link.symlink_to(run)
    before = contents(run)
    with pytest.raises(TrainingError, match=r"is a symbolic link \(to .*run\).*give the folder"):
        train(training(dataset, link, overwrite=True))
    assert contents(run) == before and link.is_symlink()


def test_a_dangling_temporary_link_is_cleaned_by_the_next_writer(tmp_path):
    out = tmp_path / "out"
    leftover = tmp_path / ".tmp-out-0123456789ab"
    leftover.symlink_to(tmp_path / "gone")
    elsewhere = tmp_path / "kept"
    elsewhere.mkdir()
    pointing = tmp_path / ".tmp-out-ba9876543210"
    pointing.symlink_to(elsewhere)
    with writing(out):
        pass
    assert not leftover.is_symlink() and not pointing.is_symlink()
    assert elsewhere.is_dir()  # a link is removed, never what it points to
    config = TrainConfig(out=tmp_path / "r", data=None)
    assert prepare_run_folder(config, resume=False).final == tmp_path / "r"
