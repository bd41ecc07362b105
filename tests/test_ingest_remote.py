"""Ingest over XRootD (a real server on 127.0.0.1) and on a standalone Spark cluster."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dltrigger.config import Config, IngestConfig
from dltrigger.errors import InputError, RootFileError
from dltrigger.ingest.job import ingest
from tests.conftest import free_port, wait_for_port

pytestmark = pytest.mark.spark


def sorted_rows(spark, folder):
    df = spark.read.parquet(str(folder)).drop("source_file")
    return df.orderBy("sample", "entry", "Event").collect()


@pytest.mark.xrootd
def test_root_urls_give_the_same_dataframe_as_local_files(
    spark, generated, xrootd_server, tmp_path
):
    names = [f.name for f in generated.files("wjets") + generated.files("qcd")]
    for name in names:
        target = xrootd_server.folder / name
        shutil.copy(generated.folder / name, target)
        os.chmod(target, 0o644)
    local = ingest(
        Config(ingest=IngestConfig(out=tmp_path / "local")),
        inputs=[str(xrootd_server.folder / n) for n in names],
        spark=spark,
        progress=False,
    )
    remote = ingest(
        Config(ingest=IngestConfig(out=tmp_path / "remote")),
        inputs=[xrootd_server.url_of("*.root")],  # a glob listed on the server
        spark=spark,
        progress=False,
    )
    assert remote.events == local.events > 0
    assert all(f.path.startswith("root://127.0.0.1:") for f in remote.files)
    assert sorted_rows(spark, tmp_path / "local") == sorted_rows(spark, tmp_path / "remote")


@pytest.mark.xrootd
def test_bad_root_urls_are_named(spark, xrootd_server, tmp_path):
    config = Config(ingest=IngestConfig(out=tmp_path / "out"))
    missing = xrootd_server.url_of("wjets_404.root")
    with pytest.raises(RootFileError, match=r"wjets_404\.root"):
        ingest(config, inputs=[missing], spark=spark, progress=False)
    refused = f"root://127.0.0.1:{free_port()}//wjets_0.root"
    with pytest.raises(RootFileError, match=r"127\.0\.0\.1.*cannot reach the file.*Connection"):
        ingest(config, inputs=[refused], spark=spark, progress=False)
    with pytest.raises(InputError, match="no files match"):
        ingest(config, inputs=[xrootd_server.url_of("nothing_*.root")], spark=spark)
    assert not (tmp_path / "out").exists()


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@pytest.fixture
def standalone_cluster(tmp_path):
    """A standalone Spark master and one worker on 127.0.0.1, started from pyspark's jars."""
    spark_class = spark_home() / "bin" / "spark-class"
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1"}
    env["SPARK_WORKER_DIR"] = str(tmp_path / "work")
    master_port, master_ui, worker_ui = free_port(), free_port(), free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    master = subprocess.Popen(
        [
            str(spark_class),
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(master_port),
            "--webui-port",
            str(master_ui),
        ],
        env=env,
        stdout=open(logs / "master.log", "w"),  # noqa: SIM115 (lives as long as the process)
        stderr=subprocess.STDOUT,
    )
    url = f"spark://127.0.0.1:{master_port}"
    worker = None
    try:
        wait_for_port(master_port, master, 60)
        worker = subprocess.Popen(
            [
                str(spark_class),
                "org.apache.spark.deploy.worker.Worker",
                url,
                "--host",
                "127.0.0.1",
                "--cores",
                "2",
                "--memory",
                "2g",
                "--webui-port",
                str(worker_ui),
            ],
            env=env,
            stdout=open(logs / "worker.log", "w"),  # noqa: SIM115 (lives as long as the process)
            stderr=subprocess.STDOUT,
        )
        wait_for_port(worker_ui, worker, 60)
        time.sleep(2)  # let the worker register with the master
        yield url
    finally:
        for process in (worker, master):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.mark.distributed
@pytest.mark.slow
def test_ingest_on_a_standalone_cluster(spark, generated, standalone_cluster, tmp_path):
    """The same command, pointed at a cluster master: only --master changes."""
    out = tmp_path / "cluster"
    inputs = [str(f) for f in generated.files("ttbar") + generated.files("wjets")]
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dltrigger",
            "ingest",
            *inputs,
            "--out",
            str(out),
            "--quiet",
            "--master",
            standalone_cluster,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    local = tmp_path / "local"
    ingest(Config(ingest=IngestConfig(out=local)), inputs=inputs, spark=spark, progress=False)
    assert sorted_rows(spark, out) == sorted_rows(spark, local)
