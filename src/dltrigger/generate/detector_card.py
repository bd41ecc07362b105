"""Every detector parameter of the fast simulation, in one place, with its source.

Source unless stated: Delphes 3.5.1's standard CMS card, ``cards/delphes_card_CMS.tcl`` (a copy
is in ``tests/data/delphes/``; module names are given so each number can be found there). The
formulas are vectorised numpy versions of the card's ``EfficiencyFormula`` /
``ResolutionFormula`` expressions; ``pt``, ``eta`` and ``energy`` are numpy arrays in GeV. The
``phase2`` preset ([`Phase2Card`][]) instead evaluates the formulas of Delphes' packaged
``CMS_PhaseII_0PU.tcl``, compiled by [`card_formula`][dltrigger.generate.card_formula].
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from .card_formula import CardError, CardFormula, compile_formula, phase2_card


def _quad(*terms: np.ndarray | float) -> np.ndarray:
    return np.sqrt(sum(np.square(t) for t in terms))


@dataclass(frozen=True)
class DetectorCard:
    """Acceptances, thresholds and algorithm parameters (formulas are the methods below)."""

    #: Tracker acceptance, |eta| (ChargedHadronTrackingEfficiency etc.: zero beyond 2.5), of
    #: the position where the particle leaves the tracker, as Delphes' Efficiency modules.
    tracker_eta_max: float = 2.5
    #: ParticlePropagator: Radius 1.29 m, HalfLength 3.00 m, Bz 3.8 T; ``propagate``: evaluate
    #: tracking efficiency and resolution at the exit position (off: at the momentum's eta).
    tracker_radius_m: float = 1.29
    tracker_half_length_m: float = 3.0
    field_tesla: float = 3.8
    propagate: bool = True
    #: ECAL and HCAL acceptance, |eta| (ECal/HCal EtaPhiBins extend to 5.0).
    calorimeter_eta_max: float = 5.0
    #: ECal EnergyMin and HCal EnergyMin (GeV): deposits below are dropped.
    ecal_energy_min: float = 0.5
    hcal_energy_min: float = 1.0
    #: ECal and HCal EnergySignificanceMin: a deposit is kept only if its energy exceeds this
    #: many standard deviations of the calorimeter's resolution at that energy (0: off).
    ecal_significance_min: float = 2.0
    hcal_significance_min: float = 1.0
    #: Electron/muon identification acceptance (ElectronEfficiency: 2.5, MuonEfficiency: 2.4).
    electron_eta_max: float = 2.5
    muon_eta_max: float = 2.4
    #: Jets: anti-kt (FastJetFinder: JetAlgorithm 6) with ParameterR 0.5 and JetPTMin 20 GeV,
    #: on all particle-flow objects (InputArray EFlowMerger/eflow).
    jet_radius: float = 0.5
    jet_pt_min: float = 20.0
    #: JetEnergyScale: each jet's four-momentum scaled by [`jet_energy_scale`][] (after the
    #: JetPTMin cut, as the card's module order).
    jet_energy_scale: bool = True
    #: Isolation modules (ElectronIsolation, MuonIsolation, PhotonIsolation): the pT sum of the
    #: particle-flow objects without electrons and muons (IsolationInputArray EFlowFilter/eflow)
    #: with PT > PTMin 0.5 within DeltaRMax 0.5, over the candidate's pT, must not exceed
    #: PTRatioMax. Infinite: no isolation requirement in the collection.
    isolation_dr_max: float = 0.5
    isolation_pt_min: float = 0.5
    electron_isolation_max: float = 0.12
    muon_isolation_max: float = 0.25
    photon_isolation_max: float = 0.12
    #: UniqueObjectFinder: jets sharing a particle-flow object with a written photon, electron
    #: or muon are removed (InputArrays in this order: photons, electrons, muons, jets).
    overlap_removal: bool = True
    #: Flavour association (JetFlavorAssociation, its "algorithmic" Flavor): the largest
    #: |PID| of the partons (quarks 1-5; gluons count below every quark, 21 when alone) within
    #: DeltaR 0.5 of the jet, above PartonPTMin 1.0 GeV and within PartonEtaMax 2.5; the
    #: partons are every non-final quark and gluon of the record, as Delphes' readers keep them.
    flavour_from: str = "partons"
    flavour_match_dr: float = 0.5
    parton_pt_min: float = 1.0
    parton_eta_max: float = 2.5
    #: ``flavour_from = "hadrons"`` (``legacy``, and events without partons): the weakly
    #: decaying b/c hadron above this pT within ``flavour_match_dr``.
    flavour_hadron_pt_min: float = 5.0
    #: b-tagging acceptance (BTagging: efficiency zero beyond |eta| 2.5).
    btag_eta_max: float = 2.5
    #: Pile-up vertex spread along the beam, mm (PileUpMerger ZVertexSpread 0.25 m in the
    #: CMS pile-up card; 53 mm is the CMS 2016 luminous region, used here).
    pileup_z_spread_mm: float = 53.0

    # -- options of other cards (the defaults are the CMS card's behaviour) -----------------

    #: IsolationInputArray: False for the CMS card's EFlowFilter/eflow (particle flow without
    #: electrons and muons), True for EFlowMerger/eflow (all of it: other leptons count in
    #: the sums; the candidate itself never does).
    isolation_includes_leptons: bool = False
    #: A ``MuonLoose`` collection next to ``MuonTight``: the same isolated muon candidates,
    #: each with its own draw of [`muon_loose_id_efficiency`][] (MuonLooseIdEfficiency).
    muon_loose: bool = False
    #: Electron tracks smeared in energy (EnergySmearing ElectronEnergySmearing: Gaussian,
    #: absolute sigma [`electron_energy_resolution`][]) instead of in pT (MomentumSmearing).
    electron_energy_smearing: bool = False
    #: Particle-flow photons smeared once more after the ECAL (EnergySmearing
    #: PhotonEnergySmearing: Gaussian, absolute sigma [`photon_energy_resolution`][]).
    photon_energy_smearing: bool = False
    #: Number of b-tagging working points: ``BTag`` bit ``b`` is set with probability
    #: ``btag_efficiency(..., bit=b)``, one independent draw per bit (BTagging BitNumber).
    btag_bits: int = 1
    #: MomentumSmearing caps the relative resolution at 1.0 (``res > 1 -> 1``, Delphes 3.5.1,
    #: every card); ``legacy`` keeps no cap (infinite).
    momentum_resolution_max: float = 1.0
    #: The calorimeters: Delphes' ``ECal`` and ``HCal`` (SimpleCalorimeter each,
    #: [`calorimeter`][dltrigger.generate.calorimeter]): towers on the card's eta-phi grid, tracked
    #: charged particles depositing too, energy flow (neutral excess over the tracks as
    #: ``EFlowPhoton`` / ``EFlowNeutralHadron``, or tracks rescaled). False (``legacy``): each
    #: untracked particle its own deposit, tracked ones none.
    calorimeter_towers: bool = True
    #: The HCal's eta-phi grid: ``"cms"`` (0.087 x 5 degrees in the barrel) or ``"phase2"``
    #: (the Phase-II card's).
    hcal_grid: str = "cms"

    # -- tracking efficiency (ChargedHadron/Electron/MuonTrackingEfficiency) -----------------

    def charged_hadron_tracking_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        a = np.abs(eta)
        barrel, endcap = a <= 1.5, (a > 1.5) & (a <= 2.5)
        low, high = (pt > 0.1) & (pt <= 1.0), pt > 1.0
        return (barrel * (low * 0.70 + high * 0.95) + endcap * (low * 0.60 + high * 0.85)).astype(
            np.float64
        )

    def electron_tracking_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        a = np.abs(eta)
        barrel, endcap = a <= 1.5, (a > 1.5) & (a <= 2.5)
        low, mid, high = (pt > 0.1) & (pt <= 1.0), (pt > 1.0) & (pt <= 100.0), pt > 100.0
        return (
            barrel * (low * 0.73 + mid * 0.95 + high * 0.99)
            + endcap * (low * 0.50 + mid * 0.83 + high * 0.90)
        ).astype(np.float64)

    def muon_tracking_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        a = np.abs(eta)
        barrel, endcap = a <= 1.5, (a > 1.5) & (a <= 2.5)
        low, high = (pt > 0.1) & (pt <= 1.0), pt > 1.0
        return (barrel * (low * 0.75 + high * 0.99) + endcap * (low * 0.70 + high * 0.98)).astype(
            np.float64
        )

    # -- momentum resolution, relative sigma(pT)/pT (*MomentumSmearing) ----------------------

    @staticmethod
    def _momentum_resolution(pt, eta, constants) -> np.ndarray:
        a = np.abs(eta)
        (c0, s0), (c1, s1), (c2, s2) = constants
        return (pt > 0.1) * (
            (a <= 0.5) * _quad(c0, pt * s0)
            + ((a > 0.5) & (a <= 1.5)) * _quad(c1, pt * s1)
            + ((a > 1.5) & (a <= 2.5)) * _quad(c2, pt * s2)
        )

    def charged_hadron_resolution(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return self._momentum_resolution(pt, eta, ((0.06, 1.3e-3), (0.10, 1.7e-3), (0.25, 3.1e-3)))

    def electron_resolution(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return self._momentum_resolution(pt, eta, ((0.03, 1.3e-3), (0.05, 1.7e-3), (0.15, 3.1e-3)))

    def muon_resolution(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return self._momentum_resolution(
            pt, eta, ((0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4))
        )

    # -- calorimeter energy resolution, absolute sigma(E) in GeV (ECal, HCal) ---------------

    def ecal_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        a = np.abs(eta)
        stochastic = _quad(energy * 0.008, np.sqrt(energy) * 0.11, 0.40)
        return (
            (a <= 1.5) * (1 + 0.64 * a**2) * stochastic
            + ((a > 1.5) & (a <= 2.5)) * (2.16 + 5.6 * (a - 2) ** 2) * stochastic
            + ((a > 2.5) & (a <= 5.0)) * _quad(energy * 0.107, np.sqrt(energy) * 2.08)
        )

    def hcal_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        a = np.abs(eta)
        return (a <= 3.0) * _quad(energy * 0.050, np.sqrt(energy) * 1.50) + (
            (a > 3.0) & (a <= 5.0)
        ) * _quad(energy * 0.130, np.sqrt(energy) * 2.70)

    # -- identification efficiency (ElectronEfficiency, MuonEfficiency) ---------------------

    def electron_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        a = np.abs(eta)
        return (pt > 10.0) * ((a <= 1.5) * 0.95 + ((a > 1.5) & (a <= 2.5)) * 0.85)

    def photon_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """PhotonEfficiency: the same formula as ElectronEfficiency."""
        return self.electron_id_efficiency(pt, eta)

    def muon_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return (pt > 10.0) * (np.abs(eta) <= 2.4) * 0.95

    def muon_loose_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Used only with [`muon_loose`][] (the CMS card has one muon collection)."""
        return self.muon_id_efficiency(pt, eta)

    # -- energy smearing of other cards (used only when their option is on) -----------------

    def electron_energy_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Absolute sigma(E) of electron tracks ([`electron_energy_smearing`][])."""
        return np.zeros_like(energy)

    def photon_energy_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Absolute sigma(E) added to particle-flow photons ([`photon_energy_smearing`][])."""
        return np.zeros_like(energy)

    # -- jet energy scale (JetEnergyScale ScaleFormula) -------------------------------------

    def jet_energy_scale_factor(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """``sqrt((2.5 - 0.15*abs(eta))^2 / pt + 1.0)``, or 1 when switched off."""
        if not self.jet_energy_scale:
            return np.ones_like(pt)
        return np.sqrt((2.5 - 0.15 * np.abs(eta)) ** 2 / pt + 1.0)

    # -- b-tagging (BTagging: efficiency by jet flavour) -------------------------------------

    def btag_efficiency(
        self, flavour: np.ndarray, pt: np.ndarray, eta: np.ndarray, bit: int = 0
    ) -> np.ndarray:
        """Tag probability for jets of true flavour 5 (b), 4 (c) or anything else (light), for
        working point ``bit`` (the CMS card has one: ``bit`` 0)."""
        b = 0.85 * np.tanh(0.0025 * pt) * (25.0 / (1 + 0.063 * pt))
        c = 0.25 * np.tanh(0.018 * pt) * (1 / (1 + 0.0013 * pt))
        light = 0.01 + 0.000038 * pt
        eff = np.where(flavour == 5, b, np.where(flavour == 4, c, light))
        return eff * (np.abs(eta) <= self.btag_eta_max)


#: The standard CMS card: isolated ``Electron`` and ``Muon`` collections, overlap removal.
CMS = DetectorCard()


# -- the CMS Phase-II card --------------------------------------------------------------------


@functools.cache
def _phase2_formula(module: str, key: str) -> CardFormula:
    return phase2_card().module(module).formula(key)


@functools.cache
def _phase2_btag(bit: int) -> dict[int, CardFormula]:
    """The BTagging module with ``BitNumber`` ``bit``: its formulas by flavour code."""
    card = phase2_card()
    for module in card.modules.values():
        if module.type == "BTagging" and int(module.number("BitNumber")) == bit:
            formulas = module.keyed_formulas("EfficiencyFormula")
            formulas.setdefault(0, compile_formula("0.0", module.where("EfficiencyFormula")))
            return formulas
    raise CardError(f"card {card.path.name}: no BTagging module with BitNumber {bit}")


@dataclass(frozen=True)
class Phase2Card(DetectorCard):
    """Delphes 3.5.1's ``cards/CMS_PhaseII/CMS_PhaseII_0PU.tcl`` (packaged under
    ``generate/cards/``): every formula method evaluates the card's own formula, compiled from the
    card (and the files it sources) on first use by
    [`card_formula`][dltrigger.generate.card_formula]. The scalar fields are the card's, set in
    [`PHASE2`][] (module names there)."""

    def charged_hadron_tracking_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("ChargedHadronTrackingEfficiency", "EfficiencyFormula")(pt, eta)

    def electron_tracking_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("ElectronTrackingEfficiency", "EfficiencyFormula")(pt, eta)

    def muon_tracking_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("MuonTrackingEfficiency", "EfficiencyFormula")(pt, eta)

    def charged_hadron_resolution(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("ChargedHadronMomentumSmearing", "ResolutionFormula")(pt, eta)

    def electron_resolution(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """None in pT: electrons are smeared in energy ([`electron_energy_resolution`][])."""
        return np.zeros_like(np.asarray(pt, dtype=np.float64))

    def muon_resolution(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("MuonMomentumSmearing", "ResolutionFormula")(pt, eta)

    def electron_energy_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        formula = _phase2_formula("ElectronEnergySmearing", "ResolutionFormula")
        return formula(eta=eta, energy=energy)

    def photon_energy_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        formula = _phase2_formula("PhotonEnergySmearing", "ResolutionFormula")
        return formula(eta=eta, energy=energy)

    def ecal_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("ECal", "ResolutionFormula")(eta=eta, energy=energy)

    def hcal_resolution(self, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("HCal", "ResolutionFormula")(eta=eta, energy=energy)

    def electron_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("ElectronEfficiency", "EfficiencyFormula")(pt, eta)

    def photon_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("PhotonEfficiency", "EfficiencyFormula")(pt, eta)

    def muon_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """MuonTightIdEfficiency (the ``MuonTight`` collection)."""
        return _phase2_formula("MuonTightIdEfficiency", "EfficiencyFormula")(pt, eta)

    def muon_loose_id_efficiency(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return _phase2_formula("MuonLooseIdEfficiency", "EfficiencyFormula")(pt, eta)

    def jet_energy_scale_factor(self, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """JetEnergyScale ScaleFormula (``1.00``: no scale), or 1 when switched off."""
        if not self.jet_energy_scale:
            return np.ones_like(pt)
        return _phase2_formula("JetEnergyScale", "ScaleFormula")(pt, eta)

    def btag_efficiency(
        self, flavour: np.ndarray, pt: np.ndarray, eta: np.ndarray, bit: int = 0
    ) -> np.ndarray:
        """BTaggingLoose/Medium/Tight (``BitNumber`` 0/1/2): the formula of the jet's flavour
        code, that of code 0 for a flavour the module does not list (as BTagging.cc)."""
        formulas = _phase2_btag(bit)
        flavour = np.asarray(flavour)
        pt = np.asarray(pt, dtype=np.float64)
        out = formulas[0](pt, eta) * np.ones_like(pt)
        for code, formula in formulas.items():
            if code != 0:
                out = np.where(flavour == code, formula(pt, eta), out)
        return out


#: The CMS Phase-II card without pile-up (``CMS_PhaseII_0PU.tcl``): scalar fields by module.
PHASE2 = Phase2Card(
    # Charged/Electron/MuonTrackingEfficiency: zero beyond |eta| 4.0
    tracker_eta_max=4.0,
    # ParticlePropagator: Radius 1.29, HalfLength 3.0, Bz 3.8
    tracker_radius_m=1.29,
    tracker_half_length_m=3.0,
    field_tesla=3.8,
    # ECal/HCal: ResolutionFormula (and EtaPhiBins) to |eta| 5.0; EnergyMin 0.5 / 1.0;
    # EnergySignificanceMin 1.0 / 1.0
    calorimeter_eta_max=5.0,
    ecal_energy_min=0.5,
    hcal_energy_min=1.0,
    ecal_significance_min=1.0,
    hcal_significance_min=1.0,
    # ElectronEfficiency: zero beyond |eta| 4.0; MuonTightIdEfficiency: beyond 2.8 (pT > 5)
    electron_eta_max=4.0,
    muon_eta_max=2.8,
    # FastJetFinder: anti-kt, ParameterR 0.4, JetPTMin 15.0; JetEnergyScale ScaleFormula 1.00
    jet_radius=0.4,
    jet_pt_min=15.0,
    jet_energy_scale=True,
    # Photon/Electron/MuonIsolation: DeltaRMax 0.3, PTMin 1.0, PTRatioMax 9999.,
    # IsolationInputArray EFlowMerger/eflow
    isolation_dr_max=0.3,
    isolation_pt_min=1.0,
    electron_isolation_max=9999.0,
    muon_isolation_max=9999.0,
    photon_isolation_max=9999.0,
    isolation_includes_leptons=True,
    # no UniqueObjectFinder in the card's ExecutionPath
    overlap_removal=False,
    # BTaggingLoose/Medium/Tight: BitNumber 0, 1, 2; their formulas are zero beyond |eta| 3.4
    btag_eta_max=3.4,
    btag_bits=3,
    # MuonLooseIdEfficiency and MuonTightIdEfficiency on MuonIsolation/muons
    muon_loose=True,
    # ElectronEnergySmearing, PhotonEnergySmearing; MomentumSmearing's cap of 1.0
    electron_energy_smearing=True,
    photon_energy_smearing=True,
    momentum_resolution_max=1.0,
    # ECal: the CMS card's crystal grid; HCal: the Phase-II card's own
    hcal_grid="phase2",
    # JetFlavorAssociation: DeltaR 0.5, PartonPTMin 10.0, PartonEtaMax 4.0
    flavour_match_dr=0.5,
    parton_pt_min=10.0,
    parton_eta_max=4.0,
    # not the card's: pileup_z_spread_mm (a 0PU card) keeps the DetectorCard default
)

#: The detector presets of ``[generate] detector`` (docs/generator.md has the measurements
#: behind the default):
#:
#: - ``phase2`` (default): Delphes' CMS Phase-II card without pile-up, [`PHASE2`][] (its
#:   formulas compiled from the packaged card: ``MuonLoose`` and ``MuonTight``, three b-tag
#:   bits, no isolation cut, no overlap removal). Of the presets, its QCD is the closest to
#:   the reference's (events with an e/mu above 23 GeV, and the share of them the reference's
#:   isolation keeps), and its muons are called ``MuonTight`` as in the reference's files;
#: - ``reference``: the standard CMS card with its two lepton isolation cuts relaxed (the
#:   reference's QCD survives its own isolation, docs/reference.md §2) and its jet-lepton
#:   overlap removal kept, which nothing in the reference implies: a hybrid no Delphes card
#:   produces (the default before the Phase-II card was measured);
#: - ``cms``: the standard card as written (lepton-enriched QCD then selects almost nothing);
#: - ``legacy``: dltrigger's simulation before it was compared with Delphes (R = 0.4, no jet
#:   energy scale, no isolation, no overlap removal, no towers), for before/after comparisons.
DETECTOR_PRESETS: dict[str, DetectorCard] = {
    "reference": replace(CMS, electron_isolation_max=math.inf, muon_isolation_max=math.inf),
    "cms": CMS,
    "legacy": replace(
        CMS,
        propagate=False,
        ecal_significance_min=0.0,
        hcal_significance_min=0.0,
        jet_radius=0.4,
        jet_energy_scale=False,
        electron_isolation_max=math.inf,
        muon_isolation_max=math.inf,
        overlap_removal=False,
        momentum_resolution_max=math.inf,
        calorimeter_towers=False,
        flavour_from="hadrons",
        flavour_match_dr=0.4,
    ),
    "phase2": PHASE2,
}
