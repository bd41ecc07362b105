"""Tree baselines: fitted through Spark ML, XGBoost on Spark and LightGBM, scored from
probabilities like the networks."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import dltrigger as dlt
from dltrigger.config import (
    BaselinesConfig,
    Config,
    EvaluateConfig,
    RunConfig,
    TrackingConfig,
    TrainConfig,
)
from dltrigger.ml.batches import DatasetError
from dltrigger.ml.metrics import per_class_auc
from dltrigger.schema import CLASS_NAMES

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: Small models: the test sample is a few hundred events.
SMALL = {"forest_trees": 20, "gbt_iterations": 10, "boost_rounds": 10}

OFF = TrackingConfig(enabled=False)


def train_baselines(settings: BaselinesConfig, spark) -> dict[str, dict]:
    """``dlt.baselines.run`` with ``settings`` and no tracking: each model's test metrics."""
    return dlt.baselines.run(Config(baselines=settings, tracking=OFF), spark=spark).metrics


def evaluate(runs, data, out, *, baselines=None, **settings) -> dict:
    """``dlt.evaluate.run`` of ``runs`` on ``data`` into ``out``: the evaluation, with the
    tree baselines of ``baselines`` (unset: a folder that does not exist, so none; never the
    working directory's runs/baselines) and no ``dltrigger run`` stage records."""
    config = Config(
        evaluate=EvaluateConfig(runs=list(runs), data=data, out=out,
                                baselines=baselines or out.parent / "no-baselines", **settings),
        run=RunConfig(state=out.parent / "no-pipeline.json"),
    )  # fmt: skip
    return dlt.evaluate.run(config).evaluation


def _test_events(features_dataset) -> int:
    splits = pq.read_table(features_dataset / "full", columns=["split"]).column(0).to_pylist()
    return sum(1 for s in splits if s == "test")


def _saved(folder):
    scores = pq.read_table(folder / "scores.parquet")
    labels = scores.column("label").to_numpy()
    return labels, np.asarray(scores.column("scores").to_pylist())


def _check_probabilities(folder, metrics):
    """The saved scores are probabilities, and the metrics are theirs (not hard labels')."""
    labels, probs = _saved(folder)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    assert len(np.unique(probs[:, 0])) > 10  # probabilities, not 0/1 decisions
    aucs = per_class_auc(labels, probs)
    for c, auc in zip(CLASS_NAMES, aucs, strict=True):
        # the saved scores are exactly those scored (float64: float32 made ties, 9e-5 off)
        np.testing.assert_allclose(auc, metrics[f"auc_{c}"], rtol=1e-12)
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"]
    return labels, probs


@pytest.fixture(scope="module")
def baselines(spark, features_dataset, tmp_path_factory):
    """The default models (random forest, GBT, XGBoost), small, on the shared dataset."""
    out = tmp_path_factory.mktemp("baselines") / "b"
    config = BaselinesConfig(data=features_dataset / "full", out=out, **SMALL)
    return out, train_baselines(config, spark)


def test_random_forest_and_boosted_trees(baselines, features_dataset):
    out, results = baselines
    assert list(results) == ["random_forest", "gbt", "xgboost"]  # the defaults
    test_events = _test_events(features_dataset)
    for name in ("random_forest", "gbt", "xgboost"):
        metrics = results[name]
        assert metrics["test_events"] == test_events
        assert metrics["accuracy"] > 0.5 and metrics["auc_QCD"] > 0.8
        _check_probabilities(out / name, metrics)
    assert (out / "random_forest" / "model").is_dir()
    assert (out / "gbt" / "model-class2").is_dir()
    assert (out / "xgboost" / "model").is_dir()
    # XGBoost: well above chance in every class.
    assert all(results["xgboost"][f"auc_{c}"] > 0.8 for c in CLASS_NAMES), results["xgboost"]


def test_xgboost_model_reloads_with_the_same_scores(spark, baselines, features_dataset):
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from xgboost.spark import SparkXGBClassifierModel

    out, results = baselines
    model = SparkXGBClassifierModel.load(str(out / "xgboost" / "model"))
    test = spark.read.parquet(str(features_dataset / "full")).where("split = 'test'")
    rows = model.transform(test.select(array_to_vector("hlf").alias("features"), "label"))
    probs = np.asarray(rows.select(vector_to_array("probability")).toPandas().iloc[:, 0].tolist())
    labels = rows.select("label").toPandas()["label"].to_numpy()
    aucs = per_class_auc(labels, probs)
    np.testing.assert_allclose(aucs[0], results["xgboost"]["auc_QCD"], 1e-5)


