"""Every figure dltrigger draws: nothing clipped, labelled as simulation with √s and what the
events are, histograms with their statistical errors, integer epochs, no font warnings."""

import logging
import sys

import numpy as np
import pytest

from dltrigger.ml import plots
from dltrigger.ml.metrics import confusion_matrix, one_vs_rest
from dltrigger.ml.rates import trigger_rates

EVENTS = "dltrigger generator, detector phase2"


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 900)
    logits = rng.normal(size=(900, 3)) + 2.5 * np.eye(3)[labels]
    return labels, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def _drawn(figure):
    """Draw ``figure`` (layout and fonts resolved) on an Agg canvas; return its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def _is_tick_label(text) -> bool:
    figure = text.get_figure()
    return any(
        text is tick.label1 or text is tick.label2
        for ax in (figure.axes if figure is not None else [])
        for axis in (ax.xaxis, ax.yaxis)
        for tick in axis.get_major_ticks() + axis.get_minor_ticks()
    )


def _texts(figure) -> list:
    """Every text drawn (tick labels outside an axis's view exist but are not drawn: each
    axes' tight box holds the drawn ones, see :func:`_outside`)."""
    import matplotlib.text

    return [t for t in figure.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip() and not _is_tick_label(t)]  # fmt: skip


def _outside(figure) -> list[str]:
    """The texts (and axes with their tick labels) of ``figure`` that reach out of it by more
    than a pixel: clipped."""
    renderer = _drawn(figure)
    box = figure.bbox
    extents = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(figure)]
    extents += [(f"axes {i}", ax.get_tightbbox(renderer)) for i, ax in enumerate(figure.axes)]
    return [f"{what!r} at {extent}" for what, extent in extents
            if extent.x0 < box.x0 - 1 or extent.y0 < box.y0 - 1
            or extent.x1 > box.x1 + 1 or extent.y1 > box.y1 + 1]  # fmt: skip


def _forget_fonts():
    """Forget the fonts found and the math parsed so far: matplotlib caches both per process,
    and a figure drawn earlier in the session would otherwise hide a lookup's warning."""
    from matplotlib.font_manager import FontManager
    from matplotlib.mathtext import MathTextParser

    for cached in (FontManager._findfont_cached, MathTextParser._parse_cached):
        getattr(cached, "cache_clear", lambda: None)()


def _figures(labels, scores):
    _, curves = trigger_rates(labels, scores, 1e5, {"QCD": 0.362, "ttbar": 0.004,
                                                    "W+jets": 0.634}, [1e3, 1e4])  # fmt: skip
    history = [{"epoch": e, "loss": 1 / e, "val_loss": 1.2 / e, "val_auc_QCD": 0.9 + e / 100,
                "val_auc_ttbar": 0.85, "val_auc_W+jets": None} for e in range(1, 4)]  # fmt: skip
    matrix = confusion_matrix(labels, scores.argmax(1), normalize=True)
    return {
        "roc": plots.roc_figure({"hlf": one_vs_rest(labels, scores, 2)}, "W+jets", events=EVENTS),
        "scores": plots.score_figure(labels, scores, "a-long-run-name", events=EVENTS),
        "confusion": plots.confusion_figure(matrix, "a-long-run-name", events=EVENTS),
        "rate": plots.rate_figure(
            {"hlf": curves["ttbar"]}, "ttbar", events=EVENTS, output_rates_hz=[1e3, 1e4]
        ),
        "training": plots.training_figure(history, "a-long-run-name", events=EVENTS),
    }


def test_no_text_is_clipped_and_every_figure_says_what_it_shows(scored, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="matplotlib.font_manager")
    _forget_fonts()
    figures = _figures(*scored)
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()  # nothing in pyplot's global list
    for name, figure in figures.items():
        plots.save(figure, tmp_path / f"{name}.png")
        assert not _outside(figure), f"{name}: outside the figure: {_outside(figure)}"
        words = " ".join(t.get_text() for t in _texts(figure))
        for needed in ("Simulation", "13 TeV", EVENTS):
            assert needed in words, f"{name}: no {needed!r}"
    # "findfont: Font family [...] not found" (a warning) was printed twice per evaluate
    assert not [r.getMessage() for r in caplog.records
                if r.levelno >= logging.INFO and "findfont" in r.getMessage()]  # fmt: skip


def test_a_clipped_label_is_caught(scored):
    """The check above can fail: the ROC figure as it was (tight layout, the CMS style's
    26 pt labels) had its x label cut at the figure's left edge."""
    import matplotlib.style
    import mplhep

    labels, scores = scored
    with matplotlib.style.context(mplhep.style.CMS):
        figure = plots.new_figure(figsize=(8, 7), layout="tight")
        ax = figure.add_subplot()
        plots.roc_plot({"hlf": one_vs_rest(labels, scores, 2)}, "W+jets", ax)
        ax.set_xlabel("background efficiency (false-positive rate)")
        ax.set_ylabel("W+jets efficiency (true-positive rate)")
    assert "'background efficiency (false-positive rate)' at" in " ".join(_outside(figure))


def test_score_histograms_carry_the_errors_of_a_normalised_shape(scored):
    labels, scores = scored
    with plots.style():
        figure = plots.new_figure()
        axes = figure.subplots(1, 3)
        artists = plots.score_plot(labels, scores, axes)
    assert len(artists) == 9  # three true classes on each of three axes
    values = scores[labels == 0, 0]
    counts, _ = np.histogram(values, bins=plots.SCORE_BINS, range=(0, 1))
    # a fraction of events per bin: counts/N, with error sqrt(counts)/N
    first = artists[0]
    errorbar = first.errorbar
    assert errorbar is not None
    segments = errorbar.lines[2][0].get_segments()
    heights = np.array([abs(s[1][1] - s[0][1]) / 2 for s in segments])
    assert np.allclose(np.sort(heights), np.sort(np.sqrt(counts) / len(values)))


def test_training_epochs_are_integer_ticks(scored):
    figure = _figures(*scored)["training"]
    _drawn(figure)
    for ax in figure.axes:
        ticks = ax.get_xticks()
        assert np.allclose(ticks, np.round(ticks))


def test_training_png_names_the_events_of_the_run(tmp_path, monkeypatch):
    """``training.png`` is labelled with what the run was trained on (its features.json)."""
    import json

    from dltrigger.artifacts import RunFolder
    from dltrigger.train.run_folder import write_training_plot

    (tmp_path / RunFolder.FEATURES).write_text(json.dumps({"events_origin": "Delphes, CMS card"}))
    made = []
    figure = plots.training_figure
    monkeypatch.setattr(plots, "training_figure",
                        lambda *a, **kw: made.append(kw["events"]) or figure(*a, **kw))  # fmt: skip
    history = [{"epoch": e, "loss": 1 / e, "val_loss": 1 / e} for e in (1, 2)]
    write_training_plot(tmp_path, history)
    assert made == ["Delphes, CMS card"]
    assert (tmp_path / RunFolder.PLOT).stat().st_size > 0
