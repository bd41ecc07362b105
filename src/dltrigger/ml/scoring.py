"""Scores of a trained model (a run folder of ``dltrigger train``) on a split of a dataset.

The model is the run's ``best.pt``; the inputs are scaled with the run's own ``scaling.json``
(the statistics it was trained with), after checking that the dataset was made with the
same feature settings and names ([`check_dataset`][dltrigger.artifacts.RunFolder.check_dataset]).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..artifacts import FeaturesDataset, RunFolder, Scaling
from ..config import TrainConfig
from ..errors import DatasetError, EvaluationError
from ..models import build_model
from .batches import iterate_batches
from .checkpoints import read_checkpoint
from .loop import forward


@dataclass
class TrainedModel:
    folder: Path
    config: TrainConfig
    model: torch.nn.Module
    scaling: Scaling
    run: RunFolder
    complete: bool  # the training finished (summary.json), not stopped half-way
    best_epoch: int


def load_run(folder: Path) -> TrainedModel:
    """The best model of a run folder, ready to score (errors name what is missing)."""
    run = RunFolder(Path(folder))
    folder = run.path
    run.require(run.BEST, hint=" (the training never finished an epoch)")
    run.require(run.SCALING)
    config = run.train_config()
    state = read_checkpoint(folder / run.BEST, EvaluationError)
    model = build_model(config.model, **config.model_options)
    if hasattr(model, "packed"):
        model.packed = config.packed_sequences
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise EvaluationError(
            f"{folder / run.BEST} does not fit model {config.model!r}: {str(exc).splitlines()[0]}"
        ) from None
    return TrainedModel(
        folder=folder,
        config=config,
        model=model.eval(),
        scaling=Scaling.from_file(folder / run.SCALING),
        run=run,
        complete=run.complete,
        best_epoch=int(state.get("epoch", 0)),
    )


def check_features(run: TrainedModel, data: Path) -> None:
    """The dataset must have been made with the feature settings and names the model was
    trained with (the test split's settings included)."""
    dataset = FeaturesDataset(Path(data))
    dataset.scaling()  # a dltrigger features dataset at all
    run.run.check_dataset(dataset, split=True)


def score(
    run: TrainedModel, data: Path, batch_size: int = 4096, split: str = "test"
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and softmax scores (columns 0 QCD, 1 ttbar, 2 W+jets) of ``split`` (the test
    split, which measures; the validation split chooses a trigger's threshold)."""
    check_features(run, data)
    labels, scores = [], []
    batches = iterate_batches(
        Path(data),
        split,
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
        raise DatasetError(f"{data}: the {split} split is empty")
    return np.concatenate(labels), np.concatenate(scores)
