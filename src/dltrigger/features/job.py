"""``dltrigger features``: ingested events -> selected events with HLF and particle lists.

One Spark task per ingested Parquet file reads it with pyarrow, runs the pure physics
functions (selection, 14 HLF, 19-feature particle lists) and writes the selected events with
pyarrow (events stay in Arrow end to end, as in ingest), plus the event's content key and
the split and sampling numbers hashed from it (features/split.py), and returns counts and
partial scaling statistics of its training rows. One Spark SQL job then finds the selected
events whose key repeats (features/duplicates.py): counted in the manifests with a warning
naming the files, and (``duplicates = "drop"``) all but one copy left out. The driver then
writes:

- ``full/``: every selected event; ``balanced/``: classes undersampled to the smallest (by
  the event's sampling number, so independent of partitioning); ``dev/``: about
  ``dev_per_class`` events per class from ``balanced`` (or ``full``);
- beside each: ``_scaling.json`` (HLF min/max/mean/std and particle-feature mean/std over
  real particles, training split only) and ``_manifest.json`` (counts per class and split,
  selection efficiency per process, feature names, statistics, configuration, inputs).

Columns: ``label`` (int), ``sample``, ``source_file``, ``entry`` (int64), ``event_key`` (int64:
the content key's bits), ``split`` (train/test), ``u_sample`` (the sampling number), ``hlf`` (14
float32, unscaled, reference order), ``particles`` (rows of 19 float32, unscaled, ragged: no
padding on disk).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artifacts import FeaturesDataset
from ..config import Config, FeaturesConfig
from ..errors import FeaturesError
from ..io.atomic import atomic_folder
from ..schema import CLASS_NAMES, HLF_NAMES, PARTICLE_FEATURES, SPLITS
from ..spark.failures import root_cause
from .checks import check_inputs, check_scaling
from .collections import ResolvedCollections, resolve_collections
from .duplicates import PartDuplicates, find_duplicates
from .origin import events_origin, ingested_files
from .split import SPLIT_KEY
from .stats import FeatureStats

log = logging.getLogger("dltrigger")

SCHEMA_VERSION = "dltrigger-features/1"
PADDED_BYTES_PER_EVENT = 801 * 19 * 8  # the reference's padded float64 layout (§3.1)
#: Ingest's bookkeeping columns, carried to the features datasets.
SOURCE_COLUMNS = ("sample", "source_file", "entry")
DATASETS = ("full", "balanced", "dev")


@dataclass(frozen=True)
class InputFile:
    index: int
    path: str
    label: int


def find_inputs(folder: Path) -> list[InputFile]:
    """The ingested Parquet files and their label (from the ``label=N`` folder)."""
    if not folder.is_dir():
        raise FeaturesError(f"ingested dataset not found: {folder}")
    files = sorted(folder.glob("label=*/*.parquet"))
    if not files:
        raise FeaturesError(f"{folder}: no label=N/*.parquet files (is it an ingest output?)")
    inputs = []
    for i, path in enumerate(files):
        match = re.fullmatch(r"label=(\d+)", path.parent.name)
        if match is None:
            raise FeaturesError(f"{path}: its folder is not label=N")
        inputs.append(InputFile(i, str(path), int(match.group(1))))
    return inputs


def input_collections(inputs: list[InputFile], settings: FeaturesConfig) -> ResolvedCollections:
    """The collections of ``settings.collections`` in the ingested columns (one ingest output
    has one schema: its first file speaks for all)."""
    import pyarrow.parquet as pq

    columns = pq.read_schema(inputs[0].path).names
    return resolve_collections(
        settings.collections, columns, str(Path(inputs[0].path).parent.parent)
    )


#: Events one task computes at a time: the pure functions' intermediates (~70 kB per event of
#: the demo's) are held for one batch only, so a task's memory does not grow with the size of
#: the ingested file (benchmarks/scale.py: 2.4 GiB per task at 30,000-event files before).
TASK_BATCH_EVENTS = 8192


def process_file(
    task: InputFile, out: str, settings: FeaturesConfig, collections: ResolvedCollections
) -> dict:
    """Select and compute features for one ingested file, a batch of events at a time; write
    ``out/full/part-N.parquet``."""
    import pyarrow.parquet as pq

    from ..io.parquet import parquet_writer

    parquet = pq.ParquetFile(task.path)
    present = parquet.schema_arrow.names
    needed = [*collections.names.values(), *SOURCE_COLUMNS]
    missing = [c for c in needed if c not in present]
    if missing:
        raise FeaturesError(
            f"{task.path}: missing column {missing[0]!r} (columns: {', '.join(present)}); "
            "is it a dltrigger ingest output?"
        )
    target = Path(out) / "full" / f"part-{task.index:05d}.parquet"
    writer = None
    parts: list[dict] = []
    try:
        for batch in parquet.iter_batches(batch_size=TASK_BATCH_EVENTS, columns=needed):
            table, part = _process_batch(_as_table(batch), task, settings, collections)
            parts.append(part)
            if table.num_rows:
                if writer is None:
                    writer = parquet_writer(target, table.schema)
                writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    selected = sum(p["selected"] for p in parts)
    samples = sorted({s for p in parts for s in p["samples"]})
    return {
        "index": task.index,
        "path": task.path,
        "label": task.label,
        "sample": samples[0] if samples else "",
        "events": sum(p["events"] for p in parts),
        "selected": selected,
        "rejected": _summed([p["rejected"] for p in parts]),
        "hlf_stats": _merged([p["hlf_stats"] for p in parts], len(HLF_NAMES)),
        "particle_stats": _merged([p["particle_stats"] for p in parts], len(PARTICLE_FEATURES)),
        "per_split": _summed([p["per_split"] for p in parts]),
        "split_counts": {s: _summed([p["split_counts"][s] for p in parts]) for s in SPLITS},
        "bytes": target.stat().st_size if writer is not None else 0,
        "particle_rows": sum(p["particle_rows"] for p in parts),
    }


def _as_table(batch):  # a record batch as a table (what the pure functions take)
    import pyarrow as pa

    return pa.Table.from_batches([batch])


def _summed(counts: list[dict]) -> dict:
    total: dict = {}
    for item in counts:
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    return total


def _merged(stats: list[list[list[float]]], n: int) -> list[list[float]]:
    total = FeatureStats.empty(n)
    for lists in stats:
        total = total.merge(FeatureStats.from_lists(lists))
    return total.to_lists()


def _process_batch(
    table, task: InputFile, settings: FeaturesConfig, collections: ResolvedCollections
) -> tuple:
    """The selected events of one batch as the output table, and the batch's counts."""
    import pyarrow as pa

    from .arrow import hlf_column, particles_column
    from .compute import compute_features
    from .split import event_uniform, split_of

    # Impossible values (a damaged ingest made elsewhere) stop the stage, naming the event.
    check_inputs(table, collections, task.path)
    try:
        computed = compute_features(table, settings, collections, task.path, keys=True)
    except ValueError as exc:
        raise FeaturesError(f"{task.path}: {exc}") from None
    hlf, rows, counts, kept = computed.hlf, computed.rows, computed.counts, computed.kept
    # The split and sampling numbers hash the event's content key, not its file or entry: a
    # copy of an event (a renamed copy of its file) gets the same numbers.
    keys = computed.keys
    assert keys is not None  # asked for
    taken = pa.array(kept, pa.int64())
    entry = table.column("entry").to_numpy()[kept]
    split = split_of(
        event_uniform(keys, "split"), settings.test_fraction, settings.validation_fraction
    )
    u_sample = event_uniform(keys, "sample")
    n = len(entry)
    out_table = pa.table(
        {
            "label": pa.array(np.full(n, task.label, dtype=np.int32)),
            "sample": table.column("sample").take(taken).cast(pa.string()),
            "source_file": table.column("source_file").take(taken).cast(pa.string()),
            "entry": pa.array(entry.astype(np.int64)),
            "event_key": pa.array(keys.view(np.int64)),
            "split": pa.array(split, pa.string()),
            "u_sample": pa.array(u_sample),
            "hlf": hlf_column(hlf),
            "particles": particles_column(rows, counts),
        }
    )
    part = {
        "events": computed.events,
        "selected": n,
        "rejected": computed.rejected,
        "samples": table.column("sample").unique().to_pylist(),
        **_stats(hlf, rows, counts, split, np.full(n, task.label)),
        "particle_rows": int(counts.sum()),
    }
    return out_table, part


