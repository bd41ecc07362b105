"""The split follows the event, not its file: content keys, copies of files, repeated events.

An event's split and sampling numbers hash its content key (physics/split.py), so a copy of
an event under another file name, or at another position, lands where the original does;
repeated events are counted, warned about and (by default) kept once (features/duplicates.py);
a dataset split the old way (by file name and entry) is refused against a model trained on a
new one.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dltrigger as dlt
from dltrigger.artifacts import SPLIT_SETTINGS, FeaturesDataset, RunFolder, setting_differences
from dltrigger.config import Config, FeaturesConfig, IngestConfig, TrainConfig
from dltrigger.errors import DatasetError, FeaturesError
from dltrigger.features.duplicates import repeated_rows
from dltrigger.physics.collections import physics_table, resolve_collections
from dltrigger.physics.split import event_keys, event_uniform


def ingested_tables(folder):
    """The physics tables of every ingested part, with their source file and entry."""
    parts = sorted(folder.glob("label=*/*.parquet"))
    collections = resolve_collections(
        FeaturesConfig().collections, pq.read_schema(parts[0]).names, str(folder)
    )
    tables = [pq.read_table(p) for p in parts]
    return [physics_table(t, collections, "test") for t in tables], tables


def binomial_ok(k: int, n: int, p: float) -> bool:
    """k of n within 4 standard deviations of a binomial(n, p)."""
    return abs(k - n * p) <= 4 * np.sqrt(n * p * (1 - p))


@pytest.fixture(scope="module")
def with_renamed_copy(spark, generated, tmp_path_factory):
    """The shared sample plus a byte-identical copy of one W+jets file under another name,
    ingested: (ingested folder, original path, copy path)."""
    raw = tmp_path_factory.mktemp("renamed-raw")
    for path in generated.folder.glob("*.root"):
        shutil.copy(path, raw / path.name)
    original = raw / generated.files("wjets")[0].name
    copy = raw / f"wjets_renamed_{original.stem}.root"
    shutil.copy(original, copy)
    out = tmp_path_factory.mktemp("renamed-ingested") / "data"
    dlt.ingest.run(Config(ingest=IngestConfig(out=out, inputs=[str(raw)])), spark=spark)
    return out, str(original), str(copy)


def full_rows(folder) -> dict:
    return pq.read_table(
        str(folder / "full"), columns=["event_key", "split", "source_file", "entry", "label"]
    ).to_pydict()


@pytest.mark.spark
@pytest.mark.slow
def test_a_renamed_copy_of_a_file_lands_in_the_same_split(
    spark, with_renamed_copy, features_dataset, tmp_path, caplog
):
    ingested, original, copy = with_renamed_copy
    out = tmp_path / "features"
    settings = FeaturesConfig(input=ingested, out=out, duplicates="keep")
    with caplog.at_level("WARNING", logger="dltrigger"):
        manifests = dlt.features.run(Config(features=settings), spark=spark).manifests
    rows = full_rows(out)
    keys, split = np.array(rows["event_key"]), np.array(rows["split"])
    sources = np.array(rows["source_file"], dtype=object)
    # Every event of the copy is an event of the original, in the same split.
    of_copy, of_original = sources == copy, sources == original
    assert of_copy.sum() == of_original.sum() > 20
    split_of = dict(zip(keys[of_original], split[of_original], strict=True))
    assert [split_of[k] for k in keys[of_copy]] == split[of_copy].tolist()
    assert not set(keys[split == "train"]) & set(keys[split == "test"])
    # ... and where the dataset without the copy puts it.
    before = full_rows(features_dataset)
    assert dict(zip(keys, split, strict=True)) == dict(
        zip(before["event_key"], before["split"], strict=True)
    )
    # Counted, listed and warned about, naming both files.
    repeats = int(of_copy.sum())
    for manifest in manifests.values():
        assert manifest["duplicate_events"] == repeats
        assert manifest["duplicates"]["dropped"] == 0
        assert manifest["duplicates"]["file_pairs"] == [
            {"files": [original, copy], "events": repeats}
        ]
    warned = [r.getMessage() for r in caplog.records if "repeat" in r.getMessage()]
    assert len(warned) == 1 and original in warned[0] and copy in warned[0], warned
    assert f"{repeats} selected event(s) repeat" in warned[0]


@pytest.mark.spark
@pytest.mark.slow
def test_repeated_events_are_kept_once_by_default(
    spark, with_renamed_copy, features_dataset, tmp_path
):
    """Dropping the copies gives the dataset made without them: the same events, splits,
    counts, subsets and training statistics."""
    ingested, original, copy = with_renamed_copy
    out = tmp_path / "features"
    manifests = dlt.features.run(
        Config(features=FeaturesConfig(input=ingested, out=out)), spark=spark
    ).manifests
    rows, before = full_rows(out), full_rows(features_dataset)
    assert len(set(rows["event_key"])) == len(rows["event_key"])
    assert copy not in rows["source_file"]  # the kept copy: the lowest file name and entry
    assert sorted(zip(rows["event_key"], rows["split"], strict=True)) == sorted(
        zip(before["event_key"], before["split"], strict=True)
    )
    made_before = FeaturesDataset(features_dataset / "full").manifest()
    for name in ("full", "balanced", "dev"):
        manifest, reference = (
            manifests[name],
            json.loads((features_dataset / name / "_manifest.json").read_text()),
        )
        assert manifest["duplicate_events"] == manifest["duplicates"]["dropped"] > 20
        assert manifest["duplicates"]["file_pairs"][0]["files"] == [original, copy]
        for key in ("counts", "per_split", "split_counts"):
            assert manifest[key] == reference[key], (name, key)
        mine, theirs = manifest["scaling"], reference["scaling"]
        for kind in ("hlf", "particles"):
            for stat in ("mean", "std", "min", "max"):
                np.testing.assert_allclose(
                    mine[kind][stat], theirs[kind][stat], rtol=1e-6, atol=1e-9
                )
        table = pq.read_table(str(out / name), columns=["event_key"])
        assert table.num_rows == sum(manifest["counts"].values())
    # The selection efficiency is the selection's, over every input event (copies included).
    assert (
        manifests["full"]["selection_efficiency"]["wjets"]["events"]
        > (made_before["selection_efficiency"]["wjets"]["events"])
    )


@pytest.mark.spark
@pytest.mark.slow
def test_the_key_differs_for_different_events_and_not_with_position(ingested):
    physics, _ = ingested_tables(ingested)
    keys = np.concatenate([event_keys(p) for p in physics])
    assert len(keys) >= 1800
    assert len(np.unique(keys)) == len(keys)  # no collision in the generated sample
    table = physics[0]
    whole = event_keys(table)
    reversed_order = np.arange(table.num_rows)[::-1].copy()
    np.testing.assert_array_equal(event_keys(table.take(reversed_order)), whole[reversed_order])
    np.testing.assert_array_equal(event_keys(table.slice(17, 100)), whole[17:117])
    rechunked = pa.concat_tables([table.slice(0, 50), table.slice(50)])
    np.testing.assert_array_equal(event_keys(rechunked), whole)
    # One track's PT one float32 step off: another event, another key.
    tracks = table.column("EFlowTrack").combine_chunks()
    members = tracks.values.flatten()
    names = [f.name for f in tracks.type.value_type]
    pt = members[names.index("PT")].to_numpy(zero_copy_only=False).copy()
    offsets = tracks.offsets.to_numpy()
    event = int(np.flatnonzero(np.diff(offsets))[1])  # the second event with a track
    pt[offsets[event]] = np.nextafter(pt[offsets[event]], np.float32(np.inf), dtype=np.float32)
    members[names.index("PT")] = pa.array(pt, pa.float32())
    changed = pa.ListArray.from_arrays(
        tracks.offsets, pa.StructArray.from_arrays(members, names=names)
    )
    other = event_keys(table.set_column(table.schema.get_field_index("EFlowTrack"),
                                        "EFlowTrack", changed))  # fmt: skip
    assert np.flatnonzero(other != whole).tolist() == [event]


@pytest.mark.spark
@pytest.mark.slow
def test_the_split_fraction_is_binomial(ingested, features_dataset):
    physics, _ = ingested_tables(ingested)
    keys = np.concatenate([event_keys(p) for p in physics])
    n = len(keys)
    split, sample = event_uniform(keys, "split"), event_uniform(keys, "sample")
    for fraction in (0.05, 0.2, 0.5, 0.8):
        assert binomial_ok(int((split < fraction).sum()), n, fraction), fraction
        assert binomial_ok(int((sample < fraction).sum()), n, fraction), fraction
    # The two numbers of an event are independent: the test split samples like the rest.
    test = split < 0.2
    assert binomial_ok(int((sample[test] < 0.5).sum()), int(test.sum()), 0.5)
    # In the dataset: the test share of every class.
    rows = full_rows(features_dataset)
    labels, chosen = np.array(rows["label"]), np.array(rows["split"]) == "test"
    for label in np.unique(labels):
        mine = labels == label
        assert binomial_ok(int(chosen[mine].sum()), int(mine.sum()), 0.2), label


def old_record(settings: dict) -> dict:
    """A dataset's settings as recorded before ``split_key`` existed."""
    return {k: v for k, v in settings.items() if k != "split_key"}


