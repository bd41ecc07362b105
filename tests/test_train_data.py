"""Batches from a features dataset: every training event once, scaled, padded per batch."""

import json
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dltrigger.ml.batches import (
    DatasetError,
    Events,
    Scaling,
    in_memory_batches,
    iterate_batches,
    load_split,
)
from dltrigger.ml.prefetch import PREFETCH_THREAD, prefetch

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


def length_order(batches) -> tuple[float, float]:
    """Spearman correlation of batch number with batch mean length, and the share of
    consecutive batches whose mean length grows: ~0 and ~0.5 for batches in random order,
    ~1 and ~1 for batches sorted by length (or ~0 and ~1 for a sawtooth of sorted pools)."""
    means = np.array([float(b.lengths.float().mean()) for b in batches])
    ranks = np.argsort(np.argsort(means))
    spearman = float(np.corrcoef(np.arange(len(means)), ranks)[0, 1])
    return spearman, float((np.diff(means) > 0).mean())


def test_length_buckets_cover_every_event_once_in_random_length_order(full_dataset):
    table = pq.read_table(str(full_dataset), columns=["split", "label"]).to_pydict()
    train_events = sum(s == "train" for s in table["split"])
    events = load_split(full_dataset, "train", with_particles=True)

    def ids(batch):  # an event: its label, particle count and exact scaled HLF numbers
        return [
            (int(label), int(n), tuple(hlf.tolist()))
            for label, n, hlf in zip(batch.labels, batch.lengths, batch.hlf, strict=True)
        ]

    reference = sorted(zip(events.labels.tolist(), events.counts.tolist(),
                           map(tuple, events.hlf.tolist()), strict=True))  # fmt: skip
    streamed = {  # a small pool (several flushes), and one holding the whole split
        (pool, seed): list(iterate_batches(full_dataset, "train", 8, seed=seed,
                                           shuffle_buffer=pool, bucket_by_length=True))
        for pool in (200, 10_000)
        for seed in (11, 12)
    }  # fmt: skip
    in_memory = [
        list(in_memory_batches(events, 8, seed=seed, bucket_by_length=True)) for seed in (11, 12)
    ]
    for (pool, _), batches in [*streamed.items(), *(((None, 0), b) for b in in_memory)]:
        assert len(batches) >= 50  # enough batches for the order statistics below
        # (a) every training event exactly once per epoch
        assert sum(len(b) for b in batches) == train_events
        assert sorted(event for b in batches for event in ids(b)) == reference
        # (c) each batch padded to its own longest list, and length buckets pad little
        assert all(b.particles.shape[1] == int(b.lengths.max()) for b in batches)
        spread = [int(b.lengths.max() - b.lengths.min()) for b in batches]
        assert np.median(spread) <= 0.25 * int(events.counts.max())
        # (b) in an order unrelated to their lengths: no sorted runs (a sorted pool would rise
        # ~90% of the time here) and, where no small pool lets the classes' files drift
        # through the epoch (that drift is the pool's, bucketed or not), no trend
        spearman, rising = length_order(batches)
        assert 0.3 < rising < 0.7, rising
        if pool != 200:
            assert abs(spearman) < 0.35, spearman  # ~3 sigma for 70 batches in random order
    # The statistics tell sorted batches from shuffled ones.
    ordered = sorted(in_memory[0], key=lambda b: float(b.lengths.float().mean()))
    assert length_order(ordered)[0] > 0.9 and length_order(ordered)[1] > 0.9


def test_length_buckets_change_batch_mates_between_epochs():
    # Buckets sort groups of shuffled events, not the whole split: with the split in one pool
    # (in memory, or a stream whose pool holds it) an event's batch-mates still change from one
    # epoch to the next. 8,192 synthetic events of 1-300 rows (one number each), batch 8.
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 301, size=8192)
    events = Events(
        np.zeros(len(counts), np.int64),
        np.arange(len(counts), dtype=np.float32)[:, None],  # the event's number
        counts,
        np.ones((int(counts.sum()), 1), np.float32),
    )

    def mates(seed):
        partner = {}
        for batch in in_memory_batches(events, 8, seed=seed, bucket_by_length=True):
            ids = batch.hlf[:, 0].long().tolist()
            assert batch.particles.shape[1] == int(batch.lengths.max())
            for i in ids:
                partner[i] = set(ids) - {i}
        return partner

    first, second = mates(1), mates(2)
    assert sorted(first) == list(range(len(counts)))
    kept = np.mean([len(first[i] & second[i]) / max(len(first[i]), 1) for i in first])
    # a sort of the whole split keeps ~25% (27 events per length, 7 mates each); random
    # batches ~0.1%; groups of 32 batches of 8 events among 8,192: ~1-2%
    assert kept < 0.1, kept


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


def test_prefetch_starts_at_once_and_close_stops_it():
    made, before = [], set(prefetch_threads())

    def numbers():
        for i in range(1000):
            made.append(i)
            yield i

    produced = prefetch(numbers(), depth=2)
    deadline = time.monotonic() + 10
    while len(made) < 3 and time.monotonic() < deadline:  # before anyone asks for a batch
        time.sleep(0.01)
    assert len(made) == 3  # two queued, one waiting for room
    assert next(produced) == 0
    produced.close()  # the producer, blocked on the full queue, stops
    while set(prefetch_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(prefetch_threads()) - before and len(made) <= 5
    with pytest.raises(StopIteration):
        next(produced)
    assert list(prefetch(iter(range(5)))) == list(range(5))


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == PREFETCH_THREAD and t.is_alive()]
