"""The Spark session every stage shares, built from :class:`dltrigger.config.SparkConfig`.

The JVM logs to a file per session (:func:`log_file`), and to the console only at
``console_log_level``: a failed task's Java stack trace stays out of the terminal unless asked
for, and the command's one error line names the file. A ``spark://`` master is tried with a
plain connection first, so an unreachable one fails within ``connect_timeout`` seconds
instead of after Spark's registration retries.
"""

from __future__ import annotations

import os
import shutil
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


def class_archive(config: SparkConfig) -> Path:
    """The class-data-sharing archive of this Spark and Java installation (it need not exist)."""
    import hashlib

    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    java = os.environ.get("JAVA_HOME") or os.path.realpath(shutil.which("java") or "java")
    names = sorted(p.name for p in jars.glob("*.jar")) if jars.is_dir() else []
    key = hashlib.sha256("\n".join([pyspark.__version__, java, *names]).encode()).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dltrigger"
    return (config.class_archive_dir or cache) / f"spark-classes-{key[:16]}.jsa"


#: A dump left this long unchanged by a writer that has ended is complete (the JVM writes
#: its archive in seconds at its exit, after the Python process that started it has gone).
_DUMP_SETTLE_SECONDS = 30.0
#: A writer's lock older than this, with no archive to show for it, was abandoned.
_STALE_LOCK_SECONDS = 600.0


def fast_start_options(config: SparkConfig) -> str:
    """The driver JVM's options of ``config.fast_start``: the serial collector, and the classes
    from the installation's class-data-sharing archive.

    While there is no archive, one session at a time (a lock file) has its JVM write one at its
    exit, under its own name (``<archive>.<pid>``); a later session adopts a finished one under
    the shared name, so no session ever reads a half-written file. Sessions meanwhile start
    without an archive. Any failure of the cache (unwritable folder) only loses the speed-up.
    """
    if not config.fast_start or not config.master.startswith("local"):
        return ""
    serial = "-XX:+UseSerialGC"
    # -Xlog: the archive's notes (classes of signed jars left out, ...) are not the user's
    quiet = "-Xlog:cds=off -Xlog:cds+dynamic=off"
    archive = class_archive(config)
    try:
        if archive.exists() or _adopt_finished_dump(archive):
            return f"{serial} -XX:SharedArchiveFile={archive} {quiet}"
        if not _take_writer_lock(archive):
            return serial
    except OSError:
        return serial
    return f"{serial} -XX:ArchiveClassesAtExit={archive}.{os.getpid()} {quiet}"


def _adopt_finished_dump(archive: Path) -> bool:
    now = time.time()
    for written in archive.parent.glob(f"{archive.name}.[0-9]*"):
        pid = int(written.suffix.lstrip("."))
        stat = written.stat()
        if not _alive(pid) and stat.st_size > 0 and now - stat.st_mtime > _DUMP_SETTLE_SECONDS:
            written.replace(archive)
            archive.with_name(f"{archive.name}.lock").unlink(missing_ok=True)
            return True
    return False


def _take_writer_lock(archive: Path) -> bool:
    archive.parent.mkdir(parents=True, exist_ok=True)
    lock = archive.with_name(f"{archive.name}.lock")
    if lock.exists():
        try:
            writer = int(lock.read_text() or "0")
        except ValueError:
            writer = 0
        abandoned = time.time() - lock.stat().st_mtime > _STALE_LOCK_SECONDS
        if (writer and _alive(writer)) or not abandoned:
            return False
        lock.unlink(missing_ok=True)
    try:
        descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False  # another session took it first
    with os.fdopen(descriptor, "w") as file:
        file.write(str(os.getpid()))
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


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
        f"-Ddltrigger.console.level={config.console_log_level} {fast_start_options(config)}"
    ).strip()
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
