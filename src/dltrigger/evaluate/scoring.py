"""Scores of a trained model (a run folder of ``dltrigger train``) on a dataset's test split.

The model is the run's ``best.pt``; the inputs are scaled with the run's own ``scaling.json``
(the statistics it was trained with), after checking that the dataset has the same features.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import ValidationError

from ..config import TrainConfig
from ..errors import EvaluationError
from ..models import build_model
from ..train.data import DatasetError, Scaling, iterate_batches
from ..train.trainer import forward


@dataclass
class TrainedModel:
    folder: Path
    config: TrainConfig
    model: torch.nn.Module
    scaling: Scaling
    feature_names: dict[str, list[str]]
    complete: bool  # the training finished (summary.json), not stopped half-way
    best_epoch: int


def load_run(folder: Path) -> TrainedModel:
    """The best model of a run folder, ready to score (errors name what is missing)."""
    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise EvaluationError(f"{folder}: not a run folder of `dltrigger train` (no config.json)")
    if not (folder / "best.pt").exists():
        raise EvaluationError(f"{folder}: no best.pt (the training never finished an epoch)")
    try:
        config = TrainConfig.model_validate_json((folder / "config.json").read_text())
    except ValidationError as exc:
        raise EvaluationError(f"{folder / 'config.json'}: {exc.errors()[0]['msg']}") from None
    state = torch.load(folder / "best.pt", map_location="cpu", weights_only=False)
    model = build_model(config.model, **config.model_options)
    if hasattr(model, "packed"):
        model.packed = config.packed_sequences
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise EvaluationError(
            f"{folder / 'best.pt'} does not fit model {config.model!r}: {str(exc).splitlines()[0]}"
        ) from None
    stats = json.loads((folder / "scaling.json").read_text())
    return TrainedModel(
        folder=folder,
        config=config,
        model=model.eval(),
        scaling=Scaling.from_file(folder / "scaling.json"),
        feature_names={k: stats[k].get("names", []) for k in ("hlf", "particles")},
        complete=(folder / "summary.json").exists(),
        best_epoch=int(state.get("epoch", 0)),
    )


def check_features(run: TrainedModel, data: Path) -> None:
    """The dataset must have the features the model was trained on, in the same order."""
    path = Path(data) / "_scaling.json"
    if not path.exists():
        raise DatasetError(f"{data}: no _scaling.json (is it a dltrigger features dataset?)")
    stats = json.loads(path.read_text())
    for kind, names in run.feature_names.items():
        theirs = stats.get(kind, {}).get("names", [])
        if names and theirs != names:
            raise DatasetError(
                f"{data} has other {kind} features than {run.folder} was trained on: "
                f"{theirs} vs {names}"
            )


def score(run: TrainedModel, data: Path, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Labels and softmax scores (columns 0 QCD, 1 ttbar, 2 W+jets) of the test split."""
    check_features(run, data)
    labels, scores = [], []
    batches = iterate_batches(
        Path(data),
        "test",
        batch_size,
        shuffle_buffer=1,
        scaling=run.scaling,
        max_particles=run.config.max_particles,
        with_particles=run.config.uses_particles(),
    )
    with torch.no_grad():
        for batch in batches:
            logits = forward(run.model, batch, torch.device("cpu"))
            labels.append(batch.labels.numpy())
            scores.append(torch.softmax(logits, dim=1).numpy())
    if not labels:
        raise DatasetError(f"{data}: the test split is empty")
    return np.concatenate(labels), np.concatenate(scores)
