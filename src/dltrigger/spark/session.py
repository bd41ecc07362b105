"""The Spark session every stage shares, built from :class:`dltrigger.config.SparkConfig`.

The JVM logs to a file per session (:func:`log_file`), and to the console only at
``console_log_level``: a failed task's Java stack trace stays out of the terminal unless asked
for, and the command's one error line names the file. A ``spark://`` master is tried with a
plain connection first, so an unreachable one fails within ``connect_timeout`` seconds
instead of after Spark's registration retries.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from ..config import SparkConfig
from ..errors import SparkError

#: The log file of the session this process built (None: none built, or built elsewhere).
_LOG_FILE: Path | None = None


def log_file(since: int = 0) -> Path | None:
    """The JVM log of this process's session, if it has grown beyond ``since`` bytes."""
    return _LOG_FILE if log_size() > since else None


def log_size() -> int:
    """Bytes in this process's JVM log so far (0: none)."""
    try:
        return _LOG_FILE.stat().st_size if _LOG_FILE is not None else 0
    except OSError:
        return 0


def check_master_reachable(master: str, timeout: float) -> None:
    """Refuse a ``spark://host:port[,host:port]`` master none of whose hosts accepts a TCP
    connection within ``timeout`` seconds."""
    if not master.startswith("spark://"):
        return
    causes = []
    for address in master.removeprefix("spark://").split(","):
        parts = urlsplit(f"//{address}")
        host, port = parts.hostname or "", parts.port or 7077
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as exc:
            causes.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    raise SparkError(
        f"cannot reach Spark master {master} ({'; '.join(causes)}); is the master running? "
        "(--master local[*] runs on this machine)"
    )


def get_spark(config: SparkConfig | None = None):
    """Return the active Spark session or build one from ``config``.

    Python workers are pointed at this interpreter, so they see the same virtual
    environment's packages (stack-notes: without it tasks miss pyarrow, pythia8mc, ...).
    """
    global _LOG_FILE
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    config = config or SparkConfig()
    check_master_reachable(config.master, config.connect_timeout)
    folder = config.log_dir or Path(tempfile.gettempdir()) / "dltrigger-logs"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{config.app_name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    log4j = Path(__file__).with_name("log4j2.properties")
    java_options = (
        f"-Dlog4j.configurationFile=file:{log4j} -Ddltrigger.log.file={log} "
        f"-Ddltrigger.console.level={config.console_log_level}"
    )
    builder = SparkSession.builder.master(config.master).appName(config.app_name)
    builder = builder.config("spark.driver.extraJavaOptions", java_options)
    # dltrigger draws its own progress; Spark's bar would print even under --quiet
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    for key, value in config.conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:
        from .failures import root_cause

        raise SparkError(
            f"cannot start Spark (master {config.master}): {root_cause(exc)}"
        ) from None
    _LOG_FILE = log
    spark.sparkContext.setLogLevel("WARN")
    return spark
