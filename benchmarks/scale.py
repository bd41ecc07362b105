"""Scale: the pipeline's data path at growing sizes on ``local[2]``, against the local limits.

ingest -> features -> one training epoch of the HLF and of the inclusive model -> ``score``,
at 10k, 100k and 1M events (``--sizes``; 10M for ingest and features with ``--huge``), each
stage in a process of its own with its Spark session (its start timed apart). The tasks of
ingest, features and score run as Spark tasks (``[spark] executor = "spark"``) and, as rows
``<stage> (local pool)``, in the local process pool of two processes (``executor = "local"``,
no JVM; ``--executors`` chooses). The input at each size is the ``--source`` files (the demo's
generated events) hard-linked under distinct names until the size is reached: the same events
repeat, so this measures throughput and memory only, not physics.

For every stage and size: wall seconds, events/s, peak resident memory of the driver, the JVM
and the Python workers (sampled every 0.2 s with psutil) and bytes on disk; then the log-log
slope of the time between sizes and the memory ratio between the two largest. Each stage's
reference, measured in the same run on up to ``--reference-events`` events (a per-event rate):

- ingest: raw uproot (``TTree.arrays`` of the ingested branches, one core) and the plain
  single-process script (per file: uproot ``arrays`` -> ``ak.to_parquet``, zstd);
- features: the pure functions (``compute_features``) on the same Arrow tables, one process;
- training: the bare step loop (forward, loss, backward, Adam) on batches held in memory;
- score: the ONNX forward pass alone on the selected events' features.

Goals (issue 17): slope <= 1.05 from 100k to 1M; peak memory at 1M <= 1.5 x that at 100k and
under 6 GB in all. Writes ``--json`` and a log-log plot (``--plot``).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil

import dltrigger as dlt
from _machine import describe

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
STAGES = ("ingest", "features", "train hlf", "train inclusive", "score")
#: The stages whose tasks an executor runs: each has a row per executor of ``--executors``,
#: ``<stage>`` (Spark tasks) and ``<stage> (local pool)``.
POOLED = ("ingest", "features", "score")
LOCAL = " (local pool)"
ROWS = tuple(row for stage in STAGES
             for row in (stage, *([stage + LOCAL] if stage in POOLED else [])))  # fmt: skip


class MemorySampler:
    """Peak proportional set size (shared pages split between their processes, so forked Python
    workers are not counted twice) of a stage's process (the driver), its JVM and its Python
    workers, sampled every ``interval`` seconds."""

    def __init__(self, process: psutil.Process, interval: float = 0.3):
        self.process = process
        self.interval = interval
        self.peaks = {"driver": 0, "jvm": 0, "workers": 0, "total": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _size(process: psutil.Process) -> int:
        info = process.memory_full_info()
        return getattr(info, "pss", info.rss)

    def _sample(self) -> None:
        try:
            sizes = {"driver": self._size(self.process), "jvm": 0, "workers": 0}
            children = self.process.children(recursive=True)
        except psutil.Error:
            return  # the stage has ended
        for child in children:
            try:
                kind = "jvm" if child.name() == "java" else "workers"
                sizes[kind] += self._size(child)
            except psutil.Error:
                continue  # a worker that ended between the listing and the reading
        sizes["total"] = sum(sizes.values())
        for key, value in sizes.items():
            self.peaks[key] = max(self.peaks[key], value)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


#: One stage in a process of its own (as a command runs it), so that its memory is its own:
#: the Spark session is started first and timed apart; the stage's seconds exclude it.
STAGE_PROCESS = """
import json, sys, time
import dltrigger as dlt
spec = json.loads(sys.argv[1])
config = dlt.Config.model_validate(spec["config"])
spark = None
start = time.perf_counter()
if spec["spark"]:
    from dltrigger.spark.session import get_spark
    spark = get_spark(config.spark)
    spark.range(2).count()
