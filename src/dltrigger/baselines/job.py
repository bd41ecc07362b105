"""Tree baselines on the 14 high-level features: random forest, gradient-boosted trees,
XGBoost and LightGBM.

The reference's "other learners" (docs/reference.md §5.5):

- ``random_forest``: Spark ML's ``RandomForestClassifier(numTrees=100, maxDepth=10)`` on the
  raw HLF, as the reference.
- ``gbt``: Spark ML's GBT is binary only, so this is one GBT per class against the rest.
- ``xgboost``: XGBoost on Spark, the reference's distributed trees
  (``xgboost.spark.SparkXGBClassifier``, multi-class ``multi:softprob``, §5.5): one XGBoost
  worker per Spark task slot (barrier mode), at most 16 as the reference's ``num_workers=16``.
- ``lightgbm``: the reference ran LightGBM on Spark through SynapseML (§5.5), whose JVM
  packages come from Maven, which this environment cannot fetch; so LightGBM runs single-node
  on the driver (``lightgbm.LGBMClassifier(objective="multiclass")``) on the HLF collected there.

XGBoost and LightGBM need the ``trees`` extra (``pip install 'dltrigger[trees]'``), imported
only when asked for. Every model is scored with the same metrics as the networks, from
*probabilities* (the reference computed one XGBoost AUC from hard labels, §7): per-class
one-vs-rest AUC and accuracy on the test split. Per model, the output folder gets the model(s)
(Spark ML or XGBoost on Spark: ``model*/``; LightGBM: ``model.txt``), ``scores.parquet``
(label and the three class scores of every test event) and ``metrics.json``; everything is
written into a temporary folder and renamed when complete.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..config import BaselinesConfig, Config, TrackingConfig
from ..errors import ConfigError, DLTriggerError
from ..freshness import skippable
from ..io.atomic import atomic_folder
from ..io.parquet import write_table
from ..ml.dataset import dataset_files
from ..ml.metrics import per_class_auc
from ..results import BaselinesResult
from ..schema import CLASS_NAMES
from ..tracking import tracked_run

N_CLASSES = len(CLASS_NAMES)

INSTALL_HINT = "pip install 'dltrigger[trees]'"

#: XGBoost workers at most (the reference's ``SparkXGBClassifier(num_workers=16)``, §5.5).
MAX_XGBOOST_WORKERS = 16

#: LightGBM's threads on the driver (which also hosts Spark's local executors).
LIGHTGBM_THREADS = 4


def _trees_extra(model: str, module: str):
    """Import ``module`` of the ``trees`` extra, or say plainly how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DLTriggerError(
            f"the {model} baseline needs the trees extra ({exc.name} is not installed): "
            f"{INSTALL_HINT}"
        ) from None


def _frames(spark, data: Path):
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    dataset_files(data)  # the same checks (and errors) as the trainer's
    frame = spark.read.parquet(str(data)).select(
        F.col("label").cast("double").alias("label"),
        "split",
        array_to_vector(F.col("hlf")).alias("features"),
    )
    return frame.where("split = 'train'").cache(), frame.where("split = 'test'").cache()


