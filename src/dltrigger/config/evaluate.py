"""``[evaluate]``, ``[tracking]`` and ``[run]``: the report, MLflow, ``dltrigger run``."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from pydantic import Field, field_validator, model_validator

from ._base import ClassName, ModelName, _Output, _overwrite, _Strict

#: The reference's cross-section-weighted class mix after its isolated-lepton selection
#: (docs/reference.md §1.4): the default composition of a trigger's input.
REFERENCE_CLASS_MIX: dict[ClassName, float] = {"QCD": 0.362, "ttbar": 0.004, "W+jets": 0.634}


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


class EvaluateConfig(_Output):
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
    l1: Path | None = Field(
        default=None,
        description=(
            "An output folder of ``dltrigger l1`` whose float/quantised comparison becomes the "
            "report's L1 section (when it exists); unset: ``l1.out``."
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
            "-weighted mix after its isolated-lepton selection (docs/reference.md §1.4), not "
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
    [baselines] -> [l1] -> evaluate, skipping the stages whose outputs are up to date."""

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
    baselines: bool = Field(
        default=False,
        description=(
            "Fit the tree baselines (``[baselines]``) after training; the report compares them."
        ),
    )
    l1: bool = Field(
        default=False,
        description=(
            "Make the HLF run a Level-1 model (``[l1]``, needs the l1 extra) after training; "
            "the report gains its L1 section."
        ),
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
