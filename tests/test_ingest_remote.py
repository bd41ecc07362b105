"""Ingest over XRootD (a real server on 127.0.0.1) and on a standalone Spark cluster."""

import os
import shutil
import subprocess
import sys

import pytest

import dltrigger as dlt
from dltrigger.config import Config, IngestConfig
from dltrigger.errors import InputError, RootFileError
from tests.conftest import free_port

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
    local = dlt.ingest.run(
        Config(
            ingest=IngestConfig(
                out=tmp_path / "local", inputs=[str(xrootd_server.folder / n) for n in names]
            )
        ),
        spark=spark,
    ).report
    remote = dlt.ingest.run(
        Config(
            ingest=IngestConfig(
                out=tmp_path / "remote",
                inputs=[xrootd_server.url_of("*.root")],  # a glob listed on the server
            )
        ),
        spark=spark,
    ).report
    assert remote.events == local.events > 0
    assert all(f.path.startswith("root://127.0.0.1:") for f in remote.files)
    assert sorted_rows(spark, tmp_path / "local") == sorted_rows(spark, tmp_path / "remote")


@pytest.mark.xrootd
def test_bad_root_urls_are_named(spark, xrootd_server, tmp_path):
    config = Config(ingest=IngestConfig(out=tmp_path / "out"))
    missing = xrootd_server.url_of("wjets_404.root")
    with pytest.raises(RootFileError, match=r"wjets_404\.root"):
        dlt.ingest.run(dlt.with_overrides(config, "ingest", inputs=[missing]), spark=spark)
    refused = f"root://127.0.0.1:{free_port()}//wjets_0.root"
    with pytest.raises(RootFileError, match=r"127\.0\.0\.1.*cannot reach the file.*Connection"):
        dlt.ingest.run(dlt.with_overrides(config, "ingest", inputs=[refused]), spark=spark)
    nothing = xrootd_server.url_of("nothing_*.root")
    with pytest.raises(InputError, match="no files match"):
        dlt.ingest.run(dlt.with_overrides(config, "ingest", inputs=[nothing]), spark=spark)
    assert not (tmp_path / "out").exists()


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
    dlt.ingest.run(Config(ingest=IngestConfig(out=local, inputs=inputs)), spark=spark)
    assert sorted_rows(spark, out) == sorted_rows(spark, local)