def _probabilities(predictions, column: str = "probability") -> tuple[np.ndarray, np.ndarray]:
    """Labels and the rows of the vector ``column`` of ``predictions``, collected to numpy."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    rows = predictions.select("label", vector_to_array(F.col(column)).alias("p")).toArrow()
    labels = rows.column("label").to_numpy().astype(np.int64)
    values = rows.column("p").combine_chunks()
    width = len(values[0]) if len(values) else 0
    probs = values.flatten().to_numpy().astype(np.float64).reshape(len(values), width)
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


def _xgboost_workers(spark) -> int:
    """One XGBoost worker per task slot Spark has now (barrier mode needs them all at once)."""
    context = spark.sparkContext
    cpus = int(context.getConf().get("spark.task.cpus", "1"))
    return max(1, min(MAX_XGBOOST_WORKERS, context.defaultParallelism // cpus))


def _xgboost(config: BaselinesConfig, train, test, folder: Path):
    spark_xgb = _trees_extra("xgboost", "xgboost.spark")
    model = spark_xgb.SparkXGBClassifier(
        features_col="features",
        label_col="label",
        num_workers=_xgboost_workers(train.sparkSession),
        n_estimators=config.boost_rounds,
        max_depth=config.boost_depth,
        learning_rate=config.boost_learning_rate,
        random_state=config.seed,
    ).fit(train)
    model.write().overwrite().save(str(folder / "model"))
    return _probabilities(model.transform(test))


def _lightgbm(config: BaselinesConfig, train, test, folder: Path):
    lightgbm = _trees_extra("lightgbm", "lightgbm")
    train_labels, train_features = _probabilities(train, "features")
    labels, features = _probabilities(test, "features")
    model = lightgbm.LGBMClassifier(
        objective="multiclass",
        n_estimators=config.boost_rounds,
        max_depth=config.boost_depth,
        learning_rate=config.boost_learning_rate,
        random_state=config.seed,
        n_jobs=min(LIGHTGBM_THREADS, os.cpu_count() or 1),
        verbose=-1,
    ).fit(train_features, train_labels)
    model.booster_.save_model(str(folder / "model.txt"))
    return labels, model.predict_proba(features).astype(np.float64)


BASELINES = {
    "random_forest": _random_forest,
    "gbt": _gbt_one_vs_rest,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
}


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> BaselinesResult:
    """Fit ``baselines.models`` on ``baselines.data`` (unset: ``train.data``) into
    ``baselines.out``, scored on its test split; the result has each model's test metrics
    (each also logged as an MLflow run when ``[tracking]`` is on).

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: unused (Spark ML shows no progress), accepted as by every stage.

    Example: the random forest alone, on the dataset the networks train on (the call needs
    that dataset and Spark, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> config = dlt.with_overrides(dlt.Config(), "baselines", models=["random_forest"])
    >>> settings = config.resolved().baselines
    >>> settings.data, settings.out, settings.forest_trees, settings.forest_depth
    (PosixPath('data/features/balanced'), PosixPath('runs/baselines'), 100, 10)
    >>> result = dlt.baselines.run(config)  # doctest: +SKIP

    ```
    """
    start = time.perf_counter()
    config = config.resolved()
    tracking = config.tracking
    if spark is None:
        from ..spark.session import get_spark

        spark = get_spark(config.spark)
    metrics = _fit(config.baselines, spark, tracking)
    return BaselinesResult(
        out=Path(config.baselines.out), seconds=time.perf_counter() - start, metrics=metrics
    )


def _fit(config: BaselinesConfig, spark, tracking: TrackingConfig) -> dict[str, dict[str, Any]]:
    if config.data is None:
        raise ConfigError("baselines.data is not set (Config.resolved() derives it: train.data)")
    data = Path(config.data)
    train, test = _frames(spark, data)
    results: dict[str, dict[str, Any]] = {}
    try:
        with atomic_folder(
            config.out, overwrite=config.overwrite, kind="baselines", inputs=[data]
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
                # float64, the scores the metrics were computed from: float32 would merge
                # probabilities closer than its precision into ties and move the AUC (~1e-4)
                write_table(
                    pa.table({"label": labels, "scores": list(scores.astype(np.float64))}),
                    folder / "scores.parquet",
                )
                (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
                results[name] = metrics
    finally:
        train.unpersist()
        test.unpersist()
    for fitted, metrics in results.items():
        with tracked_run(tracking, f"baseline {fitted}") as log:
            log.params({"model": fitted, "data": data, **config.model_dump(mode="json")})
            log.metrics(metrics)
            log.artifacts([Path(config.out) / fitted / "metrics.json"])
    return results
