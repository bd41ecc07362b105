"""``[generate]``: the event generator and its process definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..errors import did_you_mean
from ._base import ProcessLabel, _Output, _overwrite, _Strict


class LeptonFilter(_Strict):
    """A generator-level lepton filter: keep events with ``count`` or more e/mu above ``pt``
    within ``|eta| < eta``, before the detector simulation."""

    pt: float = Field(gt=0, description="Lowest generated e/mu transverse momentum, GeV.")
    eta: float = Field(default=2.5, gt=0, description="Largest generated e/mu |eta|.")
    count: int = Field(default=1, ge=1, description="Leptons needed in the event.")


class DecayVariantSettings(_Strict):
    """Particle-data settings switched in between batches, and the share of events made."""

    pythia: list[str] = Field(min_length=1, description="Pythia particle-data settings.")
    fraction: float = Field(gt=0, le=1, description="Share of the process's events.")


#: Pythia settings dltrigger sets itself: seeds follow ``[generate] seed`` and the file index.
_RESERVED_PYTHIA = ("random:",)


class ProcessSettings(_Strict):
    """One entry of ``[generate.processes]``: Pythia settings, class, generator filter (the
    built-in entries: ``dltrigger.generate.processes``, docs/generator.md)."""

    label: ProcessLabel = Field(description="The class the process's events belong to.")
    pythia: list[str] = Field(
        min_length=1,
        description=(
            'Pythia 8 setting strings ("HardQCD:all = on", "PhaseSpace:pTHatMin = 50"); the '
            "13 TeV beams, seeds, MPI and quiet output are set by dltrigger before them."
        ),
    )
    lepton_filter: LeptonFilter | None = Field(
        default=None, description="Generator-level e/mu filter; unset: every event is kept."
    )
    variants: list[DecayVariantSettings] = Field(
        default_factory=list,
        description=(
            "Decay-table variants mixed in the given fractions (ttbar: the W decays of an "
            '"at least one leptonic W" sample); empty: one fixed configuration.'
        ),
    )
    events: int = Field(
        default=3000,
        gt=0,
        description=(
            "Events written for this process (unless ``generate.events`` is set). A filtered "
            "process needs more generated events for the same number of written ones."
        ),
    )
    description: str = Field(default="", description="What the process is, for people.")

    @field_validator("pythia")
    @classmethod
    def _no_reserved(cls, value: list[str]) -> list[str]:
        for line in value:
            if line.strip().lower().startswith(_RESERVED_PYTHIA):
                raise ValueError(
                    f"{line!r}: dltrigger seeds Pythia from [generate] seed and the file index "
                    "(each file reproducible); leave Random:* settings out"
                )
        return value

    @field_validator("variants")
    @classmethod
    def _fractions_sum_to_one(cls, value: list[DecayVariantSettings]) -> list[DecayVariantSettings]:
        total = sum(v.fraction for v in value)
        if value and abs(total - 1) > 1e-9:
            raise ValueError(f"the variants' fractions must sum to 1 (they sum to {total:g})")
        return value


def _builtin_processes() -> dict[str, ProcessSettings]:
    from .processes import builtin_processes

    return {name: ProcessSettings.model_validate(d) for name, d in builtin_processes().items()}


def _migration_error(data: dict[str, Any]) -> str | None:
    """One line for a ``[generate]`` section written for dltrigger before 0.3."""
    if isinstance(data.get("processes"), list):
        return (
            "processes is now the table of process definitions ([generate.processes.<name>]); "
            f"the list of processes to generate is `process = {data['processes']!r}` "
            "(the --process flag); see docs/generator.md"
        )
    old = [name for name in ("wjets", "ttbar", "qcd") if name in data]
    if old:
        return (
            f"[generate.{old[0]}] is now [generate.processes.{old[0]}], with Pythia settings as "
            'a list (pthat_min = 50 -> pythia = [..., "PhaseSpace:pTHatMin = 50"]) and '
            "lepton_filter_pt = 20 -> lepton_filter = {pt = 20}; see docs/generator.md"
        )
    return None


class GenerateConfig(_Output):
    """Settings of ``dltrigger generate``."""

    process: list[str] = Field(
        default_factory=lambda: ["wjets", "ttbar", "qcd"],
        description=(
            "Processes generated: names of [generate.processes] entries (wjets, ttbar, qcd, "
            "qcd_generic, or your own; all: every entry)."
        ),
        json_schema_extra={"cli": {"flags": ["--process"]}},
    )
    processes: dict[str, ProcessSettings] = Field(
        default_factory=_builtin_processes,
        description=(
            "Process definitions by name: the built-in ones (an entry of the same name changes "
            "only the settings it gives) and your own (label and pythia needed)."
        ),
    )
    events: int | None = Field(
        default=None,
        gt=0,
        description=(
            "Events written per process, for every process; unset: each process's own ``events``."
        ),
    )
    events_per_file: int = Field(
        default=1000, gt=0, description="Events per output file (one Spark task each)."
    )
    seed: int = Field(
        default=20190917, ge=0, description="Random seed: the same seed gives the same files."
    )
    out: Path = Field(default=Path("data/raw"), description="Output folder of the ROOT files.")
    overwrite: bool = _overwrite()
    batch_size: int = Field(
        default=250,
        gt=0,
        description=(
            "Events per Pythia ``nextBatch`` call: larger batches vectorise the detector "
            "simulation better but hold more in memory."
        ),
    )
    mpi: bool = Field(
        default=True,
        description=(
            "Multiparton interactions (the underlying event). On for realism; off is 4-7x faster."
        ),
    )
    pileup_mean: float = Field(
        json_schema_extra={"cli": {"flags": ["--pileup"]}},
        default=0.0,
        ge=0,
        description=(
            "Mean number of pile-up (minimum-bias) interactions overlaid per event; 0 = off."
        ),
    )
    detector: Literal["phase2", "reference", "cms", "legacy"] = Field(
        default="phase2",
        description=(
            'Detector simulation preset (generate/detector_card.py; docs/generator.md): "phase2" '
            "(Delphes' CMS Phase-II card without pile-up: MuonLoose and MuonTight, BTag bits, "
            "leptons neither isolated nor removed from jets; of the presets, the closest to the "
            'reference\'s QCD, W+jets and selection, measured), "reference" (the standard CMS '
            "card with its lepton isolation cuts relaxed: a hybrid no Delphes card produces), "
            '"cms" (the standard card: isolated leptons, so lepton-enriched QCD selects almost '
            'nothing), "legacy" (before the comparison with Delphes; for comparisons).'
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_builtin_processes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        message = _migration_error(data)
        if message:
            raise ValueError(message)
        given = data.get("processes")
        if isinstance(given, dict):
            builtins = {k: v.model_dump() for k, v in _builtin_processes().items()}
            merged: dict[str, Any] = dict(builtins)
            for name, entry in given.items():
                if isinstance(entry, ProcessSettings):
                    entry = entry.model_dump()
                merged[name] = (
                    {**builtins.get(name, {}), **entry} if isinstance(entry, dict) else entry
                )
            data = {**data, "processes": merged}
        return data

    @model_validator(mode="after")
    def _known_processes(self) -> GenerateConfig:
        chosen = list(dict.fromkeys(self.process))
        if "all" in chosen:
            chosen = list(self.processes)
        if not chosen:
            raise ValueError("at least one process is needed")
        for name in chosen:
            if name not in self.processes:
                raise ValueError(
                    f"unknown process {name!r}{did_you_mean(name, self.processes)}; defined: "
                    f"{', '.join(sorted(self.processes))} ([generate.processes.<name>] adds one)"
                )
        if chosen != self.process:
            object.__setattr__(self, "process", chosen)
        return self

    def settings(self, process: str) -> ProcessSettings:
        """The ``[generate.processes]`` entry of ``process``."""
        return self.processes[process]

    def events_of(self, process: str) -> int:
        """Events written for ``process``: the common ``events`` if set, else its own."""
        return self.events if self.events is not None else self.settings(process).events
