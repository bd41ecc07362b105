"""The detector simulation's Delphes modules on hand-built events (issue 15): isolation as the
card's Isolation modules, jets overlapping written leptons and photons removed as its
UniqueObjectFinder, the jet energy scale, and the card numbers read from the card itself."""

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from dltrigger.generate.delphes_modules import exit_position, isolation_sums
from dltrigger.generate.detector import simulate
from dltrigger.generate.detector_card import CMS, DETECTOR_PRESETS, DetectorCard
from dltrigger.physics.kinematics import delta_r
from tests.test_detector import make_events, particle

CARD = Path(__file__).parent / "data" / "delphes" / "delphes_card_CMS.tcl"


@dataclass(frozen=True)
class Certain(DetectorCard):
    """The card with every efficiency 1 and no b-tags: each test outcome is certain."""

    def charged_hadron_tracking_efficiency(self, pt, eta):
        return np.ones_like(pt)

    def electron_tracking_efficiency(self, pt, eta):
        return np.ones_like(pt)

    def muon_tracking_efficiency(self, pt, eta):
        return np.ones_like(pt)

    def electron_id_efficiency(self, pt, eta):
        return np.ones_like(pt)

    def muon_id_efficiency(self, pt, eta):
        return np.ones_like(pt)

    def btag_efficiency(self, flavour, pt, eta):
        return np.zeros_like(pt)


def certain(preset: str) -> Certain:
    fields = {f: getattr(DETECTOR_PRESETS[preset], f) for f in DetectorCard.__dataclass_fields__}
    return Certain(**fields)


def module(name: str) -> str:
    """The body of ``module <Type> <name> { ... }`` in the card."""
    match = re.search(rf"^module \w+ {name} \{{(.*?)^\}}", CARD.read_text(), re.S | re.M)
    assert match, name
    return match.group(1)


def setting(name: str, key: str) -> str:
    match = re.search(rf"^\s*set {key} (.+)$", module(name), re.M)
    assert match, (name, key)
    return match.group(1).strip()


def test_the_card_numbers_are_the_cards():
    assert float(setting("FastJetFinder", "ParameterR")) == CMS.jet_radius == 0.5
    assert float(setting("FastJetFinder", "JetPTMin")) == CMS.jet_pt_min
    assert setting("FastJetFinder", "InputArray") == "EFlowMerger/eflow"
    for name, ratio in (("ElectronIsolation", CMS.electron_isolation_max),
                        ("MuonIsolation", CMS.muon_isolation_max),
                        ("PhotonIsolation", CMS.photon_isolation_max)):  # fmt: skip
        assert float(setting(name, "DeltaRMax")) == CMS.isolation_dr_max
        assert float(setting(name, "PTMin")) == CMS.isolation_pt_min
        assert float(setting(name, "PTRatioMax")) == ratio
        assert setting(name, "IsolationInputArray") == "EFlowFilter/eflow"
    calorimeters = (("ECal", CMS.ecal_energy_min, CMS.ecal_significance_min),
                    ("HCal", CMS.hcal_energy_min, CMS.hcal_significance_min))  # fmt: skip
    for name, minimum, significance in calorimeters:
        assert float(setting(name, "EnergyMin")) == minimum
        assert float(setting(name, "EnergySignificanceMin")) == significance
    assert float(setting("ParticlePropagator", "Radius")) == CMS.tracker_radius_m
    assert float(setting("ParticlePropagator", "HalfLength")) == CMS.tracker_half_length_m
    assert float(setting("ParticlePropagator", "Bz")) == CMS.field_tesla
    # the isolation objects are the particle flow without electrons and muons
    codes = re.findall(r"add PdgCode \{(-?\d+)\}", module("EFlowFilter"))
    assert sorted(int(c) for c in codes) == [-13, -11, 11, 13]
    # UniqueObjectFinder: photons, electrons, muons, then the jets they remove
    order = re.findall(r"^\s*add InputArray (\S+)", module("UniqueObjectFinder"), re.M)
    assert order == ["PhotonIsolation/photons", "ElectronIsolation/electrons",
                     "MuonIsolation/muons", "JetEnergyScale/jets"]  # fmt: skip
    # the jet energy scale formula, evaluated as the card writes it
    formula = setting("JetEnergyScale", "ScaleFormula").strip("{}")
    python = formula.replace("^", "**").replace("abs(", "np.abs(").replace("sqrt(", "np.sqrt(")
    pt, eta = np.array([20.0, 35.0, 120.0]), np.array([0.0, -1.7, 2.4])
    np.testing.assert_allclose(CMS.jet_energy_scale_factor(pt, eta), eval(python), rtol=1e-12)
    # the reference preset relaxes only the two lepton cuts; legacy is the old simulation
    assert DETECTOR_PRESETS["reference"] == replace(
        CMS, electron_isolation_max=math.inf, muon_isolation_max=math.inf
    )
    legacy = DETECTOR_PRESETS["legacy"]
    assert legacy.jet_radius == 0.4 and not legacy.jet_energy_scale
    assert not legacy.overlap_removal


