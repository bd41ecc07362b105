"""Benchmark of data-parallel training: samples/s with 1 process and with N Spark processes.

The inclusive model (and the HLF one) on the ``full`` features dataset of the benchmark
events, 2 epochs; the rate of the last epoch (after start-up) and the wall time including
Spark's barrier stage and ``torchrun`` start-up. Scaling efficiency = rate(N) / (N x rate(1)).
On a 2-core machine this measures overheads more than scaling: each process has one core.
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
from dltrigger.config import Config, SparkConfig, TrackingConfig, TrainConfig

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench/raw-features/full"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from dltrigger.spark.session import get_spark

    spark_config = SparkConfig(master=f"local[{args.processes}]", conf=QUIET)
    spark = get_spark(spark_config)
    results = {}
    for model in ("inclusive", "hlf"):
        for processes in (1, args.processes):
            with tempfile.TemporaryDirectory() as folder:
                settings = TrainConfig(
                    model=model, data=args.data, out=Path(folder) / "run", epochs=args.epochs,
                    num_processes=processes, threads=1, export=[], batch_size=128,
                )  # fmt: skip
                config = Config(spark=spark_config, train=settings,
                                tracking=TrackingConfig(enabled=False))  # fmt: skip
                started = time.perf_counter()
                history = dltrigger.train.run(config, spark=spark).history
                wall = time.perf_counter() - started
            results[(model, processes)] = (history[-1]["samples_per_s"], wall,
                                           history[-1]["val_loss"])  # fmt: skip
    print(f"dltrigger {__version__} distributed training benchmark; machine: {describe()}")
    print(f"{'model':10} {'processes':>9} {'samples/s':>10} {'efficiency':>10} {'wall s':>7} "
          f"{'val_loss':>8}")  # fmt: skip
    for (model, processes), (rate, wall, loss) in results.items():
        single = results[(model, 1)][0]
        efficiency = rate / (processes * single)
        print(f"{model:10} {processes:9d} {rate:10,.0f} {efficiency:10.2f} {wall:7.1f} "
              f"{loss:8.4f}")  # fmt: skip
    if args.json:
        report = {f"{m}/{p}": v for (m, p), v in results.items()}
        args.json.write_text(json.dumps({"machine": describe(), "results": report}, indent=2))


if __name__ == "__main__":
    main()
