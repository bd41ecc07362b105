"""A local session's faster JVM start: the class-data-sharing archive, written once and shared."""

import logging
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from dltrigger.config import SparkConfig
from dltrigger.spark.session import archive_problem, class_archive, fast_start_options


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def synthetic_archive(path: Path, regions: tuple[bytes, ...] = (b"classes" * 1000,)) -> Path:
    """A dynamic archive's header in JDK 17's layout over ``regions``, with their CRC32s."""
    header = bytearray(4096)
    struct.pack_into("=IiI", header, 0, 0xF00BABA8, 0, 11)
    offset, body = len(header), b""
    for index, data in enumerate(regions):
        fields = (zlib.crc32(data), 0, 0, 0, 0, 0, offset, 0, len(data), 0, 0, 0)
        struct.pack_into("=I5i6Q", header, 16 + 72 * index, *fields)
        offset, body = offset + len(data), body + data
    path.write_bytes(bytes(header) + body)
    return path


def settled(path: Path) -> None:
    old = time.time() - 120
    os.utime(path, (old, old))


def test_one_writer_then_everyone_reads(tmp_path):
    config = SparkConfig(master="local[2]", class_archive_dir=tmp_path)
    archive = class_archive(config)
    first = fast_start_options(config)
    assert f"-XX:ArchiveClassesAtExit={archive}.{os.getpid()}" in first
    lock = archive.with_name(archive.name + ".lock")
    assert lock.read_text() == str(os.getpid())
    # while the writer lives, the others start without an archive (never a half-written one)
    assert fast_start_options(config) == "-XX:+UseSerialGC"

    # the writer has gone and its dump has settled: the next session adopts it
    writer = ended_pid()
    lock.write_text(str(writer))
    dump = synthetic_archive(archive.with_name(f"{archive.name}.{writer}"))
    old = time.time() - 120
    os.utime(dump, (old, old))
    options = fast_start_options(config)
    assert f"-XX:SharedArchiveFile={archive}" in options and "-XX:+UseSerialGC" in options
    assert archive.exists() and not dump.exists() and not lock.exists()


def test_a_fresh_dump_or_an_abandoned_lock(tmp_path):
    config = SparkConfig(master="local[1]", class_archive_dir=tmp_path)
    archive = class_archive(config)
    writer = ended_pid()
    lock = archive.with_name(archive.name + ".lock")
    lock.write_text(str(writer))
    archive.with_name(f"{archive.name}.{writer}").write_bytes(b"still being written")
    assert fast_start_options(config) == "-XX:+UseSerialGC"  # too recent to trust
    old = time.time() - 3600
    os.utime(lock, (old, old))
    archive.with_name(f"{archive.name}.{writer}").unlink()
    # a writer that died without writing: after a while another session writes instead
    assert "-XX:ArchiveClassesAtExit" in fast_start_options(config)


def test_only_local_masters_and_only_when_asked(tmp_path):
    assert (
        fast_start_options(SparkConfig(master="spark://h:7077", class_archive_dir=tmp_path)) == ""
    )
    assert fast_start_options(SparkConfig(fast_start=False, class_archive_dir=tmp_path)) == ""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    config = SparkConfig(master="local[1]", class_archive_dir=blocked / "cache")
    assert fast_start_options(config) == "-XX:+UseSerialGC"  # no cache, still a session


SESSION = """
import sys
from pathlib import Path
from dltrigger.config import SparkConfig
from dltrigger.spark.session import get_spark
spark = get_spark(SparkConfig(master="local[1]", class_archive_dir=Path(sys.argv[1])))
assert spark.range(10).count() == 10
runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
print(" ".join(runtime.getInputArguments()))
"""


@pytest.mark.slow
@pytest.mark.spark
def test_a_real_jvm_writes_the_archive_and_the_next_one_starts_from_it(tmp_path):
    def session() -> str:
        result = subprocess.run([sys.executable, "-c", SESSION, str(tmp_path)],
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "ArchiveClassesAtExit" in session()
    archive = class_archive(SparkConfig(class_archive_dir=tmp_path))
    deadline = time.time() + 120
    dumps: list = []
    while time.time() < deadline:  # the JVM writes at its exit, after the Python process
        dumps = [p for p in tmp_path.glob(archive.name + ".[0-9]*") if p.stat().st_size > 0]
        if dumps and time.time() - dumps[0].stat().st_mtime > 3:
            break
        time.sleep(1)
    assert dumps, "no archive written"
    old = time.time() - 120
    os.utime(dumps[0], (old, old))  # settled: no need to wait the 30 s here
    assert f"-XX:SharedArchiveFile={archive}" in session()
    assert archive.stat().st_size > 10_000_000


def test_a_stray_file_named_like_a_dump_is_left_alone(tmp_path):
    """`<archive>.1bak`, a copy, a number too long for a process id: no writer's dump."""
    config = SparkConfig(master="local[1]", class_archive_dir=tmp_path)
    archive = class_archive(config)
    strays = [archive.with_name(f"{archive.name}.{tail}") for tail in ("1bak", "2.tmp", "9" * 30)]
    for stray in strays:
        settled(synthetic_archive(stray))
    assert "-XX:ArchiveClassesAtExit" in fast_start_options(config)
    assert all(stray.exists() for stray in strays) and not archive.exists()


def test_a_cut_short_or_foreign_archive_is_removed_and_named_in_one_warning(tmp_path, caplog):
    config = SparkConfig(master="local[1]", class_archive_dir=tmp_path)
    archive = class_archive(config)
    for damage in ("cut short", "magic number"):
        data = synthetic_archive(archive).read_bytes()
        archive.write_bytes(data[:6000] if damage == "cut short" else bytes(4) + data[4:])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="dltrigger"):
            options = fast_start_options(config)
        # this session starts without it, and writes the next one
        assert "SharedArchiveFile" not in options and "-XX:ArchiveClassesAtExit" in options
        assert not archive.exists()
        (line,) = caplog.messages
        assert str(archive) in line and damage in line and "\n" not in line
        archive.with_name(archive.name + ".lock").unlink()