def _stats(
    hlf: np.ndarray, rows: np.ndarray, counts: np.ndarray, split: np.ndarray, labels: np.ndarray
) -> dict:
    train = split == "train"
    return {
        "hlf_stats": FeatureStats.of(hlf[train]).to_lists(),
        "particle_stats": FeatureStats.of(rows[np.repeat(train, counts)]).to_lists(),
        "per_split": {s: int((split == s).sum()) for s in SPLITS},
        "split_counts": {
            s: {str(k): int(((split == s) & (labels == k)).sum()) for k in np.unique(labels)}
            for s in SPLITS
        },
    }


def _split_counts(results: list[dict]) -> dict[str, dict[str, int]]:
    """Events per split and class (label) over the parts, for training's checks."""
    total: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for r in results:
        for split, per_label in r["split_counts"].items():
            for label, n in per_label.items():
                if n:
                    total[split][label] = total[split].get(label, 0) + n
    return {s: dict(sorted(c.items())) for s, c in total.items()}


def subset_file(
    path: str,
    index: int,
    subsets: dict[str, tuple[str, dict[int, float]]],
    duplicates: PartDuplicates | None = None,
) -> dict:
    """Write one ``full`` part's rows into every subset (name -> folder, class fractions) and
    summarise each: the rows whose ``u_sample`` is below their class's fraction.

    The part is read and decoded once for all subsets; a subset keeping every row of it gets
    the part itself (a hard link where the file system allows, else a copy), not a rewrite.
    With ``duplicates`` (the part's repeated events, to drop), the part is first rewritten
    without the copies that are not kept (removed if none is), and summarised under ``"full"``.
    A second attempt of the task finds the part already rewritten, and summarises it alike.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ..io.parquet import write_table
    from .duplicates import repeated_rows

    results: dict[str, dict] = {}
    if duplicates is not None and not Path(path).exists():  # every row dropped, by an earlier
        empty = np.zeros(0, dtype=np.int32)  # attempt of this task
        hlf, rows = np.zeros((0, len(HLF_NAMES))), np.zeros((0, len(PARTICLE_FEATURES)))
        summary = _stats(hlf, rows, empty, empty.astype(str), empty)
        return {"full": {"selected": 0, "per_label": {}, "particle_rows": 0, "bytes": 0,
                         **summary}}  # fmt: skip
    table = pq.read_table(path)
    if duplicates is not None:
        drop = repeated_rows(
            table.column("event_key").to_numpy(),
            np.asarray(table.column("source_file").to_pylist(), dtype=object),
            table.column("entry").to_numpy(),
            duplicates,
        )
        if drop.any():
            table = table.filter(~drop)
            if table.num_rows:
                write_table(table, Path(path).with_suffix(".rewritten"))
                os.replace(Path(path).with_suffix(".rewritten"), path)
            else:
                os.remove(path)
        results["full"] = {}
    label = table.column("label").to_numpy()
    u_sample = table.column("u_sample").to_numpy()
    split = np.asarray(table.column("split").to_pylist())
    hlf = np.asarray(table.column("hlf").combine_chunks().flatten()).reshape(-1, len(HLF_NAMES))
    counts = pc.list_value_length(table.column("particles")).to_numpy(zero_copy_only=False)
    rows = np.asarray(pc.list_flatten(pc.list_flatten(table.column("particles")))).reshape(
        -1, len(PARTICLE_FEATURES)
    )
    if "full" in results:
        results["full"].update(
            selected=len(label),
            per_label={int(k): int((label == k).sum()) for k in np.unique(label)},
            particle_rows=int(counts.sum()),
            bytes=Path(path).stat().st_size if len(label) else 0,
            **_stats(hlf, rows, counts, split, label),
        )
    for name, (out, keep_fraction) in subsets.items():
        keep = (
            u_sample < np.vectorize(keep_fraction.get)(label)
            if len(label)
            else np.zeros(0, dtype=bool)
        )
        target = Path(out) / f"part-{index:05d}.parquet"
        if len(label) and keep.all():
            _link_or_copy(path, target)
        elif keep.any():
            write_table(table.filter(keep), target)
        per_label = {int(k): int((label[keep] == k).sum()) for k in np.unique(label)}
        results[name] = {
            "per_label": per_label,
            **_stats(hlf[keep], rows[np.repeat(keep, counts)], counts[keep], split[keep],
                     label[keep]),
        }  # fmt: skip
    return results


def _link_or_copy(source: str, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


def _merge(results: list[dict], key: str, n: int) -> FeatureStats:
    total = FeatureStats.empty(n)
    for r in results:
        total = total.merge(FeatureStats.from_lists(r[key]))
    return total


def _write_side_files(folder: Path, results: list[dict], manifest: dict) -> dict:
    """The dataset's statistics (training split only) and manifest."""
    scaling = {
        "fitted_on": "train split only",
        "hlf": _merge(results, "hlf_stats", len(HLF_NAMES)).summary(HLF_NAMES),
        "particles": _merge(results, "particle_stats", len(PARTICLE_FEATURES)).summary(
            PARTICLE_FEATURES
        ),
    }
    check_scaling(scaling, str(folder))
    return FeaturesDataset(folder).write_side_files(scaling, manifest)


