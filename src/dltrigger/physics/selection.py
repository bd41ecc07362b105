"""The single-isolated-lepton trigger emulation (reference-pipeline.md §2), vectorised.

Only the lepton part is here for now; the full selection with the HLF and particle lists
builds on it. Quirks of the reference fixed here (§11): Δφ wrapped at π, not 2π.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from .isolation import relative_isolation


@dataclass(frozen=True)
class LeptonSelection:
    """Thresholds of the isolated-lepton selection (reference-pipeline.md §2)."""

    lepton_pt_min: float = 23.0
    isolation_max: float = 0.45
    isolation_cone: float = 0.3
    track_pt_min: float = 0.5
    photon_et_min: float = 1.0
    neutral_et_min: float = 1.0


REFERENCE_SELECTION = LeptonSelection()


def lepton_isolation(
    leptons: ak.Array, collections: dict[str, ak.Array], cuts: LeptonSelection
) -> ak.Array:
    """Relative isolation of each lepton: tracks (minus its own), photons, neutral hadrons."""
    tracks = collections["EFlowTrack"]
    tracks = tracks[cuts.track_pt_min < tracks.PT]
    photons = collections["EFlowPhoton"]
    photons = photons[cuts.photon_et_min < photons.ET]
    neutrals = collections["EFlowNeutralHadron"]
    neutrals = neutrals[cuts.neutral_et_min < neutrals.ET]
    return relative_isolation(
        leptons.PT,
        leptons.Eta,
        leptons.Phi,
        [
            (tracks.PT, tracks.Eta, tracks.Phi),
            (photons.ET, photons.Eta, photons.Phi),
            (neutrals.ET, neutrals.Eta, neutrals.Phi),
        ],
        cuts.isolation_cone,
        # The lepton's own track is in the track collection: take it out of the charged sum.
        subtract_self=leptons.PT,
    )


def _candidates(collections: dict[str, ak.Array], cuts: LeptonSelection) -> ak.Array:
    """All particle-flow objects above their isolation thresholds, as (pt, eta, phi) records."""
    parts = []
    for name, momentum, threshold in (
        ("EFlowTrack", "PT", cuts.track_pt_min),
        ("EFlowPhoton", "ET", cuts.photon_et_min),
        ("EFlowNeutralHadron", "ET", cuts.neutral_et_min),
    ):
        c = collections[name]
        c = c[c[momentum] > threshold]
        parts.append(ak.zip({"pt": c[momentum], "eta": c.Eta, "phi": c.Phi}))
    return ak.concatenate(parts, axis=1)


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
    pf = _candidates({k: v[candidate_events] for k, v in collections.items()}, cuts)
    isolation = relative_isolation(
        leptons.PT,
        leptons.Eta,
        leptons.Phi,
        [(pf.pt, pf.eta, pf.phi)],
        cuts.isolation_cone,
        subtract_self=leptons.PT,
    )
    result[candidate_events] = ak.to_numpy(ak.any(isolation < cuts.isolation_max, axis=1))
    return ak.Array(result)
