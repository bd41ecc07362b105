"""Single-process training: it learns, resumes, exports, and refuses what it should."""

import json
import shutil
import threading
import time

import numpy as np
import pytest
import torch

import dltrigger as dlt
from dltrigger.config import Config, TrackingConfig, TrainConfig
from dltrigger.errors import OutputExistsError, TrainingError
from dltrigger.ml.batches import DatasetError, iterate_batches
from dltrigger.ml.loop import evaluate
from dltrigger.ml.metrics import roc_auc
from dltrigger.ml.prefetch import PREFETCH_THREAD
from dltrigger.models import build_model
from dltrigger.models.export import OnnxScorer

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def dataset(features_dataset):
    return features_dataset / "full"


def config(dataset, run, **values) -> TrainConfig:
    return TrainConfig(data=dataset, out=run, export=[], **values)


def train(settings: TrainConfig) -> tuple[dict, ...]:
    """``dlt.train.run`` with ``settings`` and no tracking: each epoch's metrics."""
    return dlt.train.run(Config(train=settings, tracking=TrackingConfig(enabled=False))).history


def test_auc_against_hand_counted_pairs():
    # positives 0.9, 0.4; negatives 0.5, 0.1: pairs won 1 + 1 + 0 + 1 = 3 of 4.
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1])) == 0.75
    assert roc_auc(np.array([1, 0]), np.array([0.3, 0.3])) == 0.5  # a tie counts half


def test_hlf_classifier_learns_reproducibly_and_writes_its_run(dataset, tmp_path):
    settings = dict(model="hlf", epochs=6, batch_size=64, learning_rate=3e-3, seed=7)
    history = train(config(dataset, tmp_path / "run", **settings))
    assert len(history) == 6
    assert history[-1]["loss"] < history[0]["loss"]
    last = history[-1]
    assert last["val_accuracy"] > 0.5
    assert last["val_auc_QCD"] > 0.7 and last["val_auc_W+jets"] > 0.6
    run = tmp_path / "run"
    for name in ("config.json", "scaling.json", "metrics.csv", "checkpoint.pt", "best.pt"):
        assert (run / name).exists()
    assert len(json.loads((run / "metrics.json").read_text())) == len(history)
    assert TrainConfig.model_validate_json((run / "config.json").read_text()).seed == 7
    # Same seed, same data: the same numbers (in-memory HLF path is deterministic).
    again = train(config(dataset, tmp_path / "again", **settings))
    assert [h["val_loss"] for h in again] == [h["val_loss"] for h in history]


def test_learning_rate_schedules(dataset, tmp_path):
    cosine = train(config(dataset, tmp_path / "cos", model="hlf", epochs=4, lr_schedule="cosine"))
    rates = [h["learning_rate"] for h in cosine]
    assert rates[0] == pytest.approx(1e-3) and rates == sorted(rates, reverse=True)
    assert rates[-1] < 0.2e-3
    constant = train(config(dataset, tmp_path / "const", model="hlf", epochs=2))
    assert {h["learning_rate"] for h in constant} == {1e-3}


def test_resume_continues_and_another_config_is_refused(dataset, tmp_path):
    run = tmp_path / "run"
    settings = dict(model="inclusive", batch_size=64, shuffle_buffer=500, max_particles=60)
    first = train(config(dataset, run, epochs=1, **settings))
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        train(config(dataset, run, epochs=1, **settings))
    resumed = train(config(dataset, run, epochs=2, **settings, resume=True))
    assert [h["epoch"] for h in resumed] == [1, 2]
    assert resumed[0] == first[0]
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(TrainingError, match=r"model: 'inclusive' in the checkpoint, 'lstm' now"):
        train(config(dataset, run, epochs=3, resume=True, **{**settings, "model": "lstm"}))
    with pytest.raises(TrainingError, match=r"learning_rate: 0\.001 in the checkpoint, 0\.01"):
        train(config(dataset, run, epochs=3, learning_rate=0.01, **settings, resume=True))
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # nothing touched
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(config(dataset, tmp_path / "new", **settings, resume=True))


def test_a_bad_dataset_does_not_cost_an_existing_run(dataset, tmp_path):
    run = tmp_path / "run"
    train(config(dataset, run, model="hlf", epochs=1))
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(dataset / "_scaling.json", empty)
    with pytest.raises(DatasetError, match="no part-"):
        train(config(empty, run, model="hlf", overwrite=True))
    assert (run / "best.pt").exists()