def test_isolation_sums_are_the_isolation_modules():
    """Cone edge, PTMin and the candidate itself, against a brute-force sum."""
    rng = np.random.default_rng(3)
    n = 400
    event = np.sort(rng.integers(0, 5, n))
    objects = {
        "pt": rng.exponential(3.0, n),
        "eta": rng.uniform(-2, 2, n),
        "phi": rng.uniform(-np.pi, np.pi, n),
        "charged": rng.random(n) < 0.6,
    }
    candidates = rng.random(n) < 0.05
    isolating = rng.random(n) < 0.8
    sums = isolation_sums(5, event, candidates, isolating, objects, 0.5)
    for k, i in enumerate(np.flatnonzero(candidates)):
        others = [j for j in np.flatnonzero(isolating)
                  if event[j] == event[i] and j != i
                  and delta_r(objects["eta"][i], objects["phi"][i], objects["eta"][j],
                              objects["phi"][j]) <= 0.5]  # fmt: skip
        charged = sum(objects["pt"][j] for j in others if objects["charged"][j])
        neutral = sum(objects["pt"][j] for j in others if not objects["charged"][j])
        assert sums["SumPtCharged"][k] == pytest.approx(charged, abs=1e-9)
        assert sums["SumPtNeutral"][k] == pytest.approx(neutral, abs=1e-9)
        assert sums["IsolationVar"][k] == pytest.approx((charged + neutral) / objects["pt"][i])


def lepton_with(pid: int, around: list[tuple[float, float, float]]) -> list[dict]:
    """A 50 GeV lepton at (0, 0) and charged pions (pT, eta, phi) around it."""
    return [particle(pid, 50.0, 0.0, 0.0), *(particle(211, *p) for p in around)]


def test_lepton_isolation_cuts_of_each_preset():
    # electron, ratio 0.2: fails the card's 0.12 (cms), kept by reference; muon 0.2 passes 0.25
    ratio_02 = [(6.0, 0.3, 0.0), (4.0, 0.0, 0.45)]  # both inside 0.5
    outside = [(30.0, 0.0, 0.55), (0.3, 0.1, 0.1)]  # beyond the cone; below PTMin 0.5
    events = make_events([lepton_with(11, ratio_02 + outside), lepton_with(13, ratio_02),
                          lepton_with(11, outside)])  # fmt: skip
    rng = np.random.default_rng(0)
    cms = simulate(events, rng, replace(certain("cms")))
    reference = simulate(events, np.random.default_rng(0), certain("reference"))
    assert [len(e) for e in cms["Electron"]] == [0, 0, 1]
    assert [len(m) for m in cms["MuonTight"]] == [0, 1, 0]
    assert [len(e) for e in reference["Electron"]] == [1, 0, 1]
    # the written members, as Delphes writes them: the cone's sums
    first = reference["Electron"][0][0]
    tracks = reference["EFlowTrack"][0]
    inside = tracks[(tracks.PID == 211) & (delta_r(tracks.Eta, tracks.Phi, 0.0, 0.0) <= 0.5)
                    & (tracks.PT > 0.5)]  # fmt: skip
    assert first.SumPtCharged == pytest.approx(float(np.sum(inside.PT)), rel=1e-5)
    assert first.IsolationVar == pytest.approx(float(np.sum(inside.PT)) / first.PT, rel=1e-5)
    assert reference["Electron"][2][0].IsolationVar == pytest.approx(0.0, abs=1e-6)


