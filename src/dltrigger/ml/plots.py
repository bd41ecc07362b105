"""Evaluation plots (matplotlib + mplhep): ROC curves, score distributions, confusion.

Each plot is a function that draws on a given ``ax`` (or ``axes``) and returns its artists, so
it fits a notebook's own figure; the ``*_figure`` builders make the report's figures with the
CMS style inside a context manager, constrained layout (nothing clipped), and the HEP label:
"dltrigger Simulation", what the events are (the dataset's ``events_origin``) and √s.
Histograms are ``hist`` histograms drawn by ``mplhep.histplot`` with their statistical
errors. Nothing here changes matplotlib's global state (backend,
``rcParams``): figures are ``matplotlib.figure.Figure`` objects, not pyplot's.

Every plot names the class that plays the signal (the reference's "tt selector" plot showed
the QCD class, docs/reference.md §7).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DLTriggerError
from ..schema import CLASS_NAMES, COLLISION_ENERGY_TEV
from .metrics import Roc
from .rates import RateCurve

INSTALL_HINT = "pip install 'dltrigger[plots]'"
#: What the events are when the dataset's manifest does not say (made before it recorded it).
DEFAULT_EVENTS = "simulated events"
#: Bins of a score histogram over [0, 1].
SCORE_BINS = 40


def _matplotlib():
    try:
        import matplotlib
        import mplhep
    except ImportError as exc:
        raise DLTriggerError(
            f"plots need matplotlib and mplhep ({exc.name} is not installed): {INSTALL_HINT}"
        ) from None
    return matplotlib, mplhep


#: Fonts that exist wherever matplotlib does, text and math alike. mplhep's CMS style sets
#: ``mathtext.fontset: custom`` (with ``mathtext.cal`` etc. = TeX Gyre Heros); a text keeps
#: the fontset it was made with, but matplotlib reads ``mathtext.cal`` when the figure is
#: drawn (saved), outside the style, where it is the default "cursive", a family no machine
#: here has: two ``findfont`` warnings per evaluate. A built-in math fontset reads none of
#: those settings at draw time.
FONTS = {
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "font.size": 18,
    "legend.fontsize": 13,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The CMS style (mplhep) with installed fonts, for the figures made inside the block
    only: every dltrigger figure, evaluation's and training's, is drawn in it."""
    matplotlib, mplhep = _matplotlib()
    with matplotlib.style.context([mplhep.style.CMS, FONTS]):
        yield


def new_figure(**kwargs):
    """A figure detached from pyplot (no backend, no global figure list), laid out by
    matplotlib's constrained layout (no label is clipped) unless told otherwise."""
    _matplotlib()
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    return Figure(**kwargs)


def save(figure, path: Path) -> str:
    """Write ``figure`` as a PNG; return the file name (the report refers to plots
    relatively)."""
    figure.savefig(path, dpi=80)
    return Path(path).name


def experiment_label(ax, events: str, fontsize: float = 14, right=None) -> list:
    """The HEP label (mplhep's ``exp_label``): "dltrigger Simulation" above ``ax`` on the
    left, what the events are and √s above ``right`` (default ``ax``) on the right; returns
    its texts."""
    _, mplhep = _matplotlib()
    rlabel = f"{events} ({COLLISION_ENERGY_TEV} TeV)"
    # scilocator_adjust off: mplhep 1.3 then measures the offset text on pyplot's current
    # axes (plt.gca()), which would create a pyplot figure; our axes show no offset text.
    common = {"loc": 0, "fontsize": fontsize, "scilocator_adjust": False}
    if right is None or right is ax:
        texts = mplhep.label.exp_label(exp="dltrigger", llabel="Simulation", rlabel=rlabel,
                                       ax=ax, **common)  # fmt: skip
    else:
        texts = mplhep.label.exp_label(exp="dltrigger", llabel="Simulation", rlabel="",
                                       ax=ax, **common)  # fmt: skip
        texts += mplhep.label.exp_label(exp="", llabel="", rlabel=rlabel, ax=right, **common)
    return [t for t in texts if t is not None and t.get_text()]


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
    _selector_axes(ax, signal, "background efficiency (other classes)", "lower right")
    fewest = min(roc.negatives for roc in curves.values())
    ax.set_xlim(max(1e-4, 0.5 / max(fewest, 1)), 1)  # no decade below one background event
    return lines


def _selector_axes(ax, signal: str, xlabel: str, legend: str) -> None:
    """The axes of a selector's efficiency curve: log x, efficiency 0-1, the legend titled."""
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{signal} efficiency")
    ax.grid(alpha=0.3)
    ax.legend(loc=legend, title=f"{signal} selector, test split")


