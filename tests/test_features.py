"""``dltrigger features``: datasets, split, scaling statistics and bad input."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import dltrigger as dlt
from dltrigger.config import Config, FeaturesConfig
from dltrigger.errors import FeaturesError
from dltrigger.features.job import PADDED_BYTES_PER_EVENT
from dltrigger.physics.hlf import HLF_NAMES
from dltrigger.physics.particles import PARTICLE_FEATURES
from dltrigger.physics.split import event_uniform

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def datasets(spark, ingested, tmp_path_factory):
    out = tmp_path_factory.mktemp("features") / "out"
    config = Config(features=FeaturesConfig(input=ingested, out=out, dev_per_class=40))
    manifests = dlt.features.run(config, spark=spark).manifests
    return out, manifests


def read(folder):
    return pq.read_table(str(folder)).to_pydict()


def test_full_dataset_columns_counts_and_no_padding(datasets):
    out, manifests = datasets
    full = read(out / "full")
    n = len(full["entry"])
    assert n == sum(manifests["full"]["counts"].values()) > 100
    assert all(len(h) == len(HLF_NAMES) for h in full["hlf"])
    lengths = [len(p) for p in full["particles"]]
    assert all(len(row) == len(PARTICLE_FEATURES) for p in full["particles"] for row in p)
    assert min(lengths) >= 1 and max(lengths) <= 801 and np.mean(lengths) < 801
    # Ragged storage: at most a fifth of the reference's padded float64 layout.
    assert manifests["full"]["bytes_per_event"] * 5 <= PADDED_BYTES_PER_EVENT
    labels = {(s, lab) for s, lab in zip(full["sample"], full["label"], strict=True)}
    assert labels == {("qcd", 0), ("ttbar", 1), ("wjets", 2)}
    # The lepton (one of isEle/isMu set) is the last row: descending order of ΔR.
    assert all(p[-1][16] + p[-1][17] == 1.0 for p in full["particles"])


def test_split_is_a_hash_of_the_event_content_key(datasets):
    out, _ = datasets
    full = read(out / "full")
    u = event_uniform(np.array(full["event_key"]), "split")
    expected = np.where(u < 0.2, "test", np.where(u < 0.3, "validation", "train"))
    assert full["split"] == expected.tolist()
    assert full["u_sample"] == event_uniform(np.array(full["event_key"]), "sample").tolist()
    assert 0.12 < full["split"].count("test") / len(full["split"]) < 0.28
    assert 0.05 < full["split"].count("validation") / len(full["split"]) < 0.15


def test_split_values_are_exactly_train_validation_test(datasets):
    out, manifests = datasets
    for name, manifest in manifests.items():
        values = set(read(out / name)["split"])
        assert values == {"train", "validation", "test"}, name
        assert set(manifest["per_split"]) == {"train", "validation", "test"}, name
        assert sum(manifest["per_split"].values()) == sum(manifest["counts"].values()), name
        # what the events are, for the plots' labels: the generate record beside the files
        assert manifest["events_origin"] == "dltrigger generator, detector phase2", name


def test_scaling_statistics_come_from_the_training_split_only(datasets):
    out, _ = datasets
    full = read(out / "full")
    train = np.array(full["split"]) == "train"
    hlf = np.array(full["hlf"], dtype=np.float64)[train]
    rows = np.array(
        [r for p, t in zip(full["particles"], train, strict=True) if t for r in p], dtype=np.float64
    )
    scaling = json.loads((out / "full" / "_scaling.json").read_text())
    assert scaling["hlf"]["names"] == list(HLF_NAMES)
    np.testing.assert_allclose(scaling["hlf"]["mean"], hlf.mean(axis=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(scaling["hlf"]["std"], hlf.std(axis=0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(scaling["hlf"]["min"], hlf.min(axis=0), rtol=1e-7)
    np.testing.assert_allclose(scaling["hlf"]["max"], hlf.max(axis=0), rtol=1e-7)
    np.testing.assert_allclose(
        scaling["particles"]["mean"], rows.mean(axis=0), rtol=1e-6, atol=1e-9
    )
    assert scaling["particles"]["count"][0] == len(rows)  # real particles only, no padding


def test_balanced_and_dev_subsets(datasets):
    out, manifests = datasets
    counts = {int(k): v for k, v in manifests["balanced"]["counts"].items()}
    smallest = min(manifests["full"]["counts"].values())
    for n in counts.values():  # undersampled by a per-event number: binomial spread
        assert abs(n - smallest) <= 4 * np.sqrt(smallest) + 1
    balanced = read(out / "balanced")
    dev = read(out / "dev")
    assert set(zip(dev["source_file"], dev["entry"], strict=True)) <= set(
        zip(balanced["source_file"], balanced["entry"], strict=True)
    )
    assert all(n <= 40 + 4 * np.sqrt(40) for n in manifests["dev"]["counts"].values())
    manifest = json.loads((out / "dev" / "_manifest.json").read_text())
    assert manifest["particle_features"] == list(PARTICLE_FEATURES)
    assert set(manifest["selection_efficiency"]) == {"qcd", "ttbar", "wjets"}


def test_subsets_statistics_are_their_own_rows(datasets):
    """Both subsets come from one read of each part: each one's scaling statistics and counts
    are those of its own rows, and the smallest class is kept whole in ``balanced``."""
    out, manifests = datasets
    full = read(out / "full")
    smallest = min(manifests["full"]["counts"], key=manifests["full"]["counts"].get)
    for name in ("balanced", "dev"):
        rows = read(out / name)
        train = np.array(rows["split"]) == "train"
        hlf = np.array(rows["hlf"], dtype=np.float64)[train]
        particles = np.array(
            [r for p, t in zip(rows["particles"], train, strict=True) if t for r in p]
        )
        scaling = json.loads((out / name / "_scaling.json").read_text())
        np.testing.assert_allclose(scaling["hlf"]["mean"], hlf.mean(axis=0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(scaling["hlf"]["std"], hlf.std(axis=0), rtol=1e-5, atol=1e-9)
        assert scaling["particles"]["count"][0] == len(particles)
        labels, counts = np.unique(rows["label"], return_counts=True)
        assert {str(k): int(n) for k, n in zip(labels, counts, strict=True)} == (
            manifests[name]["counts"]
        )

    def events_of(rows: dict, label: str) -> set:
        picked = zip(rows["source_file"], rows["entry"], rows["label"], strict=True)
        return {(f, e) for f, e, k in picked if str(k) == label}

    assert events_of(read(out / "balanced"), smallest) == events_of(full, smallest)


def test_missing_column_is_named_and_nothing_is_written(spark, ingested, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(ingested, broken)
    victim = sorted(broken.glob("label=2/*.parquet"))[0]
    table = pq.read_table(victim)
    pq.write_table(table.drop(["Jet"]), victim)
    out = tmp_path / "out"
    config = Config(features=FeaturesConfig(input=broken, out=out))
    with pytest.raises(FeaturesError, match=rf"{victim.name}: missing column 'Jet'"):
        dlt.features.run(config, spark=spark)
    assert not out.exists()
    with pytest.raises(FeaturesError, match="ingested dataset not found"):
        dlt.features.run(
            Config(features=FeaturesConfig(input=tmp_path / "nope", out=out)), spark=spark
        )


def test_non_finite_events_are_counted_as_rejected(spark, ingested, tmp_path):
    import pyarrow as pa
    import pyarrow.compute as pc

    broken = tmp_path / "nan"
    shutil.copytree(ingested, broken)
    victim = sorted(broken.glob("label=2/*.parquet"))[0]
    table = pq.read_table(victim)
    met = table.column("MissingET").combine_chunks()
    values = met.flatten().field("MET").to_numpy(zero_copy_only=False).copy()
    values[:50] = np.nan  # the first 50 events get a NaN missing ET
    struct = pa.StructArray.from_arrays(
        [
            pa.array(values, pa.float32()) if n == "MET" else met.flatten().field(n)
            for n in [f.name for f in met.type.value_type]
        ],
        names=[f.name for f in met.type.value_type],
    )
    new_met = pa.ListArray.from_arrays(met.offsets, struct)
    pq.write_table(
        table.set_column(table.schema.get_field_index("MissingET"), "MissingET", new_met), victim
    )
    out = tmp_path / "out"
    manifests = dlt.features.run(
        Config(features=FeaturesConfig(input=broken, out=out)), spark=spark
    ).manifests
    # caught as input, before the selection: every one of the 50, selected or not
    assert manifests["full"]["rejected"]["non-finite input values"] == 50
    full = pq.read_table(str(out / "full"))
    hlf = np.array(full.column("hlf").to_pylist())
    assert np.isfinite(hlf).all()
    assert pc.sum(pc.equal(full.column("split"), "test")).as_py() > 0


def test_load_gives_an_awkward_array_of_a_split(features_dataset):
    import awkward as ak

    every = dlt.features.load(features_dataset / "full")
    test = dlt.features.load(features_dataset / "full", split="test")
    assert 0 < len(test) < len(every) and set(test.split.to_list()) == {"test"}
    assert str(test.hlf.type.content) == "14 * float32"  # no option types, a regular width
    assert str(test.particles.type.content) == "var * 19 * float32"
    assert ak.to_numpy(test.hlf).shape == (len(test), 14)
    # the same numbers as the Parquet parts hold
    table = pq.read_table(sorted((features_dataset / "full").glob("part-*.parquet")),
                          columns=["split", "hlf"], filters=[("split", "=", "test")])  # fmt: skip
    assert np.allclose(np.stack(table.column("hlf").to_pylist()), ak.to_numpy(test.hlf))
    # a features output folder means its balanced/ dataset
    assert len(dlt.features.load(features_dataset)) == len(
        dlt.features.load(features_dataset / "balanced")
    )
    with pytest.raises(dlt.DatasetError, match=r"no split 'tset' \(did you mean 'test'"):
        dlt.features.load(features_dataset / "full", split="tset")
    with pytest.raises(dlt.DatasetError, match=r"no column 'hfl' \(did you mean 'hlf'"):
        dlt.features.load(features_dataset / "full", columns=["hfl"])


def test_spark_session_stops_only_what_it_started(spark):
    with dlt.spark_session(dlt.Config()) as session:
        assert session is spark  # the active one, used and left running
    assert not spark.sparkContext._jsc.sc().isStopped()
    # one it starts, it stops (in a process of its own: this one has a session)
    code = (
        "import dltrigger as dlt; from pyspark import SparkContext\n"
        "with dlt.spark_session() as s: n = s.range(3).count()\n"
        "print(n, SparkContext._active_spark_context is None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["3", "True"], done.stderr[-2000:]
