"""The Spark session every stage shares, built from [`dltrigger.config.SparkConfig`][].

The JVM logs to a file per session ([`log_file`][]), and to the console only at
``console_log_level``: a failed task's Java stack trace stays out of the terminal unless asked
for, and the command's one error line names the file; a JVM crash's report
(``hs_err_pid<pid>.log``) goes to the same folder, not to the working folder. A ``spark://``
master is tried with a plain connection first, and then has ``connect_timeout`` seconds to
register the application: one that is unreachable, or a port that accepts connections but is
no Spark master, fails in one line within that time instead of after Spark's registration
retries (3 x 20 s, fixed in Spark). A damaged ``fast_start`` archive is refused (its header) or,
if the JVM does not start with it, dropped for one start without it; either way it is removed
so that the next session writes a new one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from ..config import SparkConfig
from ..errors import SparkError

logger = logging.getLogger("dltrigger")

#: The log file of the session this process built (None: none built, or built elsewhere).
_LOG_FILE: Path | None = None


def log_file(since: int = 0) -> Path | None:
    """The JVM log of this process's session, if what it logged past its first ``since``
    bytes holds an error ([`log_has_errors`][]): routine warnings alone (a loopback
    hostname, no native Hadoop library) are not worth naming with a failure."""
    if _LOG_FILE is None or log_size() <= since:
        return None
    return _LOG_FILE if log_has_errors(_LOG_FILE, since) else None


#: A log4j record at level ERROR or FATAL (the layout of log4j2.properties: date, time, level).
_ERROR_RECORD = re.compile(rb"^\S+ \S+ (ERROR|FATAL) ")
#: A line of a Java stack trace: a frame, a cause, or an exception's class name first.
_STACK_TRACE = re.compile(rb"^(\tat |Caused by: |[\w$]+(\.[\w$]+)*(Exception|Error)(: |$))")


def log_has_errors(path: Path, since: int = 0) -> bool:
    """Whether the JVM log ``path``, past its first ``since`` bytes, holds a record at level
    ERROR (or FATAL) or a Java exception's stack trace; False for warnings only, or a log
    that cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(since)
            for line in f:
                line = line.rstrip(b"\r\n")
                if _ERROR_RECORD.match(line) or _STACK_TRACE.match(line):
                    return True
    except OSError:
        return False
    return False


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
    serial = _SERIAL_GC
    # -Xlog: the archive's notes (classes of signed jars left out, ...) are not the user's
    quiet = "-Xlog:cds=off -Xlog:cds+dynamic=off"
    archive = class_archive(config)
    try:
        if (archive.exists() or _adopt_finished_dump(archive)) and _usable(archive):
            return f"{serial} -XX:SharedArchiveFile={archive} {quiet}"
        if not _take_writer_lock(archive):
            return serial
    except OSError:
        return serial
    return f"{serial} -XX:ArchiveClassesAtExit={archive}.{os.getpid()} {quiet}"


#: The garbage collector of ``fast_start``, also its whole option set when there is no archive.
_SERIAL_GC = "-XX:+UseSerialGC"

#: A class-data-sharing archive's magic numbers (HotSpot's ``cds.h``): a static archive's and a
#: dynamic one's (what ``-XX:ArchiveClassesAtExit`` writes), in the byte order of the machine
#: that wrote it (``a8 ab 0b f0`` on x86-64), hence read in the native order.
_CDS_MAGICS = (0xF00BABA2, 0xF00BABA8)
#: The header version of JDK 17's archives (``CURRENT_CDS_ARCHIVE_VERSION`` 11), whose layout
#: is read past the magic number; other JDKs' headers differ there and get the magic check only.
_CDS_VERSION_JDK17 = 11
#: JDK 17's header starts with its magic number, CRC and version, padded to 16 bytes; then 7
#: regions of 6 ints (crc, read_only, allow_exec, is_heap_region, is_bitmap_region,
#: mapped_from_file) and 6 words (file_offset, mapping_offset, used, oopmap_offset,
#: oopmap_size_in_bits, mapped_base). Checked against an archive this JVM wrote.
_CDS_HEADER = struct.Struct("=IiI")
_CDS_REGION = struct.Struct("=I5i6Q")
_CDS_REGIONS_AT = 16
_CDS_REGION_COUNT = 7


