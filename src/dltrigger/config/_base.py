"""What every section of the configuration shares: the strict base model, the ``overwrite``
field, and the names of the classes and models."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

HeavyFlavour = Literal["b", "c"]
#: The classes as a generated process's ``label`` names them (keys of :data:`LABELS`).
ProcessLabel = Literal["qcd", "ttbar", "wjets"]

#: Class labels as the reference uses them (docs/reference.md §1.3): 0 QCD, 1 ttbar, 2 W+jets.
LABELS: dict[str, int] = {"qcd": 0, "ttbar": 1, "wjets": 2}


def _overwrite() -> Any:
    # every stage's output folder: the same rule (docs/outputs.md)
    return Field(
        default=False, description="Replace an earlier output of the same kind (never other files)."
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


ModelName = Literal["hlf", "particle", "inclusive", "lstm", "transformer"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)

ClassName = Literal["QCD", "ttbar", "W+jets"]
