"""Exceptions with enough context to act on: the file, tree, branch or value, and what is valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DLTriggerError(Exception):
    """Base class of every error dltrigger raises on purpose (the CLI prints these in one line)."""


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
