"""Grid search: one training per Spark task, epochs really trained, failures reported."""

import csv
import json

import pytest

import dltrigger as dlt
from dltrigger.cli import main
from dltrigger.config import (
    Config,
    TrackingConfig,
    TrainConfig,
    TuneConfig,
    apply_point,
    with_overrides,
)
from dltrigger.errors import ConfigError
from dltrigger.ml.batches import load_split
from dltrigger.ml.loop import fit_events
from dltrigger.tune.grid import REFERENCE_HLF_GRID, expand, validate
from dltrigger.tune.job import run_task, share_epochs

OFF = TrackingConfig(enabled=False)


def test_reference_grid_has_243_distinct_points():
    points = expand(REFERENCE_HLF_GRID)
    assert len(points) == 243
    assert len({json.dumps(p, sort_keys=True) for p in points}) == 243
    configs = validate(TrainConfig(model="hlf"), points[:5])
    assert configs[0].model_options["widths"] == [50, 20, 10]


def test_bad_grids_are_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        apply_point(TrainConfig(), {"batchsize": 64})
    with pytest.raises(ConfigError, match=r"epochs.*greater than 0.*got 0"):
        apply_point(TrainConfig(), {"epochs": 0})
    with pytest.raises(ConfigError, match="hidden"):
        validate(TrainConfig(model="hlf"), [{"model_options.hidden": 3}])
    with pytest.raises(ConfigError, match="non-empty list"):
        expand({"epochs": []})
    config = Config(tune=TuneConfig(out=tmp_path / "t", grid={"epochs": [1, -2]}), tracking=OFF)
    with pytest.raises(ConfigError, match="epochs"):
        dlt.tune.run(config)
    assert not (tmp_path / "t").exists()


@pytest.mark.spark
@pytest.mark.slow
def test_grid_search_trains_every_point_and_reports_failures(spark, features_dataset, tmp_path):
    out = tmp_path / "tune"
    grid = {"batch_size": [32, 64], "epochs": [1, 4], "learning_rate": [3e-3, 1e30]}
    config = Config(tune=TuneConfig(data=features_dataset / "full", out=out, grid=grid),
                    tracking=OFF)  # fmt: skip
    summary = dlt.tune.run(config, spark=spark).summary
    rows = summary["rows"]
    assert summary["points"] == len(rows) == 8
    assert summary["tasks"] == 4  # 1 and 4 epochs share one 4-epoch training
    assert summary["ranked_on"] == "validation"  # never the test split
    good = [r for r in rows if "error" not in r]
    failed = [r for r in rows if "error" in r]
    assert {r["point"]["learning_rate"] for r in good} >= {3e-3}
    for row in failed:  # reported with its parameters; the others went on
        assert row["point"]["learning_rate"] == 1e30 and "loss is" in row["error"]
    # The epochs of the grid are really trained, and more of them help.
    for row in good:
        assert row["epochs_trained"] == row["point"]["epochs"]
    sane = {(r["point"]["batch_size"], r["point"]["epochs"]): r for r in good
            if r["point"]["learning_rate"] == 3e-3}  # fmt: skip
    for batch in (32, 64):
        assert sane[(batch, 4)]["val_loss"] < sane[(batch, 1)]["val_loss"]
    # Sorted by validation loss, written out, and picked up by `dltrigger train --tuned`.
    losses = [r["val_loss"] for r in good]
    assert losses == sorted(losses) and rows[: len(good)] == good
    best = json.loads((out / "best.json").read_text())
    assert best["point"] == rows[0]["point"]
    with open(out / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 8 and table[0]["rank"] == "1" and table[-1]["error"]
    run = tmp_path / "run"
    args = ["train", "--tuned", str(out), "--data", str(features_dataset / "full"),
            "--out", str(run), "--quiet", "--export", "", "--no-tracking"]  # fmt: skip
    assert main(args) == 0
    trained = TrainConfig.model_validate_json((run / "config.json").read_text())
    assert trained.batch_size == best["point"]["batch_size"]
    assert trained.epochs == best["point"]["epochs"]


@pytest.mark.spark
@pytest.mark.slow
def test_k_fold_runs_one_task_per_fold(spark, features_dataset, tmp_path):
    grid = {"epochs": [1, 2]}
    config = Config(
        tune=TuneConfig(data=features_dataset / "full", out=tmp_path / "t", grid=grid, folds=3,
                        metric="val_auc_QCD"),
        tracking=OFF,
    )  # fmt: skip
    summary = dlt.tune.run(config, spark=spark).summary
    assert summary["tasks"] == 3 and len(summary["rows"]) == 2  # a training per fold
    assert summary["ranked_on"] == "3 folds of the train split"
    aucs = [r["val_auc_QCD"] for r in summary["rows"]]
    assert aucs == sorted(aucs, reverse=True)  # higher is better for an AUC
    with pytest.raises(ConfigError, match="1 fold validates on nothing"):
        with_overrides(config, "tune", folds=1)


@pytest.mark.spark
@pytest.mark.slow
def test_shared_epochs_equal_separate_trainings(features_dataset):
    """Reading a 3-epoch training at epoch 1 gives what a 1-epoch training gives."""
    data = features_dataset / "full"
    base = TrainConfig(model="hlf", data=data, batch_size=64, seed=2, device="cpu")
    configs = [base.model_copy(update={"epochs": e}) for e in (3, 1)]
    ((shared, points),) = share_epochs(configs)
    assert shared.epochs == 3 and points == [(0, 3), (1, 1)]
    events = (load_split(data, "train"), load_split(data, "validation"))
    results = run_task(Broadcast(events), 0, 0, (0, shared.model_dump_json(), points))
    for config, result in zip(configs, results, strict=True):
        alone = fit_events(config, *events)[-1]
        assert result["epochs_trained"] == config.epochs
        assert result["val_loss"] == pytest.approx(alone["val_loss"], rel=1e-6)
        assert result["val_auc_QCD"] == pytest.approx(alone["val_auc_QCD"], rel=1e-6)
    cosine = [c.model_copy(update={"lr_schedule": "cosine"}) for c in configs]
    assert len(share_epochs(cosine)) == 2  # the rate depends on the total: not shared


class Broadcast:  # what a task sees of sc.broadcast(...)
    def __init__(self, value):
        self.value = value
