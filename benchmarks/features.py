"""Benchmark of ``dltrigger features``: selection + HLF + particle lists, events/s/core.

On generated and ingested events (made once, cached under ``data/bench``):

1. the pure physics functions in this process (one core): input events per second -- the
   reference every other row is compared with (``x pure``);
2. the whole stage (``dltrigger.features.run``: Parquet in and out, balanced and dev subsets)
   on ``local[1]`` and ``local[2]``, its tasks run by each executor: Spark tasks
   (``[spark] executor = "spark"``, the session started before the clock) and the local process
   pool (``executor = "local"``, no JVM);
3. a whole command, start-up included (``--command-only`` runs only this): ``dltrigger
   features`` in a fresh process with each executor (``auto``, the default: the local process
   pool for such inputs; ``spark``: a JVM and Spark tasks), against the plain single-process
   script a user would write (per ingested file: ``pq.read_table`` -> the same pure functions
   -> ``pq.write_table`` of the HLF and particle lists; no split, subsets or statistics), as a
   ratio (``x script``);
4. bytes per selected event on disk against the reference's padded 801 x 19 float64 layout.

Goals (issue 4): >= 2,000 events/s/core (the reference: 11.7 for ingest + features), stored
particle data <= 1/5 of the padded layout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, FeaturesConfig, IngestConfig, SparkConfig
from ingest import best_of

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}

#: The plain single-process script of (3).
PLAIN_SCRIPT = Path(__file__).resolve().parent / "plain" / "features_script.py"


def ensure_ingested(data: Path) -> Path:
    from ingest import ensure_data  # benchmarks/ingest.py: generates the files once

    files = ensure_data(data, 4000)
    ingested = data.with_name(data.name + "-ingested")
    if not ingested.exists():  # made once; either executor writes the same files
        dltrigger.ingest.run(
            Config(
                spark=SparkConfig(master="local[*]", executor="local"),
                ingest=IngestConfig(out=ingested, inputs=files),
            )
        )
    return ingested


def stage_seconds(config: Config, repeats: int, spark=None) -> tuple[float, dict]:
    """Best wall seconds of ``dltrigger.features.run`` of ``config`` into fresh folders."""
    times, manifests = [], {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            run = dltrigger.with_overrides(config, "features", out=Path(folder) / "f")
            start = time.perf_counter()
            manifests = dltrigger.features.run(run, spark=spark).manifests
            times.append(time.perf_counter() - start)
    return min(times), manifests


def command_against_script(ingested: Path, repeats: int) -> dict[str, float]:
    """Wall seconds of whole commands in fresh processes (imports, writing included), run in
    an empty folder (no ./dltrigger.toml: the default settings, as in this process)."""
    ingested = ingested.resolve()
    parts = [str(p) for p in sorted(ingested.glob("label=*/*.parquet"))]
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "plain features script": [sys.executable, str(PLAIN_SCRIPT), f"{folder}/plain",
                                      *parts],
            **{
                f"dltrigger features, executor {executor}": [
                    sys.executable, "-m", "dltrigger", "features", str(ingested), "--out",
                    f"{folder}/{executor}", "--overwrite", "--quiet", "--executor", executor,
                ]
                for executor in ("auto", "spark")
            },
        }  # fmt: skip

        def run(command: list[str]) -> None:
            done = subprocess.run(command, capture_output=True, text=True, cwd=folder)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-3000:]}")

        return {
            name: best_of(repeats, lambda c=command: run(c)) for name, command in commands.items()
        }


def ingested_events(ingested: Path) -> int:
    import pyarrow.parquet as pq

    parts = sorted(ingested.glob("label=*/*.parquet"))
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench/raw"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--command-only", action="store_true", help="only the whole command (3)")
    args = parser.parse_args()

    ingested = ensure_ingested(args.data)
    n_events = ingested_events(ingested)
    print(f"dltrigger {__version__} features benchmark; machine: {describe()}")

    # 3. the whole command in a fresh process against the plain script, start-up included
    command = command_against_script(ingested, args.repeats)
    plain = command["plain features script"]
    print(f"whole command: {n_events} ingested events, start-up included")
    print(f"{'command':36} {'seconds':>8} {'events/s':>9} {'x script':>9}")
    for name, seconds in command.items():
        print(f"{name:36} {seconds:8.2f} {n_events / seconds:9.0f} {plain / seconds:9.2f}")
    if args.command_only:
        return

    # 1. pure functions, one core: what each task computes (compute_features: collections
    # projected, non-finite inputs dropped, selection, HLF, particle lists)
    import pyarrow.parquet as pq

    from dltrigger.physics.collections import resolve_collections
    from dltrigger.physics.features import compute_features
    from dltrigger.spark.session import get_spark

    parts = sorted(ingested.glob("label=*/*.parquet"))
    settings = FeaturesConfig()
    collections = resolve_collections(settings.collections, pq.read_schema(parts[0]).names, "")
    tables = [pq.read_table(p, columns=list(collections.names.values())) for p in parts]
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        for table in tables:
            compute_features(table, settings, collections)
        best = min(best, time.perf_counter() - start)
    results = {"pure functions (1 core)": best}

    # 2. the whole stage, its tasks in Spark (a session per master) and in the local pool
    manifests: dict = {}
    for master in ("local[1]", "local[2]"):
        base = Config(features=FeaturesConfig(input=ingested))
        spark_config = SparkConfig(master=master, conf=QUIET, executor="spark")
        spark = get_spark(spark_config)
        results[f"features, Spark tasks {master}"], manifests = stage_seconds(
            base.model_copy(update={"spark": spark_config}), args.repeats, spark
        )
        spark.stop()
        local = SparkConfig(master=master, conf=QUIET, executor="local")
        results[f"features, local pool {master}"], _ = stage_seconds(
            base.model_copy(update={"spark": local}), args.repeats
        )

    full = manifests["full"]
    pure = results["pure functions (1 core)"]
    print(f"\n{n_events} ingested events, {sum(full['counts'].values())} selected")
    print(f"{'measurement':34} {'seconds':>8} {'events/s':>9} {'ev/s/core':>10} {'x pure':>7}")
    for name, seconds in results.items():
        cores = 2 if "local[2]" in name else 1
        rate = n_events / seconds
        print(f"{name:34} {seconds:8.2f} {rate:9.0f} {rate / cores:10.0f} {pure / seconds:7.2f}")
    ratio = full["padded_bytes_per_event"] / full["bytes_per_event"]
    print(
        f"bytes per selected event on disk: {full['bytes_per_event']:.0f} "
        f"(padded 801x19 float64: {full['padded_bytes_per_event']}; 1/{ratio:.1f})"
    )
    if args.json:
        report = {"machine": describe(), "events": n_events, "seconds": results,
                  "command_seconds": command}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
