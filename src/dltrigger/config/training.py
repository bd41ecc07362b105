"""``[train]``, ``[tune]`` and ``[baselines]``: the networks, their grid search, the trees."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from ..errors import ConfigError, did_you_mean
from ._base import ModelName, _Output, _overwrite

#: The most CPU threads a setting may ask torch for: torch.set_num_threads accepts any number,
#: then crashes the process (SIGSEGV at 100,000; 4,096 still ran here), so a typo is refused.
MAX_THREADS = 1024

#: The formats ``train.export`` can write the best model in.
ExportFormat = Literal["onnx", "torchscript"]


class TrainConfig(_Output):
    """Settings of ``dltrigger train``: Adam with its defaults (learning rate 1e-3), as the
    reference (docs/reference.md §5). The defaults fit the demo's few thousand events: batches
    of 32 for up to 20 epochs, where the reference trained with batches of 128 for 5-6 epochs on
    millions of events (§5.3, §9.2)."""

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
            "Hold the whole split in memory instead of streaming it from Parquet in batches; "
            "unset: in memory for the HLF model, streamed for the other models."
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
            "the reference did (docs/reference.md §9)."
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
            "measures the model: its test metrics are biased (docs/reference.md §5.1). Off: "
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


class TuneConfig(_Output):
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
            "HLF grid (docs/reference.md §6)."
        ),
    )
    folds: int = Field(
        default=0,
        ge=0,
        description=(
            "0: rank the points on the validation split (the test split with "
            "``train.reference_validate_on_test``); k >= 2: k-fold cross-validation on the "
            "training split."
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


#: The tree models ``baselines.models`` can fit.
BaselineName = Literal["random_forest", "gbt", "xgboost", "lightgbm"]


class BaselinesConfig(_Output):
    """Tree baselines on the 14 HLF (docs/reference.md §5.5: RF 100 x depth 10)."""

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
        description=(
            "GBT: boosting iterations of each classifier (Spark ML's GBT is binary: one "
            "classifier per class against the rest)."
        ),
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


def apply_point(base: TrainConfig, point: dict[str, Any]) -> TrainConfig:
    """``base`` with the point's values; a bad name or value raises ConfigError naming it."""
    fields = dict(base.model_dump())
    options = dict(fields["model_options"])
    for name, value in point.items():
        if name.startswith("model_options."):
            options[name.split(".", 1)[1]] = value
        elif name in TrainConfig.model_fields:
            fields[name] = value
        else:
            choices = [*TrainConfig.model_fields, "model_options.<name>"]
            raise ConfigError(
                f"unknown grid parameter {name!r}{did_you_mean(name, choices)}; "
                "use a [train] setting or model_options.<name>"
            )
    fields["model_options"] = options
    try:
        return TrainConfig.model_validate(fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(
            f"grid point {point}: {where}: {problem['msg']} (got {problem.get('input')!r})"
        ) from None
