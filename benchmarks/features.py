"""Benchmark of ``dltrigger features``: selection + HLF + particle lists, events/s/core.

On generated and ingested events (made once, cached under ``data/bench``):

1. the pure physics functions in this process (one core): input events per second;
2. the whole stage (``dltrigger features``: Spark tasks, Parquet in and out, balanced and
   dev subsets) on ``local[1]`` and ``local[2]``;
3. bytes per selected event on disk against the reference's padded 801 x 19 float64 layout.

Goals (issue 4): >= 2,000 events/s/core (the reference: 11.7 for ingest + features), stored
particle data <= 1/5 of the padded layout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, FeaturesConfig, IngestConfig, SparkConfig

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench/raw"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from dltrigger.ingest.job import ingest
    from dltrigger.spark.session import get_spark
    from ingest import ensure_data  # benchmarks/ingest.py: generates the files once

    files = ensure_data(args.data, 4000)
    ingested = args.data.with_name(args.data.name + "-ingested")
    if not ingested.exists():
        spark = get_spark(SparkConfig(master="local[*]", conf=QUIET))
        ingest(Config(ingest=IngestConfig(out=ingested)), inputs=files, spark=spark, progress=False)
        spark.stop()

    # 1. pure functions, one core: what each task computes (compute_features: collections
    # projected, non-finite inputs dropped, selection, HLF, particle lists)
    import pyarrow.parquet as pq

    from dltrigger.features.collections import resolve_collections
    from dltrigger.features.compute import compute_features

    parts = sorted(ingested.glob("label=*/*.parquet"))
    settings = FeaturesConfig()
    collections = resolve_collections(settings.collections, pq.read_schema(parts[0]).names, "")
    tables = [pq.read_table(p, columns=list(collections.names.values())) for p in parts]
    n_events = sum(t.num_rows for t in tables)
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        for table in tables:
            compute_features(table, settings, collections)
        best = min(best, time.perf_counter() - start)
    results = {"pure functions (1 core)": best}

    # 2. the stage through Spark
    manifest = None
    for master in ("local[1]", "local[2]"):
        spark = get_spark(SparkConfig(master=master, conf=QUIET))
        times = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                config = Config(features=FeaturesConfig(input=ingested, out=Path(folder) / "f"))
                start = time.perf_counter()
                manifest = features_run(config, spark)
                times.append(time.perf_counter() - start)
        results[f"dltrigger features {master}"] = min(times)
        spark.stop()

    full = manifest["full"]
    print(f"dltrigger {__version__} features benchmark; machine: {describe()}")
    print(f"{n_events} ingested events, {sum(full['counts'].values())} selected")
    print(f"{'measurement':30} {'seconds':>8} {'events/s':>9} {'ev/s/core':>10}")
    for name, seconds in results.items():
        cores = 2 if "local[2]" in name else 1
        rate = n_events / seconds
        print(f"{name:30} {seconds:8.2f} {rate:9.0f} {rate / cores:10.0f}")
    ratio = full["padded_bytes_per_event"] / full["bytes_per_event"]
    print(
        f"bytes per selected event on disk: {full['bytes_per_event']:.0f} "
        f"(padded 801x19 float64: {full['padded_bytes_per_event']}; 1/{ratio:.1f})"
    )
    if args.json:
        args.json.write_text(json.dumps({"machine": describe(), "seconds": results}, indent=2))


def features_run(config, spark):
    from dltrigger.features.job import features

    return features(config, spark=spark, progress=False)


if __name__ == "__main__":
    main()
