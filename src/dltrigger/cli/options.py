"""Command-line options made from the configuration's fields, so that a setting is written once.

Each field of a config section becomes a flag named after it (``events_per_file`` ->
``--events-per-file``), typed from its annotation (bools get ``--x/--no-x``, ``Literal`` fields
their choices, lists one comma-separated value per occurrence, ``--x a,b`` or ``--x a --x b``,
so that a positional argument after them stays one), checked against its bounds (``gt=0`` ->
"must be a positive integer, got 0") and documented by its ``Field(description=...)`` and
default. A field's ``json_schema_extra={"cli": {...}}`` can rename the flag (``flags``), make it
the command's positional argument (``positional``: its metavar) or, for a list of choices,
accept ``all`` (``all``). Dicts and nested sections are settable in the config file only.

The parsed values land under ``"<section>.<field>"`` in the namespace; [`apply_overrides`][]
writes the ones given onto the config.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..config import Config, with_overrides
from ..errors import did_you_mean


def _non_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (other annotations unchanged)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _bounds(field: FieldInfo) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in field.metadata:
        for name in ("gt", "ge", "lt", "le"):
            value = getattr(item, name, None)
            if isinstance(item, annotated_types.BaseMetadata) and value is not None:
                found[name] = value
    return found


def _number(kind: type, bounds: dict[str, float]) -> Callable[[str], Any]:
    """A parser of ``kind`` (int or float) whose errors say which values are valid."""
    if kind is int and bounds == {"gt": 0}:
        wanted = "a positive integer"
    elif kind is int and bounds == {"ge": 0}:
        wanted = "an integer >= 0"
    else:
        parts = [
            f"{symbol} {bounds[name]:g}"
            for name, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
            if name in bounds
        ]
        wanted = ("an integer" if kind is int else "a number") + (
            " " + " and ".join(parts) if parts else ""
        )

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        valid = (
            ("gt" not in bounds or value > bounds["gt"])
            and ("ge" not in bounds or value >= bounds["ge"])
            and ("lt" not in bounds or value < bounds["lt"])
            and ("le" not in bounds or value <= bounds["le"])
        )
        if not valid:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def _choice(choices: Iterable[str], what: str, extra: tuple[str, ...] = ()) -> Callable[[str], str]:
    valid = [*choices, *extra]

    def parse(text: str) -> str:
        if text in valid:
            return text
        raise argparse.ArgumentTypeError(
            f"unknown {what} {text!r}{did_you_mean(text, valid)}; valid: {', '.join(valid)}"
        )

    return parse


def _items(text: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]`` (an empty string gives an empty list)."""
    return [item.strip() for item in text.split(",") if item.strip()]


class _ExtendItems(argparse.Action):
    """Values of a list option, one argument per occurrence: ``--x a,b --x c`` ->
    ``["a", "b", "c"]``, each item checked; ``all`` (where allowed) stands for every choice.

    Never ``nargs="+"``: it would take the command's positional arguments after the option
    as more items (``--branches Jet MissingET /data`` reading ``/data`` as a branch)."""

    def __init__(
        self,
        *args: Any,
        item: Callable[[str], Any] = str,
        every: list[str] | None = None,
        **kwargs: Any,
    ):
        self.item = item
        self.every = every
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        given = []
        for text in _items(values):
            try:
                given.append(self.item(text))
            except argparse.ArgumentTypeError as exc:
                parser.error(f"argument {option_string or self.metavar}: {exc}")
        if self.every is not None and "all" in given:
            given = list(self.every)
        earlier = getattr(namespace, self.dest, None)  # an earlier occurrence's items
        setattr(namespace, self.dest, [*earlier, *given] if isinstance(earlier, list) else given)


def _singular(name: str) -> str:
    """What one item of a list field is called in messages: ``accept_classes`` -> ``class``."""
    word = name.rsplit("_", 1)[-1]
    if word.endswith(("sses", "ches")):
        return word[:-2]
    if word.endswith("ss"):  # already singular: process
        return word
    return word.removesuffix("s")


def _help(field: FieldInfo, shown_default: bool = True, note: str = "") -> str:
    text = (field.description or "").rstrip(".") + note
    default = field.get_default(call_default_factory=True)
    if shown_default and default not in (None, "", [], {}) and not isinstance(default, BaseModel):
        if isinstance(default, list):
            default = ",".join(str(d) for d in default)
        text += f" (default: {default})"
    return text.replace("``", "").replace("%", "%%")


def add_section(
    parser: argparse.ArgumentParser,
    section: str,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """Add one option per field of the config section ``section`` (those of ``only``, less
    ``skip``) to ``parser``."""
    model = type(getattr(Config(), section))
    chosen = set(only) if only is not None else None
    for name, field in model.model_fields.items():
        if name in skip or (chosen is not None and name not in chosen):
            continue
        _add_field(parser, section, name, field)


def _add_field(parser: argparse.ArgumentParser, section: str, name: str, field: FieldInfo) -> None:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    cli: dict[str, Any] = extra.get("cli", {})  # type: ignore[assignment]
    annotation = _non_optional(field.annotation)
    origin = typing.get_origin(annotation)
    dest = f"{section}.{name}"
    flags = cli.get("flags", [f"--{name.replace('_', '-')}"])
    help_text = _help(field)

    if origin is list:
        (item_type,) = typing.get_args(annotation)
        item: Callable[[str], Any] = Path if item_type is Path else str
        every = None
        if typing.get_origin(item_type) is Literal:
            every = list(typing.get_args(item_type))
            extra_items = ("all",) if cli.get("all") else ()
            item = _choice(every, _singular(name), extra_items)
        if "positional" in cli:
            # SUPPRESS: no value given leaves the field alone (not an empty list)
            parser.add_argument(
                dest, nargs="*", type=item, metavar=cli["positional"], help=help_text,
                default=argparse.SUPPRESS,
            )  # fmt: skip
            return
        parser.add_argument(
            *flags, dest=dest, action=_ExtendItems, item=item,
            every=every if cli.get("all") else None, metavar=f"{_singular(name).upper()}[,...]",
            help=_help(field, note="; comma-separated, or the option repeated"),
        )  # fmt: skip
        return
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return  # nested sections and tables: the config file only
    if "positional" in cli:
        parser.add_argument(
            dest, nargs="?", type=annotation, metavar=cli["positional"], help=help_text
        )
        return
    kwargs: dict[str, Any] = {"dest": dest, "help": help_text}
    if annotation is not bool:
        kwargs["metavar"] = name.upper()
    if annotation is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif origin is Literal:
        kwargs["choices"] = list(typing.get_args(annotation))
        kwargs.pop("metavar")
    elif annotation in (int, float):
        kwargs["type"] = _number(annotation, _bounds(field))
    elif annotation is Path:
        kwargs["type"] = Path
    parser.add_argument(*flags, **kwargs)


def apply_overrides(config: Config, args: argparse.Namespace) -> Config:
    """``config`` with every option given on the command line (``"<section>.<field>"`` values
    that are not None or an empty positional list) written onto its section."""
    by_section: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if "." not in key or value is None:
            continue
        section, name = key.split(".", 1)
        by_section.setdefault(section, {})[name] = value
    for section, values in by_section.items():
        config = with_overrides(config, section, **values)
    return config