def archive_problem(path: Path, contents: bool = False) -> str | None:
    """What makes the class-data-sharing archive at ``path`` unusable (None: nothing found).

    The JVM maps an archive's regions straight from the file and trusts them: one cut short (a
    full disk, an interrupted copy) crashes it with SIGBUS instead of being refused. The header
    is always read (its first 520 bytes): the magic number and, in JDK 17's layout, that every
    region lies within the file. With ``contents``, every region's bytes must also match the
    CRC32 the JVM recorded for them (written always, checked by the JVM only under
    ``-XX:+VerifySharedSpaces``): ~0.1 s for an archive's ~150 MB, so it is done once, when a
    written archive is adopted.
    """
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        header = file.read(_CDS_REGIONS_AT + _CDS_REGION_COUNT * _CDS_REGION.size)
        if len(header) < _CDS_HEADER.size:
            return f"{size} bytes, not even an archive's header"
        magic, _, version = _CDS_HEADER.unpack_from(header)
        if magic not in _CDS_MAGICS:
            return f"not a class-data-sharing archive (magic number {magic:#010x})"
        if version != _CDS_VERSION_JDK17:
            return None
        if len(header) < _CDS_REGIONS_AT + _CDS_REGION_COUNT * _CDS_REGION.size:
            return f"cut short: {size} bytes, less than its header"
        for index in range(_CDS_REGION_COUNT):
            at = _CDS_REGIONS_AT + index * _CDS_REGION.size
            crc, *_, offset, _, used, _, _, _ = _CDS_REGION.unpack_from(header, at)
            if used == 0:
                continue
            if offset + used > size:
                return f"cut short: {size} bytes, its region {index} ends at byte {offset + used}"
            if contents and _crc32(file, offset, used) != crc:
                return f"damaged: the bytes of its region {index} do not match their checksum"
    return None


def _crc32(file: IO[bytes], offset: int, length: int) -> int:
    file.seek(offset)
    crc = 0
    while length > 0:
        chunk = file.read(min(length, 1 << 22))
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        length -= len(chunk)
    return crc


def _usable(archive: Path) -> bool:
    """Whether ``archive``'s header is sound; a damaged one is removed, so the next session
    writes a new one, and a warning names it."""
    problem = archive_problem(archive)
    if problem is None:
        return True
    _discard(archive, problem)
    return False


def _discard(archive: Path, problem: str) -> None:
    try:
        archive.unlink(missing_ok=True)
        outcome = "removed; the next session writes a new one"
    except OSError as exc:
        outcome = f"could not remove it: {exc.strerror or type(exc).__name__}"
    logger.warning(
        "fast_start: %s: %s (%s); this session runs without it", archive, problem, outcome
    )


