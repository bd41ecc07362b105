"""The ``phase2`` preset: Delphes 3.5.1's ``CMS_PhaseII_0PU.tcl`` read from the packaged card.

(a) the card formula translator on hand-evaluated values, and its refusals; (b) every scalar
of the preset read back from the card's text by regex, every formula method against the
card's formula evaluated independently on a grid; (c) the simulation's behaviour on hand-built
events: no overlap removal, isolation over dR 0.3 with other leptons, MuonLoose and MuonTight
drawn independently, the three b-tag bits."""

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from dltrigger.generate.card_formula import (
    PHASE2_CARD,
    CardError,
    compile_formula,
    phase2_card,
    read_card,
)
from dltrigger.generate.detector import simulate
from dltrigger.generate.detector_card import DETECTOR_PRESETS, PHASE2, DetectorCard, Phase2Card
from dltrigger.physics.kinematics import delta_r
from tests.test_detector import make_events, particle

CARD_DIR = PHASE2_CARD.parent

# -- (a) the translator ------------------------------------------------------------------------

TRACKING = r"""
      (pt <= 0.2) * (0.00) + \
        (abs(eta) <= 1.2) * (pt > 0.2 && pt <= 1.0) * (pt * 0.96) + \
        (abs(eta) <= 1.2) * (pt > 1.0) * (0.97) + \
        (abs(eta) > 1.2 && abs(eta) <= 2.5) * (pt > 0.2 && pt <= 1.0) * (pt*0.85) + \
        (abs(eta) > 1.2 && abs(eta) <= 2.5) * (pt > 1.0) * (0.87) + \
        (abs(eta) > 2.5 && abs(eta) <= 4.0) * (pt > 0.2 && pt <= 1.0) * (pt*0.8) + \
        (abs(eta) > 2.5 && abs(eta) <= 4.0) * (pt > 1.0) * (0.82) + \
        (abs(eta) > 4.0) * (0.00)
"""


def test_piecewise_formula_by_hand_including_its_boundaries():
    f = compile_formula(TRACKING, "test")
    points = [  # (pt, eta, value by hand)
        (0.2, 0.0, 0.0),  # pt <= 0.2
        (0.5, 0.0, 0.48),  # 0.5 * 0.96
        (0.5, 1.2, 0.48),  # |eta| <= 1.2 is the barrel
        (0.5, -1.2000001, 0.425),  # 0.5 * 0.85
        (1.0, 0.3, 0.96),  # pt <= 1.0: 1.0 * 0.96
        (1.0000001, 0.3, 0.97),
        (5.0, -2.5, 0.87),
        (5.0, 2.5000001, 0.82),
        (5.0, 4.0, 0.82),
        (5.0, -4.0000001, 0.0),
        (0.25, 3.0, 0.2),  # 0.25 * 0.8
    ]
    pt, eta, expected = (np.array(c) for c in zip(*points, strict=True))
    np.testing.assert_allclose(f(pt, eta), expected, rtol=1e-12, atol=1e-15)
    assert f.variables == {"pt", "eta"}


