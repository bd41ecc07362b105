"""What stages hand each other is checked by value (issue 14, cases 5, 6, 12): a trained model
carries the feature settings it was trained with, and every reader refuses other ones."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import dltrigger as dlt
from dltrigger.artifacts import RunFolder
from dltrigger.cli import main
from dltrigger.config import Config, FeaturesConfig, StreamConfig, TrackingConfig, TrainConfig
from dltrigger.errors import EvaluationError, TrainingError

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: Settings other than the defaults, each changing feature values (MT, particle lists).
OTHER_SETTINGS = {"mt_squared": True, "max_tracks": 20}


def train(settings: TrainConfig) -> list[dict]:
    """``dlt.train.run`` with ``settings`` and no tracking: each epoch's metrics."""
    return list(
        dlt.train.run(Config(train=settings, tracking=TrackingConfig(enabled=False))).history
    )


@pytest.fixture(scope="module")
def other_dataset(spark, ingested, tmp_path_factory) -> Path:
    """The shared ingested sample through ``dltrigger features`` with OTHER_SETTINGS."""
    out = tmp_path_factory.mktemp("features-other") / "features"
    settings = FeaturesConfig(input=ingested, out=out, **OTHER_SETTINGS)
    dlt.features.run(Config(features=settings), spark=spark)
    return out


@pytest.fixture(scope="module")
def other_run(other_dataset, tmp_path_factory) -> Path:
    """An inclusive model trained on ``other_dataset`` (one epoch, exported to ONNX)."""
    folder = tmp_path_factory.mktemp("other-run") / "inclusive"
    train(TrainConfig(model="inclusive", data=other_dataset / "full", out=folder, epochs=1,
                      max_particles=40, export=["onnx"]))  # fmt: skip
    return folder


def scores_of(path: Path, trigger) -> np.ndarray:
    from dltrigger.stream.process import SCORE_COLUMNS, process_file

    table = process_file(str(path), trigger, "Delphes", settle=0, max_wait=1)
    assert table.column("quarantine").null_count == len(table)
    return np.stack([table.column(c).to_numpy(zero_copy_only=False) for c in SCORE_COLUMNS], 1)


def test_case_5_score_uses_the_settings_the_model_was_trained_with(
    other_dataset, other_run, generated, tmp_path, capsys
):
    from dltrigger.stream.trigger import load_trigger

    root_file = generated.files("wjets")[0]
    settings = StreamConfig(model=other_run, threshold=0.5)
    trigger = load_trigger(settings)
    assert trigger.features.mt_squared and trigger.features.max_tracks == 20
    expected = scores_of(root_file, trigger)
    # the defaults in their place would change the scores: the check below can fail
    defaults = replace(trigger, features=FeaturesConfig())
    assert np.nanmax(np.abs(scores_of(root_file, defaults) - expected)) > 1e-3

    moved = tmp_path / "elsewhere"
    shutil.move(other_dataset, moved)  # the training dataset is gone from its recorded path
    try:
        assert load_trigger(settings).features == trigger.features
        out = tmp_path / "scored"
        assert main(["score", str(root_file), "--model", str(other_run), "--out", str(out),
                     "--threshold", "0.5", "--master", "local[2]"]) == 0  # fmt: skip
        import pyarrow.parquet as pq

        from dltrigger.stream.process import SCORE_COLUMNS

        table = pq.read_table(out / "scores").sort_by("entry")
        got = np.stack([table.column(c).to_numpy(zero_copy_only=False) for c in SCORE_COLUMNS], 1)
        np.testing.assert_allclose(got, expected, atol=1e-6)

        # a run folder from before features.json, its dataset gone: refused, not defaults
        legacy = tmp_path / "legacy"
        shutil.copytree(other_run, legacy)
        (legacy / RunFolder.FEATURES).unlink()
        with pytest.raises(EvaluationError, match=r"feature settings it was trained with are "
                                                  r"unknown"):  # fmt: skip
            load_trigger(StreamConfig(model=legacy, threshold=0.5))
    finally:
        shutil.move(moved, other_dataset)


def test_case_5_a_features_file_made_with_other_settings_is_quarantined(
    other_run, features_dataset
):
    from dltrigger.stream.process import process_file
    from dltrigger.stream.trigger import load_trigger

    trigger = load_trigger(StreamConfig(model=other_run, threshold=0.5))
    part = sorted((features_dataset / "dev").glob("part-*.parquet"))[0]  # default settings
    table = process_file(str(part), trigger, "Delphes", settle=0, max_wait=1)
    reason = table.column("quarantine")[0].as_py()
    assert len(table) == 1 and "other feature settings" in reason
    assert "mt_squared: True in training, False here" in reason and "max_tracks: 20" in reason