def _empty_classes(selected: dict[int, int], results: list[dict], settings: FeaturesConfig):
    """The classes none of whose events passed: an error, or (``empty_classes = "drop"``)
    their descriptions for the manifest, with a warning."""
    empty = sorted(k for k, v in selected.items() if v == 0)
    described = []
    for label in empty:
        mine = [r for r in results if r["label"] == label]
        samples = sorted({r["sample"] for r in mine})
        events = sum(r["events"] for r in mine)
        name = CLASS_NAMES[label] if label < len(CLASS_NAMES) else str(label)
        described.append(
            {"label": label, "class": name, "samples": samples, "events": events,
             "files": len(mine)}
        )  # fmt: skip
    if not described:
        return []
    text = "; ".join(
        f"class {d['class']} (label {d['label']}, sample {', '.join(d['samples'])}): none of "
        f"its {d['events']} events in {d['files']} file(s) passes the selection"
        for d in described
    )
    if settings.empty_classes == "error":
        raise FeaturesError(
            f"{text}. Check the lepton collections (a card that isolates them already, as the "
            "standard CMS card, leaves lepton-enriched QCD almost nothing), or set [features] "
            'empty_classes = "drop" to write the datasets without that class'
        )
    log.warning("%s: the datasets are written without it", text)
    return described


