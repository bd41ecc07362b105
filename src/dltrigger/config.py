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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

DEFAULT_CONFIG_NAME = "dltrigger.toml"

ProcessName = Literal["wjets", "ttbar", "qcd"]
PROCESSES: tuple[ProcessName, ...] = ("qcd", "ttbar", "wjets")

#: Class labels as the reference uses them (reference-pipeline.md §1.3): 0 QCD, 1 ttbar, 2 W+jets.
LABELS: dict[str, int] = {"qcd": 0, "ttbar": 1, "wjets": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SparkConfig(_Strict):
    """Spark settings; ``master`` takes any Spark master URL (``local[*]``, ``spark://h:7077``...)."""

    master: str = "local[*]"
    app_name: str = "dltrigger"
    #: Extra ``spark.*`` settings passed to the session builder unchanged.
    conf: dict[str, str] = Field(default_factory=dict)
    #: Folder of the JVM's log files (warnings, Java stack traces), one per session, written
    #: only when something is logged; unset: ``<system temp>/dltrigger-logs``.
    log_dir: Path | None = None
    #: JVM log lines also shown on the console. The commands show none ("off": the log file
    #: has them, its path is printed with an error) unless ``--verbose`` ("warn").
    console_log_level: Literal["off", "error", "warn", "info"] = "error"
    #: Seconds a ``spark://`` master has to accept a connection before the command gives up.
    connect_timeout: float = Field(default=10.0, gt=0)


class ProcessSettings(_Strict):
    """Per-process generator settings (see :mod:`dltrigger.generate.processes` for the physics)."""

    #: Minimum transverse momentum of the hard 2->2 process, GeV.
    pthat_min: float = Field(gt=0)
    #: Keep only events with a generator-level e or mu above this pT (GeV); 0 switches it off.
    lepton_filter_pt: float = Field(default=0.0, ge=0)
    #: QCD only: heavy-flavour hard processes generated (b: hardbbbar, c: hardccbar).
    heavy_flavours: list[Literal["b", "c"]] = Field(default_factory=lambda: ["b", "c"])
    #: Events written for this process (unless ``generate.events`` is set). A filtered process
    #: (QCD) needs more written events for the same number of selected ones.
    events: int = Field(default=3000, gt=0)


class GenerateConfig(_Strict):
    """Settings of ``dltrigger generate``."""

    processes: list[ProcessName] = Field(default_factory=lambda: ["wjets", "ttbar", "qcd"])
    #: Events written per process, for every process; unset: each process's own ``events``.
    events: int | None = Field(default=None, gt=0)
    events_per_file: int = Field(default=1000, gt=0)
    seed: int = Field(default=20190917, ge=0)
    out: Path = Path("data/raw")
    overwrite: bool = False
    #: Events per Pythia ``nextBatch`` call: larger batches vectorise the detector simulation
    #: better but hold more in memory.
    batch_size: int = Field(default=250, gt=0)
    #: Multiparton interactions (the underlying event). On for realism; off is 4-7x faster.
    mpi: bool = True
    #: Mean number of pile-up (minimum-bias) interactions overlaid per event; 0 = off.
    pileup_mean: float = Field(default=0.0, ge=0)
    #: Detector simulation preset (generate/detector_card.py): "reference" (the CMS card with
    #: its lepton isolation cuts relaxed, as the reference's data imply), "cms" (the standard
    #: card: isolated leptons, so lepton-enriched QCD selects almost nothing), "legacy"
    #: (before overlap removal and the jet energy scale; for comparisons).
    detector: Literal["reference", "cms", "legacy"] = "reference"
    # The defaults are the demo's: ~1,800 events per class pass the selection (W+jets 45%,
    # ttbar 65%, QCD 11% after its lepton filter) in ~4 minutes on 2 cores.
    wjets: ProcessSettings = ProcessSettings(pthat_min=20.0, events=4500)
    ttbar: ProcessSettings = ProcessSettings(pthat_min=1.0, events=3000)
    qcd: ProcessSettings = ProcessSettings(pthat_min=50.0, lepton_filter_pt=20.0, events=16000)

    @field_validator("processes")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one process is needed")
        return list(dict.fromkeys(value))

    def settings(self, process: ProcessName) -> ProcessSettings:
        return getattr(self, process)

    def events_of(self, process: ProcessName) -> int:
        """Events written for ``process``: the common ``events`` if set, else its own."""
        return self.events if self.events is not None else self.settings(process).events


class SampleConfig(_Strict):
    """One physics sample to ingest: its class label and where its ROOT files are."""

    label: int = Field(ge=0)
    #: Files, folders, globs or ``root://host:port//path`` URLs.
    paths: list[str] = Field(default_factory=list)
    #: File-name prefixes that identify this sample's files given on the command line
    #: (``wjets_3.root`` -> ``wjets``; the reference's ``Wlnu_lepFilter_13TeV_819.root``).
    aliases: list[str] = Field(default_factory=list)


def _default_samples() -> dict[str, SampleConfig]:
    return {
        "qcd": SampleConfig(
            label=LABELS["qcd"], paths=["data/raw/qcd_*.root"], aliases=["qcd_lepFilter_13TeV"]
        ),
        "ttbar": SampleConfig(
            label=LABELS["ttbar"],
            paths=["data/raw/ttbar_*.root"],
            aliases=["ttbar_lepFilter_13TeV"],
        ),
        "wjets": SampleConfig(
            label=LABELS["wjets"],
            paths=["data/raw/wjets_*.root"],
            aliases=["Wlnu_lepFilter_13TeV", "Wlnu"],
        ),
    }


class IngestConfig(_Strict):
    """Settings of ``dltrigger ingest`` (ROOT -> Spark -> Parquet)."""

    samples: dict[str, SampleConfig] = Field(default_factory=_default_samples)
    out: Path = Path("data/ingested")
    tree: str = "Delphes"
    #: Collections or branches to read (empty: every readable branch).
    branches: list[str] = Field(default_factory=list)
    #: Bytes on disk per Spark partition (larger files are cut into cluster-aligned slices,
    #: smaller ones packed together; lowered so that every core gets work).
    partition_bytes: int = Field(default=128 * 2**20, gt=0)
    #: Bounds of one Arrow batch inside a task (the memory a task holds at a time): entries,
    #: and uncompressed bytes of the branches read.
    batch_events: int = Field(default=100_000, gt=0)
    batch_bytes: int = Field(default=256 * 2**20, gt=0)
    skip_bad_files: bool = False
    overwrite: bool = False
    #: Seconds before an unreachable or unresponsive ``root://`` server fails the read (XRootD
    #: connection window and request timeout; the client's own default waits for minutes).
    remote_timeout: float = Field(default=30.0, gt=0)


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

    input: Path = Path("data/ingested")
    out: Path = Path("data/features")
    overwrite: bool = False
    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    #: Also write ``balanced``: every class undersampled to the smallest one (§4).
    balance: bool = True
    #: Events per class in the small ``dev`` dataset (taken from ``balanced``, or ``full``).
    dev_per_class: int = Field(default=1000, gt=0)
    #: Particle order by ΔR to the lepton ("descending" as the reference: lepton last).
    order: Literal["descending", "ascending"] = "descending"
    max_tracks: int = Field(default=450, gt=0)
    max_photons: int = Field(default=150, gt=0)
    max_neutrals: int = Field(default=200, gt=0)
    collections: CollectionsConfig = CollectionsConfig()
    #: A class (label) none of whose events passes the selection: "error" stops with its name;
    #: "drop" writes the datasets without it, with a warning and the class in the manifest.
    empty_classes: Literal["error", "drop"] = "error"
    #: Switches reproducing the reference's quirks (reference-pipeline.md §11); off = fixed.
    reference_lepton_choice: bool = False
    reference_delta_phi: bool = False
    reject_empty_maps: bool = False
    mt_squared: bool = False
    #: Quirk 15: ChPFIso minus 1 for photons and neutral hadrons too (subtractPt everywhere).
    reference_chpfiso: bool = False
    #: The reference's track charge, sign(PID) (§3.1): the opposite of the charge for e and mu.
    reference_track_charge: bool = False


ModelName = Literal["hlf", "particle", "inclusive", "lstm", "transformer"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)


class TrainConfig(_Strict):
    """Settings of ``dltrigger train`` (reference-pipeline.md §9: Adam defaults, batch 128)."""

    model: ModelName = "inclusive"
    #: A features dataset folder: ``data/features/full``, ``.../balanced`` or ``.../dev``.
    data: Path = Path("data/features/balanced")
    #: The run folder; unset: ``runs/<model>``.
    out: Path | None = None
    overwrite: bool = False
    #: Keyword arguments of the model class, e.g. ``{widths = [50, 20, 10]}`` or ``{hidden = 50}``.
    model_options: dict[str, Any] = Field(default_factory=dict)
    #: 20 epochs of batch 32: the demo's few thousand events need the optimizer steps that
    #: the reference (batch 128, 5-6 epochs, §9) got from millions of events.
    epochs: int = Field(default=20, gt=0)
    batch_size: int = Field(default=32, gt=0)
    learning_rate: float = Field(default=1e-3, gt=0)
    #: "constant" (the reference), "cosine" (to zero over ``epochs``) or "plateau" (x0.1 after
    #: ``plateau_patience`` epochs without a lower validation loss, as one reference notebook).
    lr_schedule: Literal["constant", "cosine", "plateau"] = "constant"
    plateau_patience: int = Field(default=3, gt=0)
    #: Early stopping: epochs without a lower validation loss before stopping.
    patience: int = Field(default=8, gt=0)
    seed: int = 0
    max_particles: int = Field(default=801, gt=0)
    #: Events pooled for shuffling when streaming from Parquet (memory ~ 8 kB per event).
    shuffle_buffer: int = Field(default=10_000, gt=0)
    #: Hold the whole split in memory instead of streaming; None = for the HLF model only.
    in_memory: bool | None = None
    #: Batches of similar particle-list lengths (2-3x faster recurrent training on CPU, but
    #: length correlates with the class, so batches are less mixed). Off by default.
    bucket_by_length: bool = False
    #: Recurrent models over packed sequences instead of padded ones with a gather: the same
    #: numbers, ~2x slower on CPU (measured, docs/benchmarks.md).
    packed_sequences: bool = False
    device: str = "auto"  # "auto": CUDA when present, else CPU
    threads: int = Field(default=0, ge=0)  # torch CPU threads; 0 = torch's default
    #: Data-parallel processes: 1 = this process; N > 1 = DistributedDataParallel over N Spark
    #: barrier tasks (TorchDistributor; gloo on CPU, nccl on GPU), one shard of the data each.
    num_processes: int = Field(default=1, gt=0)
    #: With N processes the global batch is N x batch_size; scale the learning rate by N as
    #: the reference did (reference-pipeline.md §9).
    scale_learning_rate: bool = True
    #: Formats the best model is exported to at the end: "onnx", "torchscript".
    export: list[Literal["onnx", "torchscript"]] = Field(
        default_factory=lambda: ["onnx", "torchscript"]
    )

    @property
    def run_folder(self) -> Path:
        return self.out if self.out is not None else Path("runs") / self.model

    def uses_particles(self) -> bool:
        return self.model != "hlf"

    def holds_in_memory(self) -> bool:
        return self.model == "hlf" if self.in_memory is None else self.in_memory


class TuneConfig(_Strict):
    """Settings of ``dltrigger tune``: a grid search, one training per Spark task (§6)."""

    model: ModelName = "hlf"
    #: The dataset searched on (the reference tuned on a small sample): its training split is
    #: trained on, its test split (or held-out folds) validates.
    data: Path = Path("data/features/dev")
    out: Path = Path("runs/tune")
    overwrite: bool = False
    #: Parameter -> values. Keys are ``[train]`` fields (``batch_size``, ``epochs``,
    #: ``learning_rate``, ...) or ``model_options.NAME``. Empty: the reference's 243-point HLF
    #: grid (reference-pipeline.md §6).
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    #: 0: validate on the test split; k >= 2: k-fold cross-validation on the training split.
    folds: int = Field(default=0, ge=0)
    #: What ranks the points: a validation metric (``val_loss``: lower is better;
    #: ``val_accuracy``, ``val_auc_<class>``: higher is better).
    metric: str = "val_loss"
    seed: int = 0

    @field_validator("folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("1 fold validates on nothing: use 0 (test split) or k >= 2")
        return value


class BaselinesConfig(_Strict):
    """Spark ML tree baselines on the 14 HLF (reference-pipeline.md §5.5: RF 100 x depth 10)."""

    data: Path = Path("data/features/balanced")
    out: Path = Path("runs/baselines")
    overwrite: bool = False
    #: "xgboost" (XGBoost on Spark, the reference's distributed trees) and "lightgbm"
    #: (single node, on the driver) need the ``trees`` extra.
    models: list[Literal["random_forest", "gbt", "xgboost", "lightgbm"]] = Field(
        default_factory=lambda: ["random_forest", "gbt", "xgboost"]
    )
    forest_trees: int = Field(default=100, gt=0)
    forest_depth: int = Field(default=10, gt=0)
    #: Spark ML's GBT is binary: one classifier per class against the rest.
    gbt_iterations: int = Field(default=50, gt=0)
    gbt_depth: int = Field(default=5, gt=0)
    #: XGBoost and LightGBM: boosting rounds, tree depth, learning rate (multi-class softprob).
    boost_rounds: int = Field(default=100, gt=0)
    boost_depth: int = Field(default=6, gt=0)
    boost_learning_rate: float = Field(default=0.1, gt=0)
    seed: int = 0


ClassName = Literal["QCD", "ttbar", "W+jets"]


class StreamConfig(_Strict):
    """Settings of ``dltrigger stream`` (and the model and working point of ``dltrigger score``).

    The trigger keeps an event when the summed scores of ``accept_classes`` reach the cut:
    ``threshold`` if set, else the cut that lets ``background_efficiency`` of the other classes'
    events through on the run's own test split.
    """

    #: A run folder of ``dltrigger train`` with its exported ``model.onnx``.
    model: Path = Path("runs/inclusive")
    #: The folder watched for new ``*.root`` files (a path or any Hadoop file-system URL).
    input: str = "data/incoming"
    out: Path = Path("runs/stream")
    #: Spark's checkpoint (offsets and commits: the exactly-once record); unset: out/_checkpoint.
    checkpoint: Path | None = None
    tree: str = "Delphes"
    accept_classes: list[ClassName] = Field(default_factory=lambda: ["ttbar", "W+jets"])
    background_efficiency: float = Field(default=0.01, gt=0, lt=1)
    threshold: float | None = Field(default=None, ge=0, le=1)
    #: At most this many new files per micro-batch.
    max_files_per_trigger: int = Field(default=8, gt=0)
    #: Seconds between micro-batches (a new one starts at once if the last took longer).
    trigger_seconds: float = Field(default=1.0, ge=0)
    #: A file whose size changed within this many seconds is still being written: wait for it
    #: (at most ``max_wait_seconds``) before reading.
    settle_seconds: float = Field(default=1.0, ge=0)
    max_wait_seconds: float = Field(default=30.0, ge=0)
    #: Events per ONNX Runtime call.
    batch_size: int = Field(default=4096, gt=0)

    @field_validator("accept_classes")
    @classmethod
    def _some_classes(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) == 3:
            raise ValueError("accept one or two of the three classes")
        return list(dict.fromkeys(value))

    @property
    def checkpoint_folder(self) -> Path:
        return self.checkpoint if self.checkpoint is not None else Path(self.out) / "_checkpoint"


class TrackingConfig(_Strict):
    """Experiment tracking with MLflow for ``train``, ``tune`` and ``baselines``."""

    enabled: bool = True
    #: Any MLflow tracking URI (``http://host:5000``, ``sqlite:///mlflow.db``, ...); empty: a
    #: local file store ``mlruns/`` in the working directory.
    uri: str = ""
    experiment: str = "dltrigger"


class EvaluateConfig(_Strict):
    """Settings of ``dltrigger evaluate``: trained models on one dataset's test split."""

    #: Run folders of ``dltrigger train``; their folder names label them in the report.
    runs: list[Path] = Field(default_factory=lambda: [Path("runs/hlf"), Path("runs/inclusive")])
    data: Path = Path("data/features/balanced")
    out: Path = Path("runs/report")
    overwrite: bool = False
    #: Bootstrap resamplings for the AUC errors; 0 = none.
    bootstrap: int = Field(default=200, ge=0)
    #: An output folder of ``dltrigger baselines`` whose tree models join the report's table
    #: (when it exists and scored the same test events); unset: ``baselines.out``.
    baselines: Path | None = None


class RunConfig(_Strict):
    """Settings of ``dltrigger run``: generate -> ingest -> features -> [tune] -> train ->
    evaluate, skipping the stages whose outputs are up to date."""

    #: Models trained (each into ``runs/<model>`` unless ``train.out`` is set) and evaluated.
    models: list[ModelName] = Field(default_factory=lambda: ["hlf", "inclusive"])
    #: Run the grid search before training; its best point trains ``tune.model``.
    tune: bool = False
    #: The ``generate`` stage; off when ``ingest.samples`` point at existing (real) files.
    generate: bool = True
    #: Re-run every stage even when its outputs are up to date.
    force: bool = False
    #: What each finished stage recorded (config digest, time, throughput).
    state: Path = Path("runs/pipeline.json")

    @field_validator("models")
    @classmethod
    def _some_models(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one model is needed")
        return list(dict.fromkeys(value))


class Config(_Strict):
    """The whole pipeline's configuration."""

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
    tracking: TrackingConfig = TrackingConfig()


def _format_validation_error(error: ValidationError, source: str) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
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
