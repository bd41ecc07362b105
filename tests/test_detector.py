"""The fast detector simulation on hand-made events, checked against the card's numbers."""

import awkward as ak
import numpy as np
import pytest

from dltrigger.generate.detector import lognormal_smear, simulate
from dltrigger.generate.detector_card import CMS

MASSES = {11: 0.000511, 13: 0.10566, 22: 0.0, 211: 0.13957, 2112: 0.93957, 12: 0.0, 14: 0.0}
CHARGES = {11: -1, -11: 1, 13: -1, -13: 1, 211: 1, -211: -1, 22: 0, 2112: 0, 12: 0, 14: 0}


def particle(pid: int, pt: float, eta: float, phi: float, z: float = 0.0) -> dict:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + MASSES[abs(pid)] ** 2)
    return {
        "id": pid,
        "charge": float(CHARGES[pid]),
        "px": px,
        "py": py,
        "pz": pz,
        "e": e,
        "x": 0.0,
        "y": 0.0,
        "z": z,
    }


def make_events(particle_lists, hadron_lists=None) -> ak.Array:
    hadron_lists = hadron_lists or [[] for _ in particle_lists]
    events = [
        {"particles": p, "hadrons": h} for p, h in zip(particle_lists, hadron_lists, strict=True)
    ]
    out = ak.Array(events)
    hadron_type = "var * {flavour: int8, pt: float64, eta: float64, phi: float64}"
    particles = ak.values_astype(out.particles, np.float64)
    particles = ak.with_field(particles, ak.values_astype(out.particles.id, np.int32), "id")
    hadrons = ak.enforce_type(out.hadrons, hadron_type)
    return ak.zip({"particles": particles, "hadrons": hadrons}, depth_limit=1)


def test_muon_and_neutrino_make_track_muon_and_missing_et():
    events = make_events([[particle(13, 50.0, 0.3, 1.0, z=1.5), particle(14, 40.0, 0.0, -2.0)]])
    out = simulate(events, np.random.default_rng(1))
    track = out["EFlowTrack"][0]
    muon = out["MuonTight"][0]
    assert len(track) == 1 and len(muon) == 1
    assert len(out["Electron"][0]) == 0
    # The muon is its own track (same pT), within 5 sigma of the card's resolution.
    assert muon.PT[0] == track.PT[0]
    assert muon.PT[0] == pytest.approx(50.0, abs=5 * 50.0 * 0.0111)
    assert track.PID[0] == 13 and track.Charge[0] == -1 and muon.Charge[0] == -1
    assert track.Z[0] == pytest.approx(1.5)
    # MET balances the muon only: the neutrino is invisible.
    met = out["MissingET"][0][0]
    assert pytest.approx(muon.PT[0], rel=1e-5) == met.MET
    assert abs(np.cos(met.Phi - muon.Phi[0]) + 1) < 1e-6


def test_forward_particles_reach_calorimeters_not_tracker():
    events = make_events(
        [
            [
                particle(211, 30.0, 3.0, 0.0),  # beyond the tracker: a neutral HCAL deposit
                particle(22, 30.0, 3.5, 2.0),  # forward photon: ECAL
                particle(2112, 30.0, 6.0, 1.0),  # beyond the calorimeters: lost
            ]
        ]
    )
    out = simulate(events, np.random.default_rng(2))
    assert len(out["EFlowTrack"][0]) == 0
    # one tower each, its direction drawn inside the tower (the forward towers are 0.175 wide)
    assert ak.to_list(out["EFlowNeutralHadron"][0].Eta) == [pytest.approx(3.0, abs=0.18)]
    assert ak.to_list(out["EFlowPhoton"][0].Eta) == [pytest.approx(3.5, abs=0.18)]


def test_tracking_efficiency_and_resolution_match_the_card():
    n = 40_000
    rng = np.random.default_rng(3)
    etas = rng.uniform(-1.4, 1.4, n)
    pions = [[particle(211, 5.0, e, 0.1)] for e in etas[: n // 2]]
    muons = [[particle(13, 100.0, e, 0.1)] for e in np.clip(etas[n // 2 :], -0.49, 0.49)]
    out = simulate(make_events(pions + muons), np.random.default_rng(4))
    tracked = ak.to_numpy(ak.num(out["EFlowTrack"]))
    efficiency = tracked[: n // 2].mean()
    # Card: 0.95 for charged hadrons with pT > 1 GeV, |eta| <= 1.5 (binomial sigma 0.0015).
    assert efficiency == pytest.approx(0.95, abs=0.006)
    muon_pt = ak.to_numpy(ak.flatten(out["EFlowTrack"][n // 2 :].PT))
    expected_sigma = np.hypot(0.01, 100.0 * 1.0e-4)  # |eta| <= 0.5 muon resolution
    assert muon_pt.mean() == pytest.approx(100.0, rel=0.001)
    assert muon_pt.std() / 100.0 == pytest.approx(expected_sigma, rel=0.05)


def test_lognormal_smear_keeps_mean_and_sigma_and_is_positive():
    rng = np.random.default_rng(5)
    mean = np.full(200_000, 2.0)
    values = lognormal_smear(rng, mean, np.full_like(mean, 2.0))  # 100% resolution
    assert values.min() > 0
    assert values.mean() == pytest.approx(2.0, rel=0.02)
    assert values.std() == pytest.approx(2.0, rel=0.05)
    assert np.array_equal(lognormal_smear(rng, mean[:5], np.zeros(5)), mean[:5])


def test_jets_are_clustered_and_b_tagged_by_flavour():
    # Two collimated sprays of pions: one with a b hadron inside, one light.
    def spray(phi):
        return [particle(211, 15.0, 0.1 * k, phi + 0.05 * k) for k in range(3)]

    n = 3000
    events = make_events(
        [spray(0.0) + spray(2.5) for _ in range(n)],
        [[{"flavour": 5, "pt": 30.0, "eta": 0.1, "phi": 0.05}] for _ in range(n)],
    )
    jets = simulate(events, np.random.default_rng(6))["Jet"]
    assert ak.all(ak.num(jets) == 2)
    flavour = ak.to_numpy(ak.flatten(jets.Flavor))
    phis = ak.to_numpy(ak.flatten(jets.Phi))
    assert np.all(flavour[np.abs(phis - 0.05) < 0.2] == 5)
    assert np.all(flavour[np.abs(phis - 2.55) < 0.2] == 0)
    tags = ak.to_numpy(ak.flatten(jets.BTag))
    pts = ak.to_numpy(ak.flatten(jets.PT))
    is_b = flavour == 5
    expected_b = CMS.btag_efficiency(np.full(is_b.sum(), 5), pts[is_b], np.zeros(is_b.sum()))
    assert tags[is_b].mean() == pytest.approx(expected_b.mean(), abs=4 * 0.5 / np.sqrt(n))
    assert tags[~is_b].mean() < 0.05  # light mistag ~1%
