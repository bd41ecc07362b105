"""Benchmark of ``dltrigger run``: the whole pipeline's wall time, per stage, and its overhead.

Runs the pipeline in a fresh temporary folder with the repository's ``dltrigger.toml`` (the
``make demo`` settings; ``--scale`` multiplies every process's events), then once more with
everything up to date. Prints each stage's seconds and throughput, the wall time against its
reference, the sum of the stages' own times (the ratio is what the pipeline adds: the Spark
session, the up-to-date checks, the state file), and the cost of a run that skips everything.

The per-file tasks of generate, ingest and features run as Spark tasks (``[spark] executor =
"spark"``, as the figures of docs/benchmarks.md were measured); ``--executor auto`` measures
the default instead (the local process pool for inputs of this size on a local master).
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

from _machine import describe
from dltrigger import __version__
from dltrigger.config import load_config
from dltrigger.pipeline import run_pipeline

REPOSITORY = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="x every process's events")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--executor", choices=("spark", "auto", "local"), default="spark",
                        help="who runs the per-file tasks ([spark] executor)")  # fmt: skip
    args = parser.parse_args()
    config = load_config(REPOSITORY / "dltrigger.toml")
    scaled = {
        name: entry.model_copy(update={"events": max(1, round(entry.events * args.scale))})
        for name, entry in config.generate.processes.items()
    }
    generate = config.generate.model_copy(update={"processes": scaled})
    config = config.model_copy(update={
        "generate": generate,
        "spark": config.spark.model_copy(update={"master": args.master,
                                                 "executor": args.executor}),
        "tracking": config.tracking.model_copy(update={"enabled": False}),
    })  # fmt: skip
    print(f"dltrigger {__version__} pipeline benchmark; machine: {describe()}")
    events = {p: generate.events_of(p) for p in generate.process}
    print(f"events written per process: {events}; Spark master {args.master}, executor "
          f"{args.executor}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the config's relative paths (data/, runs/) land here
        start = time.perf_counter()
        outcomes = run_pipeline(config, progress=False).stages
        wall = time.perf_counter() - start
        start = time.perf_counter()
        again = run_pipeline(config, progress=False).stages
        skip = time.perf_counter() - start
        assert not any(o.ran for o in again)
        results = json.loads(Path("runs/report/evaluation.json").read_text())
    print(f"{'stage':18} {'seconds':>8} {'throughput':>30}")
    for o in outcomes:
        rate = o.facts.get("per_s")
        text = f"{rate:,.0f} {o.facts.get('unit', '')}/s" if rate else ""
        print(f"{o.name:18} {o.seconds:8.1f} {text:>30}")
    stages = sum(o.seconds for o in outcomes)
    print(f"whole run: {wall:.1f} s wall (goal < 600 s on 2 cores); sum of stages {stages:.1f} s; "
          f"wall / stages = {wall / stages:.3f}")  # fmt: skip
    print(f"second run, every stage up to date: {skip:.1f} s")
    for name, m in results["models"].items():
        aucs = ", ".join(f"{c} {v['auc']:.4f} ± {v['auc_error']:.4f}"
                         for c, v in m["classes"].items())  # fmt: skip
        print(f"{name}: accuracy {m['accuracy']:.4f}; AUC {aucs}")


if __name__ == "__main__":
    main()
