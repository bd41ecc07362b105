"""Spark ML baselines: fitted through Spark ML, scored from probabilities like the networks."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from dltrigger.config import BaselinesConfig
from dltrigger.evaluate.metrics import per_class_auc
from dltrigger.train.data import DatasetError
from dltrigger.baselines.job import train_baselines

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_random_forest_and_boosted_trees(spark, features_dataset, tmp_path):
    config = BaselinesConfig(data=features_dataset / "full", out=tmp_path / "b",
                             forest_trees=20, gbt_iterations=10)  # fmt: skip
    results = train_baselines(config, spark)
    test_events = sum(
        1 for s in pq.read_table(features_dataset / "full", columns=["split"]).column(0).to_pylist()
        if s == "test"
    )  # fmt: skip
    for name in ("random_forest", "gbt"):
        metrics = results[name]
        assert metrics["test_events"] == test_events
        assert metrics["accuracy"] > 0.5 and metrics["auc_QCD"] > 0.8
        # The AUCs are those of the saved probabilities (not of hard labels).
        scores = pq.read_table(tmp_path / "b" / name / "scores.parquet")
        labels = scores.column("label").to_numpy()
        probs = np.asarray(scores.column("scores").to_pylist())
        np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
        assert len(np.unique(probs[:, 0])) > 10  # probabilities, not 0/1 decisions
        np.testing.assert_allclose(per_class_auc(labels, probs)[0], metrics["auc_QCD"], 1e-6)
        saved = json.loads((tmp_path / "b" / name / "metrics.json").read_text())
        assert saved["accuracy"] == metrics["accuracy"]
    assert (tmp_path / "b" / "random_forest" / "model").is_dir()
    assert (tmp_path / "b" / "gbt" / "model-class2").is_dir()


def test_not_a_dataset(spark, tmp_path):
    with pytest.raises(DatasetError, match="no part-"):
        train_baselines(BaselinesConfig(data=tmp_path, out=tmp_path / "b"), spark)
    assert not (tmp_path / "b").exists()
