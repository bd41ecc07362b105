"""The built-in processes at sqrt(s) = 13 TeV, as entries of ``[generate.processes]``.

Labels follow the reference (docs/reference.md §1.3): 0 = QCD, 1 = ttbar, 2 = W+jets. A
user's own entry (Pythia settings, a label, a generator filter) is made the same way
([`process_definition`][]).

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
from typing import TYPE_CHECKING

from ..config.processes import W_TO_E_OR_MU, builtin_processes

if TYPE_CHECKING:
    from ..config import ProcessSettings

__all__ = [
    "MINIMUM_BIAS",
    "W_TO_E_OR_MU",
    "DecayVariant",
    "ProcessDefinition",
    "builtin_processes",
    "common_settings",
    "process_definition",
    "ttbar_variants",
]  # fmt: skip

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


def ttbar_variants(p: float = W_TO_E_OR_MU) -> tuple[DecayVariant, ...]:
    """W decay variants whose mixture equals ttbar filtered on >= 1 leptonic W (e or mu)."""
    from ..config.processes import ttbar_variants as variants

    return tuple(DecayVariant(tuple(v["pythia"]), v["fraction"]) for v in variants(p))


def process_definition(settings: ProcessSettings) -> ProcessDefinition:
    """The Pythia settings (without seed and beam settings) that make up a process."""
    return ProcessDefinition(
        tuple(settings.pythia),
        tuple(DecayVariant(tuple(v.pythia), v.fraction) for v in settings.variants),
    )


#: Settings of the minimum-bias events overlaid as pile-up.
MINIMUM_BIAS = ("SoftQCD:inelastic = on",)
