"""Benchmark of the trigger: scoring, the per-file chain, and the stream's micro-batches.

On ROOT files (default: ``data/raw`` of ``make demo``) and trained run folders with
``model.onnx`` (default: ``runs/hlf`` and ``runs/inclusive``):

1. scoring after features (ONNX Runtime on one thread, inputs scaled and padded), in selected
   events/s per core; goal >= 10,000;
2. the whole per-file chain in one process (read -> select -> features -> scores ->
   decisions), in input events/s per core, next to its reference, uproot reading the same
   collections alone (the ratio is what selection, features and scoring cost on top);
3. ``dltrigger stream`` over the files (copied into a watched folder, ``--available-now``,
   one file per core per micro-batch) on ``local[1]`` and ``local[2]``: input events/s per core
   over the micro-batches' time, and the p50/p99 micro-batch latency (goal p99 < 2 s).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, SparkConfig, StreamConfig
from dltrigger.physics.features import compute_features
from dltrigger.stream.process import process_file, read_events
from dltrigger.stream.trigger import load_trigger


def timed(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def in_process(files: list[Path], settings: StreamConfig, repeats: int) -> dict:
    trigger = load_trigger(settings)
    tables = [read_events(str(f), "Delphes", trigger) for f in files]
    events = sum(len(t) for t, _ in tables)
    computed = [compute_features(t, trigger.features, c) for t, c in tables]
    selected = sum(len(c.kept) for c in computed)
    trigger.scores(computed[0].hlf, computed[0].rows, computed[0].counts)  # session warm-up
    scoring = timed(lambda: [trigger.scores(c.hlf, c.rows, c.counts) for c in computed], repeats)
    reading = timed(lambda: [read_events(str(f), "Delphes", trigger) for f in files], repeats)
    chain = timed(lambda: [process_file(str(f), trigger, "Delphes", 0, 0) for f in files],
                  repeats)  # fmt: skip
    return {"events": events, "selected": selected, "scoring": selected / scoring,
            "reading": events / reading, "chain": events / chain}  # fmt: skip


def streamed(files: list[Path], settings: StreamConfig, master: str) -> dict:
    from dltrigger.spark.session import get_spark

    cores = int(master[6:-1])
    spark_config = SparkConfig(master=master, conf={"spark.ui.enabled": "false"})
    spark = get_spark(spark_config)
    with tempfile.TemporaryDirectory() as tmp:
        incoming = Path(tmp) / "in"
        incoming.mkdir()
        for f in files:
            shutil.copy(f, incoming / f.name)
        config = Config(spark=spark_config, stream=settings.model_copy(update={
            "input": str(incoming), "out": Path(tmp) / "out", "max_files_per_trigger": cores,
            "settle_seconds": 0.0, "available_now": True}))  # fmt: skip
        summary = dltrigger.stream.run(config, spark=spark).summary
    spark.stop()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/raw"))
    parser.add_argument("--runs", nargs="*", type=Path,
                        default=[Path("runs/hlf"), Path("runs/inclusive")])  # fmt: skip
    parser.add_argument("--files", type=int, default=12, help="files used (spread over samples)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    every = sorted(args.data.glob("*.root"))
    if not every or any(not (r / "model.onnx").exists() for r in args.runs):
        sys.exit("missing inputs: run `make demo` first, or give --data and --runs")
    step = max(1, len(every) // args.files)
    files = every[::step][: args.files]

    print(f"dltrigger {__version__} trigger benchmark; machine: {describe()}")
    print(f"{len(files)} files of {args.data}")
    for run in args.runs:
        settings = StreamConfig(model=run, threshold=0.5)
        r = in_process(files, settings, args.repeats)
        print(f"\n{run.name}: {r['events']:,} events, {r['selected']:,} selected")
        print(f"  scoring after features (ONNX, 1 thread): {r['scoring']:,.0f} selected events/s "
              f"(goal >= 10,000: {'met' if r['scoring'] >= 10_000 else 'not met'})")  # fmt: skip
        ratio = r["chain"] / r["reading"]
        print(f"  read+select+features+score, 1 process: {r['chain']:,.0f} events/s; uproot "
              f"read alone {r['reading']:,.0f} events/s; ratio {ratio:.2f}")  # fmt: skip
        for master in ("local[1]", "local[2]"):
            s = streamed(files, settings, master)
            cores = int(master[6:-1])
            busy = s["events"] / s["events_per_s"] if s["events_per_s"] else float("nan")
            print(f"  stream {master}: {s['batches']} micro-batches, {s['events']:,} events in "
                  f"{busy:.1f} s: {s['events_per_s'] / cores:,.0f} events/s/core; latency p50 "
                  f"{s['latency_p50_s']:.2f} s, p99 {s['latency_p99_s']:.2f} s "
                  f"(goal < 2 s: {'met' if s['latency_p99_s'] < 2 else 'not met'})")  # fmt: skip


if __name__ == "__main__":
    main()
