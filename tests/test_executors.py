"""Executors: the local process pool and Spark write the same Parquet, reports and errors, and
``auto`` picks the pool for small inputs on a local master only."""

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import dltrigger as dlt
from dltrigger.config import Config, FeaturesConfig, IngestConfig, SparkConfig
from dltrigger.errors import IngestError
from dltrigger.executors import LocalExecutor, SparkExecutor, choose

pytestmark = [pytest.mark.spark, pytest.mark.slow]

EXECUTORS = ("local", "spark")


def with_executor(config: Config, executor: str) -> Config:
    return dlt.with_overrides(config, "spark", executor=executor)


def files_of(folder: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def assert_same_parquet(first: Path, second: Path) -> None:
    """The same files, and every Parquet file the same rows, values and schema."""
    ours, theirs = files_of(first), files_of(second)
    assert sorted(ours) == sorted(theirs)
    parquet = [name for name in ours if name.endswith(".parquet")]
    assert parquet
    for name in parquet:
        a, b = pq.read_table(ours[name]), pq.read_table(theirs[name])
        assert a.schema.equals(b.schema, check_metadata=True), name
        assert a.equals(b), name


def test_ingest_writes_the_same_dataset_with_either_executor(spark, generated, tmp_path):
    reports = {}
    for executor in EXECUTORS:
        config = Config(
            ingest=IngestConfig(out=tmp_path / executor, inputs=[str(generated.folder)])
        )
        result = dlt.ingest.run(with_executor(config, executor), spark=spark)
        assert result.report.executor == executor
        reports[executor] = json.loads((tmp_path / executor / "_ingest_report.json").read_text())
    assert_same_parquet(tmp_path / "local", tmp_path / "spark")
    for report in reports.values():
        for varying in ("output", "seconds", "events_per_second", "executor"):
            report.pop(varying)
    assert reports["local"] == reports["spark"]
    assert reports["local"]["events"] > 0


def test_features_with_repeated_events_agree_between_executors(spark, generated, tmp_path):
    """Duplicates are found by Spark SQL in one case and Arrow in the other: the same copies
    are dropped, the same manifests written."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for process in ("wjets", "qcd", "ttbar"):
        shutil.copy(generated.files(process)[0], raw / f"{process}_0.root")
    shutil.copy(generated.files("wjets")[0], raw / "wjets_7.root")  # a renamed copy
    ingested = tmp_path / "ingested"
    dlt.ingest.run(Config(ingest=IngestConfig(out=ingested, inputs=[str(raw)])), spark=spark)
    manifests = {}
    for executor in EXECUTORS:
        settings = FeaturesConfig(input=ingested, out=tmp_path / executor, duplicates="drop")
        result = dlt.features.run(with_executor(Config(features=settings), executor), spark=spark)
        manifests[executor] = result.manifests
    assert_same_parquet(tmp_path / "local", tmp_path / "spark")
    for name, manifest in manifests["local"].items():
        other = manifests["spark"][name]
        varying = {"seconds", "config"}
        assert {k: v for k, v in manifest.items() if k not in varying} == {
            k: v for k, v in other.items() if k not in varying
        }
    assert manifests["local"]["full"]["duplicates"]["dropped"] > 0


def test_a_bad_file_stops_either_executor_with_the_same_line(spark, generated, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = generated.files("wjets")
    for f in good[:2]:
        shutil.copy(f, raw / f.name)
    data = good[0].read_bytes()
    (raw / "wjets_truncated.root").write_bytes(data[: len(data) // 2])
    messages = {}
    for executor in EXECUTORS:
        config = Config(ingest=IngestConfig(out=tmp_path / executor, inputs=[str(raw)]))
        with pytest.raises(IngestError) as error:
            dlt.ingest.run(with_executor(config, executor), spark=spark)
        messages[executor] = str(error.value)
        assert not (tmp_path / executor).exists()  # nothing written
    assert messages["local"] == messages["spark"]
    assert "wjets_truncated.root" in messages["local"] and "truncated" in messages["local"]


def test_auto_takes_the_pool_for_small_inputs_on_a_local_master(spark):
    auto = SparkConfig(master="local[2]")
    assert isinstance(choose(auto, input_bytes=10**6), LocalExecutor)
    assert choose(auto, input_bytes=10**6).cores == 2
    assert choose(SparkConfig(master="local"), input_bytes=1).cores == 1
    # at the threshold and above, or when asked: Spark (the session given, or the active one)
    assert isinstance(choose(auto, input_bytes=auto.local_max_bytes, spark=spark), SparkExecutor)
    assert isinstance(choose(SparkConfig(executor="spark"), input_bytes=1), SparkExecutor)
    # "local" is obeyed whatever the master
    assert isinstance(
        choose(SparkConfig(master="spark://127.0.0.1:1", executor="local"), input_bytes=10**12),
        LocalExecutor,
    )


def test_auto_never_runs_a_cluster_masters_job_locally(spark):
    """A cluster master gets Spark even for a tiny input (here the test session, active)."""
    config = SparkConfig(master="spark://127.0.0.1:1", connect_timeout=1)
    assert isinstance(choose(config, input_bytes=1), SparkExecutor)


def test_the_pool_returns_results_in_order_and_raises_the_tasks_error():
    pool = LocalExecutor(2)
    offset = 10  # a closure: what Spark tasks get by pickling, the pool by forking
    assert pool.map(lambda x: x + offset, list(range(7))) == list(range(10, 17))
    assert pool.map(lambda x: x, []) == []

    def fails(x: int) -> int:
        if x == 3:
            raise IngestError(f"item {x} is bad")
        return x

    with pytest.raises(IngestError, match="item 3 is bad"):
        pool.map(fails, list(range(6)))