def test_power_functions_logic_and_c_comparisons():
    ecal = compile_formula("(abs(eta) <= 1.50) * sqrt(energy^2*0.009^2 + energy*0.12^2 + 0.45^2)")
    assert float(ecal(eta=0.0, energy=100.0)) == pytest.approx(
        np.sqrt(0.81 + 1.44 + 0.2025), rel=1e-14
    )
    assert ecal(eta=np.array([1.5, 1.51]), energy=np.array([1.0, 1.0]))[1] == 0.0
    either = compile_formula("(pt > 10 || eta < 0) * 2 + !(pt > 10) * 0.5")
    np.testing.assert_array_equal(either(np.array([20.0, 5.0, 5.0]), np.array([1.0, -1.0, 1.0])),
                                  [2.0, 2.5, 0.5])  # fmt: skip
    # TFormula compares as C does: (3 > 2) > 1 is 1 > 1, false (Python would chain: true)
    assert compile_formula("(3 > 2 > 1) + 0 * pt")(np.array([1.0]))[0] == 0.0
    functions = compile_formula("exp(log(pt)) + tanh(0) + pow(pt, 2) - abs(-pt) + pt/4")
    assert functions(np.array([2.0]))[0] == pytest.approx(2.0 + 0.0 + 4.0 - 2.0 + 0.5)
    # a constant formula broadcasts to its arguments; booleans are 0/1 numbers (sums count)
    np.testing.assert_array_equal(compile_formula("1.00")(np.zeros(3), np.zeros(3)), np.ones(3))
    tabs = compile_formula("(pt >\t1) \\\n\t* 2")  # tabs, a Tcl continuation
    np.testing.assert_array_equal(tabs(np.array([0.5, 2.0])), [0.0, 2.0])
    twice = compile_formula("(pt > 1) + (pt > 2)")
    np.testing.assert_array_equal(twice(np.array([0.0, 1.5, 3.0])), [0.0, 1.0, 2.0])


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os').system('true')",
        "pt.__class__",
        "np.abs(pt)",
        "[pt, eta]",
        "pt[0]",
        "lambda: 1",
        "pt if eta else 1",
        "d0 * 2",  # a Delphes parameter this translator does not supply
        "exp(pt, 2)",
        "pow(pt)",
        "sqrt(x=pt)",
        "pt & eta",
        "'a' * 3",
        "True * pt",
        "pt % 2",
        "pt ** 2",  # Python, not TFormula
        "~pt",
        "pt > 1 and eta < 2",
        "not pt",
        "x = 1",
        "",
    ],
)
def test_unsafe_or_unknown_input_is_refused(formula):
    with pytest.raises(CardError, match="where-it-is"):
        compile_formula(formula, "where-it-is")


