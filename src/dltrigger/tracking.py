"""Experiment tracking: parameters, per-epoch metrics and artifacts of every run, to MLflow.

``tracked_run`` opens an MLflow run (or does nothing when tracking is off) and gives a small
logger. The default store is MLflow's local file store ``mlruns/`` (``mlflow ui`` shows it);
MLflow 3 keeps that backend in maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``, which is
set here for file stores only; any other URI (a server, ``sqlite:///...``) is used as given.
A run whose block raises is marked FAILED, so a half-trained model never looks finished.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import TrackingConfig

_NOT_ALLOWED = re.compile(r"[^\w\-. :/]")


def metric_name(name: str) -> str:
    """A name MLflow accepts (letters, digits, ``_-. :/``): ``W+jets`` -> ``Wjets``."""
    return _NOT_ALLOWED.sub("", name)


class RunLogger:
    """Logs to one MLflow run; every method is a no-op when tracking is off."""

    def __init__(self, mlflow=None):
        self.mlflow = mlflow

    @property
    def run_id(self) -> str | None:
        return self.mlflow.active_run().info.run_id if self.mlflow else None

    def params(self, values: dict[str, Any]) -> None:
        if self.mlflow:
            self.mlflow.log_params({k: str(v)[:6000] for k, v in values.items()})

    def metrics(self, values: dict[str, Any], step: int | None = None) -> None:
        if self.mlflow:
            numeric = {metric_name(k): float(v) for k, v in values.items()
                       if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
            self.mlflow.log_metrics(numeric, step=step)

    def history(self, rows: list[dict[str, Any]]) -> None:
        """One step per epoch."""
        for row in rows:
            # an undefined AUC (null in metrics.json) is not logged
            values = {k: v for k, v in row.items() if k != "epoch" and v is not None}
            self.metrics(values, step=row["epoch"])

    def artifacts(self, paths: list[Path], folder: str | None = None) -> None:
        if self.mlflow:
            for path in paths:
                if path.is_file():
                    self.mlflow.log_artifact(str(path), artifact_path=folder)

    @contextmanager
    def child(self, name: str) -> Iterator[RunLogger]:
        if not self.mlflow:
            yield self
            return
        with self.mlflow.start_run(run_name=name, nested=True):
            yield RunLogger(self.mlflow)


@contextmanager
def tracked_run(config: TrackingConfig, name: str, tags: dict[str, str] | None = None):
    """An MLflow run named ``name`` in ``config.experiment`` (or a no-op logger)."""
    if not config.enabled:
        yield RunLogger()
        return
    import mlflow

    uri = config.uri or Path("mlruns").resolve().as_uri()
    if uri.startswith("file:") or "://" not in uri:  # a local file store, chosen on purpose
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(config.experiment)
    with mlflow.start_run(run_name=name, tags=tags or {}):
        yield RunLogger(mlflow)