session = time.perf_counter() - start
run = dlt.stream.score if spec["stage"] == "score" else getattr(dlt, spec["stage"]).run
start = time.perf_counter()
run(config, spark=spark)
print(json.dumps({"session_s": session, "seconds": time.perf_counter() - start}))
"""


def measured(stage: str, config: dlt.Config, spark: bool) -> tuple[dict, dict[str, int]]:
    import subprocess

    spec = json.dumps({"stage": stage, "config": config.model_dump(mode="json"), "spark": spark})
    child = subprocess.Popen([sys.executable, "-c", STAGE_PROCESS, spec],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    with MemorySampler(psutil.Process(child.pid)) as memory:
        out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"stage {stage} failed: {err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), memory.peaks


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def source_files(folder: Path) -> list[tuple[Path, int]]:
    import uproot

    files = sorted(folder.glob("*.root"))
    if not files:
        from ingest import ensure_data  # benchmarks/ingest.py: generates the files once

        ensure_data(folder, 4000)
        files = sorted(folder.glob("*.root"))
    entries = []
    for path in files:
        with uproot.open(path) as f:
            entries.append((path, f["Delphes"].num_entries))
    return entries


def make_input(
    sources: list[tuple[Path, int]], events: int, folder: Path
) -> tuple[list[Path], int]:
    """``events`` events (or a file more) of ``sources`` under distinct names in ``folder``,
    the processes interleaved so that every prefix keeps the sample's mix."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    by_process: dict[str, list[tuple[Path, int]]] = {}
    for path, n in sources:
        by_process.setdefault(path.stem.split("_")[0], []).append((path, n))
    order = [item for group in zip(*by_process.values(), strict=False) for item in group]
    made, total, copy = [], 0, 0
    while total < events:
        for path, n in order:
            target = folder / f"{path.stem.split('_')[0]}_{copy}{path.stem.split('_', 1)[1]}.root"
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
            made.append(target)
            total += n
            if total >= events:
                break
        copy += 1
    return made, total


# --- the references -------------------------------------------------------------------------


def reference_ingest(files: list[Path], work: Path) -> dict[str, float]:
    import awkward as ak

    from dltrigger.io.root_reader import infer_layout, open_tree

    events = 0
    start = time.perf_counter()
    for path in files:
        file, tree = open_tree(str(path), "Delphes")
        with file:
            tree.arrays(infer_layout(tree).branch_paths(), library="ak", how=dict)
            events += tree.num_entries
    raw = events / (time.perf_counter() - start)
    out = work / "plain-script"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for index, path in enumerate(files):  # what a user writes in five lines
        file, tree = open_tree(str(path), "Delphes")
        with file:
            arrays = tree.arrays(infer_layout(tree).branch_paths(), library="ak")
        ak.to_parquet(arrays, out / f"part-{index}.parquet", compression="zstd")
    plain = events / (time.perf_counter() - start)
    shutil.rmtree(out)
    return {"raw uproot (1 core)": raw, "plain uproot -> Parquet script (1 process)": plain}


def reference_features(ingested: Path, limit: int) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dltrigger.config import FeaturesConfig
    from dltrigger.physics.collections import resolve_collections
    from dltrigger.physics.features import compute_features

    parts = sorted(ingested.glob("label=*/*.parquet"))
    settings = FeaturesConfig()
    collections = resolve_collections(settings.collections, pq.read_schema(parts[0]).names, "")
    rows = {part: pq.ParquetFile(part).metadata.num_rows for part in parts}
    share = min(1.0, limit / sum(rows.values()))
    tables, events = [], 0
    for part in parts:  # the same share of every part: the mix of the whole (costs differ)
        file = pq.ParquetFile(part)
        wanted = max(1, round(rows[part] * share))
        batch = next(file.iter_batches(batch_size=wanted, columns=list(collections.names.values())))
        tables.append(pa.Table.from_batches([batch]))
        events += batch.num_rows
    start = time.perf_counter()
    for table in tables:
        compute_features(table, settings, collections)
    return {"pure functions (1 process)": events / (time.perf_counter() - start)}


def reference_training(data: Path, model_name: str, seconds: float = 1e9) -> dict[str, float]:
    import torch

    from dltrigger.ml.batches import Scaling, iterate_batches
    from dltrigger.ml.replica import torch_threads
    from dltrigger.models import build_model
    from train import step_rate  # benchmarks/train.py

    config = dlt.Config().train
    particles = model_name != "hlf"
    config = config.model_copy(update={"model": model_name})
    # the epoch's own kind of batches (length buckets by default) and threads, held in memory;
    # every step of them timed: the step rate falls over an epoch (measured at 100k events:
    # 1,412 samples/s over its first 15 s, 1,238 over all its batches)
    batches = list(itertools.islice(
        iterate_batches(data, "train", config.batch_size, scaling=Scaling.load(data),
                        max_particles=config.max_particles, with_particles=particles,
                        bucket_by_length=config.bucket_by_length),
        1000 if particles else 20_000,
    ))  # fmt: skip
    torch.manual_seed(0)
    torch.set_num_threads(torch_threads(config))
    model = build_model(model_name)
    return {"bare step loop, batches in memory": step_rate(model, batches, seconds)}


