"""Batches from a features dataset: every training event once, scaled, padded per batch."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dltrigger.train.data import (
    DatasetError,
    Scaling,
    in_memory_batches,
    iterate_batches,
    load_split,
    prefetch,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def full_dataset(features_dataset):
    return features_dataset / "full"


def test_every_training_event_once_with_bounded_padding(full_dataset):
    table = pq.read_table(str(full_dataset)).to_pydict()
    train = [i for i, s in enumerate(table["split"]) if s == "train"]
    batches = list(
        iterate_batches(full_dataset, "train", batch_size=64, seed=3, shuffle_buffer=200)
    )
    assert sum(len(b) for b in batches) == len(train)
    assert sorted(int(x) for b in batches for x in b.labels) == sorted(
        table["label"][i] for i in train
    )
    for b in batches:
        assert b.particles.shape[1] == int(b.lengths.max())  # padded to its own longest list
        for row, n in enumerate(b.lengths.tolist()):
            assert (b.particles[row, n:] == 0).all()
    # Shuffled, and reproducible with the seed.
    again = list(iterate_batches(full_dataset, "train", batch_size=64, seed=3, shuffle_buffer=200))
    assert all((a.labels == b.labels).all() for a, b in zip(batches, again, strict=True))
    order = [int(x) for b in batches for x in b.labels]
    assert order != sorted(order)


def test_features_are_scaled_with_training_statistics(full_dataset):
    scaling = Scaling.load(full_dataset)
    batches = list(iterate_batches(full_dataset, "train", batch_size=10_000, shuffle_buffer=1))
    hlf = np.concatenate([b.hlf.numpy() for b in batches])
    stats = json.loads((full_dataset / "_scaling.json").read_text())["hlf"]
    varying = np.array(stats["std"]) > 0
    np.testing.assert_allclose(hlf.mean(axis=0)[varying], 0.0, atol=1e-3)
    np.testing.assert_allclose(hlf.std(axis=0)[varying], 1.0, rtol=1e-3)
    assert scaling.particle_std.shape == (19,)
    capped = next(iterate_batches(full_dataset, "test", batch_size=32, max_particles=5))
    assert capped.particles.shape[1] <= 5
    hlf_only = next(iterate_batches(full_dataset, "test", batch_size=8, with_particles=False))
    assert hlf_only.particles is None and hlf_only.hlf.shape == (8, 14)


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match=r"no _scaling\.json"):
        next(iterate_batches(tmp_path, "train", batch_size=8))


def test_in_memory_and_bucketed_batches_hold_the_same_events(full_dataset):
    streamed = list(iterate_batches(full_dataset, "train", batch_size=32, seed=5))
    events = load_split(full_dataset, "train", with_particles=True)
    assert len(events) == sum(len(b) for b in streamed)

    def fingerprint(batches):  # every event once, with the same scaled numbers
        rows = [
            (int(label), round(float(hlf.sum()), 3), int(n), round(float(p[:n].sum()), 2))
            for b in batches
            for label, hlf, n, p in zip(b.labels, b.hlf, b.lengths, b.particles, strict=True)
        ]
        return sorted(rows)

    in_memory = list(in_memory_batches(events, batch_size=32, seed=5))
    bucketed = list(in_memory_batches(events, batch_size=32, seed=5, bucket_by_length=True))
    streamed_buckets = list(
        iterate_batches(full_dataset, "train", 32, seed=5, shuffle_buffer=300,
                        bucket_by_length=True)
    )  # fmt: skip
    expected = fingerprint(streamed)
    for batches in (in_memory, bucketed, streamed_buckets):
        assert fingerprint(batches) == expected

    def padding(batches):  # padded rows per real row
        return sum(b.particles.shape[1] * len(b) for b in batches) / sum(
            int(b.lengths.sum()) for b in batches
        )

    assert padding(bucketed) < 0.8 * padding(in_memory)
    assert padding(streamed_buckets) < 0.8 * padding(streamed)
    # Buckets come in a random order, not shortest first.
    maxima = [int(b.lengths.max()) for b in bucketed]
    assert maxima != sorted(maxima)


def test_wrong_feature_count_names_the_file(full_dataset, tmp_path):
    table = pq.read_table(str(full_dataset / "part-00000.parquet"))
    hlf = [row[:13] for row in table.column("hlf").to_pylist()]
    bad = table.set_column(table.schema.get_field_index("hlf"), "hlf", pa.array(hlf))
    pq.write_table(bad, tmp_path / "part-00000.parquet")
    (tmp_path / "_scaling.json").write_text((full_dataset / "_scaling.json").read_text())
    with pytest.raises(DatasetError, match=r"part-00000\.parquet.*hlf has 13 numbers.*14"):
        next(iterate_batches(tmp_path, "train", batch_size=8))
    with pytest.raises(DatasetError, match="no 'nothing' events"):
        load_split(full_dataset, "nothing")


def test_prefetch_passes_errors_on():
    def broken():
        yield 1
        raise DatasetError("row group 3 is unreadable")

    produced = prefetch(broken())
    assert next(produced) == 1
    with pytest.raises(DatasetError, match="row group 3"):
        next(produced)
