"""``dlt.features.load``: a features dataset as an awkward Array, for a notebook."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..artifacts import FeaturesDataset
from ..errors import DatasetError, did_you_mean
from ..schema import HLF_WIDTH, SPLITS

if TYPE_CHECKING:
    import awkward as ak
    import pyarrow as pa

#: What ``load`` reads unless ``columns`` names others.
DEFAULT_COLUMNS = ("label", "split", "hlf", "particles")


def load(
    path: str | Path, *, split: str | None = None, columns: Sequence[str] | None = None
) -> ak.Array:
    """The events of a features dataset (``full/``, ``balanced/`` or ``dev/`` of
    ``dltrigger features``; a features output folder means its ``balanced/``), as an awkward
    Array of records: ``label``, ``split``, ``hlf`` (14 numbers an event, a regular
    dimension) and ``particles`` (a ragged list of 19-number rows an event), unscaled.

    ``split``: ``"train"``, ``"validation"`` or ``"test"`` only; ``columns``: other columns
    (``sample``, ``source_file``, ``entry``, ``event_key``, ``u_sample``).

    ``ak.to_numpy(events.hlf)`` is an (n, 14) array; ``ak.to_dataframe(events[["label",
    "split"]])`` a pandas DataFrame; ``ak.num(events.particles)`` the particles per event.

    >>> import dltrigger as dlt
    >>> events = dlt.features.load("data/features", split="test")  # doctest: +SKIP
    >>> events.hlf.type.show()  # doctest: +SKIP
    1253 * 14 * float32
    """
    import awkward as ak
    import pyarrow.parquet as pq

    folder = Path(path)
    if not FeaturesDataset(folder).parts() and FeaturesDataset(folder / "balanced").parts():
        folder = folder / "balanced"
    dataset = FeaturesDataset(folder)
    parts = dataset.parts()
    if not parts:
        raise DatasetError(
            f"{path}: no part-*.parquet here (a features dataset is the full/, balanced/ or "
            "dev/ folder of `dltrigger features`)"
        )
    dataset.manifest()  # a manifest of another format is refused here, in one line
    wanted = list(columns or DEFAULT_COLUMNS)
    available = pq.read_schema(parts[0]).names
    for name in wanted:
        if name not in available:
            raise DatasetError(
                f"{folder}: no column {name!r}{did_you_mean(name, available)}; columns: "
                f"{', '.join(available)}"
            )
    if split is not None and split not in SPLITS:
        raise DatasetError(f"no split {split!r}{did_you_mean(split, SPLITS)}; splits: {SPLITS}")
    filters = [("split", "=", split)] if split is not None else None
    table = pq.read_table([str(p) for p in parts], columns=wanted, filters=filters)
    # features never writes a null: without Arrow's nullability, no option types
    events = ak.from_arrow(table.cast(_required(table.schema)))
    fields = {name: events[name] for name in wanted}
    if "hlf" in fields:
        fields["hlf"] = ak.to_regular(fields["hlf"], axis=1) if len(events) else fields["hlf"]
        _check_width(fields["hlf"], HLF_WIDTH, "hlf", folder)
    if "particles" in fields and len(events):
        fields["particles"] = ak.to_regular(fields["particles"], axis=2)
    return ak.zip(fields, depth_limit=1)


def _required(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field, nested ones too, non-nullable."""
    import pyarrow as pa

    def field(f: pa.Field) -> pa.Field:
        kind = f.type
        if pa.types.is_list(kind):
            kind = pa.list_(field(kind.value_field))
        return pa.field(f.name, kind, nullable=False)

    return pa.schema([field(f) for f in schema])


def _check_width(values: ak.Array, width: int, name: str, folder: Path) -> None:
    import awkward as ak

    if len(values) and ak.num(values, axis=1)[0] != width:
        raise DatasetError(f"{folder}: {name} has {ak.num(values, axis=1)[0]} numbers an event, "
                           f"not {width}")  # fmt: skip
