"""A ``spark://`` master that is no Spark master fails within ``connect_timeout``, in one line;
a real one still starts its session."""

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

#: What Java 17 prints as the JVM starts (Spark 4 enables an incubator module); not ours.
JVM_BANNER = "WARNING: Using incubator modules: jdk.incubator.vector"


def silent_server() -> tuple[int, Callable[[], None]]:
    """A port on 127.0.0.1 that accepts connections and never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return  # closed

    threading.Thread(target=accept, daemon=True).start()

    def close() -> None:
        server.close()
        for connection in held:
            connection.close()

    return server.getsockname()[1], close


def http_server() -> tuple[int, Callable[[], None]]:
    """A plain HTTP server on 127.0.0.1 (it answers Spark's frames with a 400 and hangs up)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def close() -> None:
        server.shutdown()
        server.server_close()

    return server.server_address[1], close


@pytest.fixture(params=[silent_server, http_server], ids=["silent", "http"])
def not_a_master(request) -> Iterator[int]:
    port, close = request.param()
    yield port
    close()


@pytest.mark.slow
def test_a_port_that_is_no_spark_master_fails_within_connect_timeout_in_one_line(
    not_a_master, tmp_path
):
    master = f"spark://127.0.0.1:{not_a_master}"
    config = tmp_path / "dltrigger.toml"
    config.write_text('[spark]\nconnect_timeout = 3\n[spark.conf]\n"spark.ui.enabled" = "false"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "dltrigger", "generate", "--config", str(config), "--master",
         master, "--process", "wjets", "--events", "10", "--out", str(tmp_path / "raw"),
         "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    took = time.monotonic() - start
    lines = [line for line in result.stderr.splitlines() if line.strip() and line != JVM_BANNER]
    assert result.returncode == 1 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"dltrigger generate: error: cannot reach Spark master {master}: ")
    assert "is not a Spark master (no answer within 3 s" in lines[0]
    assert "at java." not in result.stderr + result.stdout
    assert took < 60, took  # Spark alone gives up after 3 x 20 s of registration attempts
    assert not list(tmp_path.glob("hs_err*"))


RUNNING_SESSION = """
import sys, time
from dltrigger.config import SparkConfig
from dltrigger.spark.session import get_spark
config = SparkConfig(master=sys.argv[1], connect_timeout=5, conf={"spark.ui.enabled": "false"})
spark = get_spark(config)
time.sleep(7)  # past connect_timeout: the watchdog has stood down
assert spark.range(1000).count() == 1000
print("counted")
"""


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.distributed
def test_a_real_master_registers_the_session_within_connect_timeout(standalone_cluster, tmp_path):
    result = subprocess.run([sys.executable, "-c", RUNNING_SESSION, standalone_cluster],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0 and "counted" in result.stdout, result.stderr[-3000:]
