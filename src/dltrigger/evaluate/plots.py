"""Evaluation plots (matplotlib + mplhep, PNG): ROC curves, score distributions, confusion.

Every plot names the class that plays the signal (the reference's "tt selector" plot showed
the QCD class, reference-pipeline.md §7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..schema import CLASS_NAMES
from .metrics import Roc


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    return plt


def save(figure, path: Path) -> str:
    """Write ``figure`` as a PNG and close it; return the file name (the report refers to
    plots relatively)."""
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    _pyplot().close(figure)
    return Path(path).name


def roc_figure(curves: dict[str, Roc], signal: str):
    """Signal efficiency against background efficiency (log scale), one curve per label."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 7))
    for label, roc in curves.items():
        keep = roc.false_positive_rate > 0
        axis.plot(
            roc.false_positive_rate[keep],
            roc.true_positive_rate[keep],
            label=f"{label} (AUC {roc.auc:.4f})",
        )
    axis.set_xscale("log")
    fewest = min(roc.negatives for roc in curves.values())
    axis.set_xlim(max(1e-4, 0.5 / max(fewest, 1)), 1)  # no decade below one background event
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("background efficiency (false-positive rate)")
    axis.set_ylabel(f"{signal} efficiency (true-positive rate)")
    axis.set_title(f"{signal} selector: {signal} vs the other classes", fontsize=16)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=12, loc="lower right")
    return figure


def score_figure(labels: np.ndarray, scores: np.ndarray, model: str):
    """Each class's score, histogrammed per true class."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(18, 6))
    bins = np.linspace(0, 1, 41)
    for column, (axis, signal) in enumerate(zip(axes, CLASS_NAMES, strict=True)):
        for true, name in enumerate(CLASS_NAMES):
            values = scores[labels == true, column]
            if len(values):
                axis.hist(
                    values,
                    bins=bins,
                    histtype="step",
                    density=True,
                    linewidth=2,
                    label=f"true {name} ({len(values)})",
                )
        axis.set_yscale("log")
        axis.set_xlabel(f"{signal} score")
        axis.set_ylabel("normalised events")
        axis.legend(fontsize=11)
    figure.suptitle(f"{model}: score distributions per true class", fontsize=16)
    return figure


def confusion_figure(matrix: np.ndarray, model: str):
    """Row-normalised confusion matrix (each true class sums to 1)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 6))
    image = axis.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        axis.text(
            column,
            row,
            f"{value:.3f}",
            ha="center",
            va="center",
            color="white" if value > 0.5 else "black",
            fontsize=14,
        )
    axis.set_xticks(range(3), CLASS_NAMES)
    axis.set_yticks(range(3), CLASS_NAMES)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(f"{model}: confusion (row-normalised)", fontsize=16)
    figure.colorbar(image, ax=axis)
    return figure
