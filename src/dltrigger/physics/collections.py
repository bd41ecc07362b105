"""Which ingested collections hold the electrons, muons, jets... that the physics reads.

Delphes cards name their output collections differently: the standard CMS card
(``cards/delphes_card_CMS.tcl``) writes ``Muon``; the CMS Phase-II cards write ``MuonTight`` and
``MuonLoose`` (``cards/CMS_PhaseII/CMS_PhaseII_200PU_v04.tcl``), as did the reference's samples
(docs/reference.md §1.2), and as dltrigger's generator does. ``[features.collections]``
picks a card preset, overrides any role by name, or (``preset = "auto"``, the default)
detects the names from the ingested columns. The physics functions always see the reference's
names ([`PHYSICS_NAMES`][]): this module renames, and projects each collection onto the
members the physics needs, so a collection lacking one is named with the members it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..config import COLLECTION_ROLES, CollectionsConfig
from ..errors import FeaturesError, did_you_mean

#: Role -> the collection name the physics functions read (the reference's, §1.2).
PHYSICS_NAMES: dict[str, str] = {
    "electrons": "Electron",
    "muons": "MuonTight",
    "tracks": "EFlowTrack",
    "photons": "EFlowPhoton",
    "neutral_hadrons": "EFlowNeutralHadron",
    "jets": "Jet",
    "met": "MissingET",
}

#: Role -> the members the selection, HLF and particle lists read (docs/reference.md §1.2;
#: ``PID`` for the reference's track charge, quirk switch ``reference_track_charge``).
PHYSICS_MEMBERS: dict[str, tuple[str, ...]] = {
    "electrons": ("PT", "Eta", "Phi", "Charge"),
    "muons": ("PT", "Eta", "Phi", "Charge"),
    "tracks": ("PT", "Eta", "Phi", "X", "Y", "Z", "Charge", "PID"),
    "photons": ("ET", "Eta", "Phi"),
    "neutral_hadrons": ("ET", "Eta", "Phi"),
    "jets": ("PT", "Eta", "BTag"),
    "met": ("MET", "Phi"),
}

#: The card presets: role -> collection name.
PRESETS: dict[str, dict[str, str]] = {
    # cards/delphes_card_CMS.tcl, TreeWriter (a copy: tests/data/delphes/delphes_card_CMS.tcl)
    "cms": {**PHYSICS_NAMES, "muons": "Muon"},
    # cards/CMS_PhaseII/*.tcl TreeWriter: MuonTight (and MuonLoose), EFlow* when enabled
    "phase2": dict(PHYSICS_NAMES),
    # dltrigger generate (io/delphes_writer.py, generate/detector.py)
    "dltrigger": dict(PHYSICS_NAMES),
}

#: Names tried in order for each role when detecting (the first present wins).
CANDIDATES: dict[str, tuple[str, ...]] = {
    "electrons": ("Electron", "ElectronCHS"),
    "muons": ("MuonTight", "Muon", "MuonLoose"),
    "tracks": ("EFlowTrack",),
    "photons": ("EFlowPhoton",),
    "neutral_hadrons": ("EFlowNeutralHadron",),
    "jets": ("Jet", "JetPUPPI"),
    "met": ("MissingET", "PuppiMissingET"),
}


@dataclass(frozen=True)
class ResolvedCollections:
    """Role -> collection name, and how it was decided (for summaries and manifests)."""

    names: dict[str, str]
    #: ``"preset cms"``, ``"detected (as preset cms)"``, ``"detected"``, plus overrides.
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {"names": dict(self.names), "origin": self.origin}

    def describe(self) -> str:
        shown = ", ".join(f"{role} {name}" for role, name in self.names.items())
        return f"collections {self.origin}: {shown}"


def _matching_preset(names: dict[str, str]) -> str | None:
    return next((p for p, preset in PRESETS.items() if preset == names), None)


def resolve_collections(
    settings: CollectionsConfig, columns: list[str], where: str
) -> ResolvedCollections:
    """The collection of each role among ``columns`` (the ingested columns of ``where``).

    A name that is not there raises [`FeaturesError`][] naming ``where``, the role, and
    the nearest names present.
    """
    overrides = {r: getattr(settings, r) for r in COLLECTION_ROLES if getattr(settings, r)}
    if settings.preset == "auto":
        names = {}
        for role in COLLECTION_ROLES:
            found = next((c for c in CANDIDATES[role] if c in columns), None)
            names[role] = overrides.get(role) or found or CANDIDATES[role][0]
        preset = _matching_preset(names)
        origin = f"detected (as preset {preset})" if preset else "detected"
        if preset in ("phase2", "dltrigger"):  # the same names: say both
            origin = "detected (as preset phase2 or dltrigger)"
    else:
        names = {**PRESETS[settings.preset], **overrides}
        origin = f"preset {settings.preset}"
    if overrides:
        origin += ", set: " + ", ".join(f"{r} = {n}" for r, n in overrides.items())
    for role, name in names.items():
        if name not in columns:
            known = [c for c in columns if c not in ("label", "sample", "source_file", "entry")]
            hint = did_you_mean(name, known) or (
                f" (try [features.collections] {role} = one of: {', '.join(known)})"
            )
            raise FeaturesError(
                f"{where}: no collection {name!r} for the {role.replace('_', ' ')} ({origin}){hint}"
            )
    return ResolvedCollections(names, origin)


def physics_table(table: pa.Table, collections: ResolvedCollections, where: str) -> pa.Table:
    """The collections the physics reads, renamed to [`PHYSICS_NAMES`][] and projected onto
    [`PHYSICS_MEMBERS`][] (``ValueError`` naming a missing member and those present)."""
    columns = {}
    for role, name in collections.names.items():
        column = table.column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        values = column.flatten()
        fields = [f.name for f in values.type]
        children = values.flatten()  # the struct's children, its offset applied
        picked = []
        for member in PHYSICS_MEMBERS[role]:
            if member not in fields:
                raise ValueError(
                    f"{where}: collection {name!r} ({role.replace('_', ' ')}) has no member "
                    f"{member!r}{did_you_mean(member, fields)}; members: {', '.join(fields)}"
                )
            picked.append(children[fields.index(member)])
        offsets = pc.subtract(column.offsets, column.offsets[0])
        struct = pa.StructArray.from_arrays(picked, names=list(PHYSICS_MEMBERS[role]))
        columns[PHYSICS_NAMES[role]] = pa.ListArray.from_arrays(offsets, struct)
    return pa.table(columns)
