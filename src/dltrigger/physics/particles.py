"""Particle lists for the particle-based models: 19 features per particle
(docs/reference.md §3.1).

Rows: the selected lepton, then up to 450 tracks (PT > 0.5, branch order, the lepton's own
track skipped: ΔR ≤ 1e-4), 150 photons and 200 neutral hadrons (ET > 1), each

``E, Px, Py, Pz, Pt, Eta, Phi, vtxX, vtxY, vtxZ, ChPFIso, GammaPFIso, NeuPFIso,
isChHad, isNeuHad, isGamma, isEle, isMu, Charge``

(massless four-vectors; isolations relative, cone ΔR < 0.3 over the same three maps as the
lepton's), ordered by ΔR to the lepton, descending as the reference (the lepton last), or
ascending. Stored ragged: no padding rows (padding belongs to batch time, §3.1 quirks 4-5).

Fixed against the reference (§11), each with a switch in [`ParticleListOptions`][] that
restores it: ChPFIso subtracts the particle's own pT only for tracks (quirk 15 gave photons and
neutral hadrons a -1 offset: ``reference_chpfiso``); Δφ wrapped at π (quirk 2, a selection
option); the track charge is the ``Charge`` member (the reference used sign(PID), §3.1, which
is the opposite of the charge for electrons and muons: ``charge_from_pid``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import awkward as ak
import numpy as np
import numpy.typing as npt

from ..schema import PARTICLE_FEATURES
from .isolation import cone_sums_flat
from .kinematics import delta_r, massless_four_vector
from .selection import DEFAULT_SELECTION, SelectionOptions, pf_maps

__all__ = ["PARTICLE_FEATURES", "ParticleListOptions", "particle_lists"]


@dataclass(frozen=True)
class ParticleListOptions:
    """Caps and order of the particle lists (docs/reference.md §3.1)."""

    max_tracks: int = 450
    max_photons: int = 150
    max_neutrals: int = 200
    own_track_dr: float = 1e-4
    order: Literal["descending", "ascending"] = "descending"
    #: Quirk 15: ChPFIso - 1 for photons and neutral hadrons too (the reference's subtractPt).
    reference_chpfiso: bool = False
    #: The reference's track charge: sign(PID) instead of the Charge member (§3.1).
    charge_from_pid: bool = False


def _flat(array: ak.Array) -> npt.NDArray[np.float64]:
    values: npt.NDArray[Any] = ak.to_numpy(ak.flatten(array, axis=None))
    return values.astype(np.float64)


def particle_lists(
    events: ak.Array,
    lepton: ak.Array,
    selection: SelectionOptions = DEFAULT_SELECTION,
    options: ParticleListOptions = ParticleListOptions(),
) -> ak.Array:
    """``var * 19 * float32`` particle rows per selected event (see module doc)."""
    n = len(events)
    maps = pf_maps(events, selection.cuts)
    tracks = events.EFlowTrack[selection.cuts.track_pt_min < events.EFlowTrack.PT]
    own = delta_r(tracks.Eta, tracks.Phi, lepton.eta, lepton.phi) <= options.own_track_dr
    tracks = tracks[~own][:, : options.max_tracks]
    photons = events.EFlowPhoton[selection.cuts.photon_et_min < events.EFlowPhoton.ET]
    photons = photons[:, : options.max_photons]
    neutrals = events.EFlowNeutralHadron[
        selection.cuts.neutral_et_min < events.EFlowNeutralHadron.ET
    ][:, : options.max_neutrals]

    # One block per kind: (pt, eta, phi, x, y, z, one-hot, charge, subtract own pT from ChPFIso)
    zeros = ak.zeros_like
    kinds = [
        (
            ak.singletons(lepton.pt), ak.singletons(lepton.eta), ak.singletons(lepton.phi),
            None, (0, 0, 0), "lepton", ak.singletons(lepton.charge),
        ),
        (
            tracks.PT, tracks.Eta, tracks.Phi, tracks, (1, 0, 0), "track",
            np.sign(tracks.PID) if options.charge_from_pid else tracks.Charge,
        ),
        (photons.ET, photons.Eta, photons.Phi, None, (0, 0, 1), "photon", zeros(photons.ET)),
        (neutrals.ET, neutrals.Eta, neutrals.Phi, None, (0, 1, 0), "neutral", zeros(neutrals.ET)),
    ]  # fmt: skip
    blocks, per_event_counts = [], []
    for pt, eta, phi, vertex, onehot, kind, charge in kinds:
        counts = ak.to_numpy(ak.num(pt, axis=1))
        event = np.repeat(np.arange(n), counts)
        f_pt, f_eta, f_phi = _flat(pt), _flat(eta), _flat(phi)
        rows = np.zeros((len(f_pt), len(PARTICLE_FEATURES)))
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3] = massless_four_vector(f_pt, f_eta, f_phi)
        rows[:, 4], rows[:, 5], rows[:, 6] = f_pt, f_eta, f_phi
        if vertex is not None:
            rows[:, 7], rows[:, 8], rows[:, 9] = _flat(vertex.X), _flat(vertex.Y), _flat(vertex.Z)
        if kind == "lepton":
            rows[:, 10] = _flat(lepton.iso_ch)
            rows[:, 11] = _flat(lepton.iso_gamma)
            rows[:, 12] = _flat(lepton.iso_neu)
            rows[:, 16] = _flat(lepton.is_ele)
            rows[:, 17] = 1.0 - rows[:, 16]
        else:
            for column, pf in zip((10, 11, 12), maps.values(), strict=True):
                pf_counts = ak.to_numpy(ak.num(pf.pt, axis=1))
                sums = cone_sums_flat(
                    event, f_eta, f_phi,
                    np.repeat(np.arange(n), pf_counts), _flat(pf.eta), _flat(pf.phi),
                    _flat(pf.pt), selection.cuts.isolation_cone, selection.wrap_at_pi,
                )  # fmt: skip
                rows[:, column] = sums / f_pt
            if kind == "track" or options.reference_chpfiso:
                rows[:, 10] -= 1.0  # a track's own pT is in the track map
            rows[:, 13:16] = onehot
        rows[:, 18] = _flat(charge)
        blocks.append((event, rows))
        per_event_counts.append(counts)

    event = np.concatenate([b[0] for b in blocks])
    rows = np.concatenate([b[1] for b in blocks])
    # Group rows by event, keeping lepton, tracks, photons, neutrals order within an event.
    grouping = np.argsort(event, kind="stable")
    rows = rows[grouping]
    counts = np.sum(per_event_counts, axis=0)
    jagged = ak.unflatten(ak.from_numpy(rows.astype(np.float32)), counts)
    lepton_eta = np.repeat(ak.to_numpy(lepton.eta), counts)
    lepton_phi = np.repeat(ak.to_numpy(lepton.phi), counts)
    dr = ak.unflatten(delta_r(rows[:, 5], rows[:, 6], lepton_eta, lepton_phi), counts)
    order = ak.argsort(dr, axis=1, ascending=options.order == "ascending", stable=True)
    return jagged[order]
