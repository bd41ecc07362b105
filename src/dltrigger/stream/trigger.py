"""A trained model as a trigger filter: features in, scores and an accept/reject decision out.

The model is the run's exported ``model.onnx`` (ONNX Runtime: no PyTorch in the scoring path),
its inputs scaled with the run's ``scaling.json``; the features are computed with the feature
settings recorded in the run folder at training time (``features.json``), so the stream sees
what the model saw in training, wherever its dataset is now. Only where to find the objects
(``[features.collections]``) is the current configuration's, since files from another card
may be scored with the same model: with ``preset = "auto"`` each file's collections are
detected. The working point is a cut on the summed scores of the accepted classes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..artifacts import RunFolder, Scaling
from ..config import CollectionsConfig, EvaluateConfig, FeaturesConfig, StreamConfig
from ..errors import EvaluationError
from ..ml.batches import model_inputs, padded
from ..models.export import FORMATS
from ..schema import CLASS_NAMES

#: ONNX Runtime sessions of this Python process, by model file (Spark reuses its workers).
_SESSIONS: dict[tuple[str, float], object] = {}


@dataclass(frozen=True)
class Trigger:
    """Everything a Spark task needs to score events (picklable; the session is per worker)."""

    run: str
    model: str
    onnx: str
    scaling: Scaling
    max_particles: int
    features: FeaturesConfig
    accept: tuple[int, ...]  # class indices whose summed score is cut on
    threshold: float
    batch_size: int

    @property
    def uses_particles(self) -> bool:
        return self.model != "hlf"

    def _session(self):
        from ..models.export import OnnxScorer

        key = (self.onnx, Path(self.onnx).stat().st_mtime)
        if key not in _SESSIONS:
            _SESSIONS[key] = OnnxScorer(Path(self.onnx), threads=1)
        return _SESSIONS[key]

    def scores(self, hlf: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Softmax scores (n, 3) of unscaled features; particle lists capped at their last
        ``max_particles`` rows (those nearest the lepton), as in training."""
        scorer = self._session()
        n = len(hlf)
        out = np.empty((n, len(CLASS_NAMES)), dtype=np.float32)
        if not self.uses_particles:  # the HLF model: 14 numbers per event, no lists to touch
            scaled = self.scaling.scale_hlf(hlf)
            for begin in range(0, n, self.batch_size):
                out[begin : begin + self.batch_size] = scorer(
                    hlf=scaled[begin : begin + self.batch_size]
                )
            return out
        counts = np.asarray(counts, dtype=np.int64)
        events = model_inputs(
            np.zeros(n, np.int64), hlf, rows, counts, self.scaling, self.max_particles
        )
        # Events of similar lengths together: a batch is padded to its longest list only.
        order = np.argsort(counts, kind="stable")
        for begin in range(0, n, self.batch_size):
            chosen = order[begin : begin + self.batch_size]
            batch = events.take(chosen)
            assert batch.rows is not None and batch.counts is not None  # model_inputs sets both
            out[chosen] = scorer(hlf=batch.hlf, particles=padded(batch.rows, batch.counts),
                                 lengths=batch.counts)  # fmt: skip
        return out

    def decide(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The summed score of the accepted classes and the decision (score >= threshold)."""
        accept_score = scores[:, list(self.accept)].sum(axis=1)
        return accept_score, accept_score >= self.threshold


def load_trigger(
    settings: StreamConfig,
    collections: CollectionsConfig | None = None,
    rates: EvaluateConfig | None = None,
) -> Trigger:
    """The trigger of ``settings.model`` at ``settings``' working point; errors name the file.

    ``collections`` (the current ``[features.collections]``) says where the objects are in
    the scored files; unset: auto-detected per file. ``rates``: the input rate and class
    fractions an ``output_rate_hz`` working point assumes (unset: ``[evaluate]``'s
    defaults)."""
    model = settings.model
    assert model is not None  # resolved by Config.resolved() (or named by the caller)
    run = RunFolder(Path(model))
    folder = run.path
    onnx = FORMATS["onnx"]
    run.require(run.SCALING)
    run.require(onnx, hint=" (train with export including onnx)")
    if not run.complete:
        raise EvaluationError(
            f"{folder}: its training did not finish (no {run.SUMMARY}: stopped, or resumed and "
            f"stopped again), so its {onnx} may be an earlier training's model; finish it with "
            "`dltrigger train --resume`, or score another run"
        )
    check_onnx(folder / onnx)
    config = run.train_config()
    accept = tuple(CLASS_NAMES.index(c) for c in settings.accept_classes)
    trigger = Trigger(
        run=str(folder),
        model=config.model,
        onnx=str((folder / onnx).resolve()),
        scaling=Scaling.from_file(folder / run.SCALING),
        max_particles=config.max_particles,
        features=run.feature_settings().model_copy(
            update={"collections": collections or CollectionsConfig()}
        ),
        accept=accept,
        threshold=settings.threshold if settings.threshold is not None else 0.5,
        batch_size=settings.batch_size,
    )
    if settings.output_rate_hz is not None:
        rates = rates if rates is not None else EvaluateConfig()
        threshold = rate_working_point(folder, accept, settings.output_rate_hz, rates)
        trigger = replace(trigger, threshold=threshold)
    elif settings.threshold is None:
        threshold = working_point(folder, accept, settings.background_efficiency)
        trigger = replace(trigger, threshold=threshold)
    return trigger


def check_onnx(path: Path) -> None:
    """Refuse a model file ONNX Runtime cannot load, before any Spark task tries."""
    from ..models.export import OnnxScorer

    try:
        OnnxScorer(path, threads=1)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EvaluationError(f"{path}: not a loadable ONNX model ({first})") from None


def _validation_scores(folder: Path, accept: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, str]:
    """Labels and summed accepted-class scores of the split that chooses the run's working
    point (its validation split; the test split only for a run trained with the reference's
    ``reference_validate_on_test``), and that split's name."""
    from ..ml.scoring import load_run, score

    run = load_run(folder)
    data = run.config.data
    assert data is not None  # a run folder's config is the one train() checked (it had data)
    if not Path(data).exists():
        raise EvaluationError(
            f"{folder}: its dataset {data} is gone, so no working point can be "
            "chosen on it: set [stream] threshold"
        )
    split = run.config.validation_split
    labels, scores = score(run, data, split=split)
    return labels, scores[:, list(accept)].sum(axis=1), split


def working_point(folder: Path, accept: tuple[int, ...], background_efficiency: float) -> float:
    """The cut on the summed accepted-class score that lets ``background_efficiency`` of the
    other classes pass on the run's own validation split."""
    from ..ml.metrics import at_background_efficiency, roc_curve

    labels, summed, split = _validation_scores(folder, accept)
    roc = roc_curve(np.isin(labels, accept), summed)
    if roc.negatives * background_efficiency < 1:
        raise EvaluationError(
            f"{folder}: the {split} split of its dataset has {roc.negatives} background "
            f"events, too few to set a background efficiency of {background_efficiency:g}: "
            "set [stream] threshold (--threshold) or a larger background_efficiency"
        )
    return float(at_background_efficiency(roc, background_efficiency).threshold)


def rate_working_point(
    folder: Path, accept: tuple[int, ...], output_rate_hz: float, rates: EvaluateConfig
) -> float:
    """The loosest cut on the summed accepted-class score whose expected output rate (at
    ``rates``' input rate and class fractions) stays within ``output_rate_hz``, on the run's
    validation split."""
    from ..ml.rates import at_output_rate, rate_curve

    if not output_rate_hz < rates.input_rate_hz:
        raise EvaluationError(
            f"output_rate_hz {output_rate_hz:g} is not below the input rate "
            f"{rates.input_rate_hz:g} Hz ([evaluate] input_rate_hz): no cut is needed"
        )
    labels, summed, split = _validation_scores(folder, accept)
    columns = np.zeros((len(summed), len(CLASS_NAMES)))
    columns[:, accept[0]] = summed  # the cut's column; the rates do not depend on the others
    try:
        curve = rate_curve(labels, columns, accept[0], rates.input_rate_hz,
                           rates.fractions())  # fmt: skip
    except ValueError as exc:
        raise EvaluationError(f"{folder}: the {split} split of its dataset: {exc}") from None
    point = at_output_rate(curve, output_rate_hz)
    if point["threshold"] is None:  # the cut keeps nothing
        raise EvaluationError(
            f"{folder}: no cut keeps the output rate within {output_rate_hz:g} Hz on the {split} "
            "split (even its highest-scored event exceeds it): raise output_rate_hz"
        )
    return float(point["threshold"])
