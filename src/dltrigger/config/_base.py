"""What every section of the configuration shares: the strict base model, the ``overwrite``
field, and the names of the classes and models."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: A heavy-flavour quark, "b" or "c" (exported, but no setting takes it at present).
HeavyFlavour = Literal["b", "c"]
#: The classes as a generated process's ``label`` names them (keys of [`LABELS`][]).
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


IfExists = Literal["error", "skip", "overwrite"]


class _Output(_Strict):
    """A section of a stage that writes an output: what to do when that output exists."""

    if_exists: IfExists = Field(
        default="error",
        description=(
            'When the output exists: "error" (refused), "skip" (its result is returned when it '
            "is up to date: the same settings and inputs as the run that made it, as recorded "
            'in run.state; refused, saying what changed, when not) or "overwrite" (replaced; '
            "the same as overwrite = true)."
        ),
    )

    @model_validator(mode="after")
    def _one_way_to_replace(self) -> Any:
        overwrite = bool(getattr(self, "overwrite", False))
        if overwrite and self.if_exists == "skip":
            raise ValueError('overwrite = true and if_exists = "skip": choose one')
        # overwrite is if_exists = "overwrite"'s short form, and the field the stages read
        if overwrite and self.if_exists == "error":
            self.__dict__["if_exists"] = "overwrite"
        elif self.if_exists == "overwrite" and not overwrite:
            self.__dict__["overwrite"] = True
        return self


#: The networks ``dltrigger train`` trains (``train.model``, ``run.models``; docs/training.md).
ModelName = Literal[
    "hlf", "particle", "inclusive", "lstm", "transformer", "deepsets", "deepsets_l1"
]
#: [`ModelName`][]'s values, in that order.
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)

#: The classes as results, reports and class-keyed settings name them (labels 0, 1, 2).
ClassName = Literal["QCD", "ttbar", "W+jets"]
