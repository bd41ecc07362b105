"""Single-process training: it learns, it resumes, it refuses what it should."""

import json

import numpy as np
import pytest

from dltrigger.train.metrics import roc_auc
from dltrigger.train.trainer import TrainConfig, TrainingError, train

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def dataset(features_dataset):
    return features_dataset / "full"


def test_auc_against_hand_counted_pairs():
    # positives 0.9, 0.4; negatives 0.5, 0.1: pairs won 1 + 1 + 0 + 1 = 3 of 4.
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1])) == 0.75
    assert roc_auc(np.array([1, 0]), np.array([0.3, 0.3])) == 0.5  # a tie counts half


def test_hlf_classifier_learns_and_writes_its_run(dataset, tmp_path):
    run = tmp_path / "run"
    history = train(
        TrainConfig("hlf", str(dataset), str(run), epochs=6, batch_size=64, learning_rate=3e-3)
    )
    assert len(history) >= 3
    assert history[-1]["loss"] < history[0]["loss"]
    best = min(h["val_loss"] for h in history)
    assert best < history[0]["val_loss"] or len(history) == 6
    last = history[-1]
    assert last["val_accuracy"] > 0.5
    assert last["val_auc_QCD"] > 0.7 and last["val_auc_W+jets"] > 0.6
    for name in ("config.json", "metrics.csv", "metrics.json", "checkpoint.pt", "best.pt"):
        assert (run / name).exists()
    assert len(json.loads((run / "metrics.json").read_text())) == len(history)


def test_resume_continues_and_other_models_are_refused(dataset, tmp_path):
    run = tmp_path / "run"
    config = TrainConfig("inclusive", str(dataset), str(run), epochs=1, batch_size=64, patience=10,
                         shuffle_buffer=500)  # fmt: skip
    first = train(config)
    with pytest.raises(TrainingError, match="exists"):
        train(config)
    config.epochs, config.resume = 2, True
    resumed = train(config)
    assert [h["epoch"] for h in resumed] == [1, 2]
    assert resumed[0] == first[0]
    other = TrainConfig("lstm", str(dataset), str(run), epochs=3, resume=True)
    with pytest.raises(TrainingError, match="from model 'inclusive'"):
        train(other)


def test_nan_loss_stops_with_epoch_and_batch(dataset, tmp_path):
    config = TrainConfig("hlf", str(dataset), str(tmp_path / "run"), epochs=2, learning_rate=1e30)
    with pytest.raises(TrainingError, match=r"at epoch \d+, batch \d+"):
        train(config)
