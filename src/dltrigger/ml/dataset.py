"""A features dataset as training reads it: its parts (checked for the columns training
needs), its events per split (refused when a split cannot train or validate), and its
identity, pinned for the life of a training ([`DatasetWatch`][]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..artifacts import FeaturesDataset
from ..errors import DatasetError, TrainingError
from ..schema import SPLITS, class_counts_text

COLUMNS = ("label", "split", "hlf", "particles")


def dataset_files(folder: Path) -> list[Path]:
    files = FeaturesDataset(Path(folder)).parts()
    if not files:
        raise DatasetError(f"{folder}: no part-*.parquet files (empty or not a features dataset)")
    for path in files[:1]:
        names = pq.read_schema(path).names
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DatasetError(
                f"{path}: missing column {missing[0]!r} (columns: {', '.join(names)})"
            )
    return files


#: Fewest events a training or validation split may have (below, a loss and an AUC say nothing).
MIN_SPLIT_EVENTS = 5


def class_counts(folder: Path) -> dict[str, dict[int, int]]:
    """Events per class in each split ([`SPLITS`][]) of a features
    dataset, counted in its parts (two small columns of each): never taken from the side
    files, which may belong to another dataset (copied beside a few events, they would pass a
    degenerate dataset as a full one). A split value other than those is refused."""
    counts: dict[str, dict[int, int]] = {s: {} for s in SPLITS}
    for path in dataset_files(folder):
        try:
            table = pq.read_table(path, columns=["split", "label"])
        except Exception as exc:
            raise DatasetError(f"{path}: cannot be read ({exc})") from None
        splits = np.asarray(table["split"].to_numpy(zero_copy_only=False), dtype=object)
        unknown = sorted(set(np.unique(splits).tolist()) - set(SPLITS))
        if unknown:
            raise DatasetError(
                f"{path}: split {unknown[0]!r} in column 'split' (a features dataset's splits "
                f"are {', '.join(SPLITS)})"
            )
        labels = table["label"].to_numpy()
        for split in counts:
            values, numbers = np.unique(labels[splits == split], return_counts=True)
            for label, n in zip(values.tolist(), numbers.tolist(), strict=True):
                counts[split][label] = counts[split].get(label, 0) + n
    saved = FeaturesDataset(Path(folder)).manifest().get("split_counts")
    if saved is not None:
        recorded = {s: {int(k): v for k, v in c.items() if v} for s, c in saved.items()}
        recorded = {s: c for s, c in recorded.items() if c}
        held = {s: {k: v for k, v in c.items() if v} for s, c in counts.items()}
        if recorded != {s: c for s, c in held.items() if c}:
            raise DatasetError(
                f"{folder}: its {FeaturesDataset.MANIFEST} counts {_shown(recorded)} but its "
                f"parts hold {_shown(counts)}: the side files belong to another dataset; make "
                "the features again"
            )
    return counts


def _shown(counts: dict[str, dict[int, int]]) -> str:
    return "; ".join(f"{split}: {class_counts_text(c)}" for split, c in counts.items())


def check_trainable(
    folder: Path, validation_split: str = "validation"
) -> dict[str, dict[int, int]]:
    """Refuse a dataset whose training or ``validation_split`` split has fewer than two
    classes or fewer than [`MIN_SPLIT_EVENTS`][] events, naming the counts; and a dataset
    made before features had a validation split, in one line (make the features again)."""
    counts = class_counts(folder)
    for split in ("train", validation_split):
        per_class = counts[split]
        if split == "validation" and not per_class:
            settings = FeaturesDataset(Path(folder)).settings()
            if settings is None or "validation_fraction" not in settings:
                raise DatasetError(
                    f"{folder}: a dataset of two splits (train, test), made before dltrigger "
                    "had a validation split: choosing the epoch on it would use the test "
                    "split; make the features again (dltrigger features --overwrite)"
                )
        total = sum(per_class.values())
        if len(per_class) < 2 or total < MIN_SPLIT_EVENTS:
            raise DatasetError(
                f"{folder}: the {split} split has {total} events "
                f"({class_counts_text(per_class)}); training needs at least two classes and "
                f"{MIN_SPLIT_EVENTS} events in each of train and {validation_split}"
            )
    return counts


class DatasetWatch:
    """The training dataset's identity, pinned when training starts (its content digest,
    recorded in the run's ``features.json``) and checked after every epoch: a dataset
    replaced or rewritten under a running training (``features --overwrite``) stops it
    before an epoch trained on other data is saved."""

    def __init__(self, data: Path, digest: str, signature: str | None = None):
        self.dataset = FeaturesDataset(Path(data))
        self.digest = digest
        self.signature = signature or self.dataset.signature()

    @classmethod
    def pinned(cls, data: Path) -> DatasetWatch:
        """The dataset as it is now (its signature first: a change while it is hashed is
        seen at the first check)."""
        dataset = FeaturesDataset(Path(data))
        signature = dataset.signature()
        return cls(dataset.path, dataset.digest(), signature)

    def check(self, when: str, *, read: bool = False) -> None:
        """Refuse a dataset whose content is not the pinned one any more (``read``: hash its
        content even if no file looks changed)."""
        now = self.dataset.signature()
        if now == self.signature and not read:
            return
        if self.dataset.path.is_dir() and self.dataset.digest() == self.digest:
            self.signature = now  # touched or copied back, same content
            return
        raise TrainingError(
            f"the training dataset {self.dataset.path} changed {when} (its content is not the "
            "one training started on: re-made by `dltrigger features --overwrite`?); the "
            "epochs would mix two datasets that features.json and scaling.json describe only "
            "one of: train again on the new dataset (--overwrite)"
        )