def test_card_reader_source_add_and_errors_name_card_module_key(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.tcl").write_text("set ResolutionFormula {energy*0.01}\n")
    card = tmp_path / "test.tcl"
    card.write_text(
        "# a comment\n"
        "set ExecutionPath {\n  Eff\n  Tag\n}\n"
        "module Efficiency Eff {\n"
        "  set InputArray X/y\n"
        "  # a comment\n"
        "  set EfficiencyFormula {(pt > 1.0) * \\\n      (abs(eta) <= 2.5) * 0.9}\n"
        "  set Bad {pt * d0}\n"
        "  set pi [expr {acos(-1)}]\n"
        "  for {set i 1} {$i <= 3} {incr i} {\n    add EtaPhiBins $i {1 2}\n  }\n"
        "  source sub/more.tcl\n"
        "}\n"
        "module BTagging Tag {\n  set BitNumber 2\n"
        "  add EfficiencyFormula {0} {0.01}\n"
        "  add EfficiencyFormula {5} {(pt > 20) * 0.7}\n}\n"
    )
    monkeypatch.chdir(tmp_path / "sub")  # `source` is relative to the card, not to the cwd
    parsed = read_card(card)
    assert parsed.execution_path == ("Eff", "Tag")
    eff = parsed.module("Eff")
    assert eff.type == "Efficiency" and eff.get("InputArray") == "X/y"
    assert "EtaPhiBins" not in eff.adds  # loop bodies are not executed
    np.testing.assert_allclose(eff.formula("EfficiencyFormula")([2.0, 2.0], [2.5, 2.6]), [0.9, 0])
    assert float(eff.formula("ResolutionFormula")(energy=50.0)) == pytest.approx(0.5)
    tag = parsed.module("Tag").keyed_formulas()
    assert sorted(tag) == [0, 5] and float(tag[5](30.0, 0.0)) == pytest.approx(0.7)
    with pytest.raises(CardError, match=r"card test\.tcl, module Eff, key Bad: unknown variable"):
        eff.formula("Bad")
    with pytest.raises(CardError, match="module Eff, key Missing: not set"):
        eff.get("Missing")
    with pytest.raises(CardError, match="no module 'Nope'"):
        parsed.module("Nope")
    (tmp_path / "broken.tcl").write_text("module Efficiency E {\n  source nothere.tcl\n}\n")
    with pytest.raises(CardError, match=r"nothere\.tcl"):
        read_card(tmp_path / "broken.tcl")


def test_formula_that_needs_energy_says_so():
    with pytest.raises(CardError, match="needs energy"):
        compile_formula("energy*0.01", "card x, module PhotonEnergySmearing")(np.ones(2))


# -- (b) the preset against the packaged card ------------------------------------------------

#: git blob hashes of the files at delphes/delphes tag 3.5.1 (``git ls-tree 3.5.1``)
DELPHES_BLOBS = {
    "CMS_PhaseII_0PU.tcl": "dba819b28776b3e88139f7f3885092cb71da6eb7",
    "btagLoose.tcl": "88726d3286ea34ae0138746ae856ad44b5c0e3a3",
    "btagMedium.tcl": "7682687b76932141336ca9fa7df8da42e9d76604",
    "btagTight.tcl": "66d0c90280a447c77438ed8e99ae53d7230ab1cd",
    "muonLooseId.tcl": "8af6f226acb463a384f205a24894ed2f5f988f75",
    "muonMomentumResolution.tcl": "11707670a2b3ded9fc0b6e040ea3381fbc9a549a",
    "muonTightId.tcl": "5b72a3a5d34a7917c1e27e8393bebf51cf94a502",
    "trackMomentumResolution.tcl": "45378f86e8d2b474d8e7c27eff9289799500ee61",
}


def test_the_packaged_cards_are_delphes_files_unchanged():
    assert sorted(p.name for p in CARD_DIR.glob("*.tcl")) == sorted(DELPHES_BLOBS)
    for name, blob in DELPHES_BLOBS.items():
        data = (CARD_DIR / name).read_bytes()
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob, name


def module(name: str) -> str:
    """The body of ``module <Type> <name> { ... }`` in the card, ``source``d files inlined."""
    text = PHASE2_CARD.read_text()
    match = re.search(rf"^module \w+ {name} \{{(.*?)^\}}", text, re.S | re.M)
    assert match, name
    return re.sub(r"^\s*source (\S+)", lambda m: (CARD_DIR / m.group(1)).read_text(),
                  match.group(1), flags=re.M)  # fmt: skip


def setting(name: str, key: str) -> str:
    match = re.search(rf"^\s*set {key} (.+)$", module(name), re.M)
    assert match, (name, key)
    return match.group(1).strip()


def braced(name: str, key: str) -> str:
    match = re.search(rf"^\s*set {key} \{{(.*?)\}}", module(name), re.S | re.M)
    assert match, (name, key)
    return match.group(1)


def test_every_scalar_of_the_preset_is_the_cards():
    assert DETECTOR_PRESETS["phase2"] is PHASE2
    assert float(setting("ParticlePropagator", "Radius")) == PHASE2.tracker_radius_m == 1.29
    assert float(setting("ParticlePropagator", "HalfLength")) == PHASE2.tracker_half_length_m
    assert float(setting("ParticlePropagator", "Bz")) == PHASE2.field_tesla == 3.8
    for name, minimum, significance in (
        ("ECal", PHASE2.ecal_energy_min, PHASE2.ecal_significance_min),
        ("HCal", PHASE2.hcal_energy_min, PHASE2.hcal_significance_min),
    ):
        assert float(setting(name, "EnergyMin")) == minimum
        assert float(setting(name, "EnergySignificanceMin")) == significance == 1.0
    # the acceptances: where the card's formulas end
    for name in ("ChargedHadronTrackingEfficiency", "ElectronTrackingEfficiency",
                 "MuonTrackingEfficiency"):  # fmt: skip
        assert "(abs(eta) > 4.0) * (0.00)" in braced(name, "EfficiencyFormula")
    assert PHASE2.tracker_eta_max == 4.0
    edges = re.findall(r"abs\(eta\) <= ([\d.]+)", braced("ECal", "ResolutionFormula"))
    assert max(float(e) for e in edges) == PHASE2.calorimeter_eta_max == 5.0
    assert "(abs(eta) > 4.0) * (0.00)" in braced("ElectronEfficiency", "EfficiencyFormula")
    assert PHASE2.electron_eta_max == 4.0
    assert "(abs(eta) > 2.8) * (0.00)" in braced("MuonTightIdEfficiency", "EfficiencyFormula")
    assert PHASE2.muon_eta_max == 2.8
    # jets
    assert int(setting("FastJetFinder", "JetAlgorithm")) == 6  # anti-kt
    assert float(setting("FastJetFinder", "ParameterR")) == PHASE2.jet_radius == 0.4
    assert float(setting("FastJetFinder", "JetPTMin")) == PHASE2.jet_pt_min == 15.0
    assert setting("FastJetFinder", "InputArray") == "EFlowMerger/eflow"
    assert setting("JetEnergyScale", "ScaleFormula") == "{1.00}"
    # isolation: no cut, all of the particle flow
    for name in ("ElectronIsolation", "MuonIsolation", "PhotonIsolation"):
        assert float(setting(name, "DeltaRMax")) == PHASE2.isolation_dr_max == 0.3
        assert float(setting(name, "PTMin")) == PHASE2.isolation_pt_min == 1.0
        assert setting(name, "IsolationInputArray") == "EFlowMerger/eflow"
    assert PHASE2.isolation_includes_leptons
    assert float(setting("ElectronIsolation", "PTRatioMax")) == PHASE2.electron_isolation_max
    assert float(setting("MuonIsolation", "PTRatioMax")) == PHASE2.muon_isolation_max == 9999
    assert float(setting("PhotonIsolation", "PTRatioMax")) == PHASE2.photon_isolation_max
    # no overlap removal; the smearing modules; two muon collections; three b-tag bits
    path = re.search(r"set ExecutionPath \{(.*?)\}", PHASE2_CARD.read_text(), re.S).group(1)
    path = path.split()
    assert "UniqueObjectFinder" not in path and not PHASE2.overlap_removal
    assert path[0] == "ParticlePropagator" and PHASE2.propagate
    assert {"ElectronEnergySmearing", "PhotonEnergySmearing"} <= set(path)
    assert PHASE2.electron_energy_smearing and PHASE2.photon_energy_smearing
    assert "ElectronMomentumSmearing" not in path
    assert setting("ElectronEnergySmearing", "InputArray") == "ElectronTrackingEfficiency/electrons"
    assert setting("PhotonEnergySmearing", "InputArray") == "ECal/eflowPhotons"
    for name in ("MuonLooseIdEfficiency", "MuonTightIdEfficiency"):
        assert setting(name, "InputArray") == "MuonIsolation/muons"
    branches = re.findall(r"add Branch (\S+) (\S+) Muon$", module("TreeWriter"), re.M)
    assert branches == [("MuonLooseIdEfficiency/muons", "MuonLoose"),
                        ("MuonTightIdEfficiency/muons", "MuonTight")]  # fmt: skip
    assert PHASE2.muon_loose
    bits = [int(setting(n, "BitNumber")) for n in ("BTaggingLoose", "BTaggingMedium",
                                                   "BTaggingTight")]  # fmt: skip
    assert bits == list(range(PHASE2.btag_bits)) == [0, 1, 2]
    for name in ("btagLoose", "btagMedium", "btagTight"):
        assert "(abs(eta) > 3.4) * (0.000)" in (CARD_DIR / f"{name}.tcl").read_text()
    assert PHASE2.btag_eta_max == 3.4
    assert PHASE2.momentum_resolution_max == 1.0  # MomentumSmearing.cc: res > 1.0 -> 1.0


def _c_and(text: str) -> str:
    """``(a && b)`` -> ``((a) & (b))``, group by group (inner groups first)."""
    stack: list[list[str]] = [[]]
    for ch in text:
        if ch == "(":
            stack.append([])
        elif ch == ")":
            parts = "".join(stack.pop()).split("&&")  # inner groups hold no "&&" any more
            stack[-1].append("(" + " & ".join(f"({p})" for p in parts) + ")")
        else:
            stack[-1].append(ch)
    assert len(stack) == 1 and "&&" not in "".join(stack[0])
    return "".join(stack[0])


def card_value(text: str, pt=None, eta=None, energy=None) -> np.ndarray:
    """A card formula evaluated without the package's translator: ``&&`` as numpy's ``&``
    on each parenthesised group (the card writes every ``&&`` inside one), ``^`` as ``**``."""
    assert "||" not in text and "!" not in text
    python = _c_and(" ".join(text.replace("\\", " ").split())).replace("^", "**")
    names = {"pt": pt, "eta": eta, "energy": energy}
    value = eval(python, {"__builtins__": {}, "abs": np.abs, "sqrt": np.sqrt}, names)
    shape = np.broadcast(*(v for v in names.values() if v is not None)).shape
    return np.broadcast_to(np.asarray(value, dtype=np.float64), shape)


PTS = [0.1, 0.2, 0.5, 1.0, 1.5, 4.0, 4.5, 5.0, 6.0, 8.0, 10.0, 12.0, 20.0, 25.0, 30.0, 40.0,
       50.0, 65.0, 70.0, 90.0, 100.0, 150.0, 300.0, 700.0, 1500.0, 2500.0, 3000.0,
       4000.0]  # fmt: skip
ETAS = [0.0, 0.1, 0.2, 0.5, 1.0, 1.2, 1.3, 1.45, 1.5, 1.55, 1.6, 1.75, 1.8, 2.0, 2.1, 2.15, 2.4,
        2.45, 2.5, 2.7, 2.8, 2.9, 3.0, 3.3, 3.4, 3.5, 3.9, 4.0, 4.5, 5.0, 5.5]  # fmt: skip
GRID_PT, GRID_ETA = (g.ravel() for g in np.meshgrid(PTS, ETAS + [-e for e in ETAS]))

FORMULA_METHODS = [  # method, card module, key, first argument
    ("charged_hadron_tracking_efficiency", "ChargedHadronTrackingEfficiency", "EfficiencyFormula",
     "pt"),
    ("electron_tracking_efficiency", "ElectronTrackingEfficiency", "EfficiencyFormula", "pt"),
    ("muon_tracking_efficiency", "MuonTrackingEfficiency", "EfficiencyFormula", "pt"),
    ("charged_hadron_resolution", "ChargedHadronMomentumSmearing", "ResolutionFormula", "pt"),
    ("muon_resolution", "MuonMomentumSmearing", "ResolutionFormula", "pt"),
    ("electron_energy_resolution", "ElectronEnergySmearing", "ResolutionFormula", "energy"),
    ("photon_energy_resolution", "PhotonEnergySmearing", "ResolutionFormula", "energy"),
    ("ecal_resolution", "ECal", "ResolutionFormula", "energy"),
    ("hcal_resolution", "HCal", "ResolutionFormula", "energy"),
    ("electron_id_efficiency", "ElectronEfficiency", "EfficiencyFormula", "pt"),
    ("photon_id_efficiency", "PhotonEfficiency", "EfficiencyFormula", "pt"),
    ("muon_id_efficiency", "MuonTightIdEfficiency", "EfficiencyFormula", "pt"),
    ("muon_loose_id_efficiency", "MuonLooseIdEfficiency", "EfficiencyFormula", "pt"),
    ("jet_energy_scale_factor", "JetEnergyScale", "ScaleFormula", "pt"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "name", "key", "first"), FORMULA_METHODS)
def test_every_formula_method_is_the_cards_formula(method, name, key, first):
    text = braced(name, key)
    expected = card_value(text, eta=GRID_ETA, **{first: GRID_PT})
    got = getattr(PHASE2, method)(GRID_PT, GRID_ETA)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert np.ptp(expected) > 0 or key == "ScaleFormula"  # the grid crosses the card's bins
    # the package's own reader gives the same formula
    assert phase2_card().module(name).get(key) == text.strip()


def test_electrons_have_no_pt_resolution_and_btag_is_the_cards_per_bit():
    assert not np.any(PHASE2.electron_resolution(GRID_PT, GRID_ETA))
    for bit, name in enumerate(("btagLoose", "btagMedium", "btagTight")):
        text = (CARD_DIR / f"{name}.tcl").read_text()
        formulas = dict(re.findall(r"add EfficiencyFormula \{(\d+)\}\s*\{(.*?)\}", text, re.S))
        assert sorted(formulas) == ["0", "4", "5"]
        for flavour, code in ((5, "5"), (4, "4"), (0, "0"), (21, "0"), (1, "0")):
            expected = card_value(formulas[code], pt=GRID_PT, eta=GRID_ETA)
            got = PHASE2.btag_efficiency(np.full(GRID_PT.shape, flavour), GRID_PT, GRID_ETA, bit)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    # spot values by hand: a 50 GeV b jet, |eta| 0.5 (the 40-50 bin includes 50)
    b = [PHASE2.btag_efficiency(np.array([5]), np.array([50.0]), np.array([0.5]), k)[0]
         for k in range(3)]  # fmt: skip
    assert b == pytest.approx([0.837, 0.666, 0.485])


def test_card_quirks_are_kept_as_delphes_evaluates_them():
    """TFormula sums every term: where the card's bins overlap or leave a gap, so do we."""
    # ElectronEfficiency at |eta| = 2.0, pT > 70: the 1.55-2.0 and the 2.0-2.5 bins both hold
    assert PHASE2.electron_id_efficiency(np.array([100.0]), np.array([2.0]))[0] == 1.9
    # MuonTightIdEfficiency: pT = 10 exactly is in neither 5-10 nor 10-20 (open bounds)
    tight = PHASE2.muon_id_efficiency(np.array([10.0, 10.5, 5.0]), np.array([0.3, 0.3, 3.5]))
    assert tight[0] == 0.0 and tight[1] > 0.9 and tight[2] == 1.0  # pT <= 5: 1 at any eta


# -- (c) behaviour on hand-built events --------------------------------------------------------


@dataclass(frozen=True)
class CertainPhase2(Phase2Card):
    """The Phase-II card with every tracking and identification efficiency 1."""

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

    def muon_loose_id_efficiency(self, pt, eta):
        return np.ones_like(pt)

    def photon_id_efficiency(self, pt, eta):
        return np.ones_like(pt)


def certain(card_class=CertainPhase2, **changes):
    fields = {f: getattr(PHASE2, f) for f in DetectorCard.__dataclass_fields__}
    return card_class(**{**fields, **changes})


def test_a_lepton_inside_a_jet_keeps_its_jet():
    hadronic = [(12.0, 1.0, 2.0), (11.0, 1.1, 2.1), (10.0, 0.9, 2.05)]  # a far jet
    near = [(8.0, 0.2, 0.1), (6.0, -0.1, 0.2)]  # hadrons in the lepton's jet
    events = make_events([
        [particle(11, 50.0, 0.0, 0.0), *(particle(211, *p) for p in hadronic + near)],
        [particle(13, 50.0, 0.0, 0.0), *(particle(211, *p) for p in hadronic),
         particle(22, 40.0, -1.5, -2.0)],
    ])  # fmt: skip
    out = simulate(events, np.random.default_rng(0), certain())
    removing = simulate(events, np.random.default_rng(0), certain(overlap_removal=True))
    assert [len(e) for e in out["Electron"]] == [1, 0]
    assert [len(m) for m in out["MuonTight"]] == [0, 1]
    assert len(out["Photon"][1]) == 1
    for event in range(2):
        jets = out["Jet"][event]
        assert np.any(delta_r(jets.Eta, jets.Phi, 0.0, 0.0) < 0.3)  # the lepton's own jet
        assert np.any(delta_r(jets.Eta, jets.Phi, 1.0, 2.05) < 0.3)  # the far jet
    assert len(out["Jet"][1]) == 3  # muon jet, far jet, photon jet
    # the same events with the CMS card's UniqueObjectFinder: those jets go
    assert [len(j) for j in removing["Jet"]] == [1, 1]


def test_isolation_sums_cover_dr_03_and_count_other_leptons():
    events = make_events([[
        particle(11, 50.0, 0.0, 0.0),
        particle(13, 10.0, 0.0, 0.2),  # a muon at dR 0.2: counts for the electron
        particle(211, 5.0, 0.25, 0.0),  # inside 0.3
        particle(211, 7.0, 0.0, -0.35),  # outside 0.3 (inside the CMS card's 0.5)
        particle(211, 0.9, 0.1, 0.0),  # below PTMin 1.0
        particle(22, 20.0, -0.28, 0.0),  # a neutral inside
    ]])  # fmt: skip
    out = simulate(events, np.random.default_rng(1), certain())
    tracks, photons = out["EFlowTrack"][0], out["EFlowPhoton"][0]
    muon_pt = float(tracks.PT[tracks.PID == 13][0])
    pion_pt = float(tracks.PT[(tracks.PID == 211) & (tracks.Eta > 0.2)][0])
    photon_pt = float(photons.ET[0])
    electron = out["Electron"][0][0]
    assert electron.SumPtCharged == pytest.approx(muon_pt + pion_pt, rel=1e-5)
    assert electron.SumPtNeutral == pytest.approx(photon_pt, rel=1e-5)
    assert electron.IsolationVar == pytest.approx((muon_pt + pion_pt + photon_pt) / electron.PT,
                                                  rel=1e-5)  # fmt: skip
    assert electron.IsolationVar > 0.5  # no cut: PTRatioMax 9999
    # the muon: the electron counts for it (dR 0.2), the 5 GeV pion too (dR 0.32) does not
    muon = out["MuonTight"][0][0]
    electron_pt = float(tracks.PT[tracks.PID == 11][0])
    assert muon.SumPtCharged == pytest.approx(electron_pt, rel=1e-5)
    assert out["MuonLoose"][0][0].SumPtCharged == muon.SumPtCharged
    # the CMS card's EFlowFilter (leptons out) would not count the muon
    filtered = simulate(events, np.random.default_rng(1),
                        certain(isolation_includes_leptons=False))["Electron"][0][0]  # fmt: skip
    assert filtered.SumPtCharged == pytest.approx(pion_pt, rel=1e-5)


@dataclass(frozen=True)
class HalfMuons(CertainPhase2):
    def muon_id_efficiency(self, pt, eta):
        return np.full_like(pt, 0.5)

    def muon_loose_id_efficiency(self, pt, eta):
        return np.full_like(pt, 0.5)


def test_muon_loose_and_tight_are_independent_draws_over_the_same_muons():
    n_events, per_event = 400, 10
    phis = np.linspace(-3.0, 3.0, per_event)  # 0.67 apart: outside each other's cones
    events = make_events([[particle(13, 30.0, 0.3, phi) for phi in phis]] * n_events)
    out = simulate(events, np.random.default_rng(2), certain(HalfMuons))
    n = n_events * per_event

    def passed(collection: str) -> np.ndarray:
        flags = np.zeros((n_events, per_event), dtype=bool)
        phi = ak.to_numpy(ak.flatten(out[collection].Phi))
        row = np.repeat(np.arange(n_events), ak.to_numpy(ak.num(out[collection])))
        flags[row, np.argmin(np.abs(phi[:, None] - phis[None, :]), axis=1)] = True
        return flags.ravel()

    loose, tight = passed("MuonLoose"), passed("MuonTight")
    sigma = np.sqrt(0.25 * 0.75 / n)
    assert loose.mean() == pytest.approx(0.5, abs=5 * np.sqrt(0.25 / n))
    assert tight.mean() == pytest.approx(0.5, abs=5 * np.sqrt(0.25 / n))
    assert (loose & tight).mean() == pytest.approx(0.25, abs=5 * sigma)  # 0.5 if one draw
    assert (loose & ~tight).mean() == pytest.approx(0.25, abs=5 * sigma)  # 0 if nested
    # a muon in both collections is the same candidate: the same momentum
    both = simulate(events[:3], np.random.default_rng(0), certain())
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(both["MuonLoose"].PT)),
                                  ak.to_numpy(ak.flatten(both["MuonTight"].PT)))  # fmt: skip
    # the CMS presets write no MuonLoose
    assert "MuonLoose" not in simulate(events[:3], np.random.default_rng(0),
                                       DETECTOR_PRESETS["cms"])  # fmt: skip


