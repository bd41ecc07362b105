"""Benchmark of ``dltrigger tune``: the reference's 243-point HLF grid, one model per Spark task.

Goal (issue 6): the 243-point grid on a dev set of ~30k events in < 10 minutes on 2 cores.
Default data: ``data/bench/raw-features/full`` (made by benchmarks/train.py); the figures in
docs/benchmarks.md used ``--data data/bench/big-features/full`` (31k training events).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, SparkConfig, TrackingConfig, TuneConfig

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench/raw-features/full"))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from dltrigger.spark.session import get_spark

    spark_config = SparkConfig(master=args.master, conf=QUIET)
    spark = get_spark(spark_config)
    cores = spark.sparkContext.defaultParallelism
    with tempfile.TemporaryDirectory() as folder:
        config = Config(
            spark=spark_config,
            tune=TuneConfig(data=args.data, out=Path(folder) / "tune"),
            tracking=TrackingConfig(enabled=False),
        )
        started = time.perf_counter()
        summary = dltrigger.tune.run(config, spark=spark).summary
        wall = time.perf_counter() - started
    rows = summary["rows"]
    trainings: dict[str, tuple[float, int]] = {}  # points sharing a training (all but epochs)
    for row in rows:
        key = json.dumps({k: v for k, v in row["point"].items() if k != "epochs"})
        seconds, epochs = trainings.get(key, (0.0, 0))
        trainings[key] = (max(seconds, row["seconds"]), max(epochs, row["point"]["epochs"]))
    task_seconds = sum(s for s, _ in trainings.values())
    samples = sum(e for _, e in trainings.values()) * summary["training_events"]
    print(f"dltrigger {__version__} tune benchmark; machine: {describe()}")
    print(
        f"{summary['points']} points on {summary['training_events']} training events, "
        f"{args.master} ({cores} cores): {wall:.0f} s wall (goal < 600 s), "
        f"{summary['failed']} failed"
    )
    print(
        f"task time {task_seconds:.0f} s = {task_seconds / (wall * cores):.2f} of wall x cores; "
        f"{samples / task_seconds:,.0f} training samples/s per task (core)"
    )
    best = rows[0]
    print(f"{len(trainings)} trainings; best: {best['point']} val_loss {best['val_loss']:.4f}")
    if args.json:
        report = {"machine": describe(), "wall_s": wall, "task_s": task_seconds,
                  "points": summary["points"], "best": best}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