def reference_score(run: Path, files: list[Path], limit: int) -> dict[str, float]:
    from dltrigger.physics.features import compute_features
    from dltrigger.stream.process import read_events
    from dltrigger.stream.trigger import load_trigger

    settings = dlt.Config().stream.model_copy(update={"model": run, "threshold": 0.5})
    trigger = load_trigger(settings)
    computed, events = [], 0
    for path in files:
        table, collections = read_events(str(path), "Delphes", trigger)
        computed.append(compute_features(table, trigger.features, collections))
        events += len(table)
        if events >= limit:
            break
    trigger.scores(computed[0].hlf, computed[0].rows, computed[0].counts)  # warm-up
    selected = sum(len(c.kept) for c in computed)
    start = time.perf_counter()
    for c in computed:
        trigger.scores(c.hlf, c.rows, c.counts)
    forward = selected / (time.perf_counter() - start)
    return {"ONNX forward pass alone (selected events/s)": forward,
            "selected share": selected / events}  # fmt: skip


# --- the stages -----------------------------------------------------------------------------


def command_against_script(source: Path, sources, work: Path) -> dict[str, float]:
    """``dltrigger ingest`` of the source files as a user types it (a new process: Python,
    Spark session, job) in Spark tasks with and without ``[spark] fast_start``, and with the
    default executor (``auto``: the local process pool for such inputs, no JVM), against the
    plain single-process script, wall clock."""
    import subprocess

    out = work / "command-ingest"
    slow = work / "no-fast-start.toml"
    slow.parent.mkdir(parents=True, exist_ok=True)
    slow.write_text("[spark]\nfast_start = false\n")

    def command(executor: str, *config: str) -> float:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dltrigger", "ingest", str(source), "--out", str(out),
             "--master", "local[2]", "--executor", executor, "--quiet", "--overwrite", *config],
            check=True, capture_output=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        shutil.rmtree(out)
        return seconds

    command("spark")  # the first fast start may write the class archive (once per installation)
    fast = min(command("spark"), command("spark"))
    without = min(command("spark", "--config", str(slow)), command("spark", "--config", str(slow)))
    auto = min(command("auto"), command("auto"))
    events = sum(n for _, n in sources)
    rates = reference_ingest([p for p, _ in sources], work)
    plain = events / rates["plain uproot -> Parquet script (1 process)"]
    print(f"`dltrigger ingest` of {len(sources)} files ({events:,} events), best of 2: Spark "
          f"tasks {fast:.1f} s ({without:.1f} s without fast_start), executor auto {auto:.1f} s;"
          f" the plain script {plain:.1f} s: {plain / fast:.2f} x (Spark), {plain / auto:.2f} x "
          f"(auto)")  # fmt: skip
    return {"command_s": fast, "command_without_fast_start_s": without,
            "command_auto_s": auto, "plain_script_s": plain, "events": events}  # fmt: skip


