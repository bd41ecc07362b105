"""Data-parallel training on Spark (TorchDistributor, gloo): on local[2] and on a standalone
cluster. Ranks must end with identical weights and match single-process training."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dltrigger as dlt
from dltrigger.config import Config, TrackingConfig, TrainConfig
from dltrigger.errors import DatasetError

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.distributed]

#: Validation losses of 2-process and 1-process training after the same epochs agree within
#: this (absolute; losses start at ~1.1, the runs differ in batch composition and order).
LOSS_TOLERANCE = 0.08


def settings(dataset, run, **values) -> TrainConfig:
    base = dict(model="hlf", data=dataset, out=run, epochs=8, batch_size=32, seed=1, export=[])
    return TrainConfig(**{**base, **values})


def train(config: TrainConfig, spark=None) -> tuple[dict, ...]:
    """``dlt.train.run`` with ``config`` and no tracking: each epoch's metrics."""
    run = Config(train=config, tracking=TrackingConfig(enabled=False))
    return dlt.train.run(run, spark=spark).history


def test_two_processes_converge_like_one(spark, features_dataset, tmp_path):
    dataset = features_dataset / "full"
    two = train(settings(dataset, tmp_path / "two", num_processes=2), spark=spark)
    one = train(settings(dataset, tmp_path / "one", batch_size=64, learning_rate=2e-3))
    assert [h["epoch"] for h in two] == list(range(1, 9))
    assert two[-1]["loss"] < 0.9 * two[0]["loss"]  # it learns
    assert two[-1]["learning_rate"] == pytest.approx(2e-3)  # linear scaling, 2 x 1e-3
    ranks = json.loads((tmp_path / "two" / "ranks.json").read_text())
    assert ranks["world_size"] == 2
    assert len(set(ranks["weights_sha256"])) == 1  # DDP kept the ranks in step
    difference = abs(two[-1]["val_loss"] - one[-1]["val_loss"])
    print(f"val_loss 2 processes {two[-1]['val_loss']:.4f}, 1 process {one[-1]['val_loss']:.4f}")
    assert difference < LOSS_TOLERANCE
    # Each rank saw its own half: together, every training event once per epoch.
    assert two[0]["samples"] == one[0]["samples"]
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["complete"] and summary["processes"] == 2


def test_a_failing_rank_fails_the_run_with_its_reason(spark, features_dataset, tmp_path):
    """A dataset file that breaks mid-run: the job fails naming it; no complete-run marker."""
    dataset = tmp_path / "data"
    dataset.mkdir()
    for path in (features_dataset / "full").iterdir():
        (dataset / path.name).write_bytes(path.read_bytes())
    victim = sorted(dataset.glob("part-*.parquet"))[-1]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated
    config = settings(dataset, tmp_path / "run", num_processes=2, epochs=2, in_memory=False)
    # issue 28: the class counts read every part before any rank starts, so the broken file
    # is named before training (it used to fail a rank mid-run)
    with pytest.raises(DatasetError, match=rf"{victim.name}: cannot be read"):
        train(config, spark=spark)
    assert not (tmp_path / "run" / "summary.json").exists()


def test_distributed_training_on_a_standalone_cluster(
    features_dataset, standalone_cluster, tmp_path
):
    """The same command pointed at a cluster master: two barrier tasks on the worker."""
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "dltrigger", "train", "--model", "inclusive",
        "--data", str(features_dataset / "full"), "--out", str(run), "--epochs", "2",
        "--max-particles", "40", "--export", "", "--quiet", "--distributed",
        "--num-processes", "2", "--master", standalone_cluster, "--no-tracking",
    ]  # fmt: skip
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "data-parallel training: 2 processes on spark://127.0.0.1" in result.stdout
    ranks = json.loads((run / "ranks.json").read_text())
    assert len(set(ranks["weights_sha256"])) == 1
    history = json.loads((run / "metrics.json").read_text())
    assert len(history) == 2 and history[-1]["loss"] < history[0]["loss"]


def test_a_lost_worker_fails_the_run_and_resume_finishes_it(features_dataset, tmp_path):
    """Kill one rank's training process after the first epoch: the job fails naming the
    checkpoint, no complete-run marker exists, and --resume trains the remaining epochs. In a
    process of its own with its own Spark session: a barrier stage killed mid-way here left
    the shared session's next barrier stage waiting for a task slot (seen twice in full runs)."""
    script = Path(__file__).with_name("distributed_lost_worker.py")
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, str(script), str(features_dataset / "full"), str(run)],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ranks"] >= 1, outcome
    assert "failed" in outcome.get("error", ""), outcome
    assert "--resume continues it" in outcome["error"]
    assert not outcome["summary_after_failure"]
    assert 1 <= outcome["epochs_done"] < 200
    assert outcome["resumed_epochs"] == list(range(1, outcome["epochs_done"] + 2))
    assert outcome["complete"]
