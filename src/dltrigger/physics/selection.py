"""The single-isolated-lepton trigger emulation (reference-pipeline.md §2), vectorised.

Only the lepton part is here for now; the full selection with the HLF and particle lists
builds on it. Quirks of the reference fixed here (§11): Δφ wrapped at π, not 2π.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak

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


def has_isolated_lepton(
    collections: dict[str, ak.Array], cuts: LeptonSelection = REFERENCE_SELECTION
) -> ak.Array:
    """Per event: is there an electron or ``MuonTight`` muon above threshold and isolated?"""
    passed = []
    for name in ("Electron", "MuonTight"):
        leptons = collections[name]
        leptons = leptons[cuts.lepton_pt_min < leptons.PT]
        isolation = lepton_isolation(leptons, collections, cuts)
        passed.append(ak.any(isolation < cuts.isolation_max, axis=1))
    return passed[0] | passed[1]
