"""The built-in processes at sqrt(s) = 13 TeV, as entries of ``[generate.processes]``.

Labels follow the reference (reference-pipeline.md §1.3): 0 = QCD, 1 = ttbar, 2 = W+jets. A
user's own entry (Pythia settings, a label, a generator filter) is made the same way
(:func:`process_definition`).

- **wjets**: ``qqbar -> W g`` and ``q g -> W q`` above p-hat 20 GeV, with the W forced to
  e nu or mu nu (tau nu is not generated: its leptons are soft and it adds nothing to a
  single-isolated-lepton selection but generation time).
- **ttbar**: ``gg, qqbar -> ttbar`` with at least one W -> e nu / mu nu, like the reference's
  lepton-filtered sample. Instead of generating all decays and throwing ~60% away, the W
  decays are forced in three variants (W+ leptonic / W- hadronic, the mirror, both
  leptonic), switched between batches of one Pythia instance (decay tables may change after
  initialisation; only cross sections would not follow, and none are used). Events are
  drawn from the variants in the proportions of an inclusive sample filtered on "at least
  one leptonic W": ``(1-p)/(2-p)``, ``(1-p)/(2-p)`` and ``p/(2-p)`` with
  ``p = B(W -> e nu) + B(W -> mu nu)``, so the kinematics are those of the filtered sample.
- **qcd** (lepton-enriched): heavy-flavour 2 -> 2 production (``HardQCD:hardbbbar`` and
  ``hardccbar``) with the semileptonic decays of weakly decaying b and c hadrons forced to
  e/mu, plus a generator-level lepton filter: fast (24% of Pythia events kept), but every
  event is heavy flavour with both hadrons semileptonic (docs/generator.md: the bias).
- **qcd_generic**: all hard QCD with the same filter, nothing forced: light flavour and
  natural branching fractions, at ~220 Pythia events per kept one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import ProcessSettings

#: W -> e nu and W -> mu nu branching fractions, PDG 2024 (10.71% and 10.63%).
W_TO_E_OR_MU = 0.1071 + 0.1063

#: Weakly decaying b hadrons (B0, B+, Bs, Bc, Lambda_b, Xi_b0, Xi_b-, Omega_b) and
#: c hadrons (D+, D0, Ds, Lambda_c, Xi_c+, Xi_c0, Omega_c) whose decays are forced to e/mu.
B_HADRONS = (511, 521, 531, 541, 5122, 5132, 5232, 5332)
C_HADRONS = (411, 421, 431, 4122, 4132, 4232, 4332)

_QUIET = (
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Init:showChangedSettings = off",
    "Init:showProcesses = off",
    "Init:showChangedParticleData = off",
)


@dataclass(frozen=True)
class DecayVariant:
    """Particle-data settings applied between batches, and the share of events they make."""

    settings: tuple[str, ...]
    fraction: float


@dataclass(frozen=True)
class ProcessDefinition:
    """Pythia settings of a process, and its decay variants (empty: one fixed configuration)."""

    settings: tuple[str, ...]
    variants: tuple[DecayVariant, ...] = ()


def common_settings(seed: int, mpi: bool) -> tuple[str, ...]:
    """Beam, seed and verbosity settings shared by all processes (before a process's own)."""
    return (
        *_QUIET,
        "Beams:eCM = 13000.",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        f"PartonLevel:MPI = {'on' if mpi else 'off'}",
    )


def _forced_semileptonic(ids: tuple[int, ...]) -> list[str]:
    return [s for i in ids for s in (f"{i}:onMode = off", f"{i}:onIfAny = 11 13")]


def ttbar_variants(p: float = W_TO_E_OR_MU) -> tuple[DecayVariant, ...]:
    """W decay variants whose mixture equals ttbar filtered on >= 1 leptonic W (e or mu)."""
    leptonic, hadronic = "11 13", "1 2 3 4 5"
    single = (1 - p) / (2 - p)
    return (
        DecayVariant(
            ("24:onMode = off", f"24:onPosIfAny = {leptonic}", f"24:onNegIfAny = {hadronic}"),
            single,
        ),
        DecayVariant(
            ("24:onMode = off", f"24:onPosIfAny = {hadronic}", f"24:onNegIfAny = {leptonic}"),
            single,
        ),
        DecayVariant(("24:onMode = off", f"24:onIfAny = {leptonic}"), p / (2 - p)),
    )


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
            "variants": [
                {"pythia": list(v.settings), "fraction": v.fraction} for v in ttbar_variants()
            ],
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


def process_definition(settings: ProcessSettings) -> ProcessDefinition:
    """The Pythia settings (without seed and beam settings) that make up a process."""
    return ProcessDefinition(
        tuple(settings.pythia),
        tuple(DecayVariant(tuple(v.pythia), v.fraction) for v in settings.variants),
    )


#: Settings of the minimum-bias events overlaid as pile-up.
MINIMUM_BIAS = ("SoftQCD:inelastic = on",)
