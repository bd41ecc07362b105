"""The datasets made from the ``full`` parts (``balanced``, ``dev``: class-fraction subsets
drawn by each event's ``u_sample``), and the side files of every dataset: training-split
statistics (``_scaling.json``) and manifest."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..artifacts import FeaturesDataset
from ..schema import HLF_NAMES, PARTICLE_FEATURES, SPLITS
from .checks import check_scaling
from .duplicates import PartDuplicates, repeated_rows
from .stats import FeatureStats


def stats_of(
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


def split_counts(results: list[dict]) -> dict[str, dict[str, int]]:
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

    results: dict[str, dict] = {}
    if duplicates is not None and not Path(path).exists():  # every row dropped, by an earlier
        empty = np.zeros(0, dtype=np.int32)  # attempt of this task
        hlf, rows = np.zeros((0, len(HLF_NAMES))), np.zeros((0, len(PARTICLE_FEATURES)))
        summary = stats_of(hlf, rows, empty, empty.astype(str), empty)
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
            **stats_of(hlf, rows, counts, split, label),
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
            **stats_of(hlf[keep], rows[np.repeat(keep, counts)], counts[keep], split[keep],
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


def write_side_files(folder: Path, results: list[dict], manifest: dict) -> dict:
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
