"""One typed configuration for the whole pipeline, loaded from TOML and overridable from the CLI.

The file is ``dltrigger.toml`` in the working directory unless ``--config`` or the environment
variable ``DLTRIGGER_CONFIG`` names another; with no file, the defaults below are used. Every
command-line flag maps onto one field here (see :func:`with_overrides`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError, did_you_mean

DEFAULT_CONFIG_NAME = "dltrigger.toml"

HeavyFlavour = Literal["b", "c"]
#: The classes as a generated process's ``label`` names them (keys of :data:`LABELS`).
ProcessLabel = Literal["qcd", "ttbar", "wjets"]

#: Class labels as the reference uses them (reference-pipeline.md §1.3): 0 QCD, 1 ttbar, 2 W+jets.
LABELS: dict[str, int] = {"qcd": 0, "ttbar": 1, "wjets": 2}

#: The most CPU threads a setting may ask torch for: torch.set_num_threads accepts any number,
#: then crashes the process (SIGSEGV at 100,000; 4,096 still ran here), so a typo is refused.
MAX_THREADS = 1024


def _overwrite() -> Any:
    # every stage's output folder: the same rule (docs/outputs.md)
    return Field(
        default=False, description="Replace an earlier output of the same kind (never other files)."
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SparkConfig(_Strict):
    """Spark settings; ``master`` takes any Spark master URL (``local[*]``, ``spark://h:7077``...)."""

    master: str = Field(
        default="local[*]", description="Spark master URL, e.g. local[2] or spark://host:7077."
    )
    app_name: str = Field(default="dltrigger", description="Spark application name.")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra ``spark.*`` settings passed to the session builder unchanged.",
    )
    log_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the JVM's log files (warnings, Java stack traces), one per session, written"
            " only when something is logged; unset: ``<system temp>/dltrigger-logs``."
        ),
    )
    console_log_level: Literal["off", "error", "warn", "info"] = Field(
        default="error",
        description=(
            'JVM log lines also shown on the console. The commands show none ("off": the log file '
            'has them, its path is printed with an error) unless ``--verbose`` ("warn").'
        ),
    )
    connect_timeout: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds a ``spark://`` master has to accept a connection, and as long again to "
            "register the application once the driver JVM is up, before the command gives up "
            "(a port that accepts connections but is no Spark master answers nothing)."
        ),
    )
    fast_start: bool = Field(
        default=True,
        description=(
            "A faster start of a local session's JVM: its classes from a class-data-sharing "
            "archive (written by the first session at its exit, then reused) and the serial "
            "garbage collector; the session starts in about half the time (docs/benchmarks.md). "
            "Local masters only. A damaged archive is removed with a warning, and written anew "
            "(docs/outputs.md)."
        ),
    )
    class_archive_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the class-data-sharing archives of fast_start (one per Spark and Java "
            "installation, ~170 MB); unset: ``$XDG_CACHE_HOME/dltrigger`` or "
            "``~/.cache/dltrigger``."
        ),
    )


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
    built-in entries: :mod:`dltrigger.generate.processes`, docs/generator.md)."""

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
    from .generate.processes import builtin_processes

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


class GenerateConfig(_Strict):
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


class SampleConfig(_Strict):
    """One physics sample to ingest: its class label and where its ROOT files are."""

    label: int = Field(ge=0)
    paths: list[str] = Field(
        default_factory=list,
        description=(
            "Files, folders, globs or ``root://host:port//path`` URLs; empty: for a generated "
            "process, its files in generate.out."
        ),
    )
    aliases: list[str] = Field(
        default_factory=list,
        description=(
            "File-name prefixes that identify this sample's files given on the command line "
            "(``wjets_3.root`` -> ``wjets``; the reference's ``Wlnu_lepFilter_13TeV_819.root``)."
        ),
    )


def _default_samples() -> dict[str, SampleConfig]:
    # No paths: the generated files of the class, <generate.out>/<process>_<index>.root
    # (Config.resolved).
    return {
        "qcd": SampleConfig(label=LABELS["qcd"], aliases=["qcd_lepFilter_13TeV"]),
        "ttbar": SampleConfig(label=LABELS["ttbar"], aliases=["ttbar_lepFilter_13TeV"]),
        "wjets": SampleConfig(label=LABELS["wjets"], aliases=["Wlnu_lepFilter_13TeV", "Wlnu"]),
    }


class IngestConfig(_Strict):
    """Settings of ``dltrigger ingest`` (ROOT -> Spark -> Parquet)."""

    samples: dict[str, SampleConfig] = Field(default_factory=_default_samples)
    inputs: list[str] = Field(
        default_factory=list,
        description=(
            "Files, folders, globs or URLs read instead of the samples' paths, each assigned "
            "to a sample by its file-name prefix (wjets_3.root, Wlnu_lepFilter_13TeV_1.root)."
        ),
        json_schema_extra={"cli": {"positional": "INPUT"}},
    )
    out: Path = Field(default=Path("data/ingested"), description="Output folder (Parquet dataset).")
    tree: str = Field(default="Delphes", description="Name of the tree read in every file.")
    branches: list[str] = Field(
        default_factory=list,
        description="Collections or branches to read (empty: every readable branch).",
    )
    partition_bytes: int = Field(
        default=128 * 2**20,
        gt=0,
        description=(
            "Bytes on disk per Spark partition (larger files are cut into cluster-aligned slices, "
            "smaller ones packed together; lowered so that every core gets work)."
        ),
    )
    batch_events: int = Field(
        default=100_000,
        gt=0,
        description=(
            "Bounds of one Arrow batch inside a task (the memory a task holds at a time): entries,"
            " and uncompressed bytes of the branches read."
        ),
    )
    batch_bytes: int = Field(default=256 * 2**20, gt=0, description="See batch_events.")
    skip_bad_files: bool = Field(
        default=False,
        description="Leave out unreadable files (listed in the report) instead of failing.",
    )
    overwrite: bool = _overwrite()
    remote_timeout: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds before an unreachable or unresponsive ``root://`` server fails the read "
            "(XRootD connection window and request timeout; the client's own default waits for "
            "minutes)."
        ),
    )


#: The physics objects the features read, each from one ingested collection.
COLLECTION_ROLES = ("electrons", "muons", "tracks", "photons", "neutral_hadrons", "jets", "met")


class CollectionsConfig(_Strict):
    """Which ingested collection holds each physics object (features/collections.py).

    ``preset``: ``cms`` (the standard CMS card: ``Muon``), ``phase2`` (the CMS Phase-II cards:
    ``MuonTight``), ``dltrigger`` (our generator: ``MuonTight``), or ``auto``: detected from the
    ingested columns. A name set for a role overrides the preset.
    """

    preset: Literal["auto", "cms", "phase2", "dltrigger"] = "auto"
    electrons: str | None = None
    muons: str | None = None
    tracks: str | None = None
    photons: str | None = None
    neutral_hadrons: str | None = None
    jets: str | None = None
    met: str | None = None


class FeaturesConfig(_Strict):
    """Settings of ``dltrigger features`` (selection, HLF, particle lists, datasets)."""

    input: Path | None = Field(
        default=None,
        description="The ingested dataset; unset: ingest.out.",
        json_schema_extra={"cli": {"positional": "INPUT"}},
    )
    out: Path = Field(default=Path("data/features"), description="Output folder of the datasets.")
    overwrite: bool = _overwrite()
    test_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="Share of events in the test split (by a hash)."
    )
    validation_fraction: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description=(
            "Share of events in the validation split (by the same hash, taken from what would "
            "be training events): it alone chooses the best epoch, stops training early, "
            "schedules the learning rate and ranks grid points; the test split only measures."
        ),
    )
    split_key: Literal["content", "file_entry"] = Field(
        default="content",
        description=(
            'What the split and sampling hashes read: "content", the event\'s content key (its '
            "particle-flow candidates), so every copy of an event lands in the same split "
            'wherever it lies. "file_entry" (file name and entry) is how datasets made before '
            "this setting split, recorded so that they are not compared with newer ones; it is "
            "no longer made (a renamed copy of a file put training events in the test split)."
        ),
    )
    duplicates: Literal["drop", "keep"] = Field(
        default="drop",
        description=(
            "Selected events with the same content key (an event in two files, or twice in "
            'one): counted in the manifest with a warning either way; "drop" keeps one copy '
            '(the lowest source file and entry), "keep" writes them all (throughput runs on '
            "repeated files). Copies share their split either way."
        ),
    )
    balance: bool = Field(
        default=True,
        description="Also write ``balanced``: every class undersampled to the smallest one (§4).",
    )
    dev_per_class: int = Field(
        default=1000,
        gt=0,
        description=(
            "Events per class in the small ``dev`` dataset (taken from ``balanced``, or ``full``)."
        ),
    )
    order: Literal["descending", "ascending"] = Field(
        default="descending",
        description=(
            'Particle order by ΔR to the lepton ("descending" as the reference: lepton last).'
        ),
    )
    max_tracks: int = Field(default=450, gt=0, description="Tracks kept per event (§3).")
    max_photons: int = Field(default=150, gt=0, description="Photons kept per event (§3).")
    max_neutrals: int = Field(default=200, gt=0, description="Neutral hadrons kept per event (§3).")
    collections: CollectionsConfig = CollectionsConfig()
    empty_classes: Literal["error", "drop"] = Field(
        default="error",
        description=(
            'A class (label) none of whose events passes the selection: "error" stops with its '
            'name; "drop" writes the datasets without it, with a warning and the class in the '
            "manifest."
        ),
    )
    reference_lepton_choice: bool = Field(
        default=False,
        description=(
            "Switches reproducing the reference's quirks (reference-pipeline.md §11); off = fixed."
        ),
    )
    reference_delta_phi: bool = Field(
        default=False, description="Quirk 2: delta phi wrapped at 2 pi in isolation cones."
    )
    reject_empty_maps: bool = Field(
        default=False, description="Quirk 14: reject events with an empty particle map."
    )
    mt_squared: bool = Field(default=False, description="Quirk 3: MT without the square root.")
    reference_chpfiso: bool = Field(
        default=False,
        description=(
            "Quirk 15: ChPFIso minus 1 for photons and neutral hadrons too (subtractPt everywhere)."
        ),
    )
    reference_track_charge: bool = Field(
        default=False,
        description=(
            "The reference's track charge, sign(PID) (§3.1): the opposite of the charge for e and "
            "mu."
        ),
    )

    @model_validator(mode="after")
    def _split_fractions(self) -> FeaturesConfig:
        if self.test_fraction + self.validation_fraction >= 1:
            raise ValueError(
                f"test_fraction {self.test_fraction:g} + validation_fraction "
                f"{self.validation_fraction:g} leave no training events (their sum must be < 1)"
            )
        return self


ModelName = Literal["hlf", "particle", "inclusive", "lstm", "transformer"]
ExportFormat = Literal["onnx", "torchscript"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)


class TrainConfig(_Strict):
    """Settings of ``dltrigger train`` (reference-pipeline.md §9: Adam defaults, batch 128)."""

    model: ModelName = Field(default="inclusive", description="The model trained.")
    data: Path | None = Field(
        default=None,
        description=(
            "A features dataset folder (``<features.out>/full``, ``balanced`` or ``dev``); "
            "unset: ``<features.out>/balanced``."
        ),
    )
    out: Path | None = Field(
        default=None,
        description="The run folder; unset: ``runs/<model>``.",
    )
    overwrite: bool = Field(
        default=False, description="Replace an earlier run folder (never other files)."
    )
    resume: bool = Field(
        default=False, description="Continue the run folder's training from its checkpoint."
    )
    model_options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Keyword arguments of the model class, e.g. ``{widths = [50, 20, 10]}`` or ``{hidden ="
            " 50}``."
        ),
    )
    epochs: int = Field(
        default=20,
        gt=0,
        description=(
            "20 epochs of batch 32: the demo's few thousand events need the optimizer steps that "
            "the reference (batch 128, 5-6 epochs, §9) got from millions of events."
        ),
    )
    batch_size: int = Field(default=32, gt=0, description="Events per optimizer step.")
    learning_rate: float = Field(default=1e-3, gt=0, description="Adam's learning rate.")
    lr_schedule: Literal["constant", "cosine", "plateau"] = Field(
        default="constant",
        description=(
            '"constant" (the reference), "cosine" (to zero over ``epochs``) or "plateau" (x0.1 '
            "after ``plateau_patience`` epochs without a lower validation loss, as one reference "
            "notebook)."
        ),
    )
    plateau_patience: int = Field(default=3, gt=0, description="See lr_schedule.")
    patience: int = Field(
        default=8,
        gt=0,
        description="Early stopping: epochs without a lower validation loss before stopping.",
    )
    seed: int = Field(default=0, description="Seed of initial weights and shuffling.")
    max_particles: int = Field(
        default=801, gt=0, description="Particle rows kept per event (those nearest the lepton)."
    )
    shuffle_buffer: int = Field(
        default=10_000,
        gt=0,
        description=(
            "Events pooled for shuffling when streaming from Parquet (memory ~ 8 kB per event)."
        ),
    )
    in_memory: bool | None = Field(
        default=None,
        description=(
            "Hold the whole split in memory instead of streaming; None = for the HLF model only."
        ),
    )
    bucket_by_length: bool = Field(
        default=True,
        description=(
            "Batches of similar particle-list lengths, visited in a random order (~2x faster "
            "recurrent training on CPU). Length correlates with the class, so batches are less "
            "mixed; validation AUC is unchanged within the seed spread (docs/training.md). "
            "false: random batches."
        ),
    )
    packed_sequences: bool = Field(
        default=False,
        description=(
            "Recurrent models over packed sequences instead of padded ones with a gather: the same"
            " numbers, ~2x slower on CPU (measured, docs/benchmarks.md)."
        ),
    )
    device: str = Field(
        default="auto", description="auto (CUDA when present, else CPU), cpu or cuda."
    )
    threads: int = Field(
        default=0,
        ge=0,
        # torch.set_num_threads takes any number and its thread pool then crashes the process
        # (exit status 139 at 100,000); refused here, in one line, naming the value
        le=MAX_THREADS,
        description=(
            "Torch CPU threads; 0 = automatic: this process's share of the cores, less one for "
            "the loader thread when the data streams (1 on a 2-core machine for the recurrent "
            "models: measured 1.7x faster epochs than torch's default of every core). At most "
            f"{MAX_THREADS}: torch crashes the process on far more."
        ),
    )
    num_processes: int = Field(
        default=1,
        gt=0,
        description=(
            "Data-parallel processes: 1 = this process; N > 1 = DistributedDataParallel over N "
            "Spark barrier tasks (TorchDistributor; gloo on CPU, nccl on GPU), one shard of the "
            "data each."
        ),
    )
    scale_learning_rate: bool = Field(
        default=True,
        description=(
            "With N processes the global batch is N x batch_size; scale the learning rate by N as "
            "the reference did (reference-pipeline.md §9)."
        ),
    )
    export: list[ExportFormat] = Field(
        default_factory=lambda: list[ExportFormat](["onnx", "torchscript"]),
        description='Formats the best model is exported to at the end: "onnx", "torchscript".',
    )
    reference_validate_on_test: bool = Field(
        default=False,
        description=(
            "The reference's model selection: the best epoch, early stopping and the learning-"
            "rate schedule (and a grid search's ranking) watch the test split, which then also "
            "measures the model: its test metrics are biased (reference-pipeline.md §5.1). Off: "
            "the validation split chooses, the test split only measures."
        ),
    )

    @property
    def validation_split(self) -> str:
        """The split that chooses the best epoch (and stops training, schedules the rate)."""
        return "test" if self.reference_validate_on_test else "validation"

    @property
    def run_folder(self) -> Path:
        return self.out if self.out is not None else Path("runs") / self.model

    def uses_particles(self) -> bool:
        return self.model != "hlf"

    def holds_in_memory(self) -> bool:
        return self.model == "hlf" if self.in_memory is None else self.in_memory


class TuneConfig(_Strict):
    """Settings of ``dltrigger tune``: a grid search, one training per Spark task (§6)."""

    model: ModelName = Field(default="hlf", description="The model searched.")
    data: Path | None = Field(
        default=None,
        description=(
            "The dataset searched on (the reference tuned on a small sample): its training split "
            "is trained on, its validation split (or held-out folds) ranks the points."
        ),
    )
    out: Path = Field(default=Path("runs/tune"), description="Output folder.")
    overwrite: bool = _overwrite()
    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description=(
            "Parameter -> values. Keys are ``[train]`` fields (``batch_size``, ``epochs``, "
            "``learning_rate``, ...) or ``model_options.NAME``. Empty: the reference's 243-point "
            "HLF grid (reference-pipeline.md §6)."
        ),
    )
    folds: int = Field(
        default=0,
        ge=0,
        description=(
            "0: validate on the test split; k >= 2: k-fold cross-validation on the training split."
        ),
    )
    metric: str = Field(
        default="val_loss",
        description=(
            "What ranks the points: a validation metric (``val_loss``: lower is better; "
            "``val_accuracy``, ``val_auc_<class>``: higher is better)."
        ),
    )
    seed: int = Field(default=0, description="Seed of the folds and of every point's training.")

    @field_validator("folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("1 fold validates on nothing: use 0 (the validation split) or k >= 2")
        return value


BaselineName = Literal["random_forest", "gbt", "xgboost", "lightgbm"]


class BaselinesConfig(_Strict):
    """Tree baselines on the 14 HLF (reference-pipeline.md §5.5: RF 100 x depth 10)."""

    data: Path | None = Field(
        default=None, description="The features dataset; unset: train.data (the networks')."
    )
    out: Path = Field(default=Path("runs/baselines"), description="Output folder.")
    overwrite: bool = _overwrite()
    models: list[BaselineName] = Field(
        default_factory=lambda: list[BaselineName](["random_forest", "gbt", "xgboost"]),
        description=(
            'Models fitted: "random_forest", "gbt" (Spark ML), "xgboost" (XGBoost on Spark, the '
            'reference\'s distributed trees), "lightgbm" (single node, on the driver); the last '
            "two need the ``trees`` extra."
        ),
    )
    forest_trees: int = Field(default=100, gt=0, description="Random forest: trees (§5.5).")
    forest_depth: int = Field(default=10, gt=0, description="Random forest: depth (§5.5).")
    gbt_iterations: int = Field(
        default=50,
        gt=0,
        description="Spark ML's GBT is binary: one classifier per class against the rest.",
    )
    gbt_depth: int = Field(default=5, gt=0, description="GBT: tree depth.")
    boost_rounds: int = Field(
        default=100, gt=0, description="XGBoost and LightGBM: boosting rounds (multi-class)."
    )
    boost_depth: int = Field(default=6, gt=0, description="XGBoost and LightGBM: tree depth.")
    boost_learning_rate: float = Field(
        default=0.1, gt=0, description="XGBoost and LightGBM: learning rate."
    )
    seed: int = Field(default=0, description="Seed of every model.")


ClassName = Literal["QCD", "ttbar", "W+jets"]


#: The reference's cross-section-weighted class mix after its isolated-lepton selection
#: (reference-pipeline.md §1.4): the default composition of a trigger's input.
REFERENCE_CLASS_MIX: dict[ClassName, float] = {"QCD": 0.362, "ttbar": 0.004, "W+jets": 0.634}


class StreamConfig(_Strict):
    """Settings of ``dltrigger stream`` (and the model and working point of ``dltrigger score``).

    The trigger keeps an event when the summed scores of ``accept_classes`` reach the cut:
    ``threshold`` if set; else, with ``output_rate_hz``, the loosest cut whose expected output
    rate stays within that budget; else the cut that lets ``background_efficiency`` of the other
    classes' events through. Both are chosen on the run's dataset's validation split (never
    the test split, which measures).
    """

    model: Path | None = Field(
        default=None,
        description=(
            "A run folder of ``dltrigger train`` with its exported ``model.onnx``; unset: the "
            "run folder of train.model."
        ),
    )
    input: str = Field(
        default="data/incoming",
        description="The folder watched for new ``*.root`` files (a path or a Hadoop URL).",
    )
    out: Path = Field(default=Path("runs/stream"), description="Output folder.")
    checkpoint: Path | None = Field(
        default=None,
        description=(
            "Spark's checkpoint (offsets and commits: the exactly-once record); unset: "
            "out/_checkpoint."
        ),
    )
    tree: str = Field(default="Delphes", description="Name of the tree read in every file.")
    accept_classes: list[ClassName] = Field(
        default_factory=lambda: list[ClassName](["ttbar", "W+jets"]),
        description="Classes the trigger keeps (one or two of QCD, ttbar, W+jets).",
        json_schema_extra={"cli": {"flags": ["--accept"]}},
    )
    background_efficiency: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description=(
            "The working point: this share of the other classes passes (validation split)."
        ),
    )
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="An explicit cut on the summed score instead."
    )
    output_rate_hz: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Or the working point by an output-rate budget, in Hz: the loosest cut whose "
            "expected output rate stays within it, at ``[evaluate]``'s input_rate_hz and "
            "class_fractions (validation split)."
        ),
    )
    max_files_per_trigger: int = Field(
        default=8, gt=0, description="At most this many new files per micro-batch."
    )
    trigger_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Seconds between micro-batches (the next starts at once after a long one).",
    )
    settle_seconds: float = Field(
        default=1.0,
        ge=0,
        description=(
            "A file whose size changed within this many seconds is still being written: wait for "
            "it (at most ``max_wait_seconds``) before reading."
        ),
    )
    max_wait_seconds: float = Field(default=30.0, ge=0, description="See settle_seconds.")
    batch_size: int = Field(default=4096, gt=0, description="Events per ONNX Runtime call.")
    available_now: bool = Field(
        default=False, description="Process the files there now, then stop (no waiting)."
    )
    timeout: float | None = Field(
        default=None, gt=0, description="Stop after this many seconds; unset: run until stopped."
    )

    @field_validator("accept_classes")
    @classmethod
    def _some_classes(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) == 3:
            raise ValueError("accept one or two of the three classes")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_working_point(self) -> StreamConfig:
        if self.threshold is not None and self.output_rate_hz is not None:
            raise ValueError(
                f"threshold {self.threshold:g} and output_rate_hz {self.output_rate_hz:g} both "
                "set: the working point is one of them (unset the other)"
            )
        return self

    @property
    def checkpoint_folder(self) -> Path:
        return self.checkpoint if self.checkpoint is not None else Path(self.out) / "_checkpoint"


class ScoreConfig(_Strict):
    """Settings of ``dltrigger score``: files scored in one batch job with ``[stream]``'s model
    and working point."""

    inputs: list[str] = Field(
        default_factory=list,
        description="ROOT or Parquet files, folders, globs or root:// URLs.",
        json_schema_extra={"cli": {"positional": "INPUT"}},
    )
    out: Path = Field(default=Path("runs/score"), description="Output folder.")
    overwrite: bool = _overwrite()


class TrackingConfig(_Strict):
    """Experiment tracking with MLflow for ``train``, ``tune`` and ``baselines``."""

    enabled: bool = Field(default=True, description="Log parameters, metrics and artifacts.")
    uri: str = Field(
        default="",
        description=(
            "Any MLflow tracking URI (``http://host:5000``, ``sqlite:///mlflow.db``, ...); empty: "
            "a local file store ``mlruns/`` in the working directory."
        ),
    )
    experiment: str = Field(default="dltrigger", description="MLflow experiment name.")


class EvaluateConfig(_Strict):
    """Settings of ``dltrigger evaluate``: trained models on one dataset's test split."""

    runs: list[Path] | None = Field(
        default=None,
        description=(
            "Run folders of ``dltrigger train`` (their names label them in the report); unset: "
            "the run folders of run.models."
        ),
        json_schema_extra={"cli": {"positional": "RUN"}},
    )
    data: Path | None = Field(
        default=None, description="The dataset whose test split is scored; unset: train.data."
    )
    out: Path = Field(default=Path("runs/report"), description="Report folder.")
    overwrite: bool = _overwrite()
    bootstrap: int = Field(
        default=200, ge=0, description="Bootstrap resamplings for the AUC errors; 0 = none."
    )
    baselines: Path | None = Field(
        default=None,
        description=(
            "An output folder of ``dltrigger baselines`` whose tree models join the report's table"
            " (when it exists and scored the same test events); unset: ``baselines.out``."
        ),
    )
    min_background_events: int = Field(
        default=10,
        ge=1,
        description=(
            "A working point (or a class's rate) is measured only when at least this many test "
            "events are expected to pass its cut; otherwise its 95% upper limit is quoted."
        ),
    )
    input_rate_hz: float = Field(
        default=100e3,
        gt=0,
        description=(
            "Rate of events reaching the trigger, in Hz: 100 kHz, the CMS Level-1 accept rate "
            "(the input of the CMS High-Level Trigger)."
        ),
    )
    class_fractions: dict[ClassName, float] = Field(
        default_factory=lambda: dict(REFERENCE_CLASS_MIX),
        description=(
            "Class composition of the trigger's input: by default the reference's cross-section"
            "-weighted mix after its isolated-lepton selection (reference-pipeline.md §1.4), not "
            "the simulated samples' counts, which are not weighted by cross-section."
        ),
    )
    output_rates_hz: list[float] = Field(
        default_factory=lambda: [1e3, 1e4],
        description=(
            "Output-rate budgets, in Hz, at which the trigger's efficiencies and rates are "
            "quoted (1 kHz: the order of the CMS High-Level Trigger's output)."
        ),
    )

    @field_validator("class_fractions")
    @classmethod
    def _fractions(cls, value: dict[str, float]) -> dict[str, float]:
        missing = [name for name in get_args(ClassName) if name not in value]
        if missing or any(f < 0 for f in value.values()) or abs(sum(value.values()) - 1) > 1e-6:
            raise ValueError(
                f"class fractions {value} must give each of QCD, ttbar, W+jets a share >= 0, "
                f"summing to 1" + (f" (missing {', '.join(missing)})" if missing else "")
            )
        return value

    def fractions(self) -> dict[str, float]:
        """``class_fractions`` by class name."""
        return {str(name): share for name, share in self.class_fractions.items()}

    @model_validator(mode="after")
    def _budgets(self) -> EvaluateConfig:
        bad = [r for r in self.output_rates_hz if not 0 < r < self.input_rate_hz]
        if bad:
            raise ValueError(
                f"output rates {bad} Hz must lie between 0 and input_rate_hz "
                f"({self.input_rate_hz:g} Hz)"
            )
        return self


