"""``dltrigger tune``: a grid search with one training per Spark task (docs/reference.md §6).

The dataset (the small ``dev`` one by default) is read once on the driver and broadcast; every
task runs one training (of one fold) on one core, in memory, without early stopping, and
returns the validation metrics of the grid points it stands for: points differing only in
their epochs share the training of the most epochs and are read at their own epoch
(``share_epochs``), which is exact and saves 44% of the reference grid's work. A failing
task is reported with the parameters of its points; the search goes on. Results:
``results.csv`` (every point, best first), ``best.json`` (the winning point, which
``dltrigger train --tuned DIR`` applies) and ``summary.json``, written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import TuneResults
from ..config import Config, TrainConfig
from ..errors import ConfigError, DLTriggerError, OutputExistsError, option
from ..freshness import skippable
from ..io.atomic import atomic_folder
from ..ml.batches import Events, load_split
from ..ml.dataset import check_trainable
from ..results import TuneResult
from .grid import REFERENCE_HLF_GRID, expand, validate


class TuneError(DLTriggerError):
    """The search cannot run or produced nothing usable."""


def _higher_is_better(metric: str) -> bool:
    return metric != "val_loss"


def _folds(events: Events, folds: int, fold: int, seed: int) -> tuple[Events, Events]:
    order = np.random.default_rng(seed).permutation(len(events))
    held = order[fold::folds]
    kept = np.setdiff1d(order, held, assume_unique=True)
    return events.take(np.sort(kept)), events.take(np.sort(held))


def run_task(data, folds: int, seed: int, item: tuple) -> list[dict[str, Any]]:
    """One Spark task: one training, evaluated at each of its points' epoch counts.

    ``item`` is ``(fold, config_json, [(point_index, epochs), ...])``: points that differ only
    in their number of epochs share one training of the largest count, since training for 10
    epochs is exactly the first 10 epochs of training for 50 (same seed, same batch order,
    no early stopping; not grouped under a cosine schedule, whose rate depends on the total).
    """
    import torch

    from ..ml.loop import fit_events

    fold, config_json, points = item
    started = time.perf_counter()
    try:
        torch.set_num_threads(1)  # one model per core
        config = TrainConfig.model_validate_json(config_json)
        train_events, validation_events = data.value
        if folds:
            train_events, validation_events = _folds(train_events, folds, fold, seed)
        history = fit_events(config, train_events, validation_events)
        results = []
        for index, epochs in points:
            row = history[epochs - 1]
            metrics = {k: v for k, v in row.items() if k.startswith("val_")}
            results.append({"index": index, "fold": fold, "epochs_trained": row["epoch"],
                            "seconds": row["elapsed_s"], **metrics})  # fmt: skip
        return results
    except Exception as exc:  # reported with the point's parameters; the search goes on
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        seconds = time.perf_counter() - started
        return [{"index": index, "fold": fold, "error": line, "seconds": seconds}
                for index, _ in points]  # fmt: skip


def share_epochs(configs: list[TrainConfig]) -> list[tuple[TrainConfig, list[tuple[int, int]]]]:
    """Group points that differ only in ``epochs`` into one training of the most epochs."""
    groups: dict[str, list[int]] = {}
    for index, config in enumerate(configs):
        key = (
            config.model_copy(update={"epochs": 1}).model_dump_json()
            if config.lr_schedule != "cosine"
            else f"point {index}"
        )
        groups.setdefault(key, []).append(index)
    trainings = []
    for indices in groups.values():
        longest = max(configs[i].epochs for i in indices)
        config = configs[indices[0]].model_copy(update={"epochs": longest})
        trainings.append((config, [(i, configs[i].epochs) for i in indices]))
    return trainings


def _grid(config: Config) -> dict[str, list[Any]]:
    if config.tune.grid:
        return config.tune.grid
    if config.tune.model != "hlf":
        raise ConfigError(
            f"no grid given for model {config.tune.model!r} (the reference grid is for 'hlf'): "
            "set [tune.grid]"
        )
    return REFERENCE_HLF_GRID


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> TuneResult:
    """Train ``tune.model`` at every point of ``tune.grid`` on ``tune.data`` (unset:
    ``<features.out>/dev``), one Spark task each, ranked by ``tune.metric``, into
    ``tune.out``; the result has the summary (every point's row, best first).

    ``spark``: the session to use (one is started from ``config.spark`` when None);
    ``progress``: a progress bar on the terminal.

    Example: a search over the batch size and the learning rate of the HLF model, on the
    ``dev`` dataset of ``dltrigger features`` (the call needs that dataset and Spark, so it is
    not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> grid = {"batch_size": [32, 128], "learning_rate": [1e-3, 1e-4]}
    >>> config = dlt.with_overrides(dlt.Config(), "tune", model="hlf", grid=grid)
    >>> settings = config.resolved().tune
    >>> settings.data, settings.out, settings.metric
    (PosixPath('data/features/dev'), PosixPath('runs/tune'), 'val_loss')
    >>> result = dlt.tune.run(config)  # doctest: +SKIP

    ```
    """
    start = time.perf_counter()
    config = config.resolved()
    settings = config.tune
    out = Path(settings.out)
    if out.exists() and not settings.overwrite:
        raise OutputExistsError(
            f"{out} exists (use {option('--overwrite', 'overwrite=True')} to replace it)"
        )
    if settings.metric != "val_loss" and not settings.metric.startswith(("val_accuracy",
                                                                          "val_auc_")):  # fmt: skip
        raise ConfigError(
            f"unknown metric {settings.metric!r}: val_loss, val_accuracy or val_auc_<class>"
        )
    base = config.train.model_copy(
        update={"model": settings.model, "data": settings.data, "export": [],
                "num_processes": 1, "threads": 1, "seed": settings.seed, "device": "cpu"}
    )  # fmt: skip
    points = expand(_grid(config))
    configs = validate(base, points)  # every bad value is reported before any work
    with_particles = base.uses_particles()
    dataset = settings.data
    assert dataset is not None  # resolved by Config.resolved()
    train_events = load_split(dataset, "train", base.max_particles,
                              with_particles=with_particles)  # fmt: skip
    validation_events = None
    if not settings.folds:  # ranked on the validation split (the test split only measures)
        check_trainable(dataset, base.validation_split)  # a two-split dataset: one line
        validation_events = load_split(dataset, base.validation_split, base.max_particles,
                                       with_particles=with_particles)  # fmt: skip
    if spark is None:
        from ..spark.session import get_spark

        spark = get_spark(config.spark)
    sc = spark.sparkContext
    folds = settings.folds
    work = [(fold, c.model_dump_json(), points) for c, points in share_epochs(configs)
            for fold in range(max(folds, 1))]  # fmt: skip
    work.sort(key=lambda item: -max(e for _, e in item[2]))  # longest first: less idle at the end
    data = sc.broadcast((train_events, validation_events))
    started = time.perf_counter()
    try:
        rdd = sc.parallelize(work, numSlices=len(work))
        seed = settings.seed

        def action():
            return rdd.flatMap(lambda item: run_task(data, folds, seed, item)).collect()

        if progress:
            from ..progress import run_spark_job_with_progress

            results = run_spark_job_with_progress(spark, "tune", len(work), action)
        else:
            results = action()
    finally:
        data.destroy()
    seconds = time.perf_counter() - started
    rows = _combine(points, results, settings.metric)
    good = [r for r in rows if not r.get("error")]
    if not good:
        raise TuneError(f"every grid point failed; first error: {rows[0]['error']}")
    best = good[0]
    summary = {
        "model": settings.model,
        "data": str(settings.data),
        "metric": settings.metric,
        "points": len(points),
        "folds": folds,
        "ranked_on": f"{folds} folds of the train split" if folds else base.validation_split,
        "tasks": len(work),
        "failed": len(rows) - len(good),
        "seconds": seconds,
        "training_events": len(train_events),
        "best": best,
    }
    with atomic_folder(out, overwrite=settings.overwrite, kind="tune", inputs=[dataset]) as folder:
        folder.mkdir()
        best_point = {"model": settings.model, "metric": settings.metric,
                      "value": best[settings.metric], "point": best["point"]}  # fmt: skip
        TuneResults(folder).write(_csv_text(rows), best_point, summary)
    _track(config, summary, rows, out)
    summary["rows"] = rows
    return TuneResult(out=out, seconds=time.perf_counter() - start, summary=summary)


def _track(config: Config, summary: dict[str, Any], rows: list[dict], out: Path) -> None:
    """One MLflow run for the search, with a child run per grid point."""
    from ..tracking import tracked_run

    settings = config.tune
    with tracked_run(config.tracking, f"tune {settings.model}") as log:
        log.params({"model": settings.model, "data": settings.data, "metric": settings.metric,
                    "folds": settings.folds, "points": summary["points"],
                    "grid": json.dumps(_grid(config))})  # fmt: skip
        best = summary["best"][settings.metric]
        log.metrics({f"best_{settings.metric}": best, "failed_points": summary["failed"],
                     "seconds": summary["seconds"]})  # fmt: skip
        log.artifacts([out / "results.csv", out / "best.json", out / "summary.json"])
        if not config.tracking.enabled:
            return
        for rank, row in enumerate(rows, start=1):
            with log.child(f"point {rank}") as child:
                child.params({**row["point"], "rank": rank, "error": row.get("error", "")})
                child.metrics({k: v for k, v in row.items() if k.startswith("val_")})


def _combine(points, results, metric: str) -> list[dict[str, Any]]:
    """One row per point (folds averaged), sorted best first, failures last."""
    by_point: dict[int, list[dict]] = {}
    for result in results:
        by_point.setdefault(result["index"], []).append(result)
    rows = []
    for index, point in enumerate(points):
        parts = by_point.get(index, [])
        errors = [p["error"] for p in parts if "error" in p]
        row: dict[str, Any] = {"point": point, "seconds": sum(p["seconds"] for p in parts)}
        if errors:
            row["error"] = errors[0]
        else:
            for key in parts[0]:
                if key.startswith("val_") or key == "epochs_trained":
                    row[key] = float(np.mean([p[key] for p in parts]))
        rows.append(row)
    sign = -1.0 if _higher_is_better(metric) else 1.0

    def best_first(row: dict[str, Any]) -> tuple[int, float]:
        if "error" in row:
            return (1, 0.0)
        value = row[metric]
        return (0, sign * value if math.isfinite(value) else math.inf)

    return sorted(rows, key=best_first)


def _csv_text(rows: list[dict[str, Any]]) -> str:
    names = list(rows[0]["point"])
    metrics = sorted({k for r in rows for k in r if k.startswith("val_")})
    with io.StringIO(newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rank", *names, *metrics, "epochs_trained", "seconds", "error"])
        for rank, row in enumerate(rows, start=1):
            writer.writerow([
                rank, *(json.dumps(row["point"][n]) if isinstance(row["point"][n], list)
                        else row["point"][n] for n in names),
                *(row.get(m, "") for m in metrics),
                row.get("epochs_trained", ""), f"{row['seconds']:.2f}", row.get("error", ""),
            ])  # fmt: skip
        return f.getvalue()
