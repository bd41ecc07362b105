"""A local session's faster JVM start: the class-data-sharing archive, written once and shared."""

import os
import subprocess
import sys
import time

import pytest

from dltrigger.config import SparkConfig
from dltrigger.spark.session import class_archive, fast_start_options


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


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
    dump = archive.with_name(f"{archive.name}.{writer}")
    dump.write_bytes(b"archive")
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
