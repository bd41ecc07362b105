"""``dltrigger features``: ingested events -> selected events with HLF and particle lists.

One Spark task per ingested Parquet file reads it with pyarrow, runs the pure physics
functions (selection, 14 HLF, 19-feature particle lists) and writes the selected events with
pyarrow (events stay in Arrow end to end, as in ingest), plus the event's content key and
the split and sampling numbers hashed from it (physics/split.py), and returns counts and
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
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artifacts import FEATURES_MANIFEST_VERSION
from ..config import Config, FeaturesConfig
from ..errors import FeaturesError
from ..executors import choose
from ..freshness import skippable
from ..io.atomic import atomic_folder
from ..physics.collections import ResolvedCollections, resolve_collections
from ..physics.split import SPLIT_KEY
from ..results import FeaturesResult
from ..schema import CLASS_NAMES, HLF_NAMES, PARTICLE_FEATURES, SPLITS
from ..spark.failures import root_cause
from .checks import check_inputs
from .duplicates import find_duplicates
from .origin import events_origin, ingested_files
from .stats import FeatureStats
from .subsets import split_counts, stats_of, subset_file, write_side_files

log = logging.getLogger("dltrigger")

SCHEMA_VERSION = FEATURES_MANIFEST_VERSION
# The reference's padded float64 layout (docs/reference.md §3.1).
PADDED_BYTES_PER_EVENT = 801 * 19 * 8
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

    from ..physics.features import compute_features
    from ..physics.split import event_uniform, split_of
    from .arrow import hlf_column, particles_column

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
        **stats_of(hlf, rows, counts, split, np.full(n, task.label)),
        "particle_rows": int(counts.sum()),
    }
    return out_table, part


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


@skippable(__package__, "STAGE")
def run(config: Config, *, spark=None, progress: bool = False) -> FeaturesResult:
    """Select and compute the features of ``features.input`` (unset: ``ingest.out``) into the
    datasets ``full``, ``balanced`` and ``dev`` of ``features.out``; the result has the
    manifest of each.

    ``spark``: a session to run the tasks in (else [`dltrigger.executors`][] chooses);
    ``progress``: a progress bar on the terminal.

    Example: the repository's three genuine Delphes files of 25 events each
    (``tests/data/delphes/``, from the repository root), ingested, then their features; none
    of the QCD events has an isolated lepton, so that class is dropped rather than refused:

    ```pycon
    >>> import tempfile
    >>> from pathlib import Path
    >>> import dltrigger as dlt
    >>> out = Path(tempfile.mkdtemp())
    >>> config = dlt.with_overrides(
    ...     dlt.Config(),
    ...     ingest={"inputs": ["tests/data/delphes"], "out": out / "ingested"},
    ...     features={"out": out / "features", "empty_classes": "drop"},
    ... )
    >>> _ = dlt.ingest.run(config)
    >>> result = dlt.features.run(config)  # features.input: ingest.out
    >>> result.selection_efficiency
    {'qcd': 0.0, 'ttbar': 0.6, 'wjets': 0.32}
    >>> sorted(result.datasets)
    ['balanced', 'dev', 'full']

    ```
    """
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
    size = sum(Path(i.path).stat().st_size for i in inputs)
    executor = choose(config.spark, input_bytes=size, spark=spark)

    def run(description: str, function, items: list) -> list:
        try:
            return executor.map(function, items, description=description, progress=progress)
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
            lambda t: process_file(t, out, settings, collections),
            inputs,
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
            duplicates = find_duplicates(
                folder / "full", drop=drop, spark=getattr(executor, "spark", None)
            )
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
            lambda item: subset_file(item[1], item[0], plan, item[2]),
            items,
        )
        # The parts rewritten without dropped copies replace their task's summary.
        rewritten = {Path(p).name: r["full"] for p, r in zip(parts, by_part, strict=True)
                     if "full" in r}  # fmt: skip
        results = [{**r, **rewritten.get(f"part-{r['index']:05d}.parquet", {})} for r in results]
        full_rows = sum(r["particle_rows"] for r in results)
        full_events = sum(r["selected"] for r in results)
        full_bytes = sum(r["bytes"] for r in results)
        manifests["full"] = write_side_files(
            folder / "full",
            results,
            {
                **common,
                "dataset": "full",
                "counts": {str(k): v for k, v in sorted(selected.items())},
                "per_split": {s: sum(r["per_split"][s] for r in results) for s in SPLITS},
                "split_counts": split_counts(results),
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
            manifests[name] = write_side_files(
                target,
                part_results,
                {
                    **common,
                    "dataset": name,
                    "counts": dict(sorted(counts.items())),
                    "per_split": {s: sum(r["per_split"][s] for r in part_results) for s in SPLITS},
                    "split_counts": split_counts(part_results),
                    "sampling_fraction": {str(k): v for k, v in fractions.items()},
                },
            )
        seconds = time.perf_counter() - start
        for manifest in manifests.values():
            manifest["seconds"] = seconds
    return FeaturesResult(out=Path(settings.out), seconds=seconds, manifests=manifests)