def test_nan_loss_stops_with_epoch_and_batch(dataset, tmp_path):
    bad = config(dataset, tmp_path / "run", model="hlf", epochs=2, learning_rate=1e30)
    with pytest.raises(TrainingError, match=r"at epoch \d+, batch \d+"):
        train(bad)
    assert not (tmp_path / "run" / "best.pt").exists()


def test_exported_best_model_scores_like_the_checkpoint(dataset, tmp_path):
    run = tmp_path / "run"
    settings = dict(model="inclusive", epochs=1, batch_size=64, max_particles=40)
    train(TrainConfig(data=dataset, out=run, export=["onnx"], **settings))
    model = build_model("inclusive").eval()
    model.load_state_dict(torch.load(run / "best.pt", weights_only=False)["model"])
    batch = next(iterate_batches(dataset, "test", 50, shuffle_buffer=1, max_particles=40))
    with torch.no_grad():
        expected = torch.softmax(model(batch.particles, batch.lengths, batch.hlf), 1).numpy()
    scores = OnnxScorer(run / "model.onnx")(
        particles=batch.particles.numpy(), lengths=batch.lengths.numpy(), hlf=batch.hlf.numpy()
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_streamed_training_leaves_no_loader_thread_and_buckets_do_not_change_validation(
    dataset, tmp_path
):
    settings = dict(model="inclusive", batch_size=16, max_particles=60, shuffle_buffer=300)
    history = train(config(dataset, tmp_path / "run", epochs=2, **settings))
    assert [h["epoch"] for h in history] == [1, 2] and all(h["samples"] for h in history)
    deadline = time.monotonic() + 10  # the next epoch's stream, started ahead, is consumed
    while any(t.name == PREFETCH_THREAD for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a loader thread outlived its training"
        time.sleep(0.05)
    # Validation reads the test split in length buckets: the same metrics as plain batches.
    torch.manual_seed(0)
    model = build_model("inclusive")
    device = torch.device("cpu")
    plain, bucketed = (
        evaluate(model, iterate_batches(dataset, "test", 16, shuffle_buffer=1, max_particles=60,
                                        bucket_by_length=bucket), device)
        for bucket in (False, True)
    )  # fmt: skip
    assert plain.keys() == bucketed.keys()
    for key, value in plain.items():
        assert bucketed[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_automatic_torch_threads_leave_the_loader_a_core(monkeypatch):
    from dltrigger.ml.replica import torch_threads

    streamed = TrainConfig(model="inclusive")
    in_memory = TrainConfig(model="hlf")
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert torch_threads(streamed, cores=2) == 1
    assert torch_threads(streamed, cores=16) == 15
    assert torch_threads(in_memory, cores=2) == 2
    assert torch_threads(streamed, cores=16, local_processes=4) == 3  # data-parallel ranks
    assert torch_threads(streamed, cores=1) == 1
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert torch_threads(in_memory, cores=2) == 1
    assert torch_threads(TrainConfig(model="inclusive", threads=3), cores=2) == 3


def test_deep_sets_trains_exports_and_scores_as_a_trigger(dataset, tmp_path):
    """The particle-set model end to end: it learns, exports to ONNX (the export's scores are
    checked against PyTorch's in test_models.py) and ``dlt.stream.score`` uses it as any
    trained model."""
    run = tmp_path / "deepsets"
    settings = dict(model="deepsets", epochs=4, batch_size=64, learning_rate=3e-3, seed=3,
                    max_particles=100)  # fmt: skip
    history = train(TrainConfig(data=dataset, out=run, export=["onnx"], **settings))
    assert history[-1]["loss"] < history[0]["loss"]
    assert min(history[-1][f"val_auc_{c}"] for c in dlt.CLASS_NAMES) > 0.6  # it learned
    assert (run / "model.onnx").exists()
    parts = sorted(dataset.glob("part-*.parquet"))[:2]
    from dltrigger.config import ScoreConfig, StreamConfig

    scored = dlt.stream.score(Config(
        stream=StreamConfig(model=run, threshold=0.5),
        score=ScoreConfig(inputs=[str(p) for p in parts], out=tmp_path / "scores"),
    )).summary  # fmt: skip
    assert scored["events"] > 0 and scored["model"] == str(run) and not scored["quarantined"]
