"""Benchmark of ``dltrigger ingest``: ROOT -> Arrow -> Spark -> Parquet, against raw uproot.

On the same generated files (made once, cached under ``--data``), one run measures:

1. raw uproot: ``TTree.arrays`` of the ingested branches in this process (one core) -- the
   local limit, decompression and deserialisation;
2. uproot -> Arrow record batches (our reader without Spark), one core;
3. the Spark ``root`` source on ``local[1]`` and ``local[2]``, every column materialised
   (``noop`` sink), with every file's layout merged on the driver (the default) and with the
   first file's (``schemaFrom=first``);
4. ROOT -> Parquet end to end (``dltrigger ingest``) on ``local[1]`` and ``local[2]``;
5. a small job, start-up included (``--small``, ~48k events in 18 files, made once): the
   command ``dltrigger ingest`` in a fresh process with each executor (``auto``: the local
   process pool for such inputs; ``spark``: a JVM and Spark tasks), against the plain
   single-process script a user would write (``plain/uproot_to_parquet.py``: uproot ->
   ``ak.to_parquet``, the same branches). Goal (issue 25): ``auto`` >= 1.0 x the script.

Printed: events/s and MB/s (file bytes on disk per second; every branch is read) and the ratio
to raw uproot. Goals (issue 3): Spark source on one core >= 0.8 x raw uproot; on two cores
>= 1.6 x.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, GenerateConfig, IngestConfig, SparkConfig
from dltrigger.io.paths import expand_inputs
from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
from dltrigger.io.root_survey import file_sizes

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}


def ensure_data(folder: Path, events: int, events_per_file: int = 1000) -> list[str]:
    files = sorted(folder.glob("*.root"))
    if len(files) >= 3:
        return [str(f) for f in files]
    print(f"generating {events} events per process into {folder} (once)...", flush=True)
    config = Config(
        spark=SparkConfig(master="local[*]", conf=QUIET),
        generate=GenerateConfig(
            out=folder, events=events, events_per_file=events_per_file, overwrite=True
        ),
    )
    dltrigger.generate.run(config)
    return [str(f) for f in sorted(folder.glob("*.root"))]


def best_of(repeats: int, function) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_uproot(files: list[str]) -> None:
    for path in files:
        file, tree = open_tree(path, "Delphes")
        with file:
            tree.arrays(infer_layout(tree).branch_paths(), library="ak", how=dict)


def uproot_to_arrow(files: list[str]) -> None:
    for path in files:
        file, tree = open_tree(path, "Delphes")
        with file:
            read_record_batch(tree, infer_layout(tree), 0, tree.num_entries, path)


def spark_session(master: str):
    from dltrigger.spark.session import get_spark

    return get_spark(SparkConfig(master=master, conf=QUIET))


def spark_source(spark, files: list[str], schema_from: str = "all") -> None:
    from dltrigger.spark.root_source import register

    register(spark)
    for path in files:  # new stamps: the source's survey cache must not serve a repeat
        os.utime(path)
    cores = spark.sparkContext.defaultParallelism
    reader = spark.read.format("root").option("schemaFrom", schema_from)
    df = reader.option("minPartitions", str(2 * cores)).load(files)
    df.write.format("noop").mode("overwrite").save()


def end_to_end(spark, files: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Config(
            ingest=IngestConfig(out=Path(folder) / "out", inputs=files),
            spark=SparkConfig(executor="spark"),
        )
        dltrigger.ingest.run(config, spark=spark)


def small_job(files: list[str], repeats: int) -> dict[str, float]:
    """Wall seconds of whole commands in fresh processes (imports, JVM, writing included)."""
    import subprocess

    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as folder:
        file, tree = open_tree(files[0], "Delphes")
        with file:
            branches = infer_layout(tree).branch_paths()
        listed = Path(folder) / "branches.json"
        listed.write_text(json.dumps(branches))
        commands = {
            "plain uproot -> ak.to_parquet script": [
                sys.executable, str(here / "plain" / "uproot_to_parquet.py"),
                f"{folder}/plain", str(listed), *files,
            ],
            **{
                f"dltrigger ingest, executor {executor}": [
                    sys.executable, "-m", "dltrigger", "ingest", *files, "--out",
                    f"{folder}/{executor}", "--overwrite", "--quiet", "--executor", executor,
                ]
                for executor in ("auto", "spark")
            },
        }  # fmt: skip

        def run(command: list[str]) -> None:
            subprocess.run(command, check=True, capture_output=True)

        return {
            name: best_of(repeats, lambda c=command: run(c)) for name, command in commands.items()
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench/raw"))
    parser.add_argument("--events", type=int, default=4000, help="per process, if generating")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--small",
        type=Path,
        default=Path("data/bench/small"),
        help="the small job's files (16,000 events per process, made once)",
    )
    parser.add_argument("--small-only", action="store_true", help="only the small job")
    args = parser.parse_args()
    small_files = ensure_data(args.small, 16_000, events_per_file=3000)
    small_events = 0
    for path in small_files:
        file, tree = open_tree(path, "Delphes")
        with file:
            small_events += tree.num_entries
    small = small_job(small_files, args.repeats)
    plain = small["plain uproot -> ak.to_parquet script"]
    print(f"small job: {len(small_files)} files, {small_events} events, start-up included")
    print(f"{'command':40} {'seconds':>8} {'events/s':>10} {'x script':>9}")
    for name, seconds in small.items():
        print(f"{name:40} {seconds:8.2f} {small_events / seconds:10.0f} {plain / seconds:9.2f}")
    ratio = plain / small["dltrigger ingest, executor auto"]
    print(f"goal: dltrigger ingest (auto) >= 1.0 x the plain script: {ratio:.2f} "
          f"({'met' if ratio >= 1.0 else 'NOT met'})")  # fmt: skip
    if args.small_only:
        return

    files = ensure_data(args.data, args.events)
    events = 0
    for path in files:
        file, tree = open_tree(path, "Delphes")
        with file:
            events += tree.num_entries
    megabytes = sum(size for _, size in file_sizes(expand_inputs(files), False)[0]) / 1e6

    results = {}
    results["raw uproot (1 core)"] = best_of(args.repeats, lambda: raw_uproot(files))
    results["uproot -> Arrow (1 core)"] = best_of(args.repeats, lambda: uproot_to_arrow(files))
    for master in ("local[1]", "local[2]"):
        spark = spark_session(master)
        spark_source(spark, files)  # warm-up: Python workers, JIT
        results[f"Spark source {master}"] = best_of(
            args.repeats, lambda s=spark: spark_source(s, files)
        )
        results[f"  ... schemaFrom=first {master}"] = best_of(
            args.repeats, lambda s=spark: spark_source(s, files, "first")
        )
        results[f"ROOT -> Parquet {master}"] = best_of(
            args.repeats, lambda s=spark: end_to_end(s, files)
        )
        spark.stop()

    raw = results["raw uproot (1 core)"]
    print(f"dltrigger {__version__} ingest benchmark; machine: {describe()}")
    print(f"{len(files)} files, {events} events, {megabytes:.1f} MB on disk")
    print(f"{'measurement':28} {'seconds':>8} {'events/s':>10} {'MB/s':>7} {'x raw':>6}")
    for name, seconds in results.items():
        print(
            f"{name:28} {seconds:8.2f} {events / seconds:10.0f} {megabytes / seconds:7.1f} "
            f"{raw / seconds:6.2f}"
        )
    one, two = raw / results["Spark source local[1]"], raw / results["Spark source local[2]"]
    for label, value, goal in (("local[1]", one, 0.8), ("local[2]", two, 1.6)):
        verdict = "met" if value >= goal else "NOT met"
        print(f"goal: Spark source {label} >= {goal} x raw: {value:.2f} ({verdict})")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": describe(), "events": events, "seconds": results}, indent=2)
        )


if __name__ == "__main__":
    main()