@dataclass(frozen=True)
class BitCard(CertainPhase2):
    """Working points with fixed probabilities: (bit 0, bit 1, bit 2), any flavour."""

    probabilities: tuple[float, float, float] = (1.0, 0.0, 1.0)

    def btag_efficiency(self, flavour, pt, eta, bit=0):
        return np.full(np.shape(pt), self.probabilities[bit])


def jet_events(n_events: int, per_event: int = 5):
    phis = np.linspace(-2.5, 2.5, per_event)
    return make_events(
        [[particle(211, 40.0, 0.5, phi) for phi in phis]] * n_events,
        [[{"flavour": 5, "pt": 30.0, "eta": 0.5, "phi": phi} for phi in phis]] * n_events,
    )


def test_btag_bits_are_the_working_points():
    events = jet_events(40)
    jets = simulate(events, np.random.default_rng(3), certain(BitCard))["Jet"]
    assert ak.all(ak.num(jets) == 5) and ak.all(jets.Flavor == 5)
    assert ak.all(jets.BTag == 0b101)  # bits 0 and 2 set, bit 1 never
    tags = ak.to_numpy(ak.flatten(
        simulate(jet_events(200), np.random.default_rng(4),
                 certain(BitCard, probabilities=(0.5, 0.5, 0.5)))["Jet"].BTag))  # fmt: skip
    # independent draws: each of the 8 patterns a 1/8 of the 1000 jets (sigma 10.5)
    counts = np.bincount(tags, minlength=8)
    assert len(counts) == 8 and np.all(np.abs(counts - 125) < 45), counts
    # the real card: bit 0 (loose) set more often than bit 2 (tight), and not nested
    real = ak.to_numpy(ak.flatten(
        simulate(jet_events(200), np.random.default_rng(5), certain())["Jet"].BTag))  # fmt: skip
    loose, tight = real & 1, (real >> 2) & 1
    assert loose.mean() > tight.mean() > 0.2
    assert np.any(tight & ~loose)  # tight without loose: independent draws, as Delphes


