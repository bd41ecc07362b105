"""The single-isolated-lepton trigger emulation (docs/reference.md §2), vectorised.

Works on events as ``dltrigger ingest`` stores them: an awkward array with the Delphes
collections ``Electron``, ``MuonTight`` (records ``PT, Eta, Phi, Charge``), ``EFlowTrack``
(``PT, Eta, Phi``), ``EFlowPhoton`` and ``EFlowNeutralHadron`` (``ET, Eta, Phi``).

Physically correct by default; each quirk of the reference (§11) that touches the selection
has a switch in [`SelectionOptions`][] to reproduce it:

- quirk 1 and 8: the reference takes the *first* isolated electron and the *first* isolated
  muon in branch order and, when both exist, the electron if its *Eta* is larger, else the
  muon (its ``>``: the muon on a tie); we take the highest-pT isolated lepton
  (``lepton_choice="reference"`` restores theirs);
- quirk 2: Δφ wrapped at π, not 2π, in isolation cones (``wrap_at_pi=False`` restores it);
- quirk 14: events with an empty track, photon or neutral-hadron map are kept
  (``reject_empty_maps=True`` rejects them as the reference did).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import awkward as ak
import numpy as np
import numpy.typing as npt

from .isolation import jagged_cone_sums


@dataclass(frozen=True)
class LeptonSelection:
    """Thresholds of the isolated-lepton selection (docs/reference.md §2)."""

    lepton_pt_min: float = 23.0
    isolation_max: float = 0.45
    isolation_cone: float = 0.3
    track_pt_min: float = 0.5
    photon_et_min: float = 1.0
    neutral_et_min: float = 1.0


REFERENCE_SELECTION = LeptonSelection()


@dataclass(frozen=True)
class SelectionOptions:
    """Thresholds and the switches that reproduce the reference's quirks (module doc)."""

    cuts: LeptonSelection = REFERENCE_SELECTION
    lepton_choice: Literal["highest_pt", "reference"] = "highest_pt"
    wrap_at_pi: bool = True
    reject_empty_maps: bool = False


#: The physically correct selection with the reference's thresholds.
DEFAULT_SELECTION = SelectionOptions()


def pf_maps(events: ak.Array, cuts: LeptonSelection) -> dict[str, ak.Array]:
    """The three particle-flow "pT maps" of §2 step 1, as (pt, eta, phi) records."""
    tracks = events.EFlowTrack[cuts.track_pt_min < events.EFlowTrack.PT]
    photons = events.EFlowPhoton[cuts.photon_et_min < events.EFlowPhoton.ET]
    neutrals = events.EFlowNeutralHadron[cuts.neutral_et_min < events.EFlowNeutralHadron.ET]
    return {
        "tracks": ak.zip({"pt": tracks.PT, "eta": tracks.Eta, "phi": tracks.Phi}),
        "photons": ak.zip({"pt": photons.ET, "eta": photons.Eta, "phi": photons.Phi}),
        "neutrals": ak.zip({"pt": neutrals.ET, "eta": neutrals.Eta, "phi": neutrals.Phi}),
    }


def lepton_candidates(events: ak.Array, options: SelectionOptions) -> ak.Array:
    """Electrons then muons above the pT cut, in branch order, with their isolation.

    Fields: ``pt, eta, phi, charge, is_ele, iso_ch, iso_gamma, iso_neu, iso`` (relative
    isolations; ``iso_ch`` has the lepton's own track removed, as ``subtractPt=True``).
    """
    cuts = options.cuts
    maps = pf_maps(events, cuts)
    parts = []
    for name, is_ele in (("Electron", True), ("MuonTight", False)):
        leptons = events[name][cuts.lepton_pt_min < events[name].PT]
        pt = ak.values_astype(leptons.PT, np.float64)
        iso = {}
        objects = ak.zip({"eta": leptons.Eta, "phi": leptons.Phi})
        for key, pf in maps.items():
            total = jagged_cone_sums(objects, pf, cuts.isolation_cone, options.wrap_at_pi)
            iso[key] = total / pt
        parts.append(
            ak.zip(
                {
                    "pt": pt,
                    "eta": ak.values_astype(leptons.Eta, np.float64),
                    "phi": ak.values_astype(leptons.Phi, np.float64),
                    "charge": ak.values_astype(leptons.Charge, np.float64),
                    "is_ele": ak.values_astype(ak.ones_like(leptons.PT), np.float64) * is_ele,
                    "iso_ch": iso["tracks"] - 1.0,
                    "iso_gamma": iso["photons"],
                    "iso_neu": iso["neutrals"],
                }
            )
        )
    candidates = ak.concatenate(parts, axis=1)
    total = candidates.iso_ch + candidates.iso_gamma + candidates.iso_neu
    return ak.with_field(candidates, total, "iso")


