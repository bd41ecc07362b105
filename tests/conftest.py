"""Session fixtures: one Spark session and one generated sample per test run."""

from __future__ import annotations

import os

# Fail fast on refused XRootD connections in tests (the client's default retries for ~minutes).
os.environ.setdefault("XRD_CONNECTIONRETRY", "1")
os.environ.setdefault("XRD_CONNECTIONWINDOW", "5")
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dltrigger.config import Config, GenerateConfig, SparkConfig

#: Events per process in the shared sample: enough for the physics checks' tolerances.
SAMPLE_EVENTS = 600
SAMPLE_EVENTS_PER_FILE = 300
SAMPLE_SEED = 4242


@pytest.fixture(scope="session")
def spark():
    from dltrigger.spark.session import get_spark

    session = get_spark(
        SparkConfig(
            master="local[2]",
            app_name="dltrigger-tests",
            conf={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"},
        )
    )
    yield session
    session.stop()


@dataclass(frozen=True)
class GeneratedSample:
    folder: Path
    reports: list
    config: Config

    def files(self, process: str) -> list[Path]:
        return sorted(self.folder.glob(f"{process}_*.root"))


@pytest.fixture(scope="session")
def generated(spark, tmp_path_factory) -> GeneratedSample:
    """W+jets, ttbar and QCD files made once, in Spark tasks (the other stages' fixtures run
    in the local process pool: ``[spark] executor = "auto"``; tests/test_executors.py compares
    the two)."""
    import dltrigger as dlt

    folder = tmp_path_factory.mktemp("raw")
    config = Config(
        spark=SparkConfig(executor="spark"),
        generate=GenerateConfig(
            out=folder,
            events=SAMPLE_EVENTS,
            events_per_file=SAMPLE_EVENTS_PER_FILE,
            seed=SAMPLE_SEED,
            batch_size=150,
        ),
    )
    reports = list(dlt.generate.run(config, spark=spark).files)
    return GeneratedSample(folder, reports, config)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process, seconds: float = 20.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {seconds} s")


@dataclass(frozen=True)
class XRootDServer:
    url: str  # root://127.0.0.1:PORT/
    folder: Path  # the served folder

    def url_of(self, name: str) -> str:
        return f"{self.url}/{name}"


@pytest.fixture(scope="session")
def xrootd_server():
    """A real XRootD server (Debian's xrootd-server) on 127.0.0.1, serving a temporary folder.

    The daemon refuses to run as root, so it drops to ``nobody`` (-R); its folders are made
    readable (data) and writable (admin) for that user.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    binary = shutil.which("xrootd")
    if binary is None:
        pytest.skip("xrootd server not installed (make test installs Debian's xrootd-server)")
    base = Path(tempfile.mkdtemp(prefix="dltrigger-xrootd-"))
    data, admin = base / "data", base / "admin"
    data.mkdir()
    admin.mkdir()
    os.chmod(base, 0o755)
    os.chmod(data, 0o755)
    os.chmod(admin, 0o777)
    port = free_port()
    config = base / "xrootd.cfg"
    config.write_text(
        f"all.export /\nxrd.port {port}\noss.localroot {data}\n"
        f"all.adminpath {admin}\nall.pidpath {admin}\n"
    )
    command = [binary, "-c", str(config), "-l", str(admin / "xrootd.log")]
    if os.geteuid() == 0:
        command += ["-R", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield XRootDServer(f"root://127.0.0.1:{port}/", data)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def ingested(spark, generated, tmp_path_factory) -> Path:
    """The shared generated sample, ingested once."""
    import dltrigger as dlt
    from dltrigger.config import IngestConfig

    out = tmp_path_factory.mktemp("ingested") / "data"
    dlt.ingest.run(
        Config(ingest=IngestConfig(out=out, inputs=[str(generated.folder)])), spark=spark
    )
    return out


@pytest.fixture(scope="session")
def features_dataset(spark, ingested, tmp_path_factory) -> Path:
    """The ingested sample through ``dltrigger features`` once (folders full/, balanced/, dev/)."""
    import dltrigger as dlt
    from dltrigger.config import FeaturesConfig

    out = tmp_path_factory.mktemp("features-shared") / "features"
    dlt.features.run(Config(features=FeaturesConfig(input=ingested, out=out)), spark=spark)
    return out


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
