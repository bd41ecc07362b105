"""Benchmark of reading *genuine* Delphes files (Delphes 3.5.1, standard CMS card) against raw
uproot of the same branches, in one run.

The files (``--data``: a folder of genuine Delphes files, e.g. the 100-event files
``validation/delphes/make_fixtures.sh`` writes; the default is the 25-event fixtures of
``tests/data/delphes``) are copied ``--copies``
times into a temporary folder (the copies are still Delphes' bytes; 100 events each is too few
to time).
Two branch sets are measured, each against raw uproot ``TTree.arrays`` of exactly its branches
on one core (the local limit):

- ``all``: every readable member of the 17 collections (what ``dltrigger ingest DIR`` reads
  with no ``branches``), ~390 branches, 1,229 GenParticles per event among them;
- ``physics``: the seven collections the features read (``Electron, Muon, EFlowTrack,
  EFlowPhoton, EFlowNeutralHadron, Jet, MissingET``).

For each: raw uproot; our reader (uproot -> Arrow record batches, layout inference included);
the survey that merges the files' layouts (one tree open per file); the Spark ``root`` source on
``local[2]`` (``noop`` sink), merging every file's layout (default) and taking the first's
(``schemaFrom=first``); ``dltrigger ingest`` (ROOT -> Parquet) on ``local[2]``, its tasks run
by each executor: Spark tasks (``[spark] executor = "spark"``) and the local process pool of two
processes (``executor = "local"``, no JVM). Printed: seconds, events/s, MB/s (file bytes on disk
per second) and the ratio to raw uproot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dltrigger
from _machine import describe
from dltrigger import __version__
from dltrigger.config import Config, IngestConfig, SparkConfig
from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
from dltrigger.io.root_survey import survey
from ingest import best_of

QUIET = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
#: The default ``--data``: the genuine 25-event fixtures in the repository.
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "delphes"
PHYSICS = ["Electron", "Muon", "EFlowTrack", "EFlowPhoton", "EFlowNeutralHadron", "Jet",
           "MissingET"]  # fmt: skip


def copies(source: Path, target: Path, n: int) -> list[str]:
    files = []
    for original in sorted(source.glob("*.root")):
        for i in range(n):
            # names keep the sample prefix (Wlnu_lepFilter_13TeV_...), so ingest assigns them
            copy = target / f"{original.stem}{i:03d}.root"
            shutil.copy(original, copy)
            files.append(str(copy))
    return files


def raw_uproot(files: list[str], branches: list[str]) -> None:
    for path in files:
        file, tree = open_tree(path, "Delphes")
        with file:
            paths = infer_layout(tree, branches or None).select(branches).branch_paths()
            tree.arrays(paths, library="ak", how=dict)


def our_reader(files: list[str], branches: list[str]) -> None:
    for path in files:
        file, tree = open_tree(path, "Delphes")
        with file:
            layout = infer_layout(tree, branches or None).select(branches)
            read_record_batch(tree, layout, 0, tree.num_entries, path)


def spark_source(spark, files: list[str], branches: list[str], schema_from: str = "all") -> None:
    from dltrigger.spark.root_source import register

    register(spark)
    for path in files:  # new stamps: the source's survey cache must not serve a repeat
        os.utime(path)
    reader = spark.read.format("root").option("minPartitions", "4")
    reader = reader.option("schemaFrom", schema_from)
    if branches:
        reader = reader.option("branches", ",".join(branches))
    reader.load(files).write.format("noop").mode("overwrite").save()


def end_to_end(spark, files: list[str], branches: list[str], executor: str = "spark") -> None:
    """``dltrigger ingest``: Spark tasks in ``spark``, or (``executor="local"``) the local
    process pool of as many processes as ``spark`` has cores (no session used)."""
    master = str(spark.sparkContext.master)
    with tempfile.TemporaryDirectory() as folder:
        config = Config(
            ingest=IngestConfig(out=Path(folder) / "out", branches=branches, inputs=files),
            spark=SparkConfig(master=master, conf=QUIET, executor=executor),
        )
        dltrigger.ingest.run(config, spark=spark if executor == "spark" else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of Delphes files")
    parser.add_argument("--copies", type=int, default=4, help="copies of each file")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not any(args.data.glob("*.root")):
        sys.exit(f"no Delphes files in {args.data}")

    from dltrigger.spark.session import get_spark

    spark = get_spark(SparkConfig(master="local[2]", conf=QUIET))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = copies(args.data, Path(folder), args.copies)
        events = 0
        for path in files:
            file, tree = open_tree(path, "Delphes")
            with file:
                events += tree.num_entries
        megabytes = sum(Path(f).stat().st_size for f in files) / 1e6
        spark_source(spark, files[:1], PHYSICS)  # warm-up: Python workers
        for label, branches in (("physics", PHYSICS), ("all", [])):
            measured = results.setdefault(label, {})
            measured["raw uproot (1 core)"] = best_of(
                args.repeats, lambda b=branches: raw_uproot(files, b)
            )
            measured["uproot -> Arrow (1 core)"] = best_of(
                args.repeats, lambda b=branches: our_reader(files, b)
            )
            measured["survey alone (driver threads)"] = best_of(
                args.repeats, lambda b=branches: survey(files, "Delphes", b, False)
            )
            measured["Spark source local[2]"] = best_of(
                args.repeats, lambda b=branches: spark_source(spark, files, b)
            )
            measured["  ... schemaFrom=first"] = best_of(
                args.repeats, lambda b=branches: spark_source(spark, files, b, "first")
            )
            measured["ROOT -> Parquet local[2]"] = best_of(
                args.repeats, lambda b=branches: end_to_end(spark, files, b)
            )
            measured["  ... local pool, 2 procs"] = best_of(
                args.repeats, lambda b=branches: end_to_end(spark, files, b, "local")
            )
    spark.stop()

    print(f"dltrigger {__version__} genuine-Delphes ingest benchmark; machine: {describe()}")
    print(f"{len(files)} files ({args.copies} copies of each of {args.data}), {events} events, "
          f"{megabytes:.1f} MB on disk")  # fmt: skip
    for label, measured in results.items():
        raw = measured["raw uproot (1 core)"]
        which = ", ".join(PHYSICS) if label == "physics" else "every readable member"
        print(f"\nbranches: {label} ({which})")
        print(f"{'measurement':28} {'seconds':>8} {'events/s':>10} {'MB/s':>7} {'x raw':>6}")
        for name, seconds in measured.items():
            print(
                f"{name:28} {seconds:8.2f} {events / seconds:10.0f} {megabytes / seconds:7.1f} "
                f"{raw / seconds:6.2f}"
            )
    if args.json:
        facts = {"machine": describe(), "events": events, "megabytes": megabytes}
        args.json.write_text(json.dumps({**facts, "seconds": results}, indent=2))


if __name__ == "__main__":
    main()
