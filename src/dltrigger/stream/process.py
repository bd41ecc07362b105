"""One ROOT file through the trigger: read -> select -> features -> scores -> decisions.

Runs inside Spark tasks (the Arrow UDF of [`score_paths`][]): every event of a readable file
gives one output row; a file that cannot be used (corrupt, truncated, empty, no Delphes tree,
missing branches) gives a single row naming it and the reason, so the stream goes on and the
file is quarantined. A file still being written (its size changed within ``settle_seconds``)
is waited for first.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..artifacts import (
    PARTICLE_SETTINGS,
    SPLIT_SETTINGS,
    FeaturesDataset,
    setting_differences,
)
from ..errors import DLTriggerError, FeaturesError, RootFileError
from ..io.paths import is_remote
from ..physics.collections import ResolvedCollections, resolve_collections
from ..physics.features import compute_features
from ..schema import CLASS_NAMES, HLF_WIDTH, PARTICLE_WIDTH
from .trigger import Trigger

SCORE_COLUMNS = ("score_qcd", "score_ttbar", "score_wjets")
OUTPUT_SCHEMA = pa.schema([
    pa.field("source_file", pa.string()),
    pa.field("entry", pa.int64()),
    pa.field("selected", pa.bool_()),  # one isolated lepton and finite features
    *(pa.field(name, pa.float32()) for name in SCORE_COLUMNS),  # null when not selected
    pa.field("predicted", pa.string()),
    pa.field("accept_score", pa.float32()),
    pa.field("accepted", pa.bool_()),
    pa.field("hlf", pa.list_(pa.float32())),
    pa.field("quarantine", pa.string()),  # the reason; set only on a file's one row
])  # fmt: skip


def wait_until_written(path: str, settle: float, max_wait: float) -> None:
    """Return once the file's size and time stayed unchanged for ``settle`` seconds (at most
    ``max_wait``); remote files are taken as they are."""
    if is_remote(path) or settle <= 0:
        return
    deadline = time.monotonic() + max_wait
    last = None
    while time.monotonic() < deadline:
        try:
            stat = os.stat(path)
        except OSError:
            return  # gone: reading will say so
        now = (stat.st_size, stat.st_mtime_ns)
        if now == last and time.time() - stat.st_mtime >= settle:
            return
        last = now
        time.sleep(min(settle, 0.25))


def read_events(
    path: str, tree_name: str, trigger: Trigger
) -> tuple[pa.Table, ResolvedCollections]:
    """Every event of ``path``'s tree, as the ingested columns the physics needs, and which
    collection holds what."""
    from ..io.root_layout import top_level_names
    from ..io.root_reader import check_not_truncated, infer_layout, open_tree, read_record_batch

    file, tree = open_tree(path, tree_name)
    with file:
        collections = resolve_collections(trigger.features.collections, top_level_names(tree), path)
        names = list(collections.names.values())
        layout = infer_layout(tree, names).select(names, path, tree_name)
        check_not_truncated(path, file, tree, layout)
        if tree.num_entries == 0:
            raise RootFileError(path, f"tree {tree_name!r} has no entries")
        try:
            batch = read_record_batch(tree, layout, 0, tree.num_entries, path)
        except RootFileError:  # an impossible value: its own message names branch and entry
            raise
        except Exception as exc:
            raise RootFileError(path, f"cannot read ({type(exc).__name__}: {exc})") from None
    return pa.Table.from_batches([batch]), collections


def quarantined(path: str, reason: str) -> pa.Table:
    row: dict[str, list[Any]] = {name: [None] for name in OUTPUT_SCHEMA.names}
    row.update(source_file=[path], entry=[-1], selected=[False], accepted=[False],
               quarantine=[reason])  # fmt: skip
    return pa.Table.from_pydict(row, schema=OUTPUT_SCHEMA)


def score_events(table: pa.Table, trigger: Trigger, collections: ResolvedCollections,
                 where: str) -> pa.Table:  # fmt: skip
    """Output rows of a table of ingested events (with ``source_file`` and ``entry``)."""
    computed = compute_features(table, trigger.features, collections, where)
    scores = trigger.scores(computed.hlf, computed.rows, computed.counts)
    return output_rows(table, computed.events, computed.kept, scores, computed.hlf, trigger)


def score_feature_table(table: pa.Table, trigger: Trigger) -> pa.Table:
    """Output rows of a features dataset's table (``hlf`` and ``particles`` columns): every
    event there passed the selection already."""
    hlf = table.column("hlf").combine_chunks().flatten().to_numpy().reshape(-1, HLF_WIDTH)
    particles = table.column("particles").combine_chunks()
    counts = np.diff(particles.offsets.to_numpy()).astype(np.int64)
    if len(particles):
        rows = particles.flatten().flatten().to_numpy().reshape(-1, PARTICLE_WIDTH)
    else:
        rows = np.zeros((0, PARTICLE_WIDTH), np.float32)
    scores = trigger.scores(hlf, rows, counts)
    return output_rows(table, len(table), np.arange(len(table)), scores, hlf, trigger)


def output_rows(
    table: pa.Table,
    n: int,
    kept: np.ndarray,
    kept_scores: np.ndarray,
    kept_hlf: np.ndarray,
    trigger: Trigger,
) -> pa.Table:
    """One row per event of ``table``: scores and decision for the ``kept`` (selected) ones."""
    scores = np.full((n, len(CLASS_NAMES)), np.nan, dtype=np.float32)
    scores[kept] = kept_scores
    selected = np.zeros(n, dtype=bool)
    selected[kept] = True
    accept_score, accepted = trigger.decide(scores)
    accepted &= selected
    predicted = np.asarray(CLASS_NAMES, dtype=object)[np.nan_to_num(scores).argmax(axis=1)]
    hlf_rows: list = [None] * n
    for i, row in zip(kept, kept_hlf.astype(np.float32), strict=True):
        hlf_rows[i] = row
    columns = {
        "source_file": table.column("source_file"),
        "entry": table.column("entry"),
        "selected": pa.array(selected),
        **{name: pa.array(scores[:, i], mask=~selected) for i, name in enumerate(SCORE_COLUMNS)},
        # None as a 0-d object array: numpy's stubs do not take a bare None as an array
        "predicted": pa.array(
            np.where(selected, predicted, np.array(None, dtype=object)).tolist(), pa.string()
        ),
        "accept_score": pa.array(accept_score.astype(np.float32), mask=~selected),
        "accepted": pa.array(accepted),
        "hlf": pa.array(hlf_rows, pa.list_(pa.float32())),
        "quarantine": pa.nulls(n, pa.string()),
    }
    return pa.table(columns, schema=OUTPUT_SCHEMA)


def process_parquet(path: str, trigger: Trigger) -> pa.Table:
    """A Parquet file of ``dltrigger features`` (scored as it is) or ``dltrigger ingest``
    (selected and featured first)."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        return quarantined(path, f"not a readable Parquet file ({exc})")
    if {"hlf", "particles", "source_file", "entry"} <= set(names):
        problem = feature_settings_problem(path, trigger)
        if problem:
            return quarantined(path, problem)
        table = pq.read_table(path, columns=["source_file", "entry", "hlf", "particles"])
        return score_feature_table(table, trigger)
    if {"source_file", "entry"} <= set(names):
        try:
            collections = resolve_collections(trigger.features.collections, names, path)
        except FeaturesError as exc:
            return quarantined(path, str(exc).removeprefix(f"{path}: "))
        needed = [*collections.names.values(), "source_file", "entry"]
        return score_events(pq.read_table(path, columns=needed), trigger, collections, path)
    return quarantined(path, "neither a dltrigger features nor an ingest Parquet file "
                             f"(columns: {', '.join(names)})")  # fmt: skip