class RunConfig(_Strict):
    """Settings of ``dltrigger run``: generate -> ingest -> features -> [tune] -> train ->
    evaluate, skipping the stages whose outputs are up to date."""

    models: list[ModelName] = Field(
        default_factory=lambda: list[ModelName](["hlf", "inclusive"]),
        description="Models trained (into ``runs/<model>``, or train.out/<model>) and evaluated.",
    )
    tune: bool = Field(
        default=False,
        description="Run the grid search before training; its best point trains ``tune.model``.",
    )
    generate: bool = Field(
        default=True,
        description="The ``generate`` stage; off when ``ingest.samples`` name existing files.",
    )
    force: bool = Field(
        default=False, description="Re-run every stage even when its outputs are up to date."
    )
    state: Path = Field(
        default=Path("runs/pipeline.json"),
        description="What each finished stage recorded (config digest, time, throughput).",
    )

    @field_validator("models")
    @classmethod
    def _some_models(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one model is needed")
        return list(dict.fromkeys(value))


class Config(_Strict):
    """The whole pipeline's configuration.

    Each stage's input left unset is the upstream stage's output: :meth:`resolved` fills them
    in (every stage's ``run`` calls it, so ``dltrigger run`` and the commands read the same
    paths); a value set in the file or on the command line always wins.
    """

    spark: SparkConfig = SparkConfig()
    generate: GenerateConfig = GenerateConfig()
    ingest: IngestConfig = IngestConfig()
    features: FeaturesConfig = FeaturesConfig()
    train: TrainConfig = TrainConfig()
    tune: TuneConfig = TuneConfig()
    baselines: BaselinesConfig = BaselinesConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    run: RunConfig = RunConfig()
    stream: StreamConfig = StreamConfig()
    score: ScoreConfig = ScoreConfig()
    tracking: TrackingConfig = TrackingConfig()

    def run_folder(self, model: ModelName) -> Path:
        """Where ``model`` trains: ``train.out`` (``train.out/<model>`` when ``run.models``
        trains several), else ``runs/<model>``."""
        if self.train.out is None:
            return Path("runs") / model
        several = len(self.run.models) > 1 and model in self.run.models
        return Path(self.train.out) / model if several else Path(self.train.out)

    def _generated_files(self, sample: str, label: int) -> list[str]:
        """The files ``generate`` writes for the processes of ``generate.process`` whose class
        is ``label`` (the sample's own name when none is)."""
        generate = self.generate
        names = [p for p in generate.process if LABELS[generate.processes[p].label] == label]
        # the index's digits: qcd_[0-9]*.root is not also qcd_generic_0.root
        return [str(Path(generate.out) / f"{name}_[0-9]*.root") for name in names or [sample]]

    def resolved(self) -> Config:
        """This configuration with every unset stage input set to its upstream's output.

        ``ingest.samples`` without paths: the generated files of ``generate.process`` of the
        sample's class (``<generate.out>/<process>_<index>.root``);
        ``features.input``: ``ingest.out``; ``train.data``: ``<features.out>/balanced``;
        ``tune.data``: ``<features.out>/dev``; ``baselines.data``, ``evaluate.data``:
        ``train.data``; ``evaluate.runs``: the run folders of ``run.models``;
        ``evaluate.baselines``: ``baselines.out``; ``stream.model``: the run folder of
        ``train.model``. Resolving twice changes nothing.
        """
        samples = {
            name: sample.model_copy(update={"paths": self._generated_files(name, sample.label)})
            if not sample.paths and name in LABELS
            else sample
            for name, sample in self.ingest.samples.items()
        }
        features_out = Path(self.features.out)
        train_data = self.train.data or features_out / "balanced"
        evaluate = self.evaluate
        return self.model_copy(
            update={
                "ingest": self.ingest.model_copy(update={"samples": samples}),
                "features": self.features.model_copy(
                    update={"input": self.features.input or Path(self.ingest.out)}
                ),
                "train": self.train.model_copy(update={"data": train_data}),
                "tune": self.tune.model_copy(
                    update={"data": self.tune.data or features_out / "dev"}
                ),
                "baselines": self.baselines.model_copy(
                    update={"data": self.baselines.data or train_data}
                ),
                "evaluate": evaluate.model_copy(
                    update={
                        "data": evaluate.data or train_data,
                        "runs": evaluate.runs or [self.run_folder(m) for m in self.run.models],
                        "baselines": evaluate.baselines or Path(self.baselines.out),
                    }
                ),
                "stream": self.stream.model_copy(
                    update={"model": self.stream.model or self.run_folder(self.train.model)}
                ),
            }
        )


def _format_validation_error(error: ValidationError, source: str) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        given = item.get("input")
        # A section-wide check (two settings that exclude each other) gets the whole section
        # as its input: its message names the values, the dump would bury it.
        whole = item["type"] == "value_error" and isinstance(given, dict)
        message = item["msg"].removeprefix("Value error, ")
        parts.append((f"{where}: " if where else "") + message
                     + ("" if whole else f" (got {given!r})"))  # fmt: skip
    return f"invalid configuration in {source}: " + "; ".join(parts)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration from ``path``, ``$DLTRIGGER_CONFIG`` or ``./dltrigger.toml``.

    A missing default file gives the built-in defaults; a missing file that was named explicitly
    is an error.
    """
    explicit = path is not None or "DLTRIGGER_CONFIG" in os.environ
    chosen = Path(path or os.environ.get("DLTRIGGER_CONFIG", DEFAULT_CONFIG_NAME))
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"configuration file not found: {chosen}")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {chosen}: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(chosen))) from None


def with_overrides(config: Config, section: str, **values: Any) -> Config:
    """Return a copy of ``config`` with ``section``'s fields replaced where a value is not None."""
    current = getattr(config, section)
    updates = {k: v for k, v in values.items() if v is not None}
    try:
        new_section = type(current).model_validate({**current.model_dump(), **updates})
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, "command-line options")) from None
    return config.model_copy(update={section: new_section})
