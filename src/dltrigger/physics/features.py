"""Selection and features of a batch of ingested events, in memory (no files, no Spark).

Shared by ``dltrigger features`` (one ingested file per task) and ``dltrigger stream`` (the
events of arriving ROOT files): the one-isolated-lepton selection, the 14 HLF and the
19-feature particle lists (docs/reference.md §2-3), with events whose features are not
finite dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

from ..config import FeaturesConfig
from ..schema import PARTICLE_FEATURES
from .collections import ResolvedCollections, physics_table
from .hlf import JetSelection
from .particles import ParticleListOptions
from .selection import SelectionOptions

#: Why an event was dropped: a NaN/inf input value (before the selection), or a non-finite
#: feature (after it).
NON_FINITE_INPUT = "non-finite input values"
NON_FINITE = "non-finite features"


@dataclass
class EventFeatures:
    """The features of the kept events of one batch."""

    kept: np.ndarray  # indices of the kept events in the input batch
    hlf: np.ndarray  # (kept, 14), unscaled
    rows: np.ndarray  # (sum(counts), 19), unscaled
    counts: np.ndarray  # (kept,) particle rows per event
    events: int  # events in the input batch
    rejected: dict[str, int]  # why the others were dropped
    keys: np.ndarray | None = None  # content keys of the kept events (uint64), if asked for


def options(settings: FeaturesConfig) -> tuple[SelectionOptions, ParticleListOptions]:
    selection = SelectionOptions(
        lepton_choice="reference" if settings.reference_lepton_choice else "highest_pt",
        wrap_at_pi=not settings.reference_delta_phi,
        reject_empty_maps=settings.reject_empty_maps,
    )
    particles = ParticleListOptions(
        max_tracks=settings.max_tracks,
        max_photons=settings.max_photons,
        max_neutrals=settings.max_neutrals,
        order=settings.order,
        reference_chpfiso=settings.reference_chpfiso,
        charge_from_pid=settings.reference_track_charge,
    )
    return selection, particles


def compute_features(
    table: pa.Table,
    settings: FeaturesConfig,
    collections: ResolvedCollections,
    where: str = "input",
    keys: bool = False,
) -> EventFeatures:
    """Select the events of an Arrow table (or record batch) of ingested columns and compute
    their features; ``collections`` says which columns hold which objects; with ``keys``, also
    the kept events' content keys (physics/split.py). Raises ``ValueError`` (naming
    ``where``) when the columns do not hold Delphes collections."""
    import awkward as ak

    from .events import events_from_arrow
    from .hlf import high_level_features
    from .particles import particle_lists
    from .selection import select_events
    from .split import event_keys

    physics = physics_table(table, collections, where)
    # An event with a NaN or infinite input value is dropped before the selection, counted:
    # a NaN track is left out of every cone sum and could make a lepton look isolated.
    clean = np.flatnonzero(~nonfinite_events(physics))
    n_events = physics.num_rows
    events = events_from_arrow(physics.take(clean) if len(clean) < n_events else physics)
    selection, plist = options(settings)
    result = select_events(events, selection)
    mask, lepton = result.mask, result.lepton
    chosen = events[mask]
    hlf = high_level_features(chosen, lepton, JetSelection(), settings.mt_squared)
    particles = particle_lists(chosen, lepton, selection, plist)
    counts = ak.to_numpy(ak.num(particles))
    rows = ak.to_numpy(ak.flatten(particles)).reshape(-1, len(PARTICLE_FEATURES))
    finite_rows = np.isfinite(rows).all(axis=1)
    finite = (
        np.isfinite(hlf).all(axis=1)
        & np.logical_and.reduceat(np.append(finite_rows, True), np.r_[0, np.cumsum(counts)[:-1]])
        if len(counts)
        else np.zeros(0, dtype=bool)
    )
    kept = clean[np.flatnonzero(mask)[finite]]
    return EventFeatures(
        kept=kept,
        hlf=hlf[finite],
        rows=rows[np.repeat(finite, counts)],
        counts=counts[finite],
        events=n_events,
        rejected={
            NON_FINITE_INPUT: n_events - len(clean),
            **result.rejected,
            NON_FINITE: int((~finite).sum()),
        },
        keys=event_keys(physics, kept) if keys else None,
    )


def nonfinite_events(table: pa.Table) -> np.ndarray:
    """Per event: does any number the physics reads (a collection member) hold NaN or ±inf?"""
    import pyarrow as pa

    bad = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        offsets = lists.offsets.to_numpy()
        for child in lists.values.flatten():
            values = child.to_numpy(zero_copy_only=False)
            if values.dtype.kind != "f":
                continue
            running = np.concatenate([[0], np.cumsum(~np.isfinite(values))])
            bad |= running[offsets[1:]] - running[offsets[:-1]] > 0
    return bad
