"""``dltrigger run``: every stage on tiny generated data, then re-runs that skip what is up to
date, re-run what changed, and resume after a failing stage."""

import json

import pytest

from dltrigger.cli import main
from dltrigger.config import (
    Config,
    EvaluateConfig,
    FeaturesConfig,
    GenerateConfig,
    IngestConfig,
    RunConfig,
    TrackingConfig,
    TrainConfig,
    load_config,
    with_overrides,
)
from dltrigger.errors import ConfigError, PipelineError
from dltrigger.pipeline import run_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ALL = ["generate", "ingest", "features", "train hlf", "train inclusive", "evaluate"]


def tiny_config(root) -> Config:
    """The demo's shape at a tiny size: no underlying event, ~25 selected events per class."""
    samples = {
        name: sample.model_copy(update={"paths": [str(root / "raw" / f"{name}_*.root")]})
        for name, sample in IngestConfig().samples.items()
    }
    return Config(
        generate=GenerateConfig(
            out=root / "raw", events_per_file=60, mpi=False, batch_size=100,
            processes={"wjets": {"events": 60}, "ttbar": {"events": 60}, "qcd": {"events": 200}},
        ),
        ingest=IngestConfig(out=root / "ingested", samples=samples),
        features=FeaturesConfig(input=root / "ingested", out=root / "features", dev_per_class=20),
        train=TrainConfig(data=root / "features" / "balanced", out=root / "runs", epochs=1,
                          max_particles=40, export=[]),
        evaluate=EvaluateConfig(out=root / "report", bootstrap=5),
        run=RunConfig(state=root / "pipeline.json"),
        tracking=TrackingConfig(enabled=False),
    )  # fmt: skip


def ran(result) -> list[str]:
    return [o.name for o in result.stages if o.ran]


