"""Benchmark of ``dltrigger generate``: events per second per core, per process.

For each process one output file is made in this process (one core, as one Spark task does)
and timed. Printed per process:

- written ev/s/core: events written to the ROOT file per second (Pythia + filter + detector
  simulation + jets + writing);
- selected ev/s/core: "selected-equivalent" events per second, i.e. written events with an
  e/mu of pT > 23 GeV and relative isolation < 0.45 (the reference's selection,
  docs/reference.md §2);
- the reference: Pythia alone making the same events (same seed, settings and filter, no
  detector simulation or output), and the ratio of the full chain's speed to it.

With ``--spark-events N``, the whole ``generate`` job (every process, N events each) is also
timed on ``--master``, its files' tasks run by each executor: Spark tasks (``[spark] executor =
"spark"``) and the local process pool (``executor = "local"``, no JVM), the latter's rate also
as a ratio to Spark's.

Goals (issue 2): >= 100 written ev/s/core for W+jets and ttbar, >= 20 selected ev/s/core for
QCD. Usage: ``python benchmarks/generate.py [--events N] [--no-mpi] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import GenerateConfig
from dltrigger.generate.job import FileTask, file_seeds, generate_file, plan
from dltrigger.generate.pythia_source import EventSource

GOALS = {"wjets": ("written", 100.0), "ttbar": ("written", 100.0), "qcd": ("selected", 20.0)}


def pythia_alone(config: GenerateConfig, task: FileTask) -> float:
    """Seconds Pythia (with the filter) takes to hand out the same events as ``task``."""
    events, process = task.events, task.process
    start = time.perf_counter()
    source = EventSource(process, config.settings(process), file_seeds(task)[0], mpi=config.mpi)
    done = 0
    while done < events:
        done += len(source.next(min(config.batch_size, events - done)))
    return time.perf_counter() - start


def run(events: dict[str, int], mpi: bool) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for process, n in events.items():
            config = GenerateConfig(
                out=Path(folder), process=[process], events=n, events_per_file=n, mpi=mpi
            )
            task = dataclasses.replace(plan(config)[0], seed=1)
            report = generate_file(task)
            reference = pythia_alone(config, task)
            rows.append(
                {
                    "process": process,
                    "mpi": mpi,
                    "events": n,
                    "pythia_events": report.generated,
                    "seconds": report.seconds,
                    "written_per_s": n / report.seconds,
                    "selected": report.selected,
                    "selected_per_s": report.selected / report.seconds,
                    "pythia_alone_per_s": n / reference,
                    "ratio_to_pythia_alone": reference / report.seconds,
                    "bytes_per_event": report.bytes / n,
                }
            )
    return rows


def run_job(events: int, events_per_file: int, master: str, mpi: bool, executor: str) -> dict:
    """Wall-clock throughput of the whole ``generate`` job (all processes), its files' tasks
    run by ``executor``: ``"spark"`` (a session on ``master``, started before the clock) or
    ``"local"`` (the local process pool, as many processes as ``master`` has cores)."""
    import os

    from dltrigger.config import Config, SparkConfig
    from dltrigger.executors import choose
    from dltrigger.spark.session import get_spark

    quiet = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
    spark_config = SparkConfig(master=master, conf=quiet, executor=executor)
    spark = get_spark(spark_config) if executor == "spark" else None
    cores = choose(spark_config, input_bytes=0, spark=spark).cores
    with tempfile.TemporaryDirectory() as folder:
        config = Config(
            spark=spark_config,
            generate=GenerateConfig(
                out=Path(folder), events=events, events_per_file=events_per_file, mpi=mpi
            ),
        )
        start = time.perf_counter()
        reports = dltrigger.generate.run(config, spark=spark).files
        wall = time.perf_counter() - start
    if spark is not None:
        spark.stop()
    written = sum(r.events for r in reports)
    task_seconds = sum(r.seconds for r in reports)
    return {
        "executor": executor,
        "master": master,
        "cores": cores,
        "files": len(reports),
        "events": written,
        "wall_seconds": wall,
        "events_per_s": written / wall,
        "events_per_s_per_core": written / wall / cores,
        "task_seconds": task_seconds,
        "parallel_efficiency": task_seconds / (wall * cores),
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per process (W, tt)")
    parser.add_argument("--qcd-events", type=int, default=500, help="events written for QCD")
    parser.add_argument("--no-mpi", action="store_true", help="switch multiparton interactions off")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--spark-events",
        type=int,
        default=0,
        help="also time the whole job with this many events per process, in Spark tasks and "
        "in the local process pool (0: skip)",
    )
    parser.add_argument(
        "--master", default="local[*]", help="master of --spark-events (local[N]: N processes)"
    )
    args = parser.parse_args()

    events = {"wjets": args.events, "ttbar": args.events, "qcd": args.qcd_events}
    rows = run(events, mpi=not args.no_mpi)
    print(
        f"dltrigger {__version__} generate benchmark, one core, "
        f"MPI {'off' if args.no_mpi else 'on'}"
    )
    print(f"machine: {describe()}")
    header = (
        f"{'process':8} {'written':>8} {'Pythia':>8} {'written':>10} {'selected':>10} "
        f"{'Pythia-alone':>13} {'ratio':>6} {'kB/ev':>6}  goal"
    )
    print(header)
    print(
        f"{'':8} {'events':>8} {'events':>8} {'ev/s/core':>10} {'ev/s/core':>10} {'ev/s/core':>13}"
    )
    for r in rows:
        kind, goal = GOALS[r["process"]]
        value = r["written_per_s"] if kind == "written" else r["selected_per_s"]
        verdict = "met" if value >= goal else "NOT met"
        print(
            f"{r['process']:8} {r['events']:8d} {r['pythia_events']:8d} {r['written_per_s']:10.1f} "
            f"{r['selected_per_s']:10.2f} {r['pythia_alone_per_s']:13.1f} "
            f"{r['ratio_to_pythia_alone']:6.2f} {r['bytes_per_event'] / 1e3:6.1f}  "
            f">= {goal:.0f} {kind} ev/s/core: {verdict}"
        )
    result = {"machine": describe(), "rows": rows}
    if args.spark_events:
        jobs = {
            executor: run_job(
                args.spark_events, max(args.spark_events // 4, 1), args.master,
                not args.no_mpi, executor,
            )
            for executor in ("spark", "local")
        }  # fmt: skip
        result["spark"], result["local"] = jobs["spark"], jobs["local"]
        for name, job in (("Spark job", jobs["spark"]), ("local-pool job", jobs["local"])):
            ratio = job["events_per_s"] / jobs["spark"]["events_per_s"]
            print(
                f"{name} on {job['master']} ({job['cores']} cores): {job['files']} files, "
                f"{job['events']} events in {job['wall_seconds']:.1f} s wall = "
                f"{job['events_per_s']:.1f} ev/s ({job['events_per_s_per_core']:.1f} ev/s/core); "
                f"task time / (wall x cores) = {job['parallel_efficiency']:.2f}; "
                f"{ratio:.2f} x Spark"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