def test_a_dump_whose_bytes_miss_their_checksums_is_not_adopted(tmp_path, caplog):
    config = SparkConfig(master="local[1]", class_archive_dir=tmp_path)
    archive = class_archive(config)
    writer = ended_pid()
    archive.with_name(archive.name + ".lock").write_text(str(writer))
    dump = synthetic_archive(archive.with_name(f"{archive.name}.{writer}"))
    data = bytearray(dump.read_bytes())
    data[-10] ^= 0xFF
    dump.write_bytes(bytes(data))
    settled(dump)
    with caplog.at_level(logging.WARNING, logger="dltrigger"):
        options = fast_start_options(config)
    assert "SharedArchiveFile" not in options and "-XX:ArchiveClassesAtExit" in options
    assert not archive.exists() and not dump.exists()
    (line,) = caplog.messages
    assert str(dump) in line and "checksum" in line


def test_the_header_check_reads_the_archive_the_jdk_ships(tmp_path):
    """The header layout read in session.py, against an archive the installed JVM wrote."""
    java = Path(os.path.realpath(shutil.which("java") or "java"))
    shipped = java.parent.parent / "lib" / "server" / "classes.jsa"
    if not shipped.is_file():
        pytest.skip(f"no archive shipped with {java}")
    data = shipped.read_bytes()
    if struct.unpack_from("=I", data, 8)[0] != 11:
        pytest.skip("not JDK 17's archive layout")
    assert archive_problem(shipped, contents=True) is None
    cut = tmp_path / "cut.jsa"
    cut.write_bytes(data[: len(data) // 2])
    assert "cut short" in (archive_problem(cut) or "")
    damaged = bytearray(data)
    damaged[len(data) // 3] ^= 0xFF
    cut.write_bytes(bytes(damaged))
    assert archive_problem(cut) is None  # the checksums are read only when asked
    assert "checksum" in (archive_problem(cut, contents=True) or "")


LOGGED_SESSION = """
import sys
from pathlib import Path
from dltrigger.config import SparkConfig
from dltrigger.spark.session import get_spark
cache, logs = Path(sys.argv[1]), Path(sys.argv[2])
config = SparkConfig(master="local[1]", class_archive_dir=cache, log_dir=logs)
assert get_spark(config).range(10).count() == 10
"""


@pytest.mark.slow
@pytest.mark.spark
def test_a_jvm_that_dies_on_its_archive_starts_again_without_it_and_reports_in_the_log_folder(
    tmp_path,
):
    cache, logs, work = tmp_path / "cache", tmp_path / "logs", tmp_path / "work"
    work.mkdir()

    def session() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", LOGGED_SESSION, str(cache), str(logs)],
                              cwd=work, capture_output=True, text=True, timeout=300)  # fmt: skip

    assert session().returncode == 0
    archive = class_archive(SparkConfig(class_archive_dir=cache))
    deadline = time.time() + 120
    dumps: list = []
    while time.time() < deadline:  # the JVM writes at its exit, after the Python process
        dumps = [p for p in cache.glob(archive.name + ".[0-9]*") if p.stat().st_size > 0]
        if dumps and time.time() - dumps[0].stat().st_mtime > 3:
            break
        time.sleep(1)
    assert dumps, "no archive written"
    # its header intact (the check passes), its first region's classes overwritten: the JVM
    # crashes (SIGSEGV) as it maps them
    data = bytearray(dumps[0].read_bytes())
    (offset,) = struct.unpack_from("=Q", data, 16 + 24)
    data[offset : offset + (4 << 20)] = b"\xff" * (4 << 20)
    archive.write_bytes(bytes(data))
    dumps[0].unlink()
    result = session()
    assert result.returncode == 0, result.stderr[-3000:]
    warning = [line for line in result.stderr.splitlines() if str(archive) in line]
    assert len(warning) == 1 and "the JVM did not start with it" in warning[0], result.stderr
    assert not archive.exists()  # the next session writes a new one
    assert list(logs.glob("hs_err_pid*.log")) and not list(work.glob("hs_err*"))
