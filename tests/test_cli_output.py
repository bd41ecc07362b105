"""What the commands print when their output is not a terminal, and plots that leave
matplotlib's global state alone (issue 16, in part)."""

import sys

import numpy as np
import pytest

from dltrigger.pipeline import StageOutcome


def test_the_run_summary_says_what_just_ran_and_never_wraps_lines(capsys):
    from dltrigger.evaluate.summary import print_stages

    note = "collections detected (as preset phase2 or dltrigger): " + ", ".join(
        f"role{i} Collection{i}" for i in range(12)
    )  # far over 80 columns
    outcomes = [
        StageOutcome("generate", True, 12.5, {"per_s": 80.0, "unit": "events", "note": note},
                     "never ran"),
        StageOutcome("ingest", True, 2.0, {}, "settings changed"),
        StageOutcome("features", False, 0.0, {}, None),
    ]  # fmt: skip
    print_stages(outcomes)
    printed = capsys.readouterr().out
    assert "ran (first run)" in printed and "never ran" not in printed
    assert "ran (settings changed)" in printed and "skipped (up to date)" in printed
    assert f"generate: {note}" in printed.splitlines()  # one line, however long


def test_epoch_lines_are_not_wrapped(capsys):
    from dltrigger.ml.display import epoch_line
    from dltrigger.progress import output

    row = {"epoch": 14, "loss": 0.1872, "val_loss": 0.2182, "val_accuracy": 0.925,
           "val_auc_QCD": 0.994, "val_auc_ttbar": 0.985, "val_auc_W+jets": 0.976,
           "samples_per_s": 58922.0}  # fmt: skip
    output().print(epoch_line(row))
    line = capsys.readouterr().out.rstrip("\n")
    assert "\n" not in line and len(line) > 80 and line.endswith("58,922 samples/s")


def test_plots_draw_on_given_axes_and_change_no_global_state(tmp_path):
    import matplotlib
    from matplotlib.figure import Figure

    from dltrigger.ml import plots
    from dltrigger.ml.metrics import one_vs_rest

    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    scores = rng.dirichlet(np.ones(3), 300)
    scores[np.arange(300), labels] += 1
    scores /= scores.sum(1, keepdims=True)
    roc = {"model": one_vs_rest(labels, scores, 1)}
    ax = Figure().add_subplot()  # a notebook user's own axes
    lines = plots.roc_plot(roc, "ttbar", ax)
    assert len(lines) == 1 and lines[0].axes is ax
    image = plots.confusion_plot(np.eye(3), Figure().add_subplot())
    assert image.get_array().shape == (3, 3)
    for figure, name in ((plots.roc_figure(roc, "ttbar"), "roc.png"),
                         (plots.score_figure(labels, scores, "m"), "scores.png"),
                         (plots.confusion_figure(np.eye(3), "m"), "confusion.png")):  # fmt: skip
        assert plots.save(figure, tmp_path / name) == name
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    after = dict(matplotlib.rcParams)
    changed = [k for k in before if before[k] != after[k] and k != "backend"]
    assert not changed and matplotlib.get_backend() == backend
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()  # no figure left in pyplot's list


def test_a_missing_plots_extra_names_the_install_command(monkeypatch):
    from dltrigger.errors import DLTriggerError
    from dltrigger.ml import plots

    monkeypatch.setitem(sys.modules, "mplhep", None)  # as if not installed
    with pytest.raises(DLTriggerError, match=r"pip install 'dltrigger\[plots\]'"):
        plots.roc_figure({}, "ttbar")