def features(config: Config, spark=None, progress: bool = True) -> dict[str, dict]:
    """Run the features stage; return the manifest of each dataset written."""
    from ..progress import run_spark_job_with_progress
    from ..spark.session import get_spark

    config = config.resolved()
    settings = config.features
    start = time.perf_counter()
    input_folder = settings.input
    assert input_folder is not None  # resolved by Config.resolved()
    if settings.split_key != SPLIT_KEY:
        raise FeaturesError(
            f'split_key = "{settings.split_key}" names how datasets made before it existed were '
            "split (by file name and entry: a renamed copy of a file put training events in the "
            'test split); it is no longer made: use split_key = "content"'
        )
    inputs = find_inputs(Path(input_folder))
    collections = input_collections(inputs, settings)
    spark = spark or get_spark(config.spark)
    sc = spark.sparkContext

    def run(description: str, rdd):
        try:
            if progress:
                return run_spark_job_with_progress(
                    spark, description, rdd.getNumPartitions(), rdd.collect
                )
            return rdd.collect()
        except Exception as exc:
            raise FeaturesError(f"features failed, nothing written: {root_cause(exc)}") from None

    manifests: dict[str, dict] = {}
    with atomic_folder(
        settings.out, settings.overwrite, kind="features", inputs=[input_folder]
    ) as folder:
        (folder / "full").mkdir(parents=True)
        out = str(folder)
        results = run(
            f"features of {len(inputs)} file(s)",
            sc.parallelize(inputs, len(inputs)).map(
                lambda t: process_file(t, out, settings, collections)
            ),
        )
        selected: dict[int, int] = {}
        efficiency: dict[str, dict[str, float]] = {}
        for r in results:
            selected[r["label"]] = selected.get(r["label"], 0) + r["selected"]
            e = efficiency.setdefault(r["sample"], {"events": 0, "selected": 0})
            e["events"] += r["events"]
            e["selected"] += r["selected"]
        for e in efficiency.values():
            e["efficiency"] = e["selected"] / e["events"] if e["events"] else 0.0
        rejected = {
            reason: sum(r["rejected"][reason] for r in results) for reason in results[0]["rejected"]
        }
        if not any(selected.values()):
            raise FeaturesError(
                f"no event of {settings.input} passes the selection (rejected: "
                + ", ".join(f"{reason} {n}" for reason, n in rejected.items() if n)
                + f"; {collections.describe()})"
            )
        dropped = _empty_classes(selected, results, settings)
        drop = settings.duplicates == "drop"
        try:
            duplicates = find_duplicates(spark, folder / "full", drop=drop)
        except Exception as exc:
            raise FeaturesError(f"features failed, nothing written: {root_cause(exc)}") from None
        if duplicates.events:
            log.warning("%s", duplicates.describe(dropped=drop))
            if drop:
                for label, n in duplicates.per_label.items():
                    selected[label] -= n
        selected = {k: v for k, v in selected.items() if v}
        common = {
            "schema_version": SCHEMA_VERSION,
            "hlf_names": list(HLF_NAMES),
            "particle_features": list(PARTICLE_FEATURES),
            "selection_efficiency": efficiency,
            "rejected": rejected,
            "collections": collections.to_json(),
            "events_origin": events_origin(ingested_files(Path(input_folder)), collections),
            "dropped_classes": dropped,
            "duplicate_events": duplicates.events,
            "duplicates": duplicates.to_json(dropped=drop),
            "inputs": [r["path"] for r in results],
            "config": json.loads(settings.model_dump_json()),
        }
        parts = sorted(str(p) for p in (folder / "full").glob("part-*.parquet"))
        smallest = min(selected.values())
        subsets = []
        if settings.balance:
            subsets.append(("balanced", {k: smallest / v for k, v in selected.items()}))
        # The same sampling number as "balanced" with a lower threshold: dev is a subset of
        # balanced whenever dev_per_class <= the smallest class.
        dev = {k: min(1.0, settings.dev_per_class / v) for k, v in selected.items()}
        subsets.append(("dev", dev))
        plan = {}
        for name, fractions in subsets:
            (folder / name).mkdir()
            plan[name] = (str(folder / name), fractions)
        items = [(i, p, duplicates.parts.get(Path(p).name)) for i, p in enumerate(parts)]
        by_part = run(
            f"{' and '.join(plan)} dataset(s)",
            sc.parallelize(items, max(len(parts), 1)).map(
                lambda item: subset_file(item[1], item[0], plan, item[2])
            ),
        )
        # The parts rewritten without dropped copies replace their task's summary.
        rewritten = {Path(p).name: r["full"] for p, r in zip(parts, by_part, strict=True)
                     if "full" in r}  # fmt: skip
        results = [{**r, **rewritten.get(f"part-{r['index']:05d}.parquet", {})} for r in results]
        full_rows = sum(r["particle_rows"] for r in results)
        full_events = sum(r["selected"] for r in results)
        full_bytes = sum(r["bytes"] for r in results)
        manifests["full"] = _write_side_files(
            folder / "full",
            results,
            {
                **common,
                "dataset": "full",
                "counts": {str(k): v for k, v in sorted(selected.items())},
                "per_split": {s: sum(r["per_split"][s] for r in results) for s in SPLITS},
                "split_counts": _split_counts(results),
                "bytes_per_event": full_bytes / full_events,
                "padded_bytes_per_event": PADDED_BYTES_PER_EVENT,
                "mean_particles_per_event": full_rows / full_events,
            },
        )
        for name, fractions in subsets:
            target = folder / name
            part_results = [r[name] for r in by_part]
            counts: dict[str, int] = {}
            for r in part_results:
                for k, v in r["per_label"].items():
                    counts[str(k)] = counts.get(str(k), 0) + v
            manifests[name] = _write_side_files(
                target,
                part_results,
                {
                    **common,
                    "dataset": name,
                    "counts": dict(sorted(counts.items())),
                    "per_split": {s: sum(r["per_split"][s] for r in part_results) for s in SPLITS},
                    "split_counts": _split_counts(part_results),
                    "sampling_fraction": {str(k): v for k, v in fractions.items()},
                },
            )
        seconds = time.perf_counter() - start
        for manifest in manifests.values():
            manifest["seconds"] = seconds
    return manifests
