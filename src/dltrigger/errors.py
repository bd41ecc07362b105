"""Exceptions with enough context to act on: the file, tree, branch or value, and what is valid."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias

#: An error as it is pickled: its class, its ``args`` and its ``__dict__``.
_Pickled: TypeAlias = tuple[type[Exception], tuple[object, ...], dict[str, object]]


def _rebuild(cls: type[Exception], args: tuple[object, ...], state: dict[str, object]) -> Exception:
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class DLTriggerError(Exception):
    """Base class of every error dltrigger raises on purpose (the CLI prints these in one line)."""

    def __reduce__(self) -> tuple[Callable[..., Exception], _Pickled]:
        # Subclasses take other constructor arguments than their message: rebuild them from
        # their state, so that an error crosses a Spark task's pickling with its type intact.
        return (_rebuild, (type(self), self.args, self.__dict__))


class ConfigError(DLTriggerError):
    """A configuration file or command-line value is invalid."""


class GenerationError(DLTriggerError):
    """Event generation could not run or could not write its output."""


class OutputExistsError(DLTriggerError):
    """An output would overwrite existing files and overwriting was not asked for."""


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest valid name, or ``""`` if none is close."""
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class InputError(DLTriggerError):
    """An input path, glob or URL that cannot be used."""


class RootFileError(InputError):
    """A ROOT file that cannot be opened or read: names the file and what is wrong."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class TreeNotFoundError(RootFileError):
    def __init__(self, path: str, tree: str, available: list[str]):
        self.tree = tree
        names = ", ".join(available) if available else "none"
        super().__init__(
            path, f"no tree {tree!r}{did_you_mean(tree, available)}; trees in the file: {names}"
        )


class BranchNotFoundError(RootFileError):
    def __init__(self, path: str, tree: str, branch: str, available: Sequence[str]):
        self.tree = tree
        self.branch = branch
        super().__init__(
            path,
            f"tree {tree!r} has no branch or collection {branch!r}"
            f"{did_you_mean(branch, available)}",
        )


class SchemaMismatchError(RootFileError):
    """A branch whose type in one file cannot be reconciled with its type in another."""

    def __init__(self, path: str, tree: str, branch: str, here: str, other: str, there: str):
        self.tree = tree
        self.branch = branch
        super().__init__(
            path, f"branch {branch!r} of tree {tree!r} is {here} here but {there} in {other}"
        )


class BadValueError(RootFileError):
    """A number no collision can produce (NaN, infinite, or outside its physical bounds,
    :mod:`dltrigger.bounds`): the file's data are damaged, typically a basket whose
    compression has no checksum (ZSTD) and that decompressed into garbage."""

    def __init__(self, path: str, tree: str, branch: str, entry: int, value: float, expected: str):
        self.tree = tree
        self.branch = branch
        self.entry = entry
        self.value = value
        super().__init__(
            path,
            f"branch {branch!r} of tree {tree!r} holds {value:.6g} at entry {entry}, not "
            f"{expected}: the file's data are damaged (a corrupt basket)",
        )


class IncompleteFileError(RootFileError):
    """A file that lacks collections or members other input files have (never dropped silently)."""

    def __init__(self, path: str, tree: str, missing: list[str], other: str):
        self.tree = tree
        self.missing = missing
        shown = ", ".join(repr(m) for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        super().__init__(
            path,
            f"tree {tree!r} lacks {shown}{more}, which {other} has: read the collections all "
            "files share (--branches, [ingest] branches) or leave this file out "
            "(--skip-bad-files)",
        )


class OutputError(DLTriggerError):
    """An output location that cannot be written, or exists and may not be replaced."""


class SparkError(DLTriggerError):
    """Spark cannot be started or reached (names the master URL)."""


class IngestError(DLTriggerError):
    """The ingest job failed while reading or writing (the cause names the file)."""


class FeaturesError(DLTriggerError):
    """The features stage cannot use its input (names the file and the column)."""


class TrainingError(DLTriggerError):
    """Training cannot go on (NaN loss, a checkpoint of another config, an existing run...)."""


class DatasetError(DLTriggerError):
    """A features dataset that cannot be used (names the folder or file and what is wrong)."""


class EvaluationError(DLTriggerError):
    """A trained model cannot be evaluated (no checkpoint, another feature schema...)."""


class PipelineError(DLTriggerError):
    """A stage of ``dltrigger run`` failed (the message names the stage)."""


class StreamError(DLTriggerError):
    """The streaming query stopped on an error (bad input files are quarantined, not this)."""