def test_case_6_evaluate_refuses_a_dataset_made_with_other_settings(
    other_dataset, other_run, features_dataset, tmp_path, capsys
):
    out = tmp_path / "report"
    code = main(["evaluate", str(other_run), "--data", str(features_dataset / "full"),
                 "--out", str(out), "--bootstrap", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert "dltrigger evaluate: error:" in err and "other feature settings" in err
    assert "mt_squared: True in training, False here" in err
    assert "max_tracks: 20 in training, 450 here" in err
    # its own settings (another dataset of them: dev) pass
    assert main(["evaluate", str(other_run), "--data", str(other_dataset / "dev"),
                 "--out", str(out), "--bootstrap", "2"]) == 0  # fmt: skip
    report = json.loads((out / "evaluation.json").read_text())
    assert report["models"]["inclusive"]["test_events"] > 0


def test_case_6_an_hlf_model_ignores_particle_list_settings(
    other_dataset, features_dataset, tmp_path
):
    """``max_tracks`` changes no HLF: an HLF model may be evaluated across it, not across
    ``mt_squared`` (MT)."""
    from dltrigger.artifacts import FeaturesDataset
    from dltrigger.errors import DatasetError

    run = tmp_path / "hlf"
    train(TrainConfig(model="hlf", data=other_dataset / "dev", out=run, epochs=1, export=[]))
    folder = RunFolder(run)
    made = json.loads((run / RunFolder.FEATURES).read_text())
    assert made["settings"]["max_tracks"] == 20 and made["schema"]["hlf"][3] == "MT"
    with pytest.raises(DatasetError) as refused:
        folder.check_dataset(FeaturesDataset(features_dataset / "dev"))
    assert "mt_squared: True in training, False here" in str(refused.value)
    assert "max_tracks" not in str(refused.value)


def test_case_12_resume_after_a_kill_before_the_first_epoch(features_dataset, tmp_path):
    config = TrainConfig(model="hlf", data=features_dataset / "dev", out=tmp_path / "run",
                         epochs=1, export=[])  # fmt: skip
    train(config)
    run = RunFolder(config.run_folder)
    for name in (run.CHECKPOINT, run.BEST, run.METRICS, run.METRICS_CSV, run.SUMMARY):
        (run / name).unlink()  # as a run killed during its first epoch leaves it
    with pytest.raises(TrainingError, match=r"another configuration \(batch_size"):
        train(config.model_copy(update={"batch_size": 7, "resume": True}))
    history = train(config.model_copy(update={"epochs": 2, "resume": True}))
    assert [h["epoch"] for h in history] == [1, 2] and run.complete
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TrainingError, match=r"nothing to resume in .*empty: no checkpoint\.pt"):
        train(config.model_copy(update={"out": empty, "resume": True}))


#: What Java 17 prints as the JVM starts (Spark 4 enables an incubator module); not ours.
JVM_BANNER = "WARNING: Using incubator modules: jdk.incubator.vector"


def dltrigger(*args: str, cwd: Path, timeout: float = 300):
    """The command in a process of its own (its own JVM, so its own logging), stderr without
    blank lines and the JVM's start-up banner."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    result = subprocess.run([sys.executable, "-m", "dltrigger", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip() and line != JVM_BANNER]
    result.stderr = "\n".join(lines)
    return result


def test_case_11_an_unreachable_master_fails_at_once_in_one_line(generated, tmp_path):
    import time

    from tests.conftest import free_port

    master = f"spark://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = dltrigger("ingest", str(generated.files("wjets")[0]), "--out", str(tmp_path / "o"),
                       "--master", master, "--quiet", cwd=tmp_path)  # fmt: skip
    assert time.monotonic() - start < 60
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"dltrigger ingest: error: cannot reach Spark master {master}")


def test_case_11_a_corrupt_model_is_refused_before_spark_starts(other_run, generated, tmp_path):
    """With an unreachable master, the error is about the model: it was checked first."""
    from tests.conftest import free_port

    master = f"spark://127.0.0.1:{free_port()}"
    bad = tmp_path / "bad-onnx"
    shutil.copytree(other_run, bad)
    (bad / "model.onnx").write_bytes((bad / "model.onnx").read_bytes()[:500])
    result = dltrigger("score", str(generated.files("wjets")[0]), "--model", str(bad),
                       "--threshold", "0.5", "--out", str(tmp_path / "s"), "--master", master,
                       cwd=tmp_path)  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"dltrigger score: error: {bad / 'model.onnx'}: not a loadable ONNX")
    # a truncated best.pt (evaluate) and checkpoint.pt (train --resume): one line, the file
    (bad / "best.pt").write_bytes(b"PK\x03\x04 truncated")
    result = dltrigger("evaluate", str(bad), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert result.stderr.strip().splitlines() == [
        f"dltrigger evaluate: error: {bad / 'best.pt'}: not a readable checkpoint "
        + result.stderr.split("not a readable checkpoint ", 1)[1].strip()
    ]
    (bad / "checkpoint.pt").write_bytes(b"")
    data = json.loads((bad / "config.json").read_text())["data"]
    result = dltrigger("train", "--model", "inclusive", "--data", data, "--out", str(bad),
                       "--resume", "--quiet", cwd=tmp_path)  # fmt: skip
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "checkpoint.pt: not a readable checkpoint" in last


def test_case_11_a_failed_task_gives_one_line_and_a_log_file(spark, generated, tmp_path):
    from tests.test_outputs import corrupt_inside_baskets

    bad = corrupt_inside_baskets(generated.files("wjets")[0], tmp_path / "wjets_bad.root")
    # in Spark tasks (a local master and a small input would take the local process pool)
    args = ("ingest", str(bad), "--out", str(tmp_path / "o"), "--master", "local[1]", "--quiet",
            "--executor", "spark")  # fmt: skip
    result = dltrigger(*args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 2, result.stderr[-3000:]
    assert lines[-1].startswith("dltrigger ingest: error:") and "wjets_bad.root" in lines[-1]
    assert "Spark's log (Java stack traces): " in lines[0]
    log = Path(lines[0].split("Spark's log (Java stack traces): ")[1])
    assert "\tat org.apache.spark" in log.read_text()
    verbose = dltrigger(*args, "--verbose", cwd=tmp_path)
    assert verbose.returncode == 1 and "\tat org.apache.spark" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1].startswith("dltrigger ingest: error:")
