"""Benchmark of training: samples/s per model on 1 and 2 CPU threads, and the loader alone.

On a features dataset made once from the generated benchmark events (``data/bench``):

1. the data loader alone (Parquet -> scaled, padded batches): streamed with particle lists,
   streamed HLF only, and HLF held in memory;
2. training steps (forward, backward, Adam) of every model on batches already loaded, with
   torch on 1 and 2 threads, batch 128 as the reference (docs/reference.md §9), plus variants:
   packed sequences, length buckets, HLF at batch 1,024;
3. whole training epochs (``dltrigger.train.run``, the rows ``train()``) of the inclusive
   model at batch 128 on one torch thread (loader in its background threads, validation
   excluded from the rate), with random batches and with length buckets, each next to the bare
   step rate on the batches of its first epoch (measured just before it), as a ratio: the
   loader, batch assembly and the fills of the shuffle pool must not hold training back
   (goal: epoch >= 0.9 x steps). Two epochs: the first waits for its pool to fill (the imports
   a fresh ``dltrigger train`` spends that time on are already done here), the second's pool
   fills while the first validates.
4. Deep Sets against the GRU (issue 27): ``deepsets`` and ``inclusive`` on the same data, one
   torch thread (per core): training steps at batch 128 (random batches and length buckets, on
   up to ``--deepsets-events`` training events held in memory), whole ``train()`` epochs
   (``--deepsets-epochs``, batch 128, length buckets), and ONNX Runtime on one intra-op thread
   scoring the test split with each run's exported ``model.onnx`` as the trigger batches it
   (sorted by length, ``--score-batch`` events per call, inputs already scaled and padded);
   each figure with the ratio deepsets/GRU. ``--sections deepsets --dataset
   data/features/balanced`` runs this section alone on the demo's dataset (~1 minute on 2
   cores; every section by default: ~2.5 minutes, the dataset made once included).

Goals (issue 5): inclusive GRU >= 1,000 samples/s/core; HLF >= 500k samples/s on 2 cores;
loader >= 3x the inclusive model's training rate. Reference figures (docs/reference.md
§8.2): inclusive GRU ~16 samples/s/core (BigDL, 360 cores), ~225 samples/s on one TF CPU node,
~2.5k samples/s on a P100; HLF ~124k samples/s (TF CPU, in memory). Goals (issue 27): Deep
Sets >= 10x the GRU's training samples/s per core, >= 10,000 ONNX scoring events/s per core
(its AUCs within 0.002 of the GRU's: a converged training, docs/benchmarks.md, not here).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, FeaturesConfig, SparkConfig, TrackingConfig, TrainConfig
from dltrigger.ml.batches import in_memory_batches, iterate_batches, load_split, padded
from dltrigger.models import build_model
from dltrigger.models.export import OnnxScorer

SECTIONS = ("loader", "steps", "epochs", "deepsets")
#: Issue 27: Deep Sets training samples/s per core against the GRU's; ONNX events/s per core.
DEEPSETS_TRAIN_GOAL, DEEPSETS_ONNX_GOAL = 10.0, 10_000.0

REFERENCE = {
    "inclusive": "BigDL ~16/core; TF 1 CPU node ~225; P100 ~2.5k",
    "hlf": "TF CPU in memory ~124k",
}


def ensure_features(ingested: Path, out: Path) -> Path:
    if not (out / "full" / "_manifest.json").exists():
        if not ingested.exists():
            sys.exit(f"{ingested} is missing: run benchmarks/ingest.py --data {ingested.parent}")
        # made once; either executor writes the same files
        spark = SparkConfig(master="local[*]", executor="local")
        features = FeaturesConfig(input=ingested, out=out)
        dltrigger.features.run(Config(spark=spark, features=features))
    return out / "full"


def loader_rate(batches) -> float:
    start, seen = time.perf_counter(), 0
    for batch in batches:
        seen += len(batch)
    return seen / (time.perf_counter() - start)


def step_rate(model, batches, seconds: float) -> float:
    """Training samples/s over ``batches`` (one warm-up step), stopping after ``seconds``."""
    optimizer = torch.optim.Adam(model.parameters(), eps=1e-7, fused=True)

    def step(batch):
        optimizer.zero_grad()
        if batch.particles is None:
            logits = model(batch.hlf)
        else:
            logits = model(batch.particles, batch.lengths, batch.hlf)
        torch.nn.functional.cross_entropy(logits, batch.labels).backward()
        optimizer.step()

    step(batches[0])
    start, seen = time.perf_counter(), 0
    for batch in batches[1:]:
        step(batch)
        seen += len(batch)
        if time.perf_counter() - start > seconds:
            break
    return seen / (time.perf_counter() - start)


def onnx_rate(path: Path, batches: list[dict[str, np.ndarray]], seconds: float) -> float:
    """Events/s of ``path`` in ONNX Runtime on one intra-op thread over ``batches`` (inputs
    ready), passes repeated until ``seconds`` (one warm-up call)."""
    scorer = OnnxScorer(path, threads=1)
    scorer(**batches[0])
    start, seen = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for inputs in batches:
            scorer(**inputs)
            seen += len(inputs["hlf"])
    return seen / (time.perf_counter() - start)


def deepsets_against_gru(
    data: Path, events: int, epochs: int, score_batch: int, seconds: float
) -> dict[str, dict[str, float]]:
    """Section 4: figure -> {model: value} for ``deepsets`` and ``inclusive``, one thread."""
    torch.set_num_threads(1)
    models = ("deepsets", "inclusive")
    train = load_split(data, "train", with_particles=True)
    train = train.take(np.random.default_rng(0).permutation(len(train))[:events])
    figures: dict[str, dict[str, float]] = {}
    for variant, buckets in (("random batches", False), ("length buckets", True)):
        batches = list(in_memory_batches(train, 128, seed=2, bucket_by_length=buckets))
        name = f"train steps, batch 128, {variant} (samples/s)"
        figures[name] = {}
        for model in models:
            torch.manual_seed(0)
            # passes repeated: a fast model goes through a small split in well under `seconds`
            figures[name][model] = step_rate(build_model(model), batches * 100, seconds)
    # the test split as the trigger scores it: sorted by length, padded to each batch's longest
    test = load_split(data, "test", with_particles=True)
    test = test.take(np.argsort(test.counts, kind="stable"))
    inputs = []
    for begin in range(0, len(test), score_batch):
        part = test.take(np.arange(begin, min(begin + score_batch, len(test))))
        assert part.rows is not None and part.counts is not None  # loaded with particles
        inputs.append({"hlf": part.hlf, "particles": padded(part.rows, part.counts),
                       "lengths": part.counts})  # fmt: skip
    epoch_name = f"train() epoch {epochs}, batch 128, length buckets (samples/s)"
    onnx_name = f"ONNX Runtime, test split, batches of {score_batch} (events/s)"
    figures[epoch_name], figures[onnx_name] = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for model in models:
            settings = TrainConfig(
                model=model, data=data, out=Path(folder) / model, epochs=epochs, threads=1,
                batch_size=128, export=["onnx"],
            )  # fmt: skip
            config = Config(train=settings, tracking=TrackingConfig(enabled=False))
            figures[epoch_name][model] = dltrigger.train.run(config).history[-1]["samples_per_s"]
            torch.set_num_threads(1)
            figures[onnx_name][model] = onnx_rate(Path(folder) / model / "model.onnx", inputs,
                                                  seconds)  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingested", type=Path, default=Path("data/bench/raw-ingested"))
    parser.add_argument("--features", type=Path, default=Path("data/bench/raw-features"))
    parser.add_argument(
        "--dataset",
        type=Path,
        help="a features dataset to use as it is (e.g. data/features/balanced) instead of "
        "<--features>/full",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to run"
    )
    parser.add_argument(
        "--deepsets-events",
        type=int,
        default=4096,
        help="section 4: training events held in memory for the step rates (more: a larger "
        "sample of lengths, same time)",
    )
    parser.add_argument(
        "--deepsets-epochs", type=int, default=2, help="section 4: epochs of each train()"
    )
    parser.add_argument(
        "--score-batch", type=int, default=256, help="section 4: events per ONNX Runtime call"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = args.dataset or ensure_features(args.ingested, args.features)
    sections = set(args.sections)
    results: dict[str, float] = {}
    epochs: dict[str, tuple[list[float], float]] = {}
    deepsets: dict[str, dict[str, float]] = {}

    torch.set_num_threads(1)
    hlf_events = load_split(data, "train")
    if "loader" in sections:
        # 1. the loader alone (one thread: the trainer runs it in a background thread), after a
        # pass over the test split (the first use of pyarrow.compute imports pandas: ~0.5 s once)
        loader_rate(iterate_batches(data, "test", 128, shuffle_buffer=1))
        results["loader: streamed, particles"] = loader_rate(
            iterate_batches(data, "train", 128, seed=1)
        )
        results["loader: streamed, HLF only"] = loader_rate(
            iterate_batches(data, "train", 128, seed=1, with_particles=False)
        )
        results["loader: in memory, HLF"] = loader_rate(in_memory_batches(hlf_events, 128))

    if "steps" in sections:
        # 2. training steps on loaded batches
        events = load_split(data, "train", with_particles=True)
        rng = np.random.default_rng(0)
        events = events.take(rng.permutation(len(events))[:8192])
        random_batches = list(in_memory_batches(events, 128, seed=2))
        bucketed = list(in_memory_batches(events, 128, seed=2, bucket_by_length=True))
        hlf_batches = {
            size: list(in_memory_batches(hlf_events, size, seed=2)) for size in (128, 1024)
        }
        cases = [
            ("hlf", "batch 128", hlf_batches[128], {}),
            ("hlf", "batch 1024", hlf_batches[1024], {}),
            ("particle", "batch 128", random_batches, {}),
            ("inclusive", "batch 128", random_batches, {}),
            ("inclusive", "packed sequences", random_batches, {"packed": True}),
            ("inclusive", "length buckets", bucketed, {}),
            ("lstm", "batch 128", random_batches, {}),
            ("transformer", "batch 128", random_batches, {}),
        ]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for name, variant, batches, attributes in cases:
                torch.manual_seed(0)
                model = build_model(name)
                for key, value in attributes.items():
                    setattr(model, key, value)
                rate = step_rate(model, batches, args.seconds)
                results[f"train {name} ({variant}), {threads} thread(s)"] = rate

    if "epochs" in sections:
        # 3. a whole epoch through the trainer, loader included (1 thread for torch), against the
        # bare steps on the same batches (the training's first epoch is seed 0 * 1000 + 1)
        torch.set_num_threads(1)
        for variant, buckets in (("random batches", False), ("length buckets", True)):
            same = list(iterate_batches(data, "train", 128, seed=1, bucket_by_length=buckets))
            torch.manual_seed(0)
            steps = step_rate(build_model("inclusive"), same, args.seconds)
            with tempfile.TemporaryDirectory() as folder:
                settings = TrainConfig(
                    model="inclusive", data=data, out=Path(folder) / "run", epochs=2, threads=1,
                    batch_size=128, bucket_by_length=buckets, export=[],
                )  # fmt: skip
                config = Config(train=settings, tracking=TrackingConfig(enabled=False))
                rates = [row["samples_per_s"] for row in dltrigger.train.run(config).history]
            epochs[variant] = (rates, steps)
            results[f"steps before train(), inclusive ({variant}), 1 thread"] = steps
            for number, rate in enumerate(rates, start=1):
                results[f"train() epoch {number}, inclusive ({variant}), 1 thread"] = rate

    # 4. Deep Sets against the GRU: steps, whole epochs and ONNX scoring, one thread each
    if "deepsets" in sections:
        deepsets = deepsets_against_gru(
            data, args.deepsets_events, args.deepsets_epochs, args.score_batch, args.seconds
        )

    print(f"dltrigger {__version__} training benchmark; machine: {describe()}")
    print(f"torch {torch.__version__}; dataset {data} ({len(hlf_events)} training events)")
    if results:
        print(f"{'measurement':58} {'samples/s':>10} {'per thread':>11}")
    for name, rate in results.items():
        threads = 2 if "2 thread" in name else 1
        print(f"{name:58} {rate:10,.0f} {rate / threads:11,.0f}")
    inclusive = results.get("train inclusive (batch 128), 1 thread(s)")
    if inclusive is not None:
        print(
            f"inclusive GRU: {inclusive:,.0f} samples/s/core (goal 1,000; reference "
            f"{REFERENCE['inclusive']})"
        )
    if inclusive is not None and "loader: streamed, particles" in results:
        loader = results["loader: streamed, particles"]
        print(f"loader / inclusive training rate: {loader / inclusive:.1f}x (goal >= 3)")
    for variant, (rates, steps) in epochs.items():
        ratios = ", ".join(f"epoch {n} {r:,.0f} ({r / steps:.2f})" for n, r in enumerate(rates, 1))
        print(
            f"whole train() epoch / bare steps ({steps:,.0f}), inclusive ({variant}, batch 128, "
            f"1 thread): {ratios} (goal >= 0.9)"
        )
    if "steps" in sections:
        print(
            f"HLF on 2 threads: {results['train hlf (batch 128), 2 thread(s)']:,.0f} samples/s "
            f"at batch 128, {results['train hlf (batch 1024), 2 thread(s)']:,.0f} at 1,024 "
            f"(goal 500k; reference {REFERENCE['hlf']})"
        )
    if deepsets:
        print(
            f"Deep Sets against the GRU, per core (torch 1 thread, ONNX Runtime 1 intra-op "
            f"thread); steps on {min(args.deepsets_events, len(hlf_events))} training events:"
        )
        print(f"{'measurement':64} {'deepsets':>9} {'GRU':>9} {'ratio':>6}")
        for name, rate in deepsets.items():
            ratio = rate["deepsets"] / rate["inclusive"]
            print(f"{name:64} {rate['deepsets']:9,.0f} {rate['inclusive']:9,.0f} {ratio:6.1f}")
        training = [r["deepsets"] / r["inclusive"] for n, r in deepsets.items() if "train" in n]
        met = min(training) >= DEEPSETS_TRAIN_GOAL
        print(
            f"goal: Deep Sets training >= {DEEPSETS_TRAIN_GOAL:.0f}x the GRU's samples/s/core: "
            f"{' / '.join(f'{r:.1f}x' for r in training)} ({'met' if met else 'NOT met'})"
        )
        onnx = next(r["deepsets"] for n, r in deepsets.items() if n.startswith("ONNX"))
        met = onnx >= DEEPSETS_ONNX_GOAL
        print(
            f"goal: Deep Sets ONNX scoring >= {DEEPSETS_ONNX_GOAL:,.0f} events/s/core: "
            f"{onnx:,.0f} ({'met' if met else 'NOT met'})"
        )
    if args.json:
        report = {
            "machine": describe(),
            "samples_per_s": results,
            "epoch_over_steps": {k: [r / s for r in rates] for k, (rates, s) in epochs.items()},
            "deepsets_against_gru": deepsets,
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