def test_lightgbm_on_the_driver(spark, features_dataset, tmp_path):
    import lightgbm

    config = BaselinesConfig(data=features_dataset / "full", out=tmp_path / "b",
                             models=["lightgbm"], **SMALL)  # fmt: skip
    results = train_baselines(config, spark)
    metrics = results["lightgbm"]
    assert list(results) == ["lightgbm"]
    assert metrics["test_events"] == _test_events(features_dataset)
    assert all(metrics[f"auc_{c}"] > 0.8 for c in CLASS_NAMES), metrics
    assert metrics["accuracy"] > 0.5
    _check_probabilities(tmp_path / "b" / "lightgbm", metrics)
    booster = lightgbm.Booster(model_file=str(tmp_path / "b" / "lightgbm" / "model.txt"))
    assert booster.num_trees() == SMALL["boost_rounds"] * len(CLASS_NAMES)


def test_a_missing_trees_extra_names_the_install(spark, features_dataset, tmp_path, monkeypatch):
    from dltrigger.errors import DLTriggerError

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm: ImportError
    config = BaselinesConfig(data=features_dataset / "full", out=tmp_path / "b",
                             models=["lightgbm"])  # fmt: skip
    with pytest.raises(DLTriggerError, match=r"pip install 'dltrigger\[trees\]'"):
        train_baselines(config, spark)
    assert not (tmp_path / "b").exists()


@pytest.mark.distributed
def test_xgboost_on_a_standalone_cluster(features_dataset, standalone_cluster, tmp_path):
    """The same command, pointed at a cluster master: XGBoost's workers are Spark tasks."""
    out = tmp_path / "cluster"
    (tmp_path / "dltrigger.toml").write_text("[baselines]\nboost_rounds = 10\n")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    result = subprocess.run(
        [sys.executable, "-m", "dltrigger", "baselines", "--data", str(features_dataset / "full"),
         "--out", str(out), "--models", "xgboost", "--master", standalone_cluster,
         "--no-tracking", "--config", str(tmp_path / "dltrigger.toml")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "xgboost" / "metrics.json").read_text())
    assert all(metrics[f"auc_{c}"] > 0.8 for c in CLASS_NAMES), metrics
    _check_probabilities(out / "xgboost", metrics)
    assert (out / "xgboost" / "model").is_dir()


def test_the_report_has_the_baselines_table(baselines, features_dataset, tmp_path):
    out, results = baselines
    run = tmp_path / "hlf"
    settings = TrainConfig(model="hlf", data=features_dataset / "full", out=run, epochs=1,
                           export=[])  # fmt: skip
    dlt.train.run(Config(train=settings, tracking=OFF))
    evaluated = evaluate([run], features_dataset / "full", tmp_path / "report", bootstrap=0,
                         baselines=out)  # fmt: skip
    assert evaluated["baselines"]["models"] == results
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "## Tree baselines on the HLF" in markdown
    for name in results:
        row = next(line for line in markdown.splitlines() if f"(`{name}`)" in line)
        assert row.startswith("| baseline: ")
        assert f"{results[name]['auc_QCD']:.4f}" in row
    assert "XGBoost on Spark" in (tmp_path / "report" / "report.html").read_text()
    saved = json.loads((tmp_path / "report" / "evaluation.json").read_text())
    assert set(saved["baselines"]["models"]) == set(results)
    # Without baselines (a folder that does not exist is ignored), the report is as before;
    # a folder of another dataset is left out.
    plain = evaluate([run], features_dataset / "full", tmp_path / "plain", bootstrap=0)
    assert "baselines" not in plain
    assert "Tree baselines" not in (tmp_path / "plain" / "report.md").read_text()
    other = tmp_path / "other"
    (other / "xgboost").mkdir(parents=True)
    (other / "xgboost" / "metrics.json").write_text(json.dumps({**results["xgboost"],
                                                                "test_events": 3}))  # fmt: skip
    odd = evaluate([run], features_dataset / "full", tmp_path / "odd", bootstrap=0,
                   baselines=other)  # fmt: skip
    assert odd["baselines"]["models"] == {} and "xgboost" in odd["baselines"]["skipped"]
    assert "left out: scored 3 test events" in (tmp_path / "odd" / "report.md").read_text()


def test_not_a_dataset(spark, tmp_path):
    with pytest.raises(DatasetError, match="no part-"):
        train_baselines(BaselinesConfig(data=tmp_path, out=tmp_path / "b"), spark)
    assert not (tmp_path / "b").exists()
