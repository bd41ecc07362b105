"""``dltrigger l1``: a trained run made into a Level-1 trigger model, emulated bit for bit.

The run is an ``hlf`` or a ``deepsets_l1`` one ([`dltrigger.l1.adapters`][]). From its float
network: a post-training-quantised version (``l1.ptq_precision`` everywhere) and a
quantisation-aware one (fine-tuned on the training split, its epoch chosen on the validation
split); both become hls4ml projects whose C simulation (g++) is the emulation of the
firmware. On the test split, each version's trigger is
measured as an L1 trigger cuts: on logits (no softmax in firmware), class c's score being
its margin over the best other class, z_c - max(z_j, j != c) (two subtractions and a
comparison; positive exactly when c is the argmax). The output folder (written atomically):

- ``l1.json`` (written last): per version the AUCs, the working point at 99% signal
  efficiency and the rates at the report's output-rate budgets (Clopper-Pearson intervals),
  the emulation's agreement with the quantised model in Python, the estimates
  ([`dltrigger.l1.estimate`][]) and the fine-tuning history;
- ``scores.parquet``: label and the four versions' logits of every test event;
- ``ptq/`` and ``qat/``: the hls4ml projects (for ``hlf``, ``qat/model.qonnx.onnx``, the
  QONNX export, and the project in ``qat/hls/``), ``qat.pt``: the quantisation-aware weights;
- ``roc_l1_<class>.png``: the float, PTQ and QAT ROC curves of each class, overlaid.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import FeaturesDataset, L1Output
from ..config import Config, L1Config
from ..freshness import skippable
from ..io.atomic import atomic_folder
from ..ml import plots
from ..ml.metrics import (
    SIGNAL_EFFICIENCY,
    at_signal_efficiency,
    bootstrap_auc_difference,
    one_vs_rest,
    roc_auc,
)
from ..ml.rates import trigger_rates
from ..progress import progress_bar
from ..results import L1Result
from ..schema import CLASS_NAMES

#: The versions compared, as l1.json and the report name them.
VERSIONS = {
    "float": "float (PyTorch)",
    "ptq": "post-training quantised (hls4ml C simulation)",
    "qat": "quantisation-aware (PyTorch, fake quantisation)",
    "qat_emulated": "quantisation-aware (hls4ml C simulation)",
}


def margins(logits: np.ndarray) -> np.ndarray:
    """Each class's logit minus the largest of the other classes' (an L1 trigger's score)."""
    logits = np.asarray(logits, dtype=np.float64)
    out = np.empty_like(logits)
    for c in range(logits.shape[1]):
        others = np.delete(logits, c, axis=1)
        out[:, c] = logits[:, c] - others.max(axis=1)
    return out


def trigger_metrics(
    labels: np.ndarray, logits: np.ndarray, rates: dict[str, Any]
) -> dict[str, Any]:
    """One version's trigger on the test split: per class the AUC of its margin and the cut
    keeping 99% of the class (signal and background efficiencies with Clopper-Pearson
    intervals); accuracy; the rates at the output-rate budgets of ``rates``."""
    scores = margins(logits)
    classes: dict[str, Any] = {}
    for signal, name in enumerate(CLASS_NAMES):
        positives = int((labels == signal).sum())
        if positives in (0, len(labels)):
            classes[name] = {"absent": "no test event of this class" if not positives
                             else "no background"}  # fmt: skip
            continue
        roc = one_vs_rest(labels, scores, signal)
        point = at_signal_efficiency(roc, SIGNAL_EFFICIENCY)
        classes[name] = {
            "auc": roc.auc,
            "threshold": point.threshold,
            "signal_efficiency": point.signal.to_json(),
            "background_efficiency": point.background.to_json(),
        }
    by_rate, _ = trigger_rates(
        labels, scores, rates["input_rate_hz"], rates["class_fractions"],
        rates["output_rates_hz"], rates["min_background_events"],
    )  # fmt: skip
    return {
        "accuracy": float((logits.argmax(1) == labels).mean()),
        "classes": classes,
        "rates": by_rate,
    }


def against_float(
    labels: np.ndarray, float_logits: np.ndarray, quantised: np.ndarray, bootstrap: int
) -> dict[str, Any]:
    """Per class, what quantising costs: the AUC difference (quantised - float) with its
    paired-bootstrap error, and the ratio of background efficiencies at 99% signal
    efficiency (each with its Clopper-Pearson interval in ``metrics``)."""
    reference, other = margins(float_logits), margins(quantised)
    classes = {}
    for signal, name in enumerate(CLASS_NAMES):
        is_signal = labels == signal
        if is_signal.all() or not is_signal.any():
            continue
        before = at_signal_efficiency(one_vs_rest(labels, reference, signal), SIGNAL_EFFICIENCY)
        after = at_signal_efficiency(one_vs_rest(labels, other, signal), SIGNAL_EFFICIENCY)
        classes[name] = {
            "auc_difference": roc_auc(is_signal, other[:, signal])
            - roc_auc(is_signal, reference[:, signal]),
            "auc_difference_error": bootstrap_auc_difference(
                is_signal, other[:, signal], reference[:, signal], bootstrap
            ),
            "background_efficiency_ratio": (
                after.background.value / before.background.value
                if before.background.passed
                else None
            ),
        }
    return classes


def agreement(
    labels: np.ndarray, python: np.ndarray, emulated: np.ndarray, thresholds: dict[str, float]
) -> dict[str, Any]:
    """How the emulation's decisions compare with the quantised model's in Python, event by
    event: the argmax, and each class's trigger bit at the Python model's 99% cut.
    ``agreement``: the share of events on which every one of these decisions is the same."""
    same = python.argmax(1) == emulated.argmax(1)
    argmax_share = float(same.mean()) if len(same) else 1.0
    python_m, emulated_m = margins(python), margins(emulated)
    per_class = {}
    for c, name in enumerate(CLASS_NAMES):
        if name not in thresholds:
            continue
        bits = (python_m[:, c] >= thresholds[name]) == (emulated_m[:, c] >= thresholds[name])
        per_class[name] = float(bits.mean()) if len(bits) else 1.0
        same &= bits
    difference = np.abs(python - emulated)
    return {
        "agreement": float(same.mean()) if len(same) else 1.0,
        "events": len(labels),
        "different_events": int((~same).sum()),
        "argmax": argmax_share,
        "trigger_bits": per_class,
        "max_abs_logit_difference": float(difference.max()) if difference.size else 0.0,
        "mean_abs_logit_difference": float(difference.mean()) if difference.size else 0.0,
    }


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> L1Result:
    """Make the HLF (or ``deepsets_l1``) run ``l1.run`` a Level-1 model on ``l1.data``
    (unset: ``train.data``) into ``l1.out``; the result has the content of ``l1.json``,
    whose ``agreement`` is the share of test events on which the emulated firmware decides
    as the quantised model.

    Needs the ``l1`` extra (``pip install 'dltrigger[l1]'``: hls4ml, Brevitas, qonnx,
    da4ml) and g++. ``spark``: unused; ``progress``: a bar over the fine-tuning epochs.

    Example (needs a trained HLF run and its dataset, so it is not run here):

    ```pycon
    >>> import dltrigger as dlt
    >>> settings = dlt.Config().resolved().l1
    >>> settings.run, settings.data
    (PosixPath('runs/hlf'), PosixPath('data/features/balanced'))
    >>> settings.out, settings.ptq_precision, settings.weight_bits
    (PosixPath('runs/l1'), 'ap_fixed<16,6>', 6)
    >>> result = dlt.l1.run(dlt.Config())  # doctest: +SKIP
    >>> result.summary["agreement"]["agreement"]  # doctest: +SKIP
    1.0

    ```
    """
    start = time.perf_counter()
    config = config.resolved()
    settings = config.l1
    assert settings.data is not None and settings.run is not None  # resolved
    evaluate = config.evaluate
    rates = {
        "input_rate_hz": evaluate.input_rate_hz,
        "class_fractions": evaluate.fractions(),
        "output_rates_hz": list(evaluate.output_rates_hz),
        "min_background_events": evaluate.min_background_events,
    }
    summary = _make(settings, Path(settings.data), rates, progress)
    return L1Result(out=Path(settings.out), seconds=time.perf_counter() - start, summary=summary)


def _make(settings: L1Config, data: Path, rates: dict[str, Any], progress: bool) -> dict[str, Any]:
    import torch

    from ..ml.scoring import check_features, load_run
    from . import hls, quantised
    from .adapters import adapter
    from .estimate import estimate
    from .fixed import FixedType

    assert settings.run is not None  # resolved
    trained = load_run(Path(settings.run))
    model_kind = adapter(trained)
    check_features(trained, data)
    train = model_kind.split(data, "train")
    validation = model_kind.split(data, "validation")
    test = model_kind.split(data, "test")
    labels = test.labels
    bits = quantised.Bits(
        settings.input_bits, settings.weight_bits, settings.activation_bits, settings.bias_bits
    )
    model = model_kind.quantised(bits, train)
    with progress_bar() if progress else contextlib.nullcontext() as bar:
        advance = lambda entry: None  # noqa: E731
        if bar is not None:
            task = bar.add_task("quantisation-aware training", total=settings.epochs)
            advance = lambda entry: bar.advance(task)  # noqa: E731
        history = quantised.fine_tune(
            model, (train.inputs, train.labels), (validation.inputs, validation.labels),
            epochs=settings.epochs, batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, seed=settings.seed, on_epoch=advance,
        )  # fmt: skip
    ptq_type = FixedType.parse(settings.ptq_precision)
    target = hls.Target(settings.fpga_part, settings.clock_period_ns)
    float_model = model_kind.float_module()
    inputs = [data, Path(settings.run)]
    with atomic_folder(settings.out, settings.overwrite, kind="l1", inputs=inputs) as folder:
        ptq = hls.post_training(
            float_model, model_kind.input_shapes(), ptq_type, folder / "ptq", target
        )
        qat = model_kind.emulate_quantised(model, folder / "qat", target)
        torch.save(model.state_dict(), folder / L1Output.QAT_WEIGHTS)
        logits = {
            "float": quantised.logits(float_model, *test.inputs),
            "ptq": ptq.predict(*test.inputs),
            "qat": quantised.logits(model, *test.inputs),
            "qat_emulated": qat.predict(*test.inputs),
        }
        versions = {name: trigger_metrics(labels, values, rates) for name, values in logits.items()}
        thresholds = {
            c: m["threshold"] for c, m in versions["qat"]["classes"].items() if "threshold" in m
        }
        summary: dict[str, Any] = {
            "run": str(settings.run),
            "model": model_kind.name,
            "data": str(data),
            "split": "test",
            "test_events": len(labels),
            "settings": settings.model_dump(mode="json", exclude={"overwrite", "if_exists"}),
            "score": "logit margin: z_c - max(z_j, j != c)",
            "versions": VERSIONS,
            "metrics": versions,
            "quantised_vs_float": {
                key: against_float(labels, logits["float"], logits[key], settings.bootstrap)
                for key in ("ptq", "qat_emulated")
            },
            "agreement": agreement(labels, logits["qat"], logits["qat_emulated"], thresholds),
            "types": {"ptq": str(ptq_type), **model_kind.type_names(model)},
            "estimates": {
                key: estimate(
                    emulation.model,
                    part=target.part,
                    clock_period_ns=target.clock_period_ns,
                    adder_levels_per_cycle=settings.adder_levels_per_cycle,
                )
                for key, emulation in (("ptq", ptq), ("qat", qat))
            },
            "layers": {"ptq": ptq.layers(), "qat": qat.layers()},
            "seconds": {
                "ptq_convert": ptq.convert_seconds,
                "ptq_compile": ptq.compile_seconds,
                "qat_convert": qat.convert_seconds,
                "qat_compile": qat.compile_seconds,
            },
            "fine_tuning": history,
            "rate_assumptions": rates,
        }  # fmt: skip
        L1Output(folder).write_scores(labels, logits)
        events = FeaturesDataset(data).events_origin()
        summary["plots"] = _roc_plots(labels, logits, folder, events)
        L1Output(folder).write_summary(summary)
    return L1Output(Path(settings.out)).summary()


def _roc_plots(labels: np.ndarray, logits: dict[str, np.ndarray], folder: Path,
               events: str) -> dict[str, str]:  # fmt: skip
    """Per class, the ROC curves of the float, PTQ and emulated QAT triggers, overlaid."""
    shown = {"float": "float", "ptq": "PTQ (emulated)", "qat_emulated": "QAT (emulated)"}
    found = {}
    for signal, name in enumerate(CLASS_NAMES):
        if not (labels == signal).any() or (labels == signal).all():
            continue
        curves = {
            label: one_vs_rest(labels, margins(logits[key]), signal) for key, label in shown.items()
        }
        slug = name.lower().replace("+", "")
        found[name] = plots.save(
            plots.roc_figure(curves, name, events=events), folder / f"roc_l1_{slug}.png"
        )
    return found