@dataclass(frozen=True)
class SelectedEvents:
    """The selection's result: which events pass, their lepton, and why the others failed."""

    mask: npt.NDArray[np.bool_]  # bool per input event
    lepton: ak.Array  # one record per selected event
    rejected: dict[str, int]  # reason -> events


#: Reasons an event fails the selection, as the manifests count them.
NO_ISOLATED_LEPTON = "no isolated lepton"
EMPTY_MAP = "empty track, photon or neutral-hadron map"


def select_events(
    events: ak.Array, options: SelectionOptions = DEFAULT_SELECTION
) -> SelectedEvents:
    """The one-isolated-lepton selection (module doc), with the rejections counted by reason."""
    candidates = lepton_candidates(events, options)
    isolated = candidates[candidates.iso < options.cuts.isolation_max]
    if options.lepton_choice == "highest_pt":
        best = ak.argmax(isolated.pt, axis=1, keepdims=True)
        chosen = ak.firsts(isolated[best])
    else:
        first_e = ak.firsts(isolated[isolated.is_ele == 1])
        first_mu = ak.firsts(isolated[isolated.is_ele == 0])
        both = ~ak.is_none(first_e) & ~ak.is_none(first_mu)
        # The reference: the electron if its Eta is larger, else the muon (ties included).
        electron_wins = ak.fill_none(first_e.eta, 0) > ak.fill_none(first_mu.eta, 0)
        use_mu = ak.is_none(first_e) | (both & ~electron_wins)
        chosen = ak.where(use_mu, first_mu, first_e)
    has_lepton = ak.to_numpy(~ak.is_none(chosen))
    mask = has_lepton.copy()
    if options.reject_empty_maps:
        for pf in pf_maps(events, options.cuts).values():
            mask &= ak.to_numpy(ak.num(pf) > 0)
    rejected = {
        NO_ISOLATED_LEPTON: int((~has_lepton).sum()),
        EMPTY_MAP: int((has_lepton & ~mask).sum()),
    }
    return SelectedEvents(mask, chosen[mask], rejected)


def select_lepton(
    events: ak.Array, options: SelectionOptions = DEFAULT_SELECTION
) -> tuple[npt.NDArray[np.bool_], ak.Array]:
    """The selected events (boolean mask) and their lepton (one record per selected event)."""
    selected = select_events(events, options)
    return selected.mask, selected.lepton


def has_isolated_lepton(
    collections: dict[str, ak.Array], cuts: LeptonSelection = REFERENCE_SELECTION
) -> ak.Array:
    """Per event: is there an electron or ``MuonTight`` muon above threshold and isolated?

    Total relative isolation only (one cone sum over all candidates), computed just for the
    events that have a lepton above threshold: this is the cheap test the generator and its
    benchmark use to count "selected-equivalent" events.
    """
    leptons = ak.concatenate([collections["Electron"], collections["MuonTight"]], axis=1)
    leptons = leptons[cuts.lepton_pt_min < leptons.PT]
    candidate_events = ak.to_numpy(ak.num(leptons) > 0)
    result = np.zeros(len(leptons), dtype=bool)
    if not candidate_events.any():
        return ak.Array(result)
    leptons = leptons[candidate_events]
    events = ak.zip({k: v[candidate_events] for k, v in collections.items()}, depth_limit=1)
    pf = ak.concatenate(list(pf_maps(events, cuts).values()), axis=1)
    objects = ak.zip({"eta": leptons.Eta, "phi": leptons.Phi})
    # The lepton's own track is in the track map: take its pT out of the sum.
    isolation = (jagged_cone_sums(objects, pf, cuts.isolation_cone) - leptons.PT) / leptons.PT
    result[candidate_events] = ak.to_numpy(ak.any(isolation < cuts.isolation_max, axis=1))
    return ak.Array(result)
