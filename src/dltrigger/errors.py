"""Exceptions with enough context to act on: the file, tree, branch or value, and what is valid.

Every error dltrigger raises on purpose is a [`DLTriggerError`][], and also the builtin
exception it is a case of, where one fits (as uproot's ``KeyInFileError`` is a ``KeyError``):
``except FileExistsError`` catches [`OutputExistsError`][], ``except KeyError`` a missing
tree or branch, ``except ValueError`` a bad setting. A message that tells the caller what to
change names the command-line flag when the command line called (``--overwrite``), the
keyword when Python did (``overwrite=True``): [`option`][].
"""

from __future__ import annotations

import contextvars
import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias

#: Set by the command line: messages then name flags, not Python keywords.
FROM_COMMAND_LINE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "dltrigger_from_command_line", default=False
)


def option(flag: str, python: str) -> str:
    """``flag`` (e.g. ``"--overwrite"``) for a command-line caller, else ``python`` (e.g.
    ``"overwrite=True"``)."""
    return flag if FROM_COMMAND_LINE.get() else python


#: An error as it is pickled: its class, its ``args`` and its ``__dict__``.
_Pickled: TypeAlias = tuple[type[Exception], tuple[object, ...], dict[str, object]]


def _rebuild(cls: type[Exception], args: tuple[object, ...], state: dict[str, object]) -> Exception:
    error = cls.__new__(cls)  # OSError subclasses need their own __new__
    error.args = args
    error.__dict__.update(state)
    return error


class DLTriggerError(Exception):
    """Base class of every error dltrigger raises on purpose (the CLI prints these in one line)."""

    def __reduce__(self) -> tuple[Callable[..., Exception], _Pickled]:
        # Subclasses take other constructor arguments than their message: rebuild them from
        # their state, so that an error crosses a Spark task's pickling with its type intact.
        return (_rebuild, (type(self), self.args, self.__dict__))


class ConfigError(DLTriggerError, ValueError):
    """A configuration file or command-line value is invalid."""


class GenerationError(DLTriggerError):
    """Event generation could not run or could not write its output."""


class OutputError(DLTriggerError, OSError):
    """An output location that cannot be written, or exists and may not be replaced."""


class OutputExistsError(OutputError, FileExistsError):
    """An output exists and replacing it was not asked for (every stage raises this one)."""


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


class _KeyMissing(KeyError):
    """A ``KeyError`` whose text is its message (``KeyError`` quotes its argument)."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class TreeNotFoundError(RootFileError, _KeyMissing):
    """The file has no tree of that name (names the trees it has)."""

    def __init__(self, path: str, tree: str, available: list[str]):
        self.tree = tree
        names = ", ".join(available) if available else "none"
        super().__init__(
            path, f"no tree {tree!r}{did_you_mean(tree, available)}; trees in the file: {names}"
        )


class BranchNotFoundError(RootFileError, _KeyMissing):
    """The tree has no branch of that name (names the nearest ones)."""

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
    [`dltrigger.bounds`][]): the file's data are damaged, typically a basket whose
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


class L1Error(DLTriggerError):
    """``dltrigger l1``: the model has no route into L1 firmware, or the hls4ml conversion
    or the g++ build of its C simulation failed (the message names the step and its output)."""


class StreamError(DLTriggerError):
    """The streaming query stopped on an error (bad input files are quarantined, not this)."""
