"""``dltrigger evaluate``: every trained model on one dataset's test split, with a report.

For each run folder: scores of the best model on the test split (which chose nothing: the
epochs were chosen on the validation split), per-class one-vs-rest ROC curves and AUCs
(bootstrap errors), accuracy, the row-normalised confusion matrix, score distributions,
trigger working points (signal efficiency at background efficiencies of 10%, 1% and 0.1%;
background rejection at 99% signal efficiency; Clopper-Pearson intervals, and a 95% upper
limit where too few background events are expected to measure one), and trigger rates at
output-rate budgets ([`dltrigger.ml.rates`][]). The output folder (written atomically) holds
``evaluation.json``, the PNG plots and the report (``report.md``, ``report.html``). With
``baselines``, an output folder of ``dltrigger baselines``, the tree models' per-class AUCs
(their ``metrics.json``) join the report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, get_args

import numpy as np

from ..artifacts import EvaluationReport, FeaturesDataset, RunFolder, read_pipeline_state
from ..artifacts._files import strict_json
from ..config import BaselineName, Config, EvaluateConfig
from ..errors import EvaluationError
from ..freshness import skippable
from ..io.atomic import atomic_folder
from ..ml import plots
from ..ml.metrics import (
    BACKGROUND_EFFICIENCIES,
    MIN_BACKGROUND_EVENTS,
    SIGNAL_EFFICIENCY,
    WorkingPoint,
    at_background_efficiency,
    at_signal_efficiency,
    bootstrap_auc,
    bootstrap_auc_difference,
    confusion_matrix,
    measurable,
    one_vs_rest,
    roc_curve,
    upper_limit,
)
from ..ml.rates import trigger_rates
from ..ml.scoring import load_run, score
from ..results import EvaluateResult
from ..schema import CLASS_NAMES
from .l1_section import read_l1
from .report import write_report


def evaluate_model(
    labels: np.ndarray,
    scores: np.ndarray,
    bootstrap: int = 200,
    min_background_events: int = MIN_BACKGROUND_EVENTS,
) -> dict:
    """Every metric of one model's test-split scores (pure numpy): per class the AUC with
    its bootstrap error, and the working points with Clopper-Pearson intervals, each marked
    measurable or not (fewer than ``min_background_events`` background events expected to
    pass: the 95% upper limit on the background efficiency instead)."""
    classes: dict[str, Any] = {}
    for signal, name in enumerate(CLASS_NAMES):
        positives = int((labels == signal).sum())
        if positives in (0, len(labels)):
            # A class with no test event (e.g. dropped by the features stage): no ROC curve,
            # so no AUC nor working point, rather than a number made up.
            classes[name] = {
                "auc": None,
                "auc_error": None,
                "signal_events": positives,
                "background_events": len(labels) - positives,
                "absent": "no test event of this class" if positives == 0 else "no background",
            }
            continue
        roc = one_vs_rest(labels, scores, signal)
        points = {
            f"{target:g}": _working_point(
                at_background_efficiency(roc, target), target, roc.negatives,
                min_background_events,
            )
            for target in BACKGROUND_EFFICIENCIES
        }  # fmt: skip
        rejection = at_signal_efficiency(roc, SIGNAL_EFFICIENCY)
        low, high = rejection.rejection_interval()
        classes[name] = {
            "auc": roc.auc,
            "auc_error": bootstrap_auc(labels == signal, scores[:, signal], bootstrap),
            "signal_events": roc.positives,
            "background_events": roc.negatives,
            "signal_efficiency_at_background": points,
            "at_signal_efficiency": {
                "target": SIGNAL_EFFICIENCY,
                "threshold": rejection.threshold,
                "signal_efficiency": rejection.signal.to_json(),
                "background_efficiency": rejection.background.to_json(),
                # None (null): no background event passes, the rejection is unbounded above
                "background_rejection": (
                    None if rejection.background.passed == 0 else rejection.background_rejection
                ),
                "background_rejection_interval": [low, high],
            },
        }
        if high is None:  # strict JSON has no infinity: null, and why
            classes[name]["at_signal_efficiency"]["background_rejection_note"] = (
                f"no background event passes the cut: the rejection is at least {low:.3g} "
                "(68.3% CL) and unbounded above"
            )
    predicted = scores.argmax(1)
    return {
        "test_events": len(labels),
        "accuracy": float((predicted == labels).mean()),
        "confusion": confusion_matrix(labels, predicted, normalize=True).tolist(),
        "classes": classes,
    }


def _working_point(
    point: WorkingPoint, target: float, background_events: int, minimum: int
) -> dict[str, Any]:
    """A working point as JSON: measured (efficiencies with intervals), or not measurable
    (the expected background count, and the 95% upper limit on the background efficiency
    of the cut found)."""
    expected = target * background_events
    entry: dict[str, Any] = {
        "target_background_efficiency": target,
        "expected_background_events": expected,
        "measurable": measurable(target, background_events, minimum),
        "threshold": point.threshold,
        "signal_efficiency": point.signal.to_json(),
        "background_efficiency": point.background.to_json(),
    }
    if not entry["measurable"]:
        entry["background_efficiency_upper_limit_95"] = upper_limit(
            point.background.passed, point.background.total
        )
    if not np.isfinite(point.threshold):
        # Even the tightest cut lets more background through than the target (the top-scored
        # events include background): the point keeps nothing, and +inf is no strict JSON.
        entry["threshold"] = None
        entry["threshold_note"] = "no cut meets the target: the trigger keeps nothing"
    return entry


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> EvaluateResult:
    """Score the best model of each of ``evaluate.runs`` (unset: the run folders of
    ``run.models``) on the test split of ``evaluate.data`` (unset: ``train.data``) and write
    the report into ``evaluate.out``, with the tree baselines of ``evaluate.baselines`` when
    that folder exists, and what ``dltrigger run`` recorded of each stage (``run.state``,
    when it exists). The result has the content of ``evaluation.json``.

    ``spark`` and ``progress``: unused (the scoring runs in this process), accepted as by
    every stage.

    Example: what the report would compare, with the defaults (the call needs the trained
    run folders, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> settings = dlt.Config().resolved().evaluate
    >>> settings.runs
    [PosixPath('runs/hlf'), PosixPath('runs/inclusive')]
    >>> settings.data, settings.baselines, settings.out
    (PosixPath('data/features/balanced'), PosixPath('runs/baselines'), PosixPath('runs/report'))
    >>> report = dlt.evaluate.run(dlt.Config())  # doctest: +SKIP

    ```
    """
    start = time.perf_counter()
    config = config.resolved()
    settings = config.evaluate
    assert settings.runs is not None and settings.data is not None  # resolved
    runs, data = [Path(r) for r in settings.runs], Path(settings.data)
    baselines = settings.baselines
    if baselines is not None and not Path(baselines).is_dir():
        baselines = None
    l1 = settings.l1 if settings.l1 is not None and Path(settings.l1).is_dir() else None
    if not runs:
        raise EvaluationError("no run folder given")
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise EvaluationError(f"run folders need distinct names, got {names}")
    loaded = [load_run(r) for r in runs]  # every run checked before any work
    results: dict[str, Any] = {
        "data": str(data),
        "models": {},
        "stages": read_pipeline_state(Path(config.run.state)),
        "split": "test",
        "rate_assumptions": {
            "input_rate_hz": settings.input_rate_hz,
            "class_fractions": settings.fractions(),
            "output_rates_hz": list(settings.output_rates_hz),
            "min_background_events": settings.min_background_events,
        },
    }
    inputs = [data, *runs, *(p for p in (baselines, l1) if p is not None)]
    with atomic_folder(settings.out, settings.overwrite, kind="report", inputs=inputs) as folder:
        folder.mkdir()
        results.update(_scored(loaded, data, settings, folder))
        first = next(iter(results.pop("_scored").values()))
        if baselines is not None:
            results["baselines"] = read_baselines(Path(baselines), first[1])
        if l1 is not None:
            results["l1"] = read_l1(Path(l1), len(first[1]), folder)
        results = strict_json(results)  # the report and the caller see what the file holds
        EvaluationReport(folder).write_evaluation(results)
        write_report(results, folder)
    return EvaluateResult(
        out=Path(settings.out), seconds=time.perf_counter() - start, evaluation=results
    )


def _scored(loaded: list, data: Path, settings: EvaluateConfig, folder: Path) -> dict[str, Any]:
    """Every run scored on the test split: its metrics, rates and plots, the ROC and rate
    plots of all, the HLF/inclusive comparison (``_scored``: each run's labels and scores)."""
    bootstrap, minimum = settings.bootstrap, settings.min_background_events
    events = FeaturesDataset(data).events_origin()
    models: dict[str, Any] = {}
    curves: dict[str, dict] = {name: {} for name in CLASS_NAMES}
    rate_curves: dict[str, dict] = {name: {} for name in CLASS_NAMES}
    scored: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    for run in loaded:
        label = run.folder.name
        labels, scores = score(run, data)
        scored[label] = (run.config.model, labels, scores)
        metrics = evaluate_model(labels, scores, bootstrap, minimum)
        metrics.update(_run_facts(run))
        metrics["rates"], by_class = trigger_rates(
            labels, scores, settings.input_rate_hz, settings.fractions(),
            list(settings.output_rates_hz), minimum,
        )  # fmt: skip
        for name, curve in by_class.items():
            rate_curves[name][label] = curve
        confusion = np.array(metrics["confusion"])
        metrics["plots"] = {
            "scores": plots.save(
                plots.score_figure(labels, scores, label, events=events),
                folder / f"scores_{label}.png",
            ),
            "confusion": plots.save(
                plots.confusion_figure(confusion, label, events=events),
                folder / f"confusion_{label}.png",
            ),
        }
        for signal, name in enumerate(CLASS_NAMES):
            if "absent" not in metrics["classes"][name]:
                curves[name][label] = one_vs_rest(labels, scores, signal)
        models[label] = metrics
    roc_plots = {
        name: plots.save(
            plots.roc_figure(by_model, name, events=events), folder / f"roc_{_slug(name)}.png"
        )
        for name, by_model in curves.items()
        if by_model
    }
    rate_plots = {
        name: plots.save(
            plots.rate_figure(by_model, name, events=events,
                              output_rates_hz=settings.output_rates_hz),
            folder / f"rate_{_slug(name)}.png",
        )
        for name, by_model in rate_curves.items()
        if by_model
    }  # fmt: skip
    return {
        "models": models,
        "roc_plots": roc_plots,
        "rate_plots": rate_plots,
        "comparison": compare(scored, bootstrap),
        "manifest": _manifest(data),
        "_scored": scored,
    }


def compare(scored: dict[str, tuple[str, np.ndarray, np.ndarray]], bootstrap: int) -> dict | None:
    """The first inclusive run against the first HLF run: per-class AUC differences with
    paired-bootstrap errors (both scored the same test events, in the same order)."""
    first: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    for name, (model, labels, scores) in scored.items():
        first.setdefault(model, (name, labels, scores))
    if "inclusive" not in first or "hlf" not in first:
        return None
    (model, labels, scores), (baseline, base_labels, base_scores) = first["inclusive"], first["hlf"]
    if not np.array_equal(labels, base_labels):
        raise EvaluationError(f"{model} and {baseline} scored different test events")
    classes = {}
    for signal, name in enumerate(CLASS_NAMES):
        is_signal = labels == signal
        if is_signal.all() or not is_signal.any():
            continue  # no AUC for a class without test events
        difference = (roc_curve(is_signal, scores[:, signal]).auc
                      - roc_curve(is_signal, base_scores[:, signal]).auc)  # fmt: skip
        error = bootstrap_auc_difference(
            is_signal, scores[:, signal], base_scores[:, signal], bootstrap
        )
        classes[name] = {"difference": difference, "error": error}
    return {"model": model, "baseline": baseline, "classes": classes}


def read_baselines(folder: Path, labels: np.ndarray) -> dict[str, Any]:
    """The metrics of every model in ``folder`` (an output of ``dltrigger baselines``) that
    scored the same test events as the networks (``labels``: theirs).

    Returns ``{"folder", "models": {name: metrics.json}, "skipped": {name: why}}``, and the
    reason in ``"missing"`` when ``folder`` holds no baseline at all.
    """
    import pyarrow.parquet as pq

    found: dict[str, Any] = {"folder": str(folder), "models": {}, "skipped": {}}
    known = list(get_args(BaselineName))  # in the order of the configuration's list
    files = sorted(
        folder.glob("*/metrics.json") if folder.is_dir() else [],
        key=lambda f: (known.index(f.parent.name) if f.parent.name in known else len(known),
                       f.parent.name),
    )  # fmt: skip
    if not files:
        found["missing"] = "no baselines output here (run `dltrigger baselines`)"
        return found
    expected = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(CLASS_NAMES)).tolist()
    for file in files:
        name = file.parent.name
        try:
            metrics = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            found["skipped"][name] = f"unreadable metrics.json: {exc}"
            continue
        scores = file.parent / "scores.parquet"
        if scores.exists():
            theirs = pq.read_table(scores, columns=["label"]).column(0).to_numpy()
            counts = np.bincount(theirs.astype(np.int64), minlength=len(CLASS_NAMES)).tolist()
        else:
            counts = None
        if metrics.get("test_events") != len(labels) or (counts and counts != expected):
            found["skipped"][name] = (
                f"scored {metrics.get('test_events')} test events"
                + (f" ({', '.join(map(str, counts))} per class)" if counts else "")
                + f", the networks {len(labels)} ({', '.join(map(str, expected))}): "
                "another dataset"
            )
            continue
        found["models"][name] = metrics
    return found


def _slug(name: str) -> str:
    return name.replace("+", "").lower()


def _run_facts(run) -> dict:
    facts = {
        "model": run.config.model,
        "complete": run.complete,
        "best_epoch": run.best_epoch,
        "validated_on": run.config.validation_split,
        "run_folder": str(run.folder),
    }
    metrics = run.folder / RunFolder.METRICS
    if metrics.exists():
        history = json.loads(metrics.read_text())
        facts["epochs_trained"] = len(history)
        facts["training_samples_per_s"] = float(np.median([h["samples_per_s"] for h in history]))
    return facts


def _manifest(data: Path) -> dict:
    manifest = FeaturesDataset(data).manifest()
    keep = ("dataset", "counts", "per_split", "selection_efficiency", "mean_particles_per_event",
            "events_origin", "dropped_classes")  # fmt: skip
    return {k: manifest[k] for k in keep if k in manifest}
