"""``[stream]`` and ``[score]``: the trigger on new files, and on given files in one batch."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ._base import ClassName, _Output, _overwrite, _Strict


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


class ScoreConfig(_Output):
    """Settings of ``dltrigger score``: files scored in one batch job with ``[stream]``'s model
    and working point."""

    inputs: list[str] = Field(
        default_factory=list,
        description="ROOT or Parquet files, folders, globs or root:// URLs.",
        json_schema_extra={"cli": {"positional": "INPUT"}},
    )
    out: Path = Field(default=Path("runs/score"), description="Output folder.")
    overwrite: bool = _overwrite()