@pytest.fixture(scope="module")
def first(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    config = tiny_config(root)
    return root, config, run_pipeline(config, spark=spark, progress=False)


def test_first_run_makes_every_output(first):
    root, _, outcomes = first
    assert ran(outcomes) == ALL
    results = json.loads((root / "report" / "evaluation.json").read_text())
    assert set(results["models"]) == {"hlf", "inclusive"}
    assert (root / "runs" / "inclusive" / "summary.json").exists()
    state = json.loads((root / "pipeline.json").read_text())
    assert list(state) == ALL
    assert state["generate"]["items"] == 60 + 60 + 200  # events written, per process setting
    # the report shows the stages recorded before evaluation ran
    markdown = (root / "report" / "report.md").read_text()
    assert "| generate |" in markdown and "events written/s" in markdown


def test_second_run_skips_every_stage(first, spark, capsys):
    root, config, _ = first
    before = (root / "report" / "evaluation.json").stat().st_mtime_ns
    assert ran(run_pipeline(config, spark=spark, progress=False)) == []
    assert (root / "report" / "evaluation.json").stat().st_mtime_ns == before


def test_changed_settings_rerun_that_stage_and_what_follows(first, spark):
    root, config, _ = first
    longer = with_overrides(config, "train", epochs=2)
    assert ran(run_pipeline(longer, spark=spark, progress=False)) == [
        "train hlf", "train inclusive", "evaluate",
    ]  # fmt: skip
    history = json.loads((root / "runs" / "hlf" / "metrics.json").read_text())
    assert len(history) == 2
    (root / "report" / "report.md").unlink()  # an incomplete output...
    (root / "report" / "evaluation.json").unlink()
    assert ran(run_pipeline(longer, spark=spark, progress=False)) == ["evaluate"]
    assert (root / "report" / "report.md").exists()


def test_failing_stage_is_named_and_earlier_outputs_are_kept(first, spark):
    root, config, _ = first
    state = json.loads((root / "pipeline.json").read_text())
    features_marker = root / "features" / "dev" / "_manifest.json"
    features_time = features_marker.stat().st_mtime_ns
    broken = with_overrides(config, "train", epochs=3, model_options={"width": 3})
    with pytest.raises(
        PipelineError, match=r"stage 'train hlf' failed: .*keyword argument .width."
    ) as error:
        run_pipeline(broken, spark=spark, progress=False)
    assert "outputs of generate, ingest, features are kept" in str(error.value)
    assert features_marker.stat().st_mtime_ns == features_time
    after = json.loads((root / "pipeline.json").read_text())
    assert after["features"] == state["features"]
    # the fixed config resumes at the failed stage
    fixed = with_overrides(config, "train", epochs=3)
    assert ran(run_pipeline(fixed, spark=spark, progress=False)) == [
        "train hlf", "train inclusive", "evaluate",
    ]  # fmt: skip


def test_cli_run_prints_summary(first, tmp_path, capsys):
    root, config, _ = first
    path = tmp_path / "dltrigger.toml"
    path.write_text(
        "[generate]\n"
        + f'out = "{root / "raw"}"\nevents_per_file = 60\nmpi = false\nbatch_size = 100\n'
        + "[generate.processes.wjets]\nevents = 60\n"
        + "[generate.processes.ttbar]\nevents = 60\n"
        + "[generate.processes.qcd]\nevents = 200\n"
        + "".join(f'[ingest.samples.{n}]\nlabel = {s.label}\npaths = ["{s.paths[0]}"]\n'
                  f"aliases = {json.dumps(s.aliases)}\n"
                  for n, s in config.ingest.samples.items())
        + f'[ingest]\nout = "{root / "ingested"}"\n'
        + f'[features]\ninput = "{root / "ingested"}"\nout = "{root / "features"}"\n'
        + "dev_per_class = 20\n"
        + f'[train]\ndata = "{root / "features" / "balanced"}"\nout = "{root / "runs"}"\n'
        + "epochs = 3\nmax_particles = 40\nexport = []\n"
        + f'[evaluate]\nout = "{root / "report"}"\nbootstrap = 5\n'
        + f'[run]\nstate = "{root / "pipeline.json"}"\n[tracking]\nenabled = false\n'
    )  # fmt: skip
    loaded = load_config(path)
    for section in ("generate", "ingest", "features", "evaluate", "run", "tracking"):
        assert getattr(loaded, section) == getattr(config, section), section
    assert loaded.train == config.train.model_copy(update={"epochs": 3})
    assert main(["run", "--config", str(path), "--quiet", "--no-tracking", "--master",
                 "local[2]"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.count("skipped (up to date)") == len(ALL)
    assert str(root / "report" / "report.html") in printed


def test_tuning_stage_feeds_its_best_point_to_training(first, spark):
    root, config, _ = first
    base = with_overrides(config, "train", epochs=3)  # as the previous test left the runs
    grid = {"learning_rate": [0.001, 0.003], "epochs": [1]}
    tuned = with_overrides(base, "tune", data=root / "features" / "dev", out=root / "tune",
                           grid=grid)  # fmt: skip
    tuned = with_overrides(tuned, "run", tune=True)
    assert ran(run_pipeline(tuned, spark=spark, progress=False)) == [
        "tune", "train hlf", "evaluate",
    ]  # fmt: skip
    best = json.loads((root / "tune" / "best.json").read_text())["point"]
    trained = json.loads((root / "runs" / "hlf" / "config.json").read_text())
    assert (trained["learning_rate"], trained["epochs"]) == (best["learning_rate"], 1)
    assert ran(run_pipeline(tuned, spark=spark, progress=False)) == []


def test_baselines_join_the_run_by_config(first, spark):
    """``run.baselines`` puts the tree baselines between training and the report, which then
    compares them; a second run finds both up to date."""
    root, config, _ = first
    base = with_overrides(config, "train", epochs=3)  # as the previous tests left the runs
    base = with_overrides(base, "tune", data=root / "features" / "dev", out=root / "tune",
                          grid={"learning_rate": [0.001, 0.003], "epochs": [1]})  # fmt: skip
    base = with_overrides(base, "run", tune=True)
    fitted = with_overrides(base, "run", baselines=True)
    fitted = with_overrides(fitted, "baselines", models=["random_forest"], forest_trees=5,
                            forest_depth=3, out=root / "baselines")  # fmt: skip
    result = run_pipeline(fitted, spark=spark)
    assert ran(result) == ["baselines", "evaluate"]
    assert "random_forest" in result.evaluation["baselines"]["models"]
    assert ran(run_pipeline(fitted, spark=spark)) == []


def test_unknown_model_is_a_config_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[run]\nmodels = ["hlf", "gru"]\n')
    with pytest.raises(ConfigError, match=r"run\.models.*'gru'"):
        load_config(path)
