"""What the commands print when their output is not a terminal, and plots that leave
matplotlib's global state alone (issue 16, in part)."""

import sys

import numpy as np
import pytest

from dltrigger.pipeline import StageOutcome


def test_the_run_summary_says_what_just_ran_and_never_wraps_lines(capsys):
    from dltrigger.cli.evaluate_summary import print_stages

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


def _commands() -> list[str]:
    import argparse

    from dltrigger.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(commands.choices)


@pytest.mark.parametrize("command", _commands())
def test_help_shows_percent_signs_once_and_says_what_unset_means(command, capsys):
    """Help texts made from the config's descriptions: ``%`` printed once (argparse formats
    help with ``%``, not descriptions), and no ``None = ...`` (a Python value, not a flag)."""
    from dltrigger.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: dltrigger {command}")
    assert "%%" not in shown and "None = " not in shown and "None:" not in shown
    if command == "evaluate":
        assert "10%, 1% and 0.1% background" in " ".join(shown.split())
    if command == "train":
        assert "unset: in memory for the HLF model" in " ".join(shown.split())


def test_the_jvm_log_is_named_only_when_it_holds_an_error(tmp_path):
    """Routine start-up warnings alone do not make a failure name Spark's log."""
    from dltrigger.spark.session import log_has_errors

    warnings = (
        "26/12/04 17:43:45 WARN Utils: Your hostname, vm, resolves to a loopback address: "
        "127.0.0.1; using 192.0.2.2 instead (on interface eth0)\n"
        "26/12/04 17:43:45 WARN Utils: Set SPARK_LOCAL_IP if you need to bind to another address\n"
        "26/12/04 17:43:46 WARN NativeCodeLoader: Unable to load native-hadoop library for your "
        "platform... using builtin-java classes where applicable\n"
    )
    log = tmp_path / "warn.log"
    log.write_text(warnings)
    assert not log_has_errors(log)
    failed = "26/12/04 17:43:40 ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 1)\n"
    error = tmp_path / "error.log"
    error.write_text(failed + warnings)
    assert log_has_errors(error)
    assert not log_has_errors(error, since=len(failed))  # only what was logged after `since`
    trace = tmp_path / "trace.log"
    trace.write_text(warnings + "org.apache.spark.SparkException: Job aborted.\n"
                     "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages"
                     "(DAGScheduler.scala:2856)\n")  # fmt: skip
    assert log_has_errors(trace) and log_has_errors(trace, since=len(warnings))
    assert not log_has_errors(tmp_path / "missing.log")
