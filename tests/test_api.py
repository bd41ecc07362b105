"""The library's public face: ``import dltrigger as dlt``, one entry point per stage, results."""

import dataclasses
import inspect
import json
import subprocess
import sys
import typing
from collections.abc import Callable
from pathlib import Path

import pytest

import dltrigger as dlt
from dltrigger.cli import build_parser
from dltrigger.cli.options import apply_overrides
from dltrigger.config import Config

PUBLIC = {
    "CLASS_NAMES", "HLF_NAMES", "PARTICLE_FEATURES", "STAGES", "BranchNotFoundError",
    "BadValueError", "GenerationError", "IncompleteFileError", "IngestError", "OutputError",
    "SchemaMismatchError", "SparkError",
    "Config", "ConfigError", "DLTriggerError", "DatasetError", "EvaluationError",
    "FeaturesError", "InputError", "L1Error", "OutputExistsError", "PipelineError", "RootFileError",
    "StreamError", "TrainingError", "TreeNotFoundError", "__version__", "baselines",
    "evaluate", "features", "generate", "ingest", "l1", "load_config", "results", "run_pipeline",
    "spark_session", "stream", "train", "tune", "with_overrides",
}  # fmt: skip


def entry_points():
    yield from ((f"dlt.{s}.run", getattr(dlt, s).run) for s in dlt.STAGES)
    yield "dlt.stream.score", dlt.stream.score
    yield "dlt.run_pipeline", dlt.run_pipeline


def test_public_names():
    assert set(dlt.__all__) == PUBLIC
    # every error dltrigger raises on purpose is exported
    errors = {n for n, v in vars(dlt.errors).items()
              if isinstance(v, type) and issubclass(v, dlt.DLTriggerError)}  # fmt: skip
    assert errors <= set(dlt.__all__)
    for name in dlt.__all__:
        assert getattr(dlt, name) is not None, name
    assert set(dlt.__all__) <= set(dir(dlt))
    assert dlt.CLASS_NAMES == ("QCD", "ttbar", "W+jets")
    assert len(dlt.HLF_NAMES) == 14 and len(dlt.PARTICLE_FEATURES) == 19
    assert issubclass(dlt.ConfigError, dlt.DLTriggerError)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dlt.nope  # noqa: B018


def test_import_is_light():
    """``import dltrigger`` (and a stage's package) starts no Spark, torch or uproot."""
    code = (
        "import sys, dltrigger as dlt; dlt.train; dlt.ingest; dlt.stream; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyspark', 'torch', 'uproot'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("name", "function"), list(entry_points()))
def test_every_stage_has_the_same_entry_point(name, function):
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    assert [p.name for p in parameters][:3] == ["config", "spark", "progress"], name
    # only run_pipeline has one more: on_stage, the command line's hook for its tables
    assert [p.name for p in parameters][3:] == (["on_stage"] if "pipeline" in name else [])
    assert all(p.default is None for p in parameters[3:]), name
    assert parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[1:]), name
    assert parameters[1].default is None and parameters[2].default is False, name
    names = {**vars(dlt.config), **vars(dlt.results)}
    local = {"SparkSession": object, "Callable": Callable}
    hints = typing.get_type_hints(function, globalns=names, localns=local)
    assert hints["config"] is Config, name
    result = hints["return"]
    assert issubclass(result, dlt.results.StageResult) and dataclasses.is_dataclass(result)
    assert result.__dataclass_params__.frozen, name
    assert function.__doc__, name


def test_results_turn_into_json(tmp_path):
    result = dlt.results.TrainResult(
        out=tmp_path, seconds=1.5,
        history=({"epoch": 1, "val_loss": 0.9, "val_auc_QCD": 0.8},
                 {"epoch": 2, "val_loss": 0.7, "val_auc_QCD": 0.85}),
    )  # fmt: skip
    assert result.best["epoch"] == 2 and result.aucs == {"QCD": 0.85}
    data = json.loads(result.to_json())
    assert data["stage"] == "train" and data["out"] == str(tmp_path)
    assert data["history"][1]["val_loss"] == 0.7
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.seconds = 2.0


def parse(*argv: str) -> Config:
    args = build_parser().parse_args(list(argv))
    return apply_overrides(Config(), args)


def test_every_scalar_setting_is_a_flag():
    """The options are made from the config fields: a new setting needs no CLI code."""
    commands = {"generate": "generate", "ingest": "ingest", "features": "features",
                "train": "train", "tune": "tune", "baselines": "baselines",
                "evaluate": "evaluate", "run": "run", "stream": "stream"}  # fmt: skip
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for command, section in commands.items():
        dests = {a.dest for a in subparsers[command]._actions}
        model = type(getattr(Config(), section))
        for name, field in model.model_fields.items():
            if typing.get_origin(field.annotation) is dict or name in {
                "samples",
                "collections",
                "wjets",
                "ttbar",
                "qcd",
            }:
                continue  # tables and nested sections: the config file only
            assert f"{section}.{name}" in dests, (command, name)


def test_flags_land_on_their_fields():
    config = parse("train", "--epochs", "3", "--no-scale-learning-rate", "--export", "onnx",
                   "--data", "d/full", "--in-memory")  # fmt: skip
    assert (config.train.epochs, config.train.scale_learning_rate) == (3, False)
    assert config.train.export == ["onnx"] and config.train.data == Path("d/full")
    assert config.train.in_memory is True
    assert parse("train", "--export", "").train.export == []
    assert set(parse("generate", "--process", "all").generate.process) == {
        "qcd", "qcd_generic", "ttbar", "wjets",
    }  # fmt: skip
    assert parse("generate", "--process", "wjets,ttbar").generate.process == ["wjets", "ttbar"]
    assert parse("ingest", "a.root", "b.root", "--branches", "Muon,Jet").ingest.inputs == [
        "a.root", "b.root"
    ]  # fmt: skip
    assert parse("ingest").ingest.inputs == []  # none given: the field is left alone
    config = parse("score", "x.root", "--accept", "ttbar", "--threshold", "0.5")
    assert config.score.inputs == ["x.root"] and config.stream.accept_classes == ["ttbar"]
    assert parse("evaluate", "runs/a", "runs/b").evaluate.runs == [Path("runs/a"), Path("runs/b")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["features", "--test-fraction", "1.5"], "must be a number > 0 and < 1, got 1.5"),
        (["stream", "--accept", "ttbr"], "unknown class 'ttbr' (did you mean 'ttbar'"),
        (["train", "--export", "onx"], "unknown export 'onx' (did you mean 'onnx'"),
        (["run", "--models", "hfl"], "unknown model 'hfl'"),
        (["train", "--threads", "-1"], "must be an integer >= 0 and <= 1024, got -1"),
    ],
)
def test_bad_flag_values_name_the_valid_ones(argv, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
