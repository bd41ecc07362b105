"""The built-in entries of ``[generate.processes]`` at sqrt(s) = 13 TeV, as configuration
(Pythia setting strings; dltrigger.generate runs them; docs/generator.md has the physics)."""

from __future__ import annotations

from typing import Any

#: W -> e nu and W -> mu nu branching fractions, PDG 2024 (10.71% and 10.63%).
W_TO_E_OR_MU = 0.1071 + 0.1063

#: Weakly decaying b hadrons (B0, B+, Bs, Bc, Lambda_b, Xi_b0, Xi_b-, Omega_b) and
#: c hadrons (D+, D0, Ds, Lambda_c, Xi_c+, Xi_c0, Omega_c) whose decays are forced to e/mu.
B_HADRONS = (511, 521, 531, 541, 5122, 5132, 5232, 5332)
C_HADRONS = (411, 421, 431, 4122, 4132, 4232, 4332)


def _forced_semileptonic(ids: tuple[int, ...]) -> list[str]:
    return [s for i in ids for s in (f"{i}:onMode = off", f"{i}:onIfAny = 11 13")]


def ttbar_variants(p: float = W_TO_E_OR_MU) -> list[dict[str, Any]]:
    """W decay variants whose mixture equals ttbar filtered on >= 1 leptonic W (e or mu), as
    ``{"pythia": [...], "fraction": f}`` entries."""
    leptonic, hadronic = "11 13", "1 2 3 4 5"
    single = (1 - p) / (2 - p)
    return [
        {"pythia": ["24:onMode = off", f"24:onPosIfAny = {leptonic}",
                    f"24:onNegIfAny = {hadronic}"], "fraction": single},
        {"pythia": ["24:onMode = off", f"24:onPosIfAny = {hadronic}",
                    f"24:onNegIfAny = {leptonic}"], "fraction": single},
        {"pythia": ["24:onMode = off", f"24:onIfAny = {leptonic}"], "fraction": p / (2 - p)},
    ]  # fmt: skip


#: The generator-level e/mu filter of the lepton-filtered samples (``qcd``, ``qcd_generic``):
#: one e or mu above 20 GeV within the tracker, below the selection's 23 GeV.
LEPTON_FILTER = {"pt": 20.0, "eta": 2.5, "count": 1}


def builtin_processes() -> dict[str, dict[str, Any]]:
    """The built-in entries of ``[generate.processes]`` (docs/generator.md has the physics).

    Their ``events`` are the demo's: 2,000-2,600 events per class pass the selection (``phase2``).
    """
    return {
        "wjets": {
            "label": "wjets",
            "description": "W(-> e nu, mu nu) + jet, pT-hat > 20 GeV",
            "pythia": [
                "WeakBosonAndParton:qqbar2Wg = on",
                "WeakBosonAndParton:qg2Wq = on",
                "PhaseSpace:pTHatMin = 20",
                "24:onMode = off",
                "24:onIfAny = 11 13",
            ],
            "events": 4500,
        },
        "ttbar": {
            "label": "ttbar",
            "description": "ttbar with at least one W -> e nu / mu nu",
            "pythia": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "PhaseSpace:pTHatMin = 1"],
            "variants": ttbar_variants(),
            "events": 3000,
        },
        "qcd": {
            "label": "qcd",
            "description": (
                "heavy-flavour QCD (bb, cc), pT-hat > 50 GeV, b/c hadrons forced to e/mu, "
                "e/mu filter pT > 20 GeV"
            ),
            "pythia": [
                "HardQCD:hardbbbar = on",
                "HardQCD:hardccbar = on",
                "PhaseSpace:pTHatMin = 50",
                *_forced_semileptonic(B_HADRONS + C_HADRONS),
            ],
            "lepton_filter": dict(LEPTON_FILTER),
            "events": 16000,
        },
        "qcd_generic": {
            "label": "qcd",
            "description": "all hard QCD 2 -> 2, pT-hat > 50 GeV, e/mu filter pT > 20 GeV",
            "pythia": ["HardQCD:all = on", "PhaseSpace:pTHatMin = 50"],
            "lepton_filter": dict(LEPTON_FILTER),
            "events": 16000,
        },
    }
