"""Spark ML baselines on the 14 high-level features: random forest and gradient-boosted trees.

As the reference (reference-pipeline.md §5.5): ``RandomForestClassifier(numTrees=100,
maxDepth=10)`` on the raw HLF. Spark ML's GBT is binary only, so the boosted baseline is one
GBT per class against the rest. Both are scored with the same metrics as the networks, from
*probabilities* (the reference computed one XGBoost AUC from hard labels, §7): per-class
one-vs-rest AUC and accuracy on the test split. Per model, the output folder gets the Spark ML
model(s), ``scores.parquet`` (label and the three class scores of every test event) and
``metrics.json``; everything is written into a temporary folder and renamed when complete.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import BaselinesConfig, TrackingConfig
from ..evaluate.metrics import per_class_auc
from ..io.atomic import atomic_folder
from ..schema import CLASS_NAMES
from ..tracking import tracked_run
from ..train.data import dataset_files

N_CLASSES = len(CLASS_NAMES)


def _frames(spark, data: Path):
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    dataset_files(data)  # the same checks (and errors) as the trainer's
    frame = spark.read.parquet(str(data)).select(
        F.col("label").cast("double").alias("label"),
        "split",
        array_to_vector("hlf").alias("features"),
    )
    return frame.where("split = 'train'").cache(), frame.where("split = 'test'").cache()


def _probabilities(predictions, column: str = "probability") -> tuple[np.ndarray, np.ndarray]:
    from pyspark.ml.functions import vector_to_array

    rows = predictions.select("label", vector_to_array(column).alias("p")).toArrow()
    labels = rows.column("label").to_numpy().astype(np.int64)
    probs = np.asarray(rows.column("p").to_pylist(), dtype=np.float64)
    return labels, probs


def _random_forest(config: BaselinesConfig, train, test, folder: Path):
    from pyspark.ml.classification import RandomForestClassifier

    model = RandomForestClassifier(
        numTrees=config.forest_trees, maxDepth=config.forest_depth, seed=config.seed
    ).fit(train)
    model.write().overwrite().save(str(folder / "model"))
    return _probabilities(model.transform(test))


def _gbt_one_vs_rest(config: BaselinesConfig, train, test, folder: Path):
    from pyspark.ml.classification import GBTClassifier
    from pyspark.sql import functions as F

    labels, columns = None, []
    for label in range(N_CLASSES):
        binary = train.withColumn("label", (F.col("label") == label).cast("double"))
        model = GBTClassifier(
            maxIter=config.gbt_iterations, maxDepth=config.gbt_depth, seed=config.seed
        ).fit(binary)
        model.write().overwrite().save(str(folder / f"model-class{label}"))
        labels, probs = _probabilities(model.transform(test))
        columns.append(probs[:, 1])  # P(this class) from its own classifier
    scores = np.stack(columns, axis=1)
    return labels, scores / scores.sum(axis=1, keepdims=True)


BASELINES = {"random_forest": _random_forest, "gbt": _gbt_one_vs_rest}


def train_baselines(
    config: BaselinesConfig, spark, tracking: TrackingConfig | None = None
) -> dict[str, dict[str, Any]]:
    """Fit every baseline of ``config.models`` on ``config.data``; return their metrics (and
    log each as an MLflow run with ``tracking``)."""
    train, test = _frames(spark, Path(config.data))
    results: dict[str, dict[str, Any]] = {}
    try:
        with atomic_folder(
            config.out, overwrite=config.overwrite, kind="baselines", inputs=[config.data]
        ) as out:
            for name in config.models:
                folder = out / name
                folder.mkdir(parents=True)
                started = time.perf_counter()
                labels, scores = BASELINES[name](config, train, test, folder)
                seconds = time.perf_counter() - started
                aucs = per_class_auc(labels, scores)
                metrics = {
                    "model": name,
                    "test_events": len(labels),
                    "accuracy": float((scores.argmax(1) == labels).mean()),
                    **{f"auc_{c}": a for c, a in zip(CLASS_NAMES, aucs, strict=True)},
                    "seconds": seconds,
                }
                pq.write_table(
                    pa.table({"label": labels, "scores": list(scores.astype(np.float32))}),
                    folder / "scores.parquet",
                )
                (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
                results[name] = metrics
    finally:
        train.unpersist()
        test.unpersist()
    for name, metrics in results.items():
        with tracked_run(tracking or TrackingConfig(enabled=False), f"baseline {name}") as log:
            log.params({"model": name, "data": config.data, **config.model_dump(mode="json")})
            log.metrics(metrics)
            log.artifacts([Path(config.out) / name / "metrics.json"])
    return results