def _adopt_finished_dump(archive: Path) -> bool:
    now = time.time()
    lock = archive.with_name(f"{archive.name}.lock")
    for written in archive.parent.glob(f"{archive.name}.[0-9]*"):
        suffix = written.suffix.removeprefix(".")
        if not re.fullmatch(r"[0-9]{1,9}", suffix):
            continue  # not named by a writer's process id (<archive>.1bak, a copy): not ours
        try:
            stat = written.stat()
        except FileNotFoundError:
            continue  # adopted or removed by another session meanwhile
        if _alive(int(suffix)) or stat.st_size == 0 or now - stat.st_mtime <= _DUMP_SETTLE_SECONDS:
            continue
        problem = archive_problem(written, contents=True)
        if problem is None:
            written.replace(archive)
            lock.unlink(missing_ok=True)
            return True
        _discard(written, problem)
        lock.unlink(missing_ok=True)  # its writer is done: this or a later session writes anew
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
    environment's packages (stack-notes: without it tasks miss pyarrow, pythia8mc, ...). A
    driver JVM that dies at its start with the ``fast_start`` archive is started once more
    without it, and the archive is removed (a warning names it).
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
    fast = fast_start_options(config)
    started = time.time()
    try:
        spark = _start(config, _driver_options(config, log, fast))
    except SparkError:
        raise
    except Exception as exc:
        archive = _shared_archive(fast)
        if archive is None or not _jvm_never_started():
            raise SparkError(_start_failed(config, exc, folder, started)) from None
        # the JVM died before it answered, with an archive whose header was sound: its contents
        # may be damaged since it was adopted (the only time their checksums are checked)
        try:
            spark = _start(config, _driver_options(config, log, _SERIAL_GC))
        except SparkError:
            raise
        except Exception as again:
            raise SparkError(
                f"{_start_failed(config, again, folder, started)} (also without the "
                f"class-data-sharing archive {archive})"
            ) from None
        report = _crash_report(folder, started)
        _discard(archive, "the JVM did not start with it" + (f", see {report}" if report else ""))
    _LOG_FILE = log
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _driver_options(config: SparkConfig, log: Path, fast: str) -> str:
    """The driver JVM's options: its logging into ``log``, its crash report next to it, and
    ``fast`` ([`fast_start_options`][])."""
    log4j = Path(__file__).with_name("log4j2.properties")
    # a crash's report (and a JIT crash's replay file) would land in the working folder
    crash = (
        f"-XX:ErrorFile={log.parent / 'hs_err_pid%p.log'} "
        f"-XX:ReplayDataFile={log.parent / 'replay_pid%p.log'}"
    )
    return (
        f"-Dlog4j.configurationFile=file:{log4j} -Ddltrigger.log.file={log} "
        f"-Ddltrigger.console.level={config.console_log_level} {crash} {fast}"
    ).strip()


def _shared_archive(fast: str) -> Path | None:
    """The archive that ``fast`` ([`fast_start_options`][]) starts the JVM from, if any."""
    found = re.search(r"-XX:SharedArchiveFile=(\S+)", fast)
    return Path(found.group(1)) if found else None


def _jvm_never_started() -> bool:
    """Whether the failed start ended before this process had a JVM to talk to."""
    from pyspark import SparkContext

    return SparkContext._gateway is None


def _crash_report(folder: Path, since: float) -> Path | None:
    """The JVM crash report written into ``folder`` since ``since`` (seconds since the epoch)."""
    reports: list[tuple[float, Path]] = []
    for path in folder.glob("hs_err_pid*.log"):
        try:
            written = path.stat().st_mtime
        except OSError:
            continue
        if written >= since - 1:  # a second's leeway: file times may be coarser than ours
            reports.append((written, path))
    return max(reports)[1] if reports else None


def _start_failed(config: SparkConfig, exc: BaseException, folder: Path, since: float) -> str:
    from .failures import root_cause

    report = _crash_report(folder, since)
    return f"cannot start Spark (master {config.master}): {root_cause(exc)}" + (
        f" (the JVM's crash report: {report})" if report else ""
    )