def run_size(
    size: int, sources, work: Path, stages: set[str], limit: int, executors: set[str]
) -> dict:
    raw, events = make_input(sources, size, work / f"raw-{size}")
    base = dlt.Config.model_validate({
        "spark": {"master": "local[2]", "conf": QUIET, "executor": "spark"},
        "ingest": {"inputs": [str(work / f"raw-{size}")], "out": work / f"ingested-{size}",
                   "overwrite": True},
        # The inputs repeat the same events: keep every copy (the default keeps one), so that
        # each size carries its events through to training and scoring.
        "features": {"out": work / f"features-{size}", "overwrite": True, "duplicates": "keep"},
        "train": {"epochs": 1, "data": work / f"features-{size}" / "full", "overwrite": True,
                  "export": []},
        "score": {"inputs": [str(work / f"raw-{size}")], "out": work / f"score-{size}",
                  "overwrite": True},
        "tracking": {"enabled": False},
    })  # fmt: skip
    row: dict[str, Any] = {"events": events, "files": len(raw), "stages": {}}

    def record(name: str, items: int, unit: str, stage: str, config, out: Path | None, refs=None):
        spark = stage != "train" and config.spark.executor == "spark"
        times, peaks = measured(stage, config, spark=spark)
        seconds = times["seconds"]
        entry = {"seconds": seconds, "session_s": times["session_s"], "items": items,
                 "unit": unit, "per_s": items / seconds, "peak_bytes": peaks,
                 "disk_bytes": disk_bytes(out) if out else None}  # fmt: skip
        if stage == "train":  # the epoch's own rate (the stage adds imports, validation)
            metrics = config.train.run_folder / "metrics.csv"
            entry["epoch_per_s"] = float(next(csv.DictReader(metrics.open()))["samples_per_s"])
        if refs is not None:
            entry["references"] = refs()
        row["stages"][name] = entry
        print(f"  {name:22} {seconds:8.1f} s {items / seconds:10,.0f} {unit}/s (session start "
              f"{times['session_s']:.1f} s apart), peak "
              f"{peaks['total'] / 2**30:.2f} GiB (driver {peaks['driver'] / 2**30:.2f}, JVM "
              f"{peaks['jvm'] / 2**30:.2f}, workers {peaks['workers'] / 2**30:.2f})",
              flush=True)  # fmt: skip

    def pooled(stage: str, items: int, unit: str, config, out: Path, refs) -> None:
        """``stage`` with each executor of ``executors``; the references measured once."""
        if "spark" in executors:
            record(stage, items, unit, stage, config, out, refs)
        if "local" in executors:
            known = row["stages"].get(stage, {}).get("references")
            local = dlt.with_overrides(config, "spark", executor="local")
            record(stage + LOCAL, items, unit, stage, local, out,
                   (lambda: known) if known else refs)  # fmt: skip

    reference_files = [f for f in raw][: max(1, len(raw) * limit // max(events, 1))]
    if "ingest" in stages:
        pooled("ingest", events, "events", base, base.ingest.out,
               lambda: reference_ingest(reference_files, work))  # fmt: skip
    if "features" in stages:
        pooled("features", events, "events", base, base.features.out,
               lambda: reference_features(base.ingest.out, limit))  # fmt: skip
    data = base.train.data
    if any(s.startswith("train") or s == "score" for s in stages):
        manifest = json.loads((data / "_manifest.json").read_text())
        training = manifest["per_split"]["train"]
    for model in ("hlf", "inclusive"):
        needed = f"train {model}" in stages or (model == "inclusive" and "score" in stages)
        if not needed:
            continue
        config = dlt.with_overrides(base, "train", model=model, out=work / f"run-{size}-{model}",
                                    export=["onnx"] if model == "inclusive" else [])  # fmt: skip
        record(f"train {model}", training, "samples", "train", config, None,
               lambda m=model: reference_training(data, m))  # fmt: skip
    if "score" in stages:
        run = work / f"run-{size}-inclusive"
        # an explicit cut: a small test split sets no working point; throughput only
        config = dlt.with_overrides(base, "stream", model=run, threshold=0.5)
        pooled("score", events, "events", config, base.score.out,
               lambda: reference_score(run, reference_files, limit))  # fmt: skip
    shutil.rmtree(work / f"raw-{size}")  # links only; the outputs stay for inspection
    return row


def slope(a: dict, b: dict) -> float:
    return math.log(b["seconds"] / a["seconds"]) / math.log(b["items"] / a["items"])


def summarise(rows: list[dict]) -> dict[str, dict]:
    summary: dict[str, dict] = {}
    for stage in ROWS:
        points = [r["stages"][stage] for r in rows if stage in r["stages"]]
        if len(points) < 2:
            continue
        first, last = points[-2], points[-1]
        summary[stage] = {
            "slope": slope(first, last),
            "memory_ratio": last["peak_bytes"]["total"] / first["peak_bytes"]["total"],
            "peak_gib": last["peak_bytes"]["total"] / 2**30,
            "between": [first["items"], last["items"]],
        }
    return summary


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    import mplhep
    from matplotlib.figure import Figure

    with matplotlib.style.context(mplhep.style.CMS):
        figure = Figure(figsize=(14, 6))
        time_ax, memory_ax = figure.subplots(1, 2)
        for stage in ROWS:
            points = [(r["events"], r["stages"][stage]) for r in rows if stage in r["stages"]]
            if not points:
                continue
            events = [e for e, _ in points]
            time_ax.plot(events, [p["seconds"] for _, p in points], "o-", label=stage)
            memory_ax.plot(events, [p["peak_bytes"]["total"] / 2**30 for _, p in points], "o-",
                           label=stage)  # fmt: skip
        for axis, label in ((time_ax, "wall time [s]"), (memory_ax, "peak memory [GiB]")):
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlabel("input events")
            axis.set_ylabel(label)
            axis.legend(fontsize=14)
        figure.suptitle("dltrigger at scale, local[2]", fontsize=18)
        figure.savefig(path, dpi=80, bbox_inches="tight")


def markdown(result: dict) -> str:
    """The figures as the Markdown tables of docs/benchmarks.md."""
    gib = 2**30
    lines = ["| stage | events in | items | seconds | items/s | peak driver / JVM / workers / "
             "all, GiB | on disk, MB |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in result["sizes"]:
        for stage, e in row["stages"].items():
            p = e["peak_bytes"]
            disk = f"{e['disk_bytes'] / 1e6:,.0f}" if e.get("disk_bytes") else ""
            lines.append(
                f"| {stage} | {row['events']:,} | {e['items']:,} {e['unit']} | "
                f"{e['seconds']:.1f} | {e['per_s']:,.0f} | {p['driver'] / gib:.2f} / "
                f"{p['jvm'] / gib:.2f} / {p['workers'] / gib:.2f} / {p['total'] / gib:.2f} | "
                f"{disk} |"
            )
    summary = result.get("summary") or summarise(result["sizes"])
    lines += ["", "| stage | log-log slope of the time | peak memory ratio | between |",
              "|---|---|---|---|"]  # fmt: skip
    for stage, x in summary.items():
        lines.append(f"| {stage} | {x['slope']:.2f} | {x['memory_ratio']:.2f} | "
                     f"{x['between'][0]:,} and {x['between'][1]:,} items |")  # fmt: skip
    lines += ["", "| stage (largest size) | dltrigger, /s | reference | reference, /s | ratio |",
              "|---|---|---|---|---|"]  # fmt: skip
    for stage in ROWS:
        last = next((r["stages"][stage] for r in reversed(result["sizes"])
                     if stage in r["stages"]), None)  # fmt: skip
        if not last:
            continue
        refs = last.get("references", {})
        share = refs.get("selected share", 1) if stage.startswith("score") else 1
        for name, rate in refs.items():
            if "share" not in name:
                mine = last.get("epoch_per_s", last["per_s"]) * share
                lines.append(f"| {stage} | {mine:,.0f} | {name} | {rate:,.0f} | "
                             f"{mine / rate:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("data/raw"))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dlt-scale")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--huge", action="store_true", help="also 10M events (ingest, features)")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument(
        "--executors",
        default="spark,local",
        help=f"who runs the tasks of {', '.join(POOLED)}: spark, local or both (comma-separated)",
    )
    parser.add_argument("--reference-events", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--from-json", type=Path, help="print (and plot) a saved run's figures")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        print(markdown(saved))
        if args.plot:
            plot(saved["sizes"], args.plot)
        return

    sources = source_files(args.source)
    stages = {s.strip() for s in args.stages.split(",")}
    executors = {e.strip() for e in args.executors.split(",")}
    if not executors or not executors <= {"spark", "local"}:
        parser.error(f"--executors: spark, local or both, got {args.executors!r}")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"dltrigger {dlt.__version__} scale benchmark; machine: {describe()}")
    print(f"source: {len(sources)} files, {sum(n for _, n in sources):,} events in {args.source}")
    command = command_against_script(args.source, sources, args.work)
    rows = []
    for size in sizes + ([10_000_000] if args.huge else []):
        chosen = stages if size < 10_000_000 else stages & {"ingest", "features"}
        print(f"{size:,} events:", flush=True)
        rows.append(run_size(size, sources, args.work, chosen, args.reference_events, executors))
        if args.json:  # after every size: a long run stopped early keeps what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"machine": describe(), "command": command,
                                             "sizes": rows}, indent=2))  # fmt: skip
    summary = summarise(rows)
    print(f"{'stage':22} {'slope':>6} {'mem ratio':>9} {'peak GiB':>8}  between")
    for stage, s in summary.items():
        print(f"{stage:22} {s['slope']:6.2f} {s['memory_ratio']:9.2f} {s['peak_gib']:8.2f}  "
              f"{s['between'][0]:,} and {s['between'][1]:,} items")  # fmt: skip
    for stage in ROWS:
        last = next((r["stages"][stage] for r in reversed(rows) if stage in r["stages"]), None)
        for name, rate in (last or {}).get("references", {}).items():
            if "share" in name:
                continue
            mine = last.get("epoch_per_s", last["per_s"]) * (
                last.get("references", {}).get("selected share", 1)
                if stage.startswith("score")
                else 1
            )
            print(f"{stage:22} {mine:10,.0f} /s vs {name} {rate:10,.0f} /s: {mine / rate:.2f} x")
    result = {"machine": describe(), "command": command,
              "sizes": rows, "summary": summary}  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    if args.plot:
        plot(rows, args.plot)
    print(markdown(result))


if __name__ == "__main__":
    main()