def score_plot(labels: np.ndarray, scores: np.ndarray, axes) -> list:
    """Each class's score, histogrammed per true class as a normalised shape (a ``hist``
    histogram with weights 1/N, so its errors are those of the shape), one of ``axes`` per
    class; returns the artists."""
    import hist
    import mplhep

    artists = []
    for column, (ax, signal) in enumerate(zip(axes, CLASS_NAMES, strict=True)):
        heights: list[float] = []
        for true, name in enumerate(CLASS_NAMES):
            values = scores[labels == true, column]
            if not len(values):
                continue
            h = hist.Hist(hist.axis.Regular(SCORE_BINS, 0, 1, name="score"),
                          storage=hist.storage.Weight())  # fmt: skip
            h.fill(values, weight=np.full(len(values), 1.0 / len(values)))
            artists += mplhep.histplot(
                h, ax=ax, yerr=np.sqrt(h.variances()), histtype="step",
                linewidth=2, label=f"true {name} ({len(values):,} events)",
            )  # fmt: skip
            heights += [v for v in h.values() if v > 0]
        ax.set_yscale("log")
        if heights:  # below the lowest bin (one event), a decade above the tallest: the legend
            ax.set_ylim(min(heights) / 3, max(heights) * 10)
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"{signal} score")
        ax.set_ylabel(f"fraction of events / {1 / SCORE_BINS:g}")
        ax.legend(fontsize=11, loc="upper center")
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
    ax.minorticks_off()
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return image


def rate_plot(
    curves: dict[str, RateCurve], signal: str, ax, *, output_rates_hz: Sequence[float] = ()
) -> list:
    """The ``signal`` class's efficiency against the trigger's output rate (log scale), one
    curve per model, with the output-rate budgets marked; returns the artists."""
    artists = []
    for label, curve in curves.items():
        keep = curve.output_rate_hz > 0
        artists += ax.plot(curve.output_rate_hz[keep], curve.signal_efficiency[keep],
                           label=label)  # fmt: skip
    for rate in output_rates_hz:
        artists.append(ax.axvline(rate, color="grey", linestyle="--", linewidth=1))
        artists.append(ax.text(rate, 0.02, f" {_hz(rate)}", color="grey", fontsize=12,
                               rotation=90, va="bottom", ha="right"))  # fmt: skip
    _selector_axes(ax, signal, "trigger output rate [Hz]", "upper left")
    return artists


def _hz(rate: float) -> str:
    return f"{rate / 1e3:g} kHz" if rate >= 1e3 else f"{rate:g} Hz"


def training_plot(history: list[dict], axes) -> list:
    """Losses (training, validation) and each class's validation AUC per epoch, on two
    ``axes``; a class without an AUC (no validation events) is left out. Returns the lines."""
    from matplotlib.ticker import MaxNLocator

    left, right = axes
    epochs = [h["epoch"] for h in history]
    lines = left.plot(epochs, [h["loss"] for h in history], "o-", label="training")
    lines += left.plot(epochs, [h["val_loss"] for h in history], "s-", label="validation")
    best = min(history, key=lambda h: h["val_loss"])["epoch"]  # best.pt's epoch
    for ax in axes:
        lines.append(ax.axvline(best, color="grey", linestyle="--", linewidth=1,
                                label=f"best epoch ({best})" if ax is left else None))  # fmt: skip
    left.set(xlabel="epoch", ylabel="cross-entropy loss")
    left.legend()
    for name in CLASS_NAMES:
        values = [h.get(f"val_auc_{name}") for h in history]
        if all(v is not None and v == v for v in values):
            lines += right.plot(epochs, values, "o-", label=name)
    right.set(xlabel="epoch", ylabel="one-vs-rest AUC (validation)")
    if lines[4:]:
        right.legend(title="signal class")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_minor_locator(MaxNLocator(integer=True, nbins="auto"))
    return lines


def roc_figure(curves: dict[str, Roc], signal: str, *, events: str = DEFAULT_EVENTS):
    with style():
        figure = new_figure(figsize=(8, 7.5))
        ax = figure.add_subplot()
        roc_plot(curves, signal, ax)
        experiment_label(ax, events)
    return figure


def score_figure(labels: np.ndarray, scores: np.ndarray, model: str, *,
                 events: str = DEFAULT_EVENTS):  # fmt: skip
    with style():
        figure = new_figure(figsize=(18, 6.5))
        axes = figure.subplots(1, len(CLASS_NAMES))
        score_plot(labels, scores, axes)
        experiment_label(axes[0], events, right=axes[-1])
        figure.suptitle(f"{model}: score distributions per true class (test split)",
                        fontsize=16)  # fmt: skip
    return figure


def confusion_figure(matrix: np.ndarray, model: str, *, events: str = DEFAULT_EVENTS):
    with style():
        figure = new_figure(figsize=(10, 8))
        ax = figure.add_subplot()
        figure.colorbar(confusion_plot(matrix, ax), ax=ax, label="fraction of the true class")
        experiment_label(ax, events, fontsize=12)
        ax.set_title(f"{model}: confusion (test split)", fontsize=14, pad=28)
    return figure


def rate_figure(
    curves: dict[str, RateCurve],
    signal: str,
    *,
    events: str = DEFAULT_EVENTS,
    output_rates_hz: Sequence[float] = (),
):
    with style():
        figure = new_figure(figsize=(8, 7.5))
        ax = figure.add_subplot()
        rate_plot(curves, signal, ax, output_rates_hz=output_rates_hz)
        experiment_label(ax, events)
    return figure


def training_figure(history: list[dict], run: str, *, events: str = DEFAULT_EVENTS):
    with style():
        figure = new_figure(figsize=(14, 6))
        axes = figure.subplots(1, 2)
        training_plot(history, axes)
        experiment_label(axes[0], events, right=axes[1])
        figure.suptitle(f"{run}: training", fontsize=16)
    return figure
