"""Evaluation plots (matplotlib + mplhep): ROC curves, score distributions, confusion.

Each plot is a function that draws on a given ``ax`` (or ``axes``) and returns its artists, so
it fits a notebook's own figure; the ``*_figure`` builders make the report's figures with the
CMS style inside a context manager. Nothing here changes matplotlib's global state (backend,
``rcParams``): figures are ``matplotlib.figure.Figure`` objects, not pyplot's.

Every plot names the class that plays the signal (the reference's "tt selector" plot showed
the QCD class, reference-pipeline.md §7).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import DLTriggerError
from ..schema import CLASS_NAMES
from .metrics import Roc

INSTALL_HINT = "pip install 'dltrigger[plots]'"


def _matplotlib():
    try:
        import matplotlib
        import mplhep
    except ImportError as exc:
        raise DLTriggerError(
            f"plots need matplotlib and mplhep ({exc.name} is not installed): {INSTALL_HINT}"
        ) from None
    return matplotlib, mplhep


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The CMS style (mplhep) for the figures made inside the block only."""
    matplotlib, mplhep = _matplotlib()
    with matplotlib.style.context(mplhep.style.CMS):
        yield


def new_figure(**kwargs):
    """A figure detached from pyplot (no backend, no global figure list)."""
    _matplotlib()
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save(figure, path: Path) -> str:
    """Write ``figure`` as a PNG; return the file name (the report refers to plots
    relatively)."""
    figure.savefig(path, dpi=80)
    return Path(path).name


def roc_plot(curves: dict[str, Roc], signal: str, ax) -> list:
    """Signal efficiency against background efficiency (log scale), one curve per label, on
    ``ax``; returns the lines."""
    lines = []
    for label, roc in curves.items():
        keep = roc.false_positive_rate > 0
        lines += ax.plot(
            roc.false_positive_rate[keep],
            roc.true_positive_rate[keep],
            label=f"{label} (AUC {roc.auc:.4f})",
        )
    ax.set_xscale("log")
    fewest = min(roc.negatives for roc in curves.values())
    ax.set_xlim(max(1e-4, 0.5 / max(fewest, 1)), 1)  # no decade below one background event
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("background efficiency (false-positive rate)")
    ax.set_ylabel(f"{signal} efficiency (true-positive rate)")
    ax.set_title(f"{signal} selector: {signal} vs the other classes", fontsize=16)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=12, loc="lower right")
    return lines


def score_plot(labels: np.ndarray, scores: np.ndarray, axes) -> list:
    """Each class's score histogrammed per true class, one of ``axes`` per class; returns
    the histogram patches."""
    bins = np.linspace(0, 1, 41)
    artists = []
    for column, (ax, signal) in enumerate(zip(axes, CLASS_NAMES, strict=True)):
        for true, name in enumerate(CLASS_NAMES):
            values = scores[labels == true, column]
            if len(values):
                label = f"true {name} ({len(values)})"
                *_, patches = ax.hist(values, bins=bins, histtype="step", density=True,
                                      linewidth=2, label=label)  # fmt: skip
                artists.append(patches)
        ax.set_yscale("log")
        ax.set_xlabel(f"{signal} score")
        ax.set_ylabel("normalised events")
        ax.legend(fontsize=11)
    return artists


def confusion_plot(matrix: np.ndarray, ax) -> object:
    """Row-normalised confusion matrix (each true class sums to 1) on ``ax``; returns the
    image."""
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        ax.text(column, row, f"{value:.3f}", ha="center", va="center",
                color="white" if value > 0.5 else "black", fontsize=14)  # fmt: skip
    ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return image


def roc_figure(curves: dict[str, Roc], signal: str):
    with style():
        figure = new_figure(figsize=(8, 7), layout="tight")
        roc_plot(curves, signal, figure.add_subplot())
    return figure


def score_figure(labels: np.ndarray, scores: np.ndarray, model: str):
    with style():
        figure = new_figure(figsize=(18, 6), layout="tight")
        score_plot(labels, scores, figure.subplots(1, len(CLASS_NAMES)))
        figure.suptitle(f"{model}: score distributions per true class", fontsize=16)
    return figure


def confusion_figure(matrix: np.ndarray, model: str):
    with style():
        figure = new_figure(figsize=(7, 6), layout="tight")
        ax = figure.add_subplot()
        figure.colorbar(confusion_plot(matrix, ax), ax=ax)
        ax.set_title(f"{model}: confusion (row-normalised)", fontsize=16)
    return figure