@pytest.mark.spark
@pytest.mark.slow
def test_a_dataset_split_the_old_way_is_refused_for_evaluation(features_dataset, tmp_path):
    dataset = FeaturesDataset(features_dataset / "full")
    settings = dataset.settings()
    assert settings is not None and settings["split_key"] == "content"
    assert setting_differences(old_record(settings), settings) == [
        "split_key: 'file_entry' in training, 'content' here"
    ]
    assert "split_key" in SPLIT_SETTINGS
    assert setting_differences(old_record(settings), settings, ignore=SPLIT_SETTINGS) == []
    # A model trained on a dataset split the old way: evaluate refuses, score does not compare.
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    (run / run.CONFIG).write_text(TrainConfig(model="hlf", data=dataset.path).model_dump_json())
    (run / run.FEATURES).write_text(
        json.dumps({"settings": old_record(settings), "schema": dataset.schema()})
    )
    with pytest.raises(DatasetError, match="split_key: 'file_entry' in training, 'content'"):
        run.check_dataset(dataset, split=True)
    run.check_dataset(dataset, split=False)


@pytest.mark.spark
@pytest.mark.slow
def test_the_old_split_is_no_longer_made(spark, ingested, tmp_path):
    config = FeaturesConfig(input=ingested, out=tmp_path / "out", split_key="file_entry")
    with pytest.raises(FeaturesError, match='use split_key = "content"'):
        dlt.features.run(Config(features=config), spark=spark)
    assert not (tmp_path / "out").exists()


