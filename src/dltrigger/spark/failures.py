"""Turn a failed Spark job's exception into the one line that says what went wrong."""

from __future__ import annotations

import re

_OUR_ERROR = re.compile(r"dltrigger\.errors\.(\w+): (.+)")


def root_cause(exc: BaseException) -> str:
    """The message of the dltrigger error raised inside a task, else the last error line (or,
    for an error raised outside Spark, ``Type: message``).

    A Python error inside a Spark task reaches the driver wrapped in a Java stack trace; the
    original ``Type: message`` line is in its text.
    """
    from ..errors import DLTriggerError

    if isinstance(exc, DLTriggerError):  # raised in this process, or by a local worker
        return str(exc)
    if not type(exc).__module__.startswith(("py4j", "pyspark")):
        return f"{type(exc).__name__}: {exc}"
    text = str(exc)
    ours = _OUR_ERROR.findall(text)
    if ours:
        return ours[-1][1].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line and ":" in line and not line.startswith("at "):
            return line
    return lines[-1] if lines else type(exc).__name__
