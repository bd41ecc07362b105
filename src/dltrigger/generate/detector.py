"""A fast, vectorised detector simulation in the spirit of Delphes with the CMS card.

It maps generator-level stable particles to the Delphes collections the pipeline reads, with the
parameters of [`detector_card`][dltrigger.generate.detector_card] (a preset: the CMS card, variants
of it, or the CMS Phase-II card, whose own formulas are evaluated):

- particles made outside the tracker volume are dropped, as Delphes' ``ParticlePropagator``
  does; charged ones are followed along their helix to where they leave the tracker, which
  is where efficiencies and resolutions are evaluated and where the calorimeters see them;
- charged particles within the tracker -> tracks (tracking efficiency per particle type,
  log-normal pT smearing, production vertex in mm; with the Phase-II card electrons are
  smeared in energy instead, Gaussian, as its ``ElectronEnergySmearing``);
- calorimeters as the cards' ``ECal`` and ``HCal``
  ([`calorimeter`][dltrigger.generate.calorimeter]): every visible particle deposits its energy
  fractions in the tower of the card's eta-phi grid it reaches, tower energies are smeared and
  thresholded, and energy flow splits each tower into its tracks (``EFlowTrack``, rescaled to the
  combined measurement when the calorimeter sees no significant excess) and the neutral excess
  (``EFlowPhoton`` from the ECAL, ``EFlowNeutralHadron`` from the HCAL; Phase-II: a further Gaussian
  ``PhotonEnergySmearing``); the ``legacy`` preset keeps one deposit per untracked particle;
- electron tracks of the energy flow / muon tracks passing identification, then the card's
  isolation (CMS: cone 0.5 over the particle-flow objects without leptons, a preset may relax
  the cut; Phase-II: cone 0.3 over all of them, other leptons included, no cut) ->
  ``Electron`` / ``MuonTight`` (pT ordered, with Delphes' ``IsolationVar``, ``SumPtCharged``,
  ``SumPtNeutral``); Phase-II also ``MuonLoose``, the same muon candidates with an
  independent draw of the loose efficiency;
- particle-flow photons passing identification and isolation -> ``Photon``;
- anti-kt jets (R 0.5; Phase-II 0.4) on all particle-flow objects, scaled by the card's jet
  energy scale -> ``Jet``, flavour from the partons in the jet cone (JetFlavorAssociation's
  algorithmic flavour), ``BTag`` drawn from the
  card's efficiency for that flavour (Phase-II: bits 0/1/2 for the loose/medium/tight working
  points, an independent draw each); with the CMS card, jets sharing a particle-flow object
  with a written photon, electron or muon are removed, as its ``UniqueObjectFinder`` (the
  Phase-II card has none);
- ``MissingET`` = minus the vector sum of all particle-flow objects.

Simplifications against Delphes, measured against it on the same events in
docs/validation.md: identification efficiencies at the momentum's eta rather than the
tracker exit's, numpy's random numbers (the same distributions as ROOT's, not the same
values). Every random number is
drawn from the generator passed in, in a fixed order, so a seed fixes the output.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
from collections.abc import Iterator

import awkward as ak
import fastjet
import numpy as np

from ..physics.kinematics import delta_r, eta, invariant_mass, massless_four_vector, phi, pt
from .calorimeter import (
    Particles,
    Tracks,
    ecal_hcal,
    phase2_hcal_grid,
    simple_calorimeter_params,
)
from .delphes_modules import exit_position, holds_written, isolation_sums
from .detector_card import DETECTOR_PRESETS, DetectorCard

REFERENCE = DETECTOR_PRESETS["reference"]

#: Particles that leave no trace: neutrinos and the lightest neutralino / gravitino.
INVISIBLE = (12, 14, 16, 1000022, 1000039)

_JET_DEFINITION: fastjet.JetDefinition | None = None
_BANNER_SILENCED = False


@contextlib.contextmanager
def _fastjet_banner_silenced() -> Iterator[None]:
    """FastJet's C++ library prints a 13-line banner on its first clustering in each process
    (every Spark worker); send that one write to /dev/null. It is cited in docs/generator.md."""
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        yield
        return
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                yield
            finally:
                libc.fflush(None)
                os.dup2(saved, 1)
    finally:
        os.close(saved)
        _BANNER_SILENCED = True


def _jet_definition(radius: float) -> fastjet.JetDefinition:
    global _JET_DEFINITION
    if _JET_DEFINITION is None or _JET_DEFINITION.R() != radius:
        _JET_DEFINITION = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    return _JET_DEFINITION


def lognormal_smear(rng: np.random.Generator, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log-normal values with the given mean and standard deviation (Delphes' ``LogNormal``).

    Positive by construction; ``sigma = 0`` returns ``mean``. One normal number is drawn per
    element whatever the sigma, so the random stream does not depend on the values.
    """
    normal = rng.standard_normal(mean.shape)
    safe_mean = np.maximum(mean, 1e-12)
    log_var = np.log1p(np.square(sigma / safe_mean))
    return np.exp(np.log(safe_mean) - 0.5 * log_var + np.sqrt(log_var) * normal)


