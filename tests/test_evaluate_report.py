"""``dltrigger evaluate``: metrics of trained runs against scikit-learn, plots and report."""

import json
import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

import dltrigger as dlt
from dltrigger.artifacts import write_pipeline_state
from dltrigger.cli import main
from dltrigger.config import Config, EvaluateConfig, RunConfig, TrackingConfig, TrainConfig
from dltrigger.errors import EvaluationError, OutputError
from dltrigger.evaluate.job import evaluate_model
from dltrigger.evaluate.report import verdict
from dltrigger.evaluate.trigger_tables import rate_text
from dltrigger.ml import plots
from dltrigger.ml.metrics import one_vs_rest
from dltrigger.ml.scoring import load_run, score
from dltrigger.schema import CLASS_NAMES

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def evaluate(runs, data, out, *, state=None, **settings) -> dict:
    """``dlt.evaluate.run`` of ``runs`` on ``data`` into ``out``: the evaluation. No tree
    baselines, and the stages recorded in ``state`` (a ``dltrigger run`` state file; unset:
    none), not those of the working directory's defaults (runs/baselines, runs/pipeline.json).
    """
    config = Config(
        evaluate=EvaluateConfig(runs=list(runs), data=data, out=out,
                                baselines=out.parent / "no-baselines", **settings),
        run=RunConfig(state=state or out.parent / "no-pipeline.json"),
    )  # fmt: skip
    return dlt.evaluate.run(config).evaluation


@pytest.fixture(scope="module")
def runs(features_dataset, tmp_path_factory):
    """An HLF and an inclusive run folder, one epoch each on the shared features dataset."""
    folder = tmp_path_factory.mktemp("eval-runs")
    made = []
    for model in ("hlf", "inclusive"):
        config = TrainConfig(model=model, data=features_dataset / "full", out=folder / model,
                             epochs=1, max_particles=40, export=[])  # fmt: skip
        dlt.train.run(Config(train=config, tracking=TrackingConfig(enabled=False)))
        made.append(folder / model)
    return made


@pytest.fixture(scope="module")
def report(runs, features_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "report"
    stages = {"ingest": {"seconds": 2.0, "per_s": 1234.0, "unit": "events read",
                         "finished": "2026-11-23T12:00:00+00:00"}}  # fmt: skip
    state = out.parent / "pipeline.json"  # what `dltrigger run` recorded of each stage
    write_pipeline_state(state, stages)
    results = evaluate(runs, features_dataset / "full", out, bootstrap=30, state=state)
    return out, results


def test_metrics_agree_with_scikit_learn(runs, features_dataset, report):
    _, results = report
    for run in runs:
        labels, scores = score(load_run(run), features_dataset / "full")
        metrics = results["models"][run.name]
        assert metrics["test_events"] == len(labels)
        assert metrics["accuracy"] == pytest.approx(accuracy_score(labels, scores.argmax(1)))
        for signal, name in enumerate(CLASS_NAMES):
            expected = roc_auc_score(labels == signal, scores[:, signal])
            assert metrics["classes"][name]["auc"] == pytest.approx(expected, abs=1e-12)
            assert 0 < metrics["classes"][name]["auc_error"] < 0.2
        confusion = np.array(metrics["confusion"])
        assert np.allclose(confusion.sum(1), 1.0)
        assert np.trace(confusion * np.bincount(labels, minlength=3)[:, None]) == pytest.approx(
            metrics["accuracy"] * len(labels)
        )


def test_working_points_are_on_the_roc_curve():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 3000)
    logits = rng.normal(size=(3000, 3)) + 2.0 * np.eye(3)[labels]
    scores = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    metrics = evaluate_model(labels, scores, bootstrap=0)
    for signal, name in enumerate(CLASS_NAMES):
        cls = metrics["classes"][name]
        is_signal, s = labels == signal, scores[:, signal]
        for target, point in cls["signal_efficiency_at_background"].items():
            # the cut keeps at most the target background fraction, and counting reproduces it
            passed = s >= point["threshold"]
            assert (passed & ~is_signal).sum() / (~is_signal).sum() <= float(target) + 1e-12
            assert point["signal_efficiency"]["value"] == pytest.approx(passed[is_signal].mean())
            assert point["signal_efficiency"]["passed"] == (passed & is_signal).sum()
            # ~2000 background events: 10% and 1% are measurable, 0.1% (2 expected) is not
            expected = float(target) * (~is_signal).sum()
            assert point["measurable"] == (expected >= 10)
            if not point["measurable"]:
                assert point["background_efficiency_upper_limit_95"] > 0
        at99 = cls["at_signal_efficiency"]
        passed = s >= at99["threshold"]
        assert passed[is_signal].mean() >= 0.99
        background = passed[~is_signal].mean()
        assert at99["background_rejection"] == pytest.approx(1 / background)
        low, high = at99["background_rejection_interval"]
        assert low < at99["background_rejection"] < high
        assert np.isnan(cls["auc_error"])  # bootstrap=0: no error claimed


