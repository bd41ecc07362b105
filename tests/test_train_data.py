"""Batches from a features dataset: every training event once, scaled, padded per batch."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from dltrigger.train.data import DatasetError, Scaling, iterate_batches

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
