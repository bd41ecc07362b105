"""Benchmark of evaluation: scoring rate per model, against the model's forward pass alone.

On trained run folders (default: those of ``make demo``) and a features dataset's test split:

1. scoring (``dltrigger.ml.scoring.score``: Parquet -> scaled, padded batches -> model ->
   softmax) in events/s, next to its reference, the forward pass alone on the same batches
   already in memory; the ratio is what reading and batching cost;
2. the metrics of one model (``evaluate_model``: 3 ROC curves, working points, confusion,
   200 bootstrap resamplings per class);
3. the whole stage (``dltrigger.evaluate.run``) of all runs (scoring, metrics with
   Clopper-Pearson intervals and trigger rates, 6 + 2 per model PNGs, the report), without
   tree baselines or a pipeline state file (neither is read).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, EvaluateConfig, RunConfig
from dltrigger.evaluate.job import evaluate_model
from dltrigger.ml.batches import iterate_batches
from dltrigger.ml.loop import forward
from dltrigger.ml.scoring import load_run, score


def forward_rate(run, data: Path, batch_size: int = 4096) -> float:
    batches = list(
        iterate_batches(data, "test", batch_size, shuffle_buffer=1, scaling=run.scaling,
                        max_particles=run.config.max_particles,
                        with_particles=run.config.uses_particles())
    )  # fmt: skip
    events = sum(len(b.labels) for b in batches)
    start = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            torch.softmax(forward(run.model, batch, torch.device("cpu")), dim=1)
    return events / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path,
                        default=[Path("runs/hlf"), Path("runs/inclusive")])  # fmt: skip
    parser.add_argument("--data", type=Path, default=Path("data/features/balanced"))
    parser.add_argument("--repeats", type=int, default=3, help="best of N")
    args = parser.parse_args()
    missing = [r for r in args.runs if not (r / "best.pt").exists()]
    if missing or not args.data.exists():
        sys.exit(f"missing {missing or args.data}: run `make demo` first, or name run folders")

    print(f"dltrigger {__version__} evaluation benchmark; machine: {describe()}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; dataset {args.data}")
    print(f"{'model':12} {'events':>7} {'scoring ev/s':>13} {'forward alone':>14} {'ratio':>6} "
          f"{'metrics s':>10}")  # fmt: skip
    for folder in args.runs:
        run = load_run(folder)
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            labels, scores = score(run, args.data)
            best = min(best, time.perf_counter() - start)
        rate = len(labels) / best
        reference = max(forward_rate(run, args.data) for _ in range(args.repeats))
        start = time.perf_counter()
        evaluate_model(labels, scores, bootstrap=200)
        metrics = time.perf_counter() - start
        print(f"{folder.name:12} {len(labels):7} {rate:13,.0f} {reference:14,.0f} "
              f"{rate / reference:6.2f} {metrics:10.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        # baselines and the pipeline's state file: paths that do not exist, so that neither is
        # read (unset, ./runs/baselines and ./runs/pipeline.json would be, when present)
        config = Config(
            evaluate=EvaluateConfig(runs=args.runs, data=args.data, out=Path(tmp) / "report",
                                    baselines=Path(tmp) / "no-baselines"),
            run=RunConfig(state=Path(tmp) / "no-pipeline.json"),
        )  # fmt: skip
        start = time.perf_counter()
        dltrigger.evaluate.run(config)
        print(f"whole evaluate stage of {len(args.runs)} runs with plots and report: "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
