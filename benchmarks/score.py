"""Benchmark of ``dltrigger score``: batch scoring of ROOT files with a model, start-up included.

On the small job's generated files (``--data``, default ``data/bench/small``: 18 files, ~48k
events, made once as ``benchmarks/ingest.py`` makes them), one run times whole commands in
fresh processes, each in an empty working folder (no ./dltrigger.toml: the default settings),
imports, model loading and writing included:

1. the plain single-process script a user would write (``plain/score_script.py``: per ROOT
   file, dltrigger's reader -> the pure feature functions -> the run's scaling and ONNX
   Runtime, as the trigger scores -> one Parquet file of (source_file, entry, scores); no
   quarantine, accepted events or summary);
2. ``dltrigger score`` with each executor (``auto``: the local process pool for such inputs;
   ``spark``: a JVM and Spark tasks).

Every row uses the same model (``--model``: a run folder with ``model.onnx``; default
``runs/hlf``, else one is trained quickly on the files) and the same working point
(``--threshold``, so no row computes one on the run's dataset). Printed: events/s and the
ratio to the script (``x script``). Goal: ``dltrigger score`` (auto) >= 1.0 x the script.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.io.root_reader import open_tree
from ingest import best_of

#: The plain single-process script of (1).
PLAIN_SCRIPT = Path(__file__).resolve().parent / "plain" / "score_script.py"
PLAIN = "plain score script"


def ensure_model(model: Path | None, files: list[str], scratch: Path) -> Path:
    """``model`` if given; else ``runs/hlf`` if it has ``model.onnx``; else an HLF model
    trained for one epoch on ``files`` (ingested and featured under ``scratch``)."""
    if model is not None:
        if not (model / "model.onnx").exists():
            raise SystemExit(f"{model}: no model.onnx (a run folder of dltrigger train)")
        return model.resolve()
    default = Path("runs/hlf")
    if (default / "model.onnx").exists():
        return default.resolve()
    from dltrigger.config import (
        Config,
        FeaturesConfig,
        IngestConfig,
        SparkConfig,
        TrackingConfig,
        TrainConfig,
    )

    print(f"no {default}/model.onnx: training an HLF model for one epoch (once)...", flush=True)
    local = SparkConfig(master="local[*]", executor="local")
    ingested, features = scratch / "ingested", scratch / "features"
    dltrigger.ingest.run(Config(spark=local, ingest=IngestConfig(out=ingested, inputs=files)))
    dltrigger.features.run(
        Config(spark=local, features=FeaturesConfig(input=ingested, out=features))
    )
    train = TrainConfig(
        model="hlf", epochs=1, export=["onnx"], data=features / "balanced", out=scratch / "hlf"
    )
    dltrigger.train.run(Config(train=train, tracking=TrackingConfig(enabled=False)))
    return (scratch / "hlf").resolve()


def commands_against_script(
    files: list[str], model: Path, threshold: float, repeats: int
) -> dict[str, float]:
    """Wall seconds of whole commands in fresh processes (imports, JVM, writing included),
    each run in an empty folder (no ./dltrigger.toml)."""
    files = [str(Path(f).resolve()) for f in files]
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            PLAIN: [sys.executable, str(PLAIN_SCRIPT), str(model), str(threshold),
                    f"{folder}/plain", *files],
            **{
                f"dltrigger score, executor {executor}": [
                    sys.executable, "-m", "dltrigger", "score", *files, "--out",
                    f"{folder}/{executor}", "--overwrite", "--quiet", "--executor", executor,
                    "--model", str(model), "--threshold", str(threshold),
                ]
                for executor in ("auto", "spark")
            },
        }  # fmt: skip
        work = Path(folder) / "work"
        work.mkdir()

        def run(command: list[str]) -> None:
            done = subprocess.run(command, capture_output=True, text=True, cwd=work)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-3000:]}")

        return {
            name: best_of(repeats, lambda c=command: run(c)) for name, command in commands.items()
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/bench/small"),
        help="the ROOT files (generated once if missing: 16,000 events per process)",
    )
    parser.add_argument(
        "--model", type=Path, help="a run folder with model.onnx (default runs/hlf, else trained)"
    )
    parser.add_argument("--threshold", type=float, default=0.5, help="the working point")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from ingest import ensure_data  # benchmarks/ingest.py: generates the files once

    files = ensure_data(args.data, 16_000, events_per_file=3000)
    events = 0
    for path in files:
        file, tree = open_tree(path, "Delphes")
        with file:
            events += tree.num_entries
    with tempfile.TemporaryDirectory() as scratch:
        model = ensure_model(args.model, files, Path(scratch))
        seconds = commands_against_script(files, model, args.threshold, args.repeats)

    plain = seconds[PLAIN]
    print(f"dltrigger {__version__} score benchmark; machine: {describe()}")
    print(f"{len(files)} files, {events} events, model {model}, threshold {args.threshold:g}; "
          "whole commands, start-up included")  # fmt: skip
    print(f"{'command':36} {'seconds':>8} {'events/s':>9} {'x script':>9}")
    for name, value in seconds.items():
        print(f"{name:36} {value:8.2f} {events / value:9.0f} {plain / value:9.2f}")
    ratio = plain / seconds["dltrigger score, executor auto"]
    print(f"goal: dltrigger score (auto) >= 1.0 x the plain script: {ratio:.2f} "
          f"({'met' if ratio >= 1.0 else 'NOT met'})")  # fmt: skip
    if args.json:
        report = {"machine": describe(), "files": len(files), "events": events,
                  "model": str(model), "threshold": args.threshold, "seconds": seconds}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
