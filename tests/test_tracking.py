"""MLflow tracking of train and tune runs (a local store in a temporary folder)."""

import pytest
from mlflow.tracking import MlflowClient

import dltrigger as dlt
from dltrigger.config import Config, TrackingConfig, TrainConfig, TuneConfig
from dltrigger.errors import TrainingError

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def tracking(tmp_path):
    return TrackingConfig(uri=(tmp_path / "mlruns").as_uri(), experiment="test")


def runs(tracking):
    client = MlflowClient(tracking.uri)
    experiment = client.get_experiment_by_name(tracking.experiment)
    return client, client.search_runs([experiment.experiment_id])


def test_train_logs_parameters_epochs_and_artifacts(features_dataset, tracking, tmp_path):
    config = TrainConfig(model="hlf", data=features_dataset / "full", out=tmp_path / "run",
                         epochs=3, export=["onnx"])  # fmt: skip
    history = dlt.train.run(Config(train=config, tracking=tracking)).history
    client, found = runs(tracking)
    (run,) = found
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "hlf" and run.data.params["epochs"] == "3"
    losses = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in losses] == [1, 2, 3]
    assert [m.value for m in losses] == [h["val_loss"] for h in history]
    assert "val_auc_Wjets" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.json", "metrics.csv", "model.onnx", "training.png"} <= artifacts
    # A failing run is recorded as FAILED, never as a finished model.
    bad = config.model_copy(update={"out": tmp_path / "bad", "learning_rate": 1e30})
    with pytest.raises(TrainingError):
        dlt.train.run(Config(train=bad, tracking=tracking))
    _, found = runs(tracking)
    assert sorted(r.info.status for r in found) == ["FAILED", "FINISHED"]


def test_tune_logs_one_run_with_a_child_per_point(spark, features_dataset, tracking, tmp_path):
    config = Config(
        tune=TuneConfig(data=features_dataset / "full", out=tmp_path / "t",
                        grid={"epochs": [1, 2], "batch_size": [64]}),
        tracking=tracking,
    )  # fmt: skip
    dlt.tune.run(config, spark=spark)
    client, found = runs(tracking)
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in found if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert "best_val_loss" in parents[0].data.metrics
    assert {c.data.params["epochs"] for c in children} == {"1", "2"}
    assert "results.csv" in {a.path for a in client.list_artifacts(parents[0].info.run_id)}
