"""A griffe extension for the documentation site (mkdocs.yml): the fields of each pydantic model
(the configuration's sections, ``dltrigger.config``) as the running class has them.

griffe-pydantic reads the models' source, where a default made by a function
(``default_factory``, a helper returning ``Field(...)``) or a description built by an f-string
is not a literal: it would show no default, or the wrong one, and no description. This
extension imports each model and records, per field, the default the class really gives, its
constraints (``> 0``, ``<= 1024``) and its description, in ``extra["dltrigger"]["fields"]``;
``docs/templates/python/material/pydantic_model.html.jinja`` renders them as one table per
model. It runs at build time only; nothing in the package imports it.
"""

from __future__ import annotations

import importlib
from pathlib import PurePath
from typing import Any

import annotated_types
import griffe
from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: Longer defaults are summarised (a mapping by its keys, a list by its length).
MAX_DEFAULT_CHARS = 60

_BOUNDS = (
    (annotated_types.Gt, "gt", "> {}"),
    (annotated_types.Ge, "ge", ">= {}"),
    (annotated_types.Lt, "lt", "< {}"),
    (annotated_types.Le, "le", "<= {}"),
    (annotated_types.MinLen, "min_length", "at least {} items"),
    (annotated_types.MaxLen, "max_length", "at most {} items"),
)


def default_text(info: FieldInfo) -> str:
    """The field's default as Python would write it, short: ``20``, ``'runs/tune'``,
    ``SparkConfig()``, ``{'qcd': ..., 'ttbar': ...}``; ``required`` when there is none."""
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel) and value == type(value)():
        return f"{type(value).__name__}()"
    if isinstance(value, PurePath):
        return repr(str(value))
    text = repr(value)
    if len(text) <= MAX_DEFAULT_CHARS:
        return text
    if isinstance(value, dict):
        keys = "{" + ", ".join(f"{key!r}: ..." for key in value) + "}"
        return keys if len(keys) <= MAX_DEFAULT_CHARS else f"{len(value)} entries"
    if isinstance(value, list | tuple):
        return f"{len(value)} items"
    return text[: MAX_DEFAULT_CHARS - 3] + "..."


def constraints_text(info: FieldInfo) -> str:
    """The field's bounds, e.g. ``> 0`` or ``>= 0, <= 1024``."""
    parts = []
    for item in info.metadata:
        for kind, attribute, template in _BOUNDS:
            if isinstance(item, kind):
                parts.append(template.format(getattr(item, attribute)))
    return ", ".join(parts)


def description_text(name: str, info: FieldInfo) -> str:
    """The field's description; a section of [`Config`][dltrigger.config.Config] without one
    is described by its TOML table."""
    if info.description:
        return info.description
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
        return f"The ``[{name}]`` section of ``dltrigger.toml``."
    return ""


def field_rows(model: type[BaseModel]) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "default": default_text(info),
            "constraints": constraints_text(info),
            "description": description_text(name, info),
        }
        for name, info in model.model_fields.items()
    ]


def _classes(obj: griffe.Object) -> Any:
    for member in obj.members.values():
        if member.is_alias:
            continue
        if member.is_class:
            yield member
        if member.is_module or member.is_class:
            yield from _classes(member)


class ConfigFields(griffe.Extension):
    """Record each pydantic model's fields as the imported class has them."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for cls in _classes(pkg):
            try:
                runtime = getattr(importlib.import_module(cls.module.path), cls.name)
            except (ImportError, AttributeError):
                continue
            if isinstance(runtime, type) and issubclass(runtime, BaseModel):
                cls.extra["dltrigger"]["fields"] = field_rows(runtime)