def card_sigma(card: DetectorCard, energy, eta, ecal: np.ndarray, hcal: np.ndarray):
    """The calorimeter resolution at the measured energy (Delphes' significance is E / σ(E))."""
    sigma = np.zeros_like(energy)
    sigma[ecal] = card.ecal_resolution(energy[ecal], eta[ecal])
    sigma[hcal] = card.hcal_resolution(energy[hcal], eta[hcal])
    return sigma


def _on(mask: np.ndarray, function, *arrays: np.ndarray) -> np.ndarray:
    """``function`` of the ``arrays`` where ``mask`` is set, zero elsewhere."""
    out = np.zeros(mask.shape)
    out[mask] = function(*(a[mask] for a in arrays))
    return out


def _jagged(n_events: int, event: np.ndarray, fields: dict[str, np.ndarray]) -> ak.Array:
    counts = np.bincount(event, minlength=n_events)
    return ak.unflatten(ak.zip(fields), counts)


def _sorted_by_pt(collection: ak.Array) -> ak.Array:
    return collection[ak.argsort(collection.PT, axis=1, ascending=False)]


def simulate(
    events: ak.Array, rng: np.random.Generator, card: DetectorCard = REFERENCE
) -> dict[str, ak.Array]:
    """Detector response for a batch of events from
    [`pythia_source.EventSource`][dltrigger.generate.pythia_source.EventSource].

    Returns the Delphes collections (``EFlowTrack``, ``EFlowPhoton``, ``EFlowNeutralHadron``,
    ``Electron``, ``MuonLoose`` (only when ``card.muon_loose``), ``MuonTight``, ``Photon``,
    ``Jet``, ``MissingET``), each a jagged array of records whose field names are the Delphes
    member names.
    """
    n_events = len(events)
    particles = events.particles
    event = np.repeat(np.arange(n_events), ak.to_numpy(ak.num(particles)))
    flat = ak.flatten(particles)
    pid = ak.to_numpy(flat.id)
    charge = ak.to_numpy(flat.charge)
    px, py, pz, energy = (ak.to_numpy(flat[c]) for c in ("px", "py", "pz", "e"))
    p_pt, p_eta, p_phi = pt(px, py), eta(px, py, pz), phi(px, py)

    abs_id = np.abs(pid)
    visible = ~np.isin(abs_id, INVISIBLE)
    if card.propagate:
        # ParticlePropagator drops a particle made outside the tracker volume (RadiusMax and
        # HalfLengthMax default to Radius and HalfLength): decay products of hyperons or kaons
        # that flew metres, tens of metres along the beam, would otherwise be seen in a
        # calorimeter they never cross.
        radius_mm = np.hypot(ak.to_numpy(flat.x), ak.to_numpy(flat.y))
        visible &= (radius_mm <= card.tracker_radius_m * 1e3) & (
            np.abs(ak.to_numpy(flat.z)) <= card.tracker_half_length_m * 1e3
        )
    is_electron, is_muon = abs_id == 11, abs_id == 13
    charged = (charge != 0) & visible
    charged_hadron = charged & ~is_electron & ~is_muon

    # Delphes evaluates its efficiency and resolution formulas at the particle's position where
    # it leaves the tracker (ParticlePropagator): a charged particle curling in the field
    # leaves through an endcap, far forward, where the tracking efficiency is zero.
    # The calorimeters see it there too (in the tower of that point, a curling pion's energy
    # lies far from its momentum's direction).
    z0 = ak.to_numpy(flat.z)
    position_eta, position_phi = p_eta.copy(), p_phi.copy()
    if card.propagate:
        position_eta[charged], position_phi[charged] = exit_position(
            p_pt[charged], pz[charged], z0[charged], charge[charged], p_phi[charged], card
        )

    # Tracking: efficiency and resolution by particle type, inside the tracker only.
    efficiency = np.zeros_like(p_pt)
    resolution = np.zeros_like(p_pt)
    for mask, eff, res in (
        (charged_hadron, card.charged_hadron_tracking_efficiency, card.charged_hadron_resolution),
        (is_electron, card.electron_tracking_efficiency, card.electron_resolution),
        (is_muon, card.muon_tracking_efficiency, card.muon_resolution),
    ):
        efficiency[mask] = eff(p_pt[mask], position_eta[mask])
        resolution[mask] = res(p_pt[mask], position_eta[mask])
    if math.isfinite(card.momentum_resolution_max):  # MomentumSmearing: res > 1 -> 1
        resolution = np.minimum(resolution, card.momentum_resolution_max)
    in_tracker = np.abs(position_eta) <= card.tracker_eta_max
    tracked = charged & in_tracker & (rng.random(p_pt.shape) < efficiency)
    smeared_pt = lognormal_smear(rng, p_pt, resolution * p_pt)
    if card.electron_energy_smearing:
        # EnergySmearing: E' ~ Gauss(E, sigma(E, eta at the tracker exit)), dropped if E' <= 0,
        # then pT = sqrt(E'^2 - m^2) / cosh(eta); its TrackResolution is sigma / E.
        normal = rng.standard_normal(p_pt.shape)
        e = np.flatnonzero(is_electron)
        sigma_e = card.electron_energy_resolution(energy[e], position_eta[e])
        smeared_e = energy[e] + sigma_e * normal[e]
        mass2 = np.maximum(energy[e] ** 2 - (px[e] ** 2 + py[e] ** 2 + pz[e] ** 2), 0.0)
        smeared_pt[e] = np.sqrt(np.maximum(smeared_e**2 - mass2, 0.0)) / np.cosh(p_eta[e])
        tracked[e] &= smeared_e > 0
        resolution[e] = sigma_e / np.maximum(energy[e], 1e-12)

    # Calorimeters and energy flow: the particle-flow objects (tracks, then photons, then
    # neutral hadrons of each event) that isolation, jets and missing ET are made of.
    if card.calorimeter_towers:
        position = (position_eta, position_phi)
        flow = _tower_flow(n_events, event, visible, tracked, smeared_pt, p_eta, p_phi, position,
                           energy, pid, resolution, px, py, pz, rng, card)  # fmt: skip
    else:
        flow = _particle_flow(event, visible, tracked, smeared_pt, p_eta, p_phi, energy, pid,
                              rng, card)  # fmt: skip
    o_event, o_pt, o_eta, o_phi, o_e = (flow[k] for k in ("event", "pt", "eta", "phi", "e"))
    kind, source = flow["kind"], flow["particle"]
    is_track, is_photon, is_neutral = kind == TRACK, kind == PHOTON, kind == NEUTRAL
    if card.photon_energy_smearing:
        # EnergySmearing PhotonEnergySmearing on the particle-flow photons (after the ECAL's
        # thresholds): E' ~ Gauss(E, sigma(E, eta)), dropped if E' <= 0.
        normal = rng.standard_normal(o_pt.shape)
        g = np.flatnonzero(is_photon)
        o_e[g] += card.photon_energy_resolution(o_e[g], o_eta[g]) * normal[g]
        o_pt[g] = o_e[g] / np.cosh(o_eta[g])
        dropped = np.zeros(o_pt.shape, dtype=bool)
        dropped[g] = o_e[g] <= 0
        keep = ~dropped
        o_event, o_pt, o_eta, o_phi, o_e, kind, source = (
            a[keep] for a in (o_event, o_pt, o_eta, o_phi, o_e, kind, source)
        )
        is_track, is_photon, is_neutral = kind == TRACK, kind == PHOTON, kind == NEUTRAL
    o_pid = np.where(is_track, pid[source], np.where(is_photon, 22, 0))
    o_charge = np.where(is_track, charge[source], 0)

    def track_fields(mask: np.ndarray) -> dict[str, np.ndarray]:
        rows = source[mask]
        return {
            "PT": o_pt[mask].astype(np.float32),
            "Eta": o_eta[mask].astype(np.float32),
            "Phi": o_phi[mask].astype(np.float32),
            "PID": pid[rows].astype(np.int32),
            "Charge": charge[rows].astype(np.int32),
            "X": ak.to_numpy(flat.x)[rows].astype(np.float32),
            "Y": ak.to_numpy(flat.y)[rows].astype(np.float32),
            "Z": z0[rows].astype(np.float32),
        }

    def tower_fields(mask: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "ET": o_pt[mask].astype(np.float32),
            "Eta": o_eta[mask].astype(np.float32),
            "Phi": o_phi[mask].astype(np.float32),
            "E": o_e[mask].astype(np.float32),
        }

    # Missing ET: minus the vector sum of the particle flow (the card's Merger MissingET).
    pf_e, pf_px, pf_py, pf_pz = massless_four_vector(o_pt, o_eta, o_phi)
    met_x = -np.bincount(o_event, weights=pf_px, minlength=n_events)
    met_y = -np.bincount(o_event, weights=pf_py, minlength=n_events)
    met_z = -np.bincount(o_event, weights=pf_pz, minlength=n_events)
    missing_et = ak.unflatten(
        ak.zip(
            {
                "MET": pt(met_x, met_y).astype(np.float32),
                "Eta": eta(met_x, met_y, met_z).astype(np.float32),
                "Phi": phi(met_x, met_y).astype(np.float32),
            }
        ),
        np.ones(n_events, dtype=np.int64),
    )

    # Identification: electron tracks of the energy flow (ElectronFilter on HCal/eflowTracks),
    # muon tracks, particle-flow photons (each efficiency evaluated on its own candidates).
    id_random = rng.random(o_pt.shape)
    electrons = is_track & (np.abs(o_pid) == 11)
    electrons &= id_random < _on(electrons, card.electron_id_efficiency, o_pt, o_eta)
    muons = is_track & (np.abs(o_pid) == 13)
    muon_candidates = muons.copy()
    muons &= id_random < _on(muons, card.muon_id_efficiency, o_pt, o_eta)
    photon_candidates = is_photon & (
        id_random < _on(is_photon, card.photon_id_efficiency, o_pt, o_eta)
    )
    muon_collections = [("muons", muons)]
    if card.muon_loose:
        # MuonLooseIdEfficiency: the same candidates as MuonTight, an independent draw.
        loose = muon_candidates & (
            rng.random(o_pt.shape)
            < _on(muon_candidates, card.muon_loose_id_efficiency, o_pt, o_eta)
        )
        muon_collections.insert(0, ("muons_loose", loose))

    # Isolation: the particle flow above PTMin, without electron and muon tracks (the CMS
    # card's EFlowFilter) or with them (isolation_includes_leptons: EFlowMerger/eflow).
    isolating = o_pt > card.isolation_pt_min
    if not card.isolation_includes_leptons:
        isolating &= ~(is_track & np.isin(np.abs(o_pid), (11, 13)))
    iso = {"pt": o_pt, "eta": o_eta, "phi": o_phi, "charged": is_track}
    isolation = {}
    for name, mask, limit in (
        ("electrons", electrons, card.electron_isolation_max),
        *((muon_name, mask, card.muon_isolation_max) for muon_name, mask in muon_collections),
        ("photons", photon_candidates, card.photon_isolation_max),
    ):
        sums = isolation_sums(n_events, o_event, mask, isolating, iso, card.isolation_dr_max)
        passed = sums["IsolationVar"] <= limit
        chosen = np.flatnonzero(mask)[passed]
        mask[:] = False
        mask[chosen] = True
        isolation[name] = {k: v[passed].astype(np.float32) for k, v in sums.items()}

    def lepton_fields(mask: np.ndarray, name: str) -> dict[str, np.ndarray]:
        return {
            "PT": o_pt[mask].astype(np.float32),
            "Eta": o_eta[mask].astype(np.float32),
            "Phi": o_phi[mask].astype(np.float32),
            "Charge": o_charge[mask].astype(np.int32),
            **isolation[name],
        }

    photon_fields = {**tower_fields(photon_candidates), **isolation["photons"]}
    photon_fields["PT"] = photon_fields.pop("ET")

    # UniqueObjectFinder: a jet holding a written photon, electron or muon is removed.
    written = (photon_candidates | electrons | muons) if card.overlap_removal else None
    jets = _cluster_jets(
        n_events,
        o_event,
        {"px": pf_px, "py": pf_py, "pz": pf_pz, "E": pf_e},
        events.hadrons,
        rng,
        card,
        written,
        events.partons if "partons" in events.fields else None,
    )
    muon_names = {"muons": "MuonTight", "muons_loose": "MuonLoose"}
    muon_outputs = {
        muon_names[name]: _sorted_by_pt(_jagged(n_events, o_event[mask], lepton_fields(mask, name)))
        for name, mask in muon_collections
    }
    return {
        "EFlowTrack": _jagged(n_events, o_event[is_track], track_fields(is_track)),
        "EFlowPhoton": _jagged(n_events, o_event[is_photon], tower_fields(is_photon)),
        "EFlowNeutralHadron": _jagged(n_events, o_event[is_neutral], tower_fields(is_neutral)),
        "Electron": _sorted_by_pt(
            _jagged(n_events, o_event[electrons], lepton_fields(electrons, "electrons"))
        ),
        **muon_outputs,
        "Photon": _sorted_by_pt(_jagged(n_events, o_event[photon_candidates], photon_fields)),
        "Jet": jets,
        "MissingET": missing_et,
    }