def test_plots_name_the_right_class(runs, features_dataset):
    labels, scores = score(load_run(runs[0]), features_dataset / "full")
    for signal, name in enumerate(CLASS_NAMES):
        figure = plots.roc_figure({"m": one_vs_rest(labels, scores, signal)}, name)
        axis = figure.axes[0]
        assert name in axis.get_ylabel()
        assert axis.get_legend().get_title().get_text().startswith(f"{name} selector")
        plots.save(figure, features_dataset.parent / "roc.png")
    figure = plots.score_figure(labels, scores, "m")
    assert [a.get_xlabel() for a in figure.axes] == [f"{c} score" for c in CLASS_NAMES]
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert [t.split(" (")[0] for t in legend] == [f"true {c}" for c in CLASS_NAMES]
    plots.save(figure, features_dataset.parent / "scores.png")


def test_report_has_every_model_plot_and_reference(report, runs):
    out, results = report
    saved = json.loads((out / "evaluation.json").read_text())
    assert set(saved["models"]) == {"hlf", "inclusive"}
    names = {"roc_qcd.png", "roc_ttbar.png", "roc_wjets.png", "scores_hlf.png",
             "confusion_inclusive.png"}  # fmt: skip
    assert names <= {p.name for p in out.glob("*.png")}
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC
    markdown = (out / "report.md").read_text()
    for run in runs:
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {run.name} |"))
        auc = results["models"][run.name]["classes"]["ttbar"]["auc"]
        assert f"{auc:.4f}" in row
    assert "different simulated data" in markdown and "0.99493" in markdown  # reference GRU
    assert verdict(results["comparison"]).replace("**", "") in markdown.replace("**", "")
    assert "| ingest | 2026-11-23T12:00:00+00:00 | 2.0 | 1,234 events read/s |" in markdown
    for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown):
        assert (out / image).exists()
    page = (out / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(re.findall(r"!\[", markdown))
    assert all(s.startswith("data:image/png;base64,") for s in sources)  # self-contained


def _efficiencies(node):
    """Every efficiency object (value, passed, total, interval) in a JSON tree, with its path."""
    for path, found in _objects(node):
        if {"value", "passed", "total", "interval"} <= found.keys():
            yield path, found


def _refuse_constant(name):
    raise AssertionError(f"{name} in evaluation.json: not valid JSON")


def _objects(node, path=""):
    """Every JSON object in a tree, with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}/{i}")


def test_no_efficiency_without_an_interval_and_no_unmeasurable_point_as_measured(report):
    out, results = report
    # Strict JSON: no NaN or Infinity literal (a cut keeping nothing is +inf in memory).
    saved = json.loads((out / "evaluation.json").read_text(), parse_constant=_refuse_constant)
    assert saved == json.loads(json.dumps(results))  # the caller gets what the file holds
    nulls = 0
    for path, node in _objects(saved):
        if "threshold" in node and node["threshold"] is None:
            nulls += 1
            assert "keeps nothing" in node["threshold_note"], path
        if node.get("background_rejection_interval", [0, 0])[1] is None:
            assert node["background_rejection"] is None, path
            assert node["background_efficiency"]["passed"] == 0, path
            assert "unbounded above" in node["background_rejection_note"], path
    assert nulls > 0  # this small test split has budgets and targets no cut meets
    found = list(_efficiencies(saved))
    assert len(found) > 50
    for path, e in found:
        low, high = e["interval"]
        assert low <= e["value"] <= high and high > low, path  # never zero width, at 0 or 1
        if e["passed"] == 0:
            assert low == 0 and high > 0, path
        if e["passed"] == e["total"]:
            assert high == 1 and low < 1, path
    minimum = saved["rate_assumptions"]["min_background_events"]
    markdown = (out / "report.md").read_text()
    for name, model in saved["models"].items():
        for cls in model["classes"].values():
            for point in cls.get("signal_efficiency_at_background", {}).values():
                expected = point["target_background_efficiency"] * cls["background_events"]
                assert point["expected_background_events"] == pytest.approx(expected)
                assert point["measurable"] == (expected >= minimum), name
                if not point["measurable"]:  # not printed as a measured efficiency
                    value = f"{point['signal_efficiency']['value']:.4f} ["
                    row = [r for r in markdown.splitlines() if r.startswith(f"| {name} |")]
                    assert all(value not in r or "not measurable" in r for r in row)
        for signal, rates in model["rates"].items():
            for point in rates["points"]:
                assert point["output_rate_hz"] <= point["target_hz"]
                for entry in point["classes"].values():
                    assert entry["measurable"] == (entry["passed"] >= minimum)
                    if not entry["measurable"]:
                        assert entry["rate_upper_limit_95_hz"] > entry["rate_hz"]
                efficiency = point["classes"][signal]
                budget = rate_text(point["target_hz"])
                row = [r for r in markdown.splitlines()
                       if r.startswith(f"| {name} | {signal} | {budget} |")]  # fmt: skip
                assert len(row) == 1, (name, signal, budget)
                assert f"({efficiency['passed']}/{efficiency['total']}" in row[0]
                assert ("not measurable" in row[0]) == (not efficiency["measurable"]), row[0]
    assert "## Trigger rates" in markdown and "100 kHz" in markdown
    assert {"rate_qcd.png", "rate_ttbar.png", "rate_wjets.png"} <= {p.name for p in out.iterdir()}
    first = markdown.split("## AUC and accuracy")[0]
    assert "Simulated events (dltrigger generator, detector phase2)" in first
    assert "chosen on the validation split" in first


def test_verdict_says_either_outcome():
    def comparison(differences, errors=(0.001, 0.001, 0.001)):
        classes = {c: {"difference": d, "error": e}
                   for c, d, e in zip(CLASS_NAMES, differences, errors, strict=True)}  # fmt: skip
        return {"model": "i", "baseline": "h", "classes": classes}

    better = verdict(comparison([0.01, 0.02, 0.0015]))
    assert "beats the HLF classifier (h) in every class" in better
    assert "W+jets +0.0015 ± 0.0010" in better
    assert "gain in W+jets is below two standard deviations" in better
    worse = verdict(comparison([0.01, -0.002, 0.01]))
    assert "does not beat the HLF classifier (h) in ttbar" in worse
    assert "ttbar -0.0020 ± 0.0010" in worse
    assert verdict(None) is None
    unknown = verdict(comparison([0.01, 0.02, 0.0015], errors=(None, None, None)))  # bootstrap 0
    assert "W+jets +0.0015 (paired" in unknown and "±" not in unknown and "below two" not in unknown


def test_paired_comparison_of_the_two_models(report):
    _, results = report
    comparison = results["comparison"]
    assert (comparison["model"], comparison["baseline"]) == ("inclusive", "hlf")
    for name in CLASS_NAMES:
        expected = (results["models"]["inclusive"]["classes"][name]["auc"]
                    - results["models"]["hlf"]["classes"][name]["auc"])  # fmt: skip
        assert comparison["classes"][name]["difference"] == pytest.approx(expected, abs=1e-12)
        assert comparison["classes"][name]["error"] > 0


def test_bad_inputs_leave_no_report(runs, features_dataset, tmp_path):
    out = tmp_path / "report"
    empty = tmp_path / "empty-run"
    empty.mkdir()
    with pytest.raises(EvaluationError, match=r"no config\.json"):
        evaluate([runs[0], empty], features_dataset / "full", out)
    assert not out.exists()
    with pytest.raises(EvaluationError, match="distinct names"):
        evaluate([runs[0], runs[0]], features_dataset / "full", out)
    config = json.loads((runs[0] / "config.json").read_text())
    assert config["model"] == "hlf"
    out.mkdir()
    with pytest.raises(OutputError, match="already exists"):
        evaluate([runs[0]], features_dataset / "full", out, bootstrap=0)


def test_cli_evaluate(runs, features_dataset, tmp_path, capsys):
    out = tmp_path / "cli-report"
    args = [*map(str, runs), "--data", str(features_dataset / "full"), "--out", str(out)]
    assert main(["evaluate", *args, "--bootstrap", "5"]) == 0
    printed = capsys.readouterr().out
    assert "report.html" in printed and "inclusive" in printed
    assert main(["evaluate", *args]) == 1  # exists, no --overwrite
    assert "exists" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--data", str(features_dataset / "full"),
                 "--out", str(tmp_path / "x")]) == 1  # fmt: skip
    assert "no config.json" in capsys.readouterr().err


def test_an_unfinished_run_is_said_so(runs, features_dataset, tmp_path, capsys):
    """Issue 14, case 12: evaluating a run whose training did not finish says so."""
    import shutil

    unfinished = tmp_path / "unfinished"
    shutil.copytree(runs[0], unfinished)
    (unfinished / "summary.json").unlink()
    out = tmp_path / "report"
    args = [str(unfinished), "--data", str(features_dataset / "full"), "--out", str(out)]
    assert main(["evaluate", *args, "--bootstrap", "0"]) == 0
    printed = capsys.readouterr().out
    assert "warning: run unfinished did not finish training" in " ".join(printed.split())
    assert "training did not finish" in (out / "report.md").read_text()