def test_the_kept_copy_of_a_repeated_event_is_the_lowest_file_and_entry():
    """In one part: key 7 kept here (file a, entry 2: its first row), key 8 kept in another
    part, key 9 not repeated."""
    keys = np.array([7, 8, 7, 9, 7, 8, 7])
    sources = np.array(["b", "a", "a", "a", "a", "a", "a"], dtype=object)
    entries = np.array([0, 1, 5, 3, 2, 1, 2])
    drop = repeated_rows(keys, sources, entries, (np.array([7, 8]), np.array([7])))
    assert drop.tolist() == [True, True, True, False, False, True, True]


@pytest.mark.spark
@pytest.mark.slow
def test_dropping_copies_gives_the_same_part_when_a_task_runs_twice(features_dataset, tmp_path):
    """A retried subset task finds its part already rewritten (or removed) and summarises it
    as the first attempt did."""
    from dltrigger.features.subsets import subset_file

    part = sorted((features_dataset / "full").glob("part-*.parquet"))[0]
    table = pq.read_table(part)
    doubled = pa.concat_tables([table, table.slice(0, 5)])  # 5 events twice in one part
    keys = doubled.column("event_key").to_numpy()[:5]
    mine, others = tmp_path / "part-00000.parquet", tmp_path / "part-00001.parquet"
    pq.write_table(doubled, mine)
    pq.write_table(table.slice(0, 5), others)  # holds only copies kept elsewhere
    for attempt in range(2):
        kept = subset_file(str(mine), 0, {}, (np.unique(keys), np.unique(keys)))["full"]
        assert kept["selected"] == table.num_rows, attempt
        assert pq.read_table(mine).equals(table)
        gone = subset_file(str(others), 1, {}, (np.unique(keys), keys[:0]))["full"]
        assert gone["selected"] == 0, attempt
        assert gone["per_split"] == {"train": 0, "validation": 0, "test": 0}, attempt
        assert not others.exists()