def test_electron_energy_and_photon_smearing_follow_the_card():
    n_events, per_event = 300, 10
    phis = np.linspace(-3.0, 3.0, per_event)
    # the electron tracks as ElectronEnergySmearing leaves them (without the calorimeters,
    # which combine each track with its ECAL tower: a test of their own)
    electrons = simulate(make_events([[particle(11, 50.0, 0.3, p) for p in phis]] * n_events),
                         np.random.default_rng(6),
                         certain(calorimeter_towers=False))["Electron"]  # fmt: skip
    ratio = ak.to_numpy(ak.flatten(electrons.PT)) / 50.0
    assert len(ratio) == n_events * per_event
    # ElectronEnergySmearing: sigma(E) = 0.028 E for |eta| <= 1.5, Gaussian
    assert ratio.mean() == pytest.approx(1.0, abs=0.003)
    assert ratio.std() == pytest.approx(0.028, rel=0.08)
    # PhotonEnergySmearing: after the ECAL's own smearing (the same draws with it off), a
    # further Gaussian sigma(E) = 0.01 E
    photon_events = make_events([[particle(22, 50.0, 0.0, p) for p in phis]] * n_events)
    on, off = (
        ak.to_numpy(ak.flatten(simulate(photon_events, np.random.default_rng(7),
                                        certain(photon_energy_smearing=smear))["EFlowPhoton"].E))
        for smear in (True, False)
    )  # fmt: skip
    extra = on.astype(np.float64) / off - 1.0
    assert extra.mean() == pytest.approx(0.0, abs=0.001)
    assert extra.std() == pytest.approx(0.01, rel=0.06)
    ecal = PHASE2.ecal_resolution(np.array([50.0]), np.array([0.0]))[0] / 50.0
    assert np.std(off / 50.0) == pytest.approx(ecal, rel=0.08)


