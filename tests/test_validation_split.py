"""The test split never chooses: training's best epoch, early stopping and learning-rate
schedule watch the validation split only, and a dataset without one is refused."""

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import torch

import dltrigger as dlt
from dltrigger.config import Config, EvaluateConfig, RunConfig, TrackingConfig, TrainConfig
from dltrigger.errors import DatasetError

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def train(settings: TrainConfig) -> tuple[dict, ...]:
    """``dlt.train.run`` with ``settings`` and no tracking: each epoch's metrics."""
    return dlt.train.run(Config(train=settings, tracking=TrackingConfig(enabled=False))).history


def _rewritten(source, target, change) -> None:
    """A copy of the dataset ``source`` whose parts are ``change(table)``."""
    shutil.copytree(source, target)
    for part in sorted(target.glob("part-*.parquet")):
        pq.write_table(change(pq.read_table(part)), part)


def _poisoned(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    """The test rows' features NaN and their labels shuffled among them (so the counts per
    class, which the manifest records, stay)."""
    test = np.asarray(table.column("split").to_pylist()) == "test"
    labels = table.column("label").to_numpy().copy()
    labels[test] = rng.permutation(labels[test])
    hlf = table.column("hlf").combine_chunks()
    hlf_values = hlf.values.to_numpy(zero_copy_only=False).copy().reshape(len(hlf), -1)
    hlf_values[test] = np.nan
    particles = table.column("particles").combine_chunks()
    rows = particles.values
    row_values = rows.values.to_numpy(zero_copy_only=False).copy().reshape(len(rows), -1)
    counts = np.diff(particles.offsets.to_numpy())
    row_values[np.repeat(test, counts)] = np.nan
    poisoned_rows = pa.ListArray.from_arrays(
        rows.offsets, pa.array(row_values.ravel(), rows.type.value_type)
    )
    columns = {
        "label": pa.array(labels, table.schema.field("label").type),
        "hlf": pa.ListArray.from_arrays(
            hlf.offsets, pa.array(hlf_values.ravel(), hlf.type.value_type)
        ),
        "particles": pa.ListArray.from_arrays(particles.offsets, poisoned_rows),
    }
    for name, column in columns.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(
            index, table.schema.field(name), column.cast(table.schema.field(name).type)
        )
    return table


@pytest.fixture(scope="module")
def poisoned(features_dataset, tmp_path_factory):
    """The shared ``full`` dataset, and a copy whose test split is garbage."""
    clean = features_dataset / "full"
    copy = tmp_path_factory.mktemp("poisoned") / "full"
    rng = np.random.default_rng(5)
    _rewritten(clean, copy, lambda table: _poisoned(table, rng))
    test_rows = pq.read_table(copy, columns=["split", "hlf"]).filter(
        pc.equal(pq.read_table(copy, columns=["split"]).column("split"), "test")
    )
    assert test_rows.num_rows > 50  # there is a test split to poison
    return clean, copy


def _weights(run) -> dict[str, torch.Tensor]:
    return torch.load(run / "best.pt", map_location="cpu", weights_only=False)["model"]


@pytest.mark.parametrize(
    "settings",
    [
        dict(model="hlf", epochs=8, patience=2, lr_schedule="plateau", plateau_patience=1,
             learning_rate=3e-3, batch_size=64),
        dict(model="inclusive", epochs=2, batch_size=64, shuffle_buffer=500, max_particles=40),
    ],
    ids=["hlf-in-memory", "inclusive-streamed"],
)  # fmt: skip
def test_a_garbage_test_split_changes_nothing_training_chooses(poisoned, tmp_path, settings):
    clean, copy = poisoned
    runs = {}
    for name, data in (("clean", clean), ("poisoned", copy)):
        run = tmp_path / name
        train(TrainConfig(data=data, out=run, export=[], seed=3, **settings))
        runs[name] = run
    summaries = {n: json.loads((r / "summary.json").read_text()) for n, r in runs.items()}
    assert summaries["clean"]["best_epoch"] == summaries["poisoned"]["best_epoch"]
    assert summaries["clean"]["stopped_early"] == summaries["poisoned"]["stopped_early"]
    histories = {n: json.loads((r / "metrics.json").read_text()) for n, r in runs.items()}
    chosen = [
        {k: v for k, v in row.items() if k.startswith("val_") or k in ("loss", "learning_rate")}
        for row in histories["clean"]
    ]
    assert chosen == [
        {k: v for k, v in row.items() if k.startswith("val_") or k in ("loss", "learning_rate")}
        for row in histories["poisoned"]
    ]
    assert all(np.isfinite(row["val_loss"]) for row in histories["poisoned"])
    clean_weights, poisoned_weights = _weights(runs["clean"]), _weights(runs["poisoned"])
    assert clean_weights.keys() == poisoned_weights.keys()
    for key, value in clean_weights.items():
        assert torch.equal(value, poisoned_weights[key]), key


def test_the_reference_switch_validates_on_the_test_split(poisoned, tmp_path):
    """The control: with the reference's behaviour the garbage test split is what validates
    (so the test above could fail)."""
    _, copy = poisoned
    history = train(TrainConfig(data=copy, out=tmp_path / "run", export=[], model="hlf",
                                epochs=1, reference_validate_on_test=True))  # fmt: skip
    assert np.isnan(history[0]["val_loss"])


def test_a_dataset_of_two_splits_is_refused_in_one_line(features_dataset, tmp_path):
    old = tmp_path / "old"

    def two_splits(table: pa.Table) -> pa.Table:
        split = pc.if_else(pc.equal(table.column("split"), "validation"), "train",
                           table.column("split"))  # fmt: skip
        return table.set_column(table.schema.get_field_index("split"), "split", split)

    _rewritten(features_dataset / "full", old, two_splits)
    manifest = json.loads((old / "_manifest.json").read_text())
    del manifest["config"]["validation_fraction"]
    counts = manifest["split_counts"]
    for label, n in counts.pop("validation").items():
        counts["train"][label] = counts["train"].get(label, 0) + n
    (old / "_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match=r"two splits \(train, test\).*make the features again"):
        train(TrainConfig(data=old, out=tmp_path / "run", export=[], model="hlf", epochs=1))
    assert not (tmp_path / "run").exists()
    # The reference's behaviour needs no validation split.
    history = train(TrainConfig(data=old, out=tmp_path / "ref", export=[], model="hlf", epochs=1,
                                reference_validate_on_test=True))  # fmt: skip
    assert np.isfinite(history[0]["val_loss"])


def test_the_report_says_which_split_chose(features_dataset, tmp_path):
    data = features_dataset / "full"
    runs = []
    for name, switch in (("chosen-on-validation", False), ("chosen-on-test", True)):
        train(TrainConfig(data=data, out=tmp_path / name, export=[], model="hlf", epochs=1,
                          reference_validate_on_test=switch))  # fmt: skip
        runs.append(tmp_path / name)
    settings = EvaluateConfig(runs=runs, data=data, out=tmp_path / "report", bootstrap=0,
                              baselines=tmp_path / "no-baselines")  # fmt: skip
    # no stage records: not those of the working directory's runs/pipeline.json
    config = Config(evaluate=settings, run=RunConfig(state=tmp_path / "no-pipeline.json"))
    results = dlt.evaluate.run(config).evaluation
    assert results["models"]["chosen-on-test"]["validated_on"] == "test"
    assert results["models"]["chosen-on-validation"]["validated_on"] == "validation"
    first = (tmp_path / "report" / "report.md").read_text().split("## AUC and accuracy")[0]
    assert "**chosen-on-test chose its best epoch on this test split**" in first
    assert "biased" in first and "chosen-on-validation" not in first


def test_a_dropped_class_is_named_with_its_reason_never_as_nan():
    from dltrigger.evaluate.notes import reading_notes
    from dltrigger.ml.display import absent_classes, absent_lines, epoch_line

    dropped = [{"label": 0, "class": "QCD", "samples": ["qcd"], "events": 25, "files": 1}]
    absent = absent_classes({1: 40, 2: 31}, dropped, "validation", "data/full/_manifest.json")
    assert list(absent) == ["QCD"]
    assert absent_lines(absent) == [
        "QCD: no events (dropped at features: none of the 25 events of qcd passed the "
        "selection; see data/full/_manifest.json); it has no AUC"
    ]
    row = {"epoch": 3, "loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.9, "samples_per_s": 10.0,
           "val_auc_QCD": float("nan"), "val_auc_ttbar": 0.91, "val_auc_W+jets": 0.87}  # fmt: skip
    line = epoch_line(row, absent)
    assert "nan" not in line and "ttbar 0.910, W+jets 0.870 (none for QCD)" in line
    assert absent_classes({1: 40}, [], "validation", "m")["W+jets"] == (
        "no events in the validation split"
    )
    results = {"data": "d", "manifest": {"events_origin": "Delphes, CMS card",
                                         "dropped_classes": dropped},
               "models": {"hlf": {"validated_on": "validation", "classes": {
                   "QCD": {"absent": "no test event of this class"}}}}}  # fmt: skip
    notes = reading_notes(results)
    assert notes[0].startswith("Simulated events (Delphes, CMS card)")
    assert any("**QCD: no events** (dropped at features: none of the 25 events of qcd" in n
               for n in notes)  # fmt: skip
    assert not any(n.startswith("**QCD**") for n in notes)  # said once, with the reason