#: Kinds of particle-flow objects.
TRACK, PHOTON, NEUTRAL = 0, 1, 2


def _by_event(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Particle-flow objects of several kinds as one set of flat arrays, grouped by event
    (tracks, photons, neutral hadrons within each), as isolation and jets need them."""
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(merged["event"], kind="stable")
    return {k: v[order] for k, v in merged.items()}


def _particle_flow(event, visible, tracked, smeared_pt, p_eta, p_phi, energy, pid, rng, card):
    """The ``legacy`` preset's calorimeters: each untracked particle is its own deposit
    (photons and untracked electrons in the ECAL, hadrons in the HCAL), smeared with the
    card's resolution; tracked particles deposit nothing."""
    abs_id = np.abs(pid)
    is_photon, is_electron, is_muon = abs_id == 22, abs_id == 11, abs_id == 13
    in_calo = np.abs(p_eta) <= card.calorimeter_eta_max
    to_ecal = in_calo & (is_photon | (is_electron & ~tracked))
    to_hcal = in_calo & visible & ~is_photon & ~is_electron & ~is_muon & ~tracked
    calo_energy = lognormal_smear(rng, energy, card_sigma(card, energy, p_eta, to_ecal, to_hcal))
    significant = calo_energy > np.where(
        to_ecal, card.ecal_significance_min, card.hcal_significance_min
    ) * card_sigma(card, calo_energy, p_eta, to_ecal, to_hcal)
    photons = to_ecal & (calo_energy > card.ecal_energy_min) & significant
    neutrals = to_hcal & (calo_energy > card.hcal_energy_min) & significant
    rows = np.arange(len(pid))

    def part(mask: np.ndarray, kind: int, values: np.ndarray) -> dict[str, np.ndarray]:
        e = energy if kind == TRACK else calo_energy
        return {"event": event[mask], "pt": values[mask], "eta": p_eta[mask],
                "phi": p_phi[mask], "e": e[mask], "kind": np.full(mask.sum(), kind),
                "particle": rows[mask]}  # fmt: skip

    calo_et = calo_energy / np.cosh(p_eta)
    return _by_event([part(tracked, TRACK, smeared_pt), part(photons, PHOTON, calo_et),
                      part(neutrals, NEUTRAL, calo_et)])  # fmt: skip


def _tower_flow(n_events, event, visible, tracked, smeared_pt, p_eta, p_phi, position, energy,
                pid, resolution, px, py, pz, rng, card):  # fmt: skip
    """The cards' ``ECal`` and ``HCal`` (SimpleCalorimeter each,
    [`calorimeter`][dltrigger.generate.calorimeter]): towers on the card's eta-phi grid, energy flow
    (tower energy minus its tracks' as ``EFlowPhoton`` / ``EFlowNeutralHadron``, or tracks rescaled
    to the combined measurement)."""
    position_eta, position_phi = position
    in_calo = visible & (np.abs(position_eta) <= card.calorimeter_eta_max)
    calo_particles = Particles(event[in_calo], position_eta[in_calo], position_phi[in_calo],
                               energy[in_calo], pid[in_calo])  # fmt: skip
    rows = np.flatnonzero(tracked)
    mass = np.sqrt(np.maximum(energy**2 - (px**2 + py**2 + pz**2), 0.0))
    tracks = Tracks(event[rows], smeared_pt[rows], p_eta[rows], p_phi[rows], mass[rows],
                    pid[rows], resolution[rows], index=rows, position_eta=position_eta[rows],
                    position_phi=position_phi[rows])  # fmt: skip
    result = ecal_hcal(
        calo_particles,
        tracks,
        simple_calorimeter_params(card, ecal=True),
        simple_calorimeter_params(card, ecal=False),
        rng,
        hcal_grid=phase2_hcal_grid() if card.hcal_grid == "phase2" else None,
    )
    t, g, h = result.tracks, result.photons, result.neutral_hadrons
    assert t.index is not None  # Tracks always carry their rows
    track_part = {"event": t.event, "pt": t.pt, "eta": t.eta, "phi": t.phi, "e": t.energy,
                  "kind": np.full(len(t.pt), TRACK), "particle": t.index}  # fmt: skip

    def towers(part, kind: int) -> dict[str, np.ndarray]:
        return {"event": part.event, "pt": part.et, "eta": part.eta, "phi": part.phi,
                "e": part.energy, "kind": np.full(len(part.et), kind),
                "particle": np.full(len(part.et), -1)}  # fmt: skip

    return _by_event([track_part, towers(g, PHOTON), towers(h, NEUTRAL)])


def _cluster_jets(
    n_events: int,
    event: np.ndarray,
    momenta: dict[str, np.ndarray],
    hadrons: ak.Array,
    rng: np.random.Generator,
    card: DetectorCard,
    written: np.ndarray | None = None,
    events_partons: ak.Array | None = None,
) -> ak.Array:
    """Anti-kt jets of the particle-flow objects, scaled, flavoured, b-tagged; ``written``
    (per object): the objects written as photons or leptons, whose jets are removed."""
    per_event = np.bincount(event, minlength=n_events)
    inputs = ak.unflatten(ak.zip(momenta), per_event)
    with _fastjet_banner_silenced():
        sequence = fastjet.ClusterSequence(inputs, _jet_definition(card.jet_radius))
        raw = sequence.inclusive_jets(min_pt=card.jet_pt_min)
        constituents = None
        if written is not None:
            constituents = sequence.constituent_index(min_pt=card.jet_pt_min)
    counts = ak.to_numpy(ak.num(raw))
    flat = ak.flatten(raw)
    jpx, jpy, jpz, je = (ak.to_numpy(flat[c]).astype(np.float64) for c in ("px", "py", "pz", "E"))
    scale = card.jet_energy_scale_factor(pt(jpx, jpy), eta(jpx, jpy, jpz))
    jpx, jpy, jpz, je = jpx * scale, jpy * scale, jpz * scale, je * scale
    j_pt, j_eta, j_phi = pt(jpx, jpy), eta(jpx, jpy, jpz), phi(jpx, jpy)

    jets = ak.unflatten(ak.zip({"eta": j_eta, "phi": j_phi}), counts)
    flavour = _jet_flavour(jets, events_partons, hadrons, card)
    tag_random = rng.random(j_pt.shape)
    btag = (tag_random < card.btag_efficiency(flavour, j_pt, j_eta)).astype(np.int32)
    for bit in range(1, card.btag_bits):  # BTagging BitNumber: an independent draw per bit
        tagged = rng.random(j_pt.shape) < card.btag_efficiency(flavour, j_pt, j_eta, bit=bit)
        btag |= tagged.astype(np.int32) << bit
    fields = {
        "PT": j_pt.astype(np.float32),
        "Eta": j_eta.astype(np.float32),
        "Phi": j_phi.astype(np.float32),
        "Mass": invariant_mass(je, jpx, jpy, jpz).astype(np.float32),
        "Flavor": flavour,
        "BTag": btag,
    }
    jets = ak.unflatten(ak.zip(fields), counts)
    if constituents is not None:
        assert written is not None  # constituents are only computed when written is given
        jets = jets[~holds_written(constituents, per_event, written)]
    return _sorted_by_pt(jets)


def _jet_flavour(
    jets: ak.Array, partons: ak.Array | None, hadrons: ak.Array, card: DetectorCard
) -> np.ndarray:
    """Each jet's ``Flavor``, as JetFlavorAssociation's algorithmic flavour: the largest |PID|
    of the partons within ``flavour_match_dr`` (above ``parton_pt_min``, within
    ``parton_eta_max``), gluons counting below every quark (21 when only gluons are there), 0
    with none. ``flavour_from = "hadrons"`` (or events without partons): 5 with a b hadron in
    the cone, else 4 with a c hadron, else 0."""
    if card.flavour_from == "partons" and partons is not None:
        inside = (partons.pt > card.parton_pt_min) & (np.abs(partons.eta) <= card.parton_eta_max)
        candidates = partons[inside]
        rank = ak.where(candidates.flavour == 21, 0, candidates.flavour)  # gluon: below quarks
        near = ak.cartesian({"j": jets, "p": ak.zip({"eta": candidates.eta,
                                                     "phi": candidates.phi, "rank": rank})},
                            axis=1, nested=True)  # fmt: skip
        hit = delta_r(near.j.eta, near.j.phi, near.p.eta, near.p.phi) <= card.flavour_match_dr
        best = ak.max(ak.where(hit, near.p.rank, -1), axis=-1)
        best = ak.to_numpy(ak.flatten(ak.fill_none(best, -1))).astype(np.int32)
        return np.where(best == 0, 21, np.maximum(best, 0)).astype(np.int32)
    heavy = hadrons[hadrons.pt > card.flavour_hadron_pt_min]
    pairs = ak.cartesian({"j": jets, "h": heavy}, axis=1, nested=True)
    matched = delta_r(pairs.j.eta, pairs.j.phi, pairs.h.eta, pairs.h.phi) < card.flavour_match_dr
    flavour_hits = ak.where(matched, pairs.h.flavour, 0)
    flavour = ak.to_numpy(ak.flatten(ak.fill_none(ak.max(flavour_hits, axis=-1), 0)))
    return flavour.astype(np.int32)