def feature_settings_problem(path: str, trigger: Trigger) -> str | None:
    """Why a features Parquet file's values are not what the model expects (None: they are):
    its dataset's settings must equal the training's in every value-changing setting."""
    dataset = FeaturesDataset(Path(path).parent)
    try:
        made_with = dataset.settings()
    except DLTriggerError as exc:
        return str(exc)
    if made_with is None:
        return (f"no {dataset.MANIFEST} beside it, so the feature settings it was made with "
                "cannot be checked against the model's")  # fmt: skip
    trained = json.loads(trigger.features.model_dump_json())
    ignore = SPLIT_SETTINGS if trigger.uses_particles else SPLIT_SETTINGS | PARTICLE_SETTINGS
    differences = setting_differences(trained, made_with, ignore=ignore)
    if differences:
        return ("made with other feature settings than the model was trained with: "
                + "; ".join(differences))  # fmt: skip
    return None


def process_file(
    path: str, trigger: Trigger, tree: str, settle: float, max_wait: float
) -> pa.Table:
    """The output rows of one file (ROOT, or Parquet of dltrigger), or its quarantine row."""
    wait_until_written(path, settle, max_wait)
    if path.endswith(".parquet"):
        return process_parquet(path, trigger)
    try:
        events, collections = read_events(path, tree, trigger)
        return score_events(events, trigger, collections, path)
    except RootFileError as exc:
        return quarantined(path, exc.reason)
    except FeaturesError as exc:
        return quarantined(path, str(exc).removeprefix(f"{path}: "))
    except ValueError as exc:  # columns that are not Delphes collections
        return quarantined(path, f"not Delphes events ({exc})")


def score_paths(
    trigger: Trigger, tree: str, settle: float, max_wait: float
):  # -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]
    """The function given to ``DataFrame.mapInArrow``: batches of ``path`` rows in, output
    rows out."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path in batch.column("path").to_pylist():
                yield from process_file(local_path(path), trigger, tree, settle,
                                        max_wait).to_batches()  # fmt: skip

    return run


def local_path(path: str) -> str:
    """Spark lists local files as ``file:/...`` URLs; uproot wants the path."""
    from urllib.parse import unquote, urlparse

    if path.startswith("file:"):
        return unquote(urlparse(path).path)
    return path