def test_jets_holding_a_written_lepton_or_photon_are_removed():
    hadronic = [(12.0, 1.0, 2.0), (11.0, 1.1, 2.1), (10.0, 0.9, 2.05)]  # a 33 GeV jet far away
    near = [(8.0, 0.2, 0.1), (6.0, -0.1, 0.2)]  # inside the lepton's jet, ratio 0.28
    photon = [particle(22, 40.0, -1.5, -2.0)]  # an isolated photon, its own jet
    events = make_events([
        lepton_with(11, hadronic),  # isolated electron: its jet goes, the far one stays
        lepton_with(11, hadronic + near),  # electron not isolated at card level
        lepton_with(13, hadronic) + photon,  # an isolated muon and photon
    ])  # fmt: skip
    legacy = simulate(events, np.random.default_rng(0), certain("legacy"))
    reference = simulate(events, np.random.default_rng(0), certain("reference"))
    cms = simulate(events, np.random.default_rng(0), certain("cms"))

    def lepton_has_a_jet(out, event: int) -> bool:
        jets = out["Jet"][event]
        return bool(np.any(delta_r(jets.Eta, jets.Phi, 0.0, 0.0) < 0.4))

    # before: every lepton has its jet (the 228/228); with overlap removal, none
    assert [lepton_has_a_jet(legacy, i) for i in range(3)] == [True, True, True]
    assert [lepton_has_a_jet(reference, i) for i in range(3)] == [False, False, False]
    # the far jet is kept in all (one jet with the photon's removed too in event 3)
    for out in (reference, cms):
        far = [int(np.sum(delta_r(j.Eta, j.Phi, 1.0, 2.05) < 0.4)) for j in out["Jet"]]
        assert far == [1, 1, 1]
    assert len(reference["Photon"][2]) == 1 and len(reference["Jet"][2]) == 1
    assert len(legacy["Jet"][2]) == 3  # muon jet, far jet, photon jet
    # cms: the non-isolated electron is not written, so its jet stays
    assert len(cms["Electron"][1]) == 0 and lepton_has_a_jet(cms, 1)


def test_jet_energy_scale_scales_the_jet():
    events = make_events([[particle(211, 20.0, 0.5, 1.0), particle(211, 15.0, 0.55, 1.05)]])
    plain = simulate(events, np.random.default_rng(0), replace(certain("reference"),
                                                               jet_energy_scale=False))  # fmt: skip
    scaled = simulate(events, np.random.default_rng(0), certain("reference"))
    raw, jet = plain["Jet"][0][0], scaled["Jet"][0][0]
    factor = float(CMS.jet_energy_scale_factor(np.array([raw.PT]), np.array([raw.Eta]))[0])
    assert pytest.approx(raw.PT * factor, rel=1e-5) == jet.PT
    assert jet.Eta == pytest.approx(raw.Eta, abs=1e-5)
    assert jet.Mass == pytest.approx(raw.Mass * factor, rel=1e-4)


