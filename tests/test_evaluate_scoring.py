"""Scoring a run folder's best model on a test split: the training's own numbers back."""

import json
import shutil

import pytest

import dltrigger as dlt
from dltrigger.config import Config, TrackingConfig, TrainConfig
from dltrigger.errors import EvaluationError
from dltrigger.ml.batches import DatasetError
from dltrigger.ml.metrics import per_class_auc
from dltrigger.ml.scoring import load_run, score

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(features_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "inclusive"
    config = TrainConfig(model="inclusive", data=features_dataset / "full", out=folder,
                         epochs=1, max_particles=40, export=[])  # fmt: skip
    dlt.train.run(Config(train=config, tracking=TrackingConfig(enabled=False)))
    return folder


def test_scores_reproduce_the_validation_of_the_best_epoch(run, features_dataset):
    trained = load_run(run)
    assert trained.complete and trained.best_epoch == 1
    # training validated on the validation split: scoring it again gives the same AUCs
    labels, scores = score(trained, features_dataset / "full", split="validation")
    history = json.loads((run / "metrics.json").read_text())
    aucs = per_class_auc(labels, scores)
    for name, auc in zip(("QCD", "ttbar", "W+jets"), aucs, strict=True):
        assert auc == pytest.approx(history[0][f"val_auc_{name}"], rel=1e-6)
    assert scores.shape == (len(labels), 3)


def test_bad_runs_and_datasets(run, features_dataset, tmp_path):
    with pytest.raises(EvaluationError, match=r"no config\.json"):
        load_run(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    (broken / "best.pt").unlink()
    (broken / "summary.json").unlink()
    with pytest.raises(EvaluationError, match=r"no best\.pt"):
        load_run(broken)
    other = tmp_path / "other"
    shutil.copytree(features_dataset / "full", other)
    stats = json.loads((other / "_scaling.json").read_text())
    stats["hlf"]["names"][0] = "HTx"
    (other / "_scaling.json").write_text(json.dumps(stats))
    with pytest.raises(DatasetError, match=r"hlf features: \['HT'"):
        score(load_run(run), other)
