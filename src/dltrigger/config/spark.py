"""``[spark]``: the Spark session every stage shares."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ._base import _Strict


class SparkConfig(_Strict):
    """Spark settings; ``master`` takes any Spark master URL (``local[*]``, ``spark://h:7077``...)."""

    master: str = Field(
        default="local[*]", description="Spark master URL, e.g. local[2] or spark://host:7077."
    )
    app_name: str = Field(default="dltrigger", description="Spark application name.")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra ``spark.*`` settings passed to the session builder unchanged.",
    )
    log_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the JVM's log files (warnings, Java stack traces), one per session, written"
            " only when something is logged; unset: ``<system temp>/dltrigger-logs``."
        ),
    )
    console_log_level: Literal["off", "error", "warn", "info"] = Field(
        default="error",
        description=(
            'JVM log lines also shown on the console. The commands show none ("off": the log file '
            'has them, its path is printed with an error) unless ``--verbose`` ("warn").'
        ),
    )
    connect_timeout: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds a ``spark://`` master has to accept a connection, and as long again to "
            "register the application once the driver JVM is up, before the command gives up "
            "(a port that accepts connections but is no Spark master answers nothing)."
        ),
    )
    fast_start: bool = Field(
        default=True,
        description=(
            "A faster start of a local session's JVM: its classes from a class-data-sharing "
            "archive (written by the first session at its exit, then reused) and the serial "
            "garbage collector; the session starts in about half the time (docs/benchmarks.md). "
            "Local masters only. A damaged archive is removed with a warning, and written anew "
            "(docs/outputs.md)."
        ),
    )
    class_archive_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the class-data-sharing archives of fast_start (one per Spark and Java "
            "installation, ~170 MB); unset: ``$XDG_CACHE_HOME/dltrigger`` or "
            "``~/.cache/dltrigger``."
        ),
    )
    executor: Literal["auto", "spark", "local"] = Field(
        default="auto",
        description=(
            "Who runs the per-chunk work of ingest, features and score: ``spark`` (Spark tasks, "
            "any master), ``local`` (a process pool over this machine's cores, no JVM) or "
            "``auto``: ``local`` for a ``local[...]`` master and inputs below ``local_max_bytes``,"
            " Spark otherwise and always for a cluster master. Both write the same Parquet."
        ),
    )
    local_max_bytes: int = Field(
        default=1_000_000_000,
        ge=0,
        description=(
            "``auto`` runs in-process below this many input bytes (docs/benchmarks.md: below it"
            " the JVM's start-up costs more than Spark's parallelism gains on one machine)."
        ),
    )