def test_phase2_muon_loose_is_written_to_root(tmp_path):
    import uproot

    from dltrigger.io.delphes_writer import DelphesWriter

    events = make_events([[particle(13, 30.0, 0.3, 0.0)], [particle(11, 30.0, 0.3, 0.0)]])
    out = simulate(events, np.random.default_rng(8), certain())
    with DelphesWriter(tmp_path / "phase2.root") as writer:
        writer.extend(out)
    tree = uproot.open(tmp_path / "phase2.root")["Delphes"]
    assert tree["MuonLoose_size"].array().tolist() == [1, 0]
    assert tree["MuonLoose.PT"].array().tolist() == ak.to_list(out["MuonLoose"].PT)
    assert {"MuonTight.PT", "Electron.PT", "Jet.BTag"} <= set(tree.keys())


def test_the_preset_is_a_replaceable_frozen_card():
    changed = replace(PHASE2, jet_radius=0.5)
    assert isinstance(changed, Phase2Card) and changed.jet_radius == 0.5
    assert changed.muon_id_efficiency(np.array([30.0]), np.array([0.1]))[0] == pytest.approx(
        PHASE2.muon_id_efficiency(np.array([30.0]), np.array([0.1]))[0]
    )
    with pytest.raises(AttributeError):
        PHASE2.jet_radius = 0.5  # type: ignore[misc]


def test_package_data_includes_the_cards():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"generate/cards/*/*.tcl"' in text
