"""One error hierarchy: every stage refuses an existing output with ``OutputExistsError``
(a ``FileExistsError`` too), naming the Python keyword to a Python caller; errors are also
the builtin exceptions they are cases of."""

import pickle

import pytest

import dltrigger as dlt
from dltrigger.config import (
    Config,
    FeaturesConfig,
    GenerateConfig,
    IngestConfig,
    TrackingConfig,
    TrainConfig,
    TuneConfig,
)
from dltrigger.errors import BranchNotFoundError, ConfigError, TreeNotFoundError

pytestmark = pytest.mark.spark


def taken(folder):
    folder.mkdir(parents=True)
    (folder / "notes.md").write_text("mine")
    return folder


def test_every_stage_refuses_an_existing_output_alike(generated, ingested, features_dataset,
                                                      tmp_path):  # fmt: skip
    raw = taken(tmp_path / "raw")
    (raw / "wjets_0.root").write_bytes(b"not ours")
    balanced = features_dataset / "balanced"
    off = TrackingConfig(enabled=False)
    calls = {
        "generate": lambda: dlt.generate.run(
            Config(generate=GenerateConfig(out=raw, process=["wjets"], events=10))
        ),
        "ingest": lambda: dlt.ingest.run(
            Config(ingest=IngestConfig(out=taken(tmp_path / "i"), inputs=[str(generated.folder)]))
        ),
        "features": lambda: dlt.features.run(
            Config(features=FeaturesConfig(input=ingested, out=taken(tmp_path / "f")))
        ),
        "tune": lambda: dlt.tune.run(
            Config(tune=TuneConfig(data=balanced, out=taken(tmp_path / "t")), tracking=off)
        ),
        "train": lambda: dlt.train.run(
            Config(
                train=TrainConfig(data=balanced, out=taken(tmp_path / "r"), model="hlf"),
                tracking=off,
            )
        ),
    }
    for stage, call in calls.items():
        with pytest.raises(dlt.OutputExistsError, match=r"overwrite=True") as refused:
            call()
        assert isinstance(refused.value, FileExistsError), stage
        assert "--overwrite" not in str(refused.value), stage  # a Python caller


def test_errors_are_the_builtin_exceptions_they_are_cases_of():
    missing = TreeNotFoundError("f.root", "Delphes", ["T"])
    assert isinstance(missing, KeyError) and str(missing).startswith("f.root: no tree")
    branch = BranchNotFoundError("f.root", "Delphes", "Jet.PTT", ["Jet.PT"])
    assert isinstance(branch, KeyError) and "Jet.PT" in str(branch)
    assert isinstance(ConfigError("bad"), ValueError)
    again = pickle.loads(pickle.dumps(dlt.OutputExistsError("out exists")))  # Spark, the pool
    assert type(again) is dlt.OutputExistsError and str(again) == "out exists"
    assert pickle.loads(pickle.dumps(missing)).tree == "Delphes"