def _start(config: SparkConfig, java_options: str) -> Any:
    """The session of ``config`` with the driver JVM's ``java_options``; a ``spark://`` master
    has ``connect_timeout`` seconds to register it ([`_registered_within`][])."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(config.master).appName(config.app_name)
    builder = builder.config("spark.driver.extraJavaOptions", java_options)
    # dltrigger draws its own progress; Spark's bar would print even under --quiet
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    for key, value in config.conf.items():
        builder = builder.config(key, value)
    if config.master.startswith("spark://"):
        return _registered_within(builder, config.master, config.connect_timeout)
    return builder.getOrCreate()


#: The driver's frame while a standalone master has not yet registered its application: the
#: session's start blocks there until it does, or until Spark gives up after 3 attempts of
#: 20 s (fixed in StandaloneAppClient, no setting shortens them).
_REGISTERING = "StandaloneSchedulerBackend.waitForRegistration"
#: Seconds between two looks at the driver's threads while the session starts.
_WATCH_SECONDS = 0.2


def _registered_within(builder: Any, master: str, timeout: float) -> Any:
    """``builder.getOrCreate()``, given up when the master has not registered the application
    ``timeout`` seconds after the driver asked it to (a port that accepts connections but is no
    Spark master answers nothing; Spark would wait 60 s, then fail with a Java stack frame).

    The session starts in this thread as usual (pyspark sets its Ctrl-C handler only there); a
    watchdog thread looks at the driver's threads and, at the deadline, ends the driver JVM,
    the only way to stop a SparkContext that is still being constructed.
    """
    done, gave_up = threading.Event(), threading.Event()
    watchdog = threading.Thread(
        target=_watch_registration,
        args=(timeout, done, gave_up),
        name="dltrigger-registration-watchdog",
        daemon=True,
    )
    watchdog.start()
    try:
        spark = builder.getOrCreate()
    except Exception:
        if not gave_up.is_set():
            raise
    finally:
        done.set()
        watchdog.join()
    if gave_up.is_set():
        _forget_gateway()
        raise SparkError(
            f"cannot reach Spark master {master}: {master.removeprefix('spark://')} accepts "
            f"connections but is not a Spark master (no answer within {timeout:g} s, "
            "[spark] connect_timeout)"
        )
    return spark


def _watch_registration(timeout: float, done: threading.Event, gave_up: threading.Event) -> None:
    """Until ``done``: end the driver JVM (setting ``gave_up``) once it has waited ``timeout``
    seconds for its master; stand down once it no longer waits (registered, or refused)."""
    from pyspark import SparkContext

    deadline: float | None = None
    while not done.wait(_WATCH_SECONDS):
        gateway = SparkContext._gateway
        if gateway is None:
            continue  # the JVM is still starting: not the master's time yet
        waiting = _waiting_for_master(gateway)
        if waiting is None or (not waiting and deadline is not None):
            return
        if waiting and deadline is None:
            deadline = time.monotonic() + timeout
        elif waiting and deadline is not None and time.monotonic() > deadline:
            gave_up.set()
            process = getattr(gateway, "proc", None)
            if process is not None:  # None: a JVM this process did not start (spark-submit)
                process.kill()
                process.wait()
            return


def _waiting_for_master(gateway: Any) -> bool | None:
    """Whether a thread of the driver JVM waits for its master (None: the JVM is gone)."""
    from py4j.java_gateway import get_method

    try:
        stacks = gateway.jvm.java.lang.Thread.getAllStackTraces()
        # one call for every frame of every thread; py4j shows a Java map's values() as Python's
        frames = gateway.jvm.java.util.Arrays.deepToString(get_method(stacks, "values")().toArray())
    except Exception:  # py4j's errors of a JVM that has gone
        return None
    return _REGISTERING in str(frames)


def _forget_gateway() -> None:
    """Drop this process's link to a driver JVM that was ended, so that a later session starts
    a new one."""
    from pyspark import SparkContext

    with SparkContext._lock:
        gateway = SparkContext._gateway
        SparkContext._gateway = None
        SparkContext._jvm = None
    if gateway is not None:
        with contextlib.suppress(Exception):  # its JVM is gone: nothing left to close cleanly
            gateway.shutdown()


@contextlib.contextmanager
def spark_session(config: Any = None) -> Iterator[Any]:
    """The Spark session of ``config.spark`` (a [`Config`][], a
    [`SparkConfig`][] or None: the defaults) for a ``with`` block; it is
    stopped at the end if this call started it (an active session is used and left running).

    >>> import dltrigger as dlt
    >>> with dlt.spark_session(dlt.Config()) as spark:  # doctest: +SKIP
    ...     dlt.ingest.run(config, spark=spark)
    """
    from pyspark.sql import SparkSession

    settings = getattr(config, "spark", config)
    started = SparkSession.getActiveSession() is None
    spark = get_spark(settings)
    try:
        yield spark
    finally:
        if started:
            spark.stop()