def test_calorimeter_deposits_need_the_cards_significance():
    """ECal: E > 0.5 GeV and E > 2 sigma(E); the legacy preset kept every E > 0.5 GeV."""
    rng = np.random.default_rng(5)
    energies = rng.uniform(0.55, 3.0, 300)
    events = make_events([[particle(22, e, 0.2, phi) for e, phi in
                           zip(energies, np.linspace(-3, 3, 300), strict=True)]])  # fmt: skip
    kept = simulate(events, np.random.default_rng(1), certain("reference"))["EFlowPhoton"][0]
    legacy = simulate(events, np.random.default_rng(1), certain("legacy"))["EFlowPhoton"][0]
    e, eta = np.asarray(kept.E, dtype=np.float64), np.asarray(kept.Eta, dtype=np.float64)
    assert np.all(e > 2.0 * CMS.ecal_resolution(e, eta) * (1 - 1e-6))
    assert np.all(np.asarray(legacy.E) > 0.5) and len(legacy) > len(kept) > 100


def test_curling_tracks_leave_through_the_endcap_and_are_not_tracked():
    """ParticlePropagator: below pT = 0.3 B R / 2 (0.735 GeV) a helix from the beam line never
    reaches R = 1.29 m and leaves at |z| = 3 m, where Delphes' efficiency (evaluated at that
    position) is zero; above, it leaves the barrel near its momentum's eta."""
    pt = np.array([50.0, 5.0, 0.7, 0.3, 0.3])
    eta = np.array([0.3, -1.0, 0.3, 0.3, 2.0])
    pz = pt * np.sinh(eta)
    out, _ = exit_position(pt, pz, np.zeros(5), np.array([1.0, -1, 1, -1, 1]), np.zeros(5), CMS)
    assert out[0] == pytest.approx(0.3, abs=0.01) and out[1] == pytest.approx(-1.0, abs=0.05)
    assert abs(out[3]) > 2.5  # a 0.3 GeV pion curls: out through the endcap, far forward
    # independent check of one: a 0.7 GeV helix (r = 0.614 m) reaches z = 3 m after a
    # transverse path 3 / sinh(0.3) = 9.86 m; the chord then is 2 r |sin(s / 2r)|
    r = 0.7 / (0.299792458 * 3.8)
    s = 3.0 / np.sinh(0.3)
    assert out[2] == pytest.approx(np.arcsinh(3.0 / (2 * r * abs(np.sin(s / (2 * r))))))
    events = make_events([[particle(211, 0.3, 0.3, 0.0), particle(211, 5.0, 0.3, 1.0)]])
    tracks = simulate(events, np.random.default_rng(0), certain("reference"))["EFlowTrack"][0]
    assert len(tracks) == 1 and tracks.PT[0] > 1  # the curling pion is lost
    legacy = simulate(events, np.random.default_rng(0), certain("legacy"))["EFlowTrack"][0]
    assert len(legacy) == 2


def test_the_generator_uses_the_configured_preset(tmp_path):
    """``[generate] detector`` reaches every file's task, and the file is simulated with it:
    the legacy preset keeps a jet on every lepton, the reference preset none."""
    import awkward as ak
    import uproot

    from dltrigger.config import GenerateConfig
    from dltrigger.generate.job import generate_file, plan

    for preset in ("legacy", "reference"):
        config = GenerateConfig(process=["wjets"], events=150, out=tmp_path / preset,
                                detector=preset, mpi=False)  # fmt: skip
        (task,) = plan(config)
        assert task.detector == preset
        generate_file(task)
        tree = uproot.open(task.path)["Delphes"]
        leptons = tree.arrays(["Electron.PT", "Electron.Eta", "Electron.Phi"])
        jets = tree.arrays(["Jet.Eta", "Jet.Phi"])
        hard = leptons["Electron.PT"] > 23
        pairs = ak.cartesian({"e": ak.zip({"eta": leptons["Electron.Eta"][hard],
                                           "phi": leptons["Electron.Phi"][hard]}),
                              "j": ak.zip({"eta": jets["Jet.Eta"], "phi": jets["Jet.Phi"]})},
                             nested=True)  # fmt: skip
        near = ak.any(delta_r(pairs.e.eta, pairs.e.phi, pairs.j.eta, pairs.j.phi) < 0.4, axis=-1)
        fraction = float(ak.mean(ak.flatten(near)))
        assert fraction == (1.0 if preset == "legacy" else 0.0), (preset, fraction)
