"""What every ``dltrigger`` subcommand shares: one-line errors, value types, common flags and
the configuration they override."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..config import Config, load_config, with_overrides
from ..io.paths import bound_remote_waits
from .options import apply_overrides


class OneLineParser(argparse.ArgumentParser):
    """Argument errors in one line (no usage dump), naming the value."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="configuration file (default: ./dltrigger.toml if present)"
    )
    parser.add_argument("--master", help="Spark master URL, e.g. local[2] or spark://host:7077")
    parser.add_argument(
        "--executor",
        choices=("auto", "spark", "local"),
        help="who runs the stage's tasks: Spark, a local process pool (no JVM), or auto: local "
        "for a local master and small inputs ([spark] executor)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Spark's warnings and Java stack traces on the console (else in a log file, "
        "named with an error), and the Python traceback of an unexpected error",
    )


def config_for(
    args: argparse.Namespace, before: Callable[[Config], Config] | None = None
) -> Config:
    """The configuration file's settings (changed by ``before``) with every option given on
    the command line."""
    loaded = load_config(args.config)
    config = apply_overrides(before(loaded) if before else loaded, args)
    bound_remote_waits(config.ingest.remote_timeout)  # before any root:// access of any command
    if getattr(args, "collections", None):
        collections = config.features.collections.model_copy(update={"preset": args.collections})
        config = with_overrides(config, "features", collections=collections)
    if args.master:
        config = with_overrides(config, "spark", master=args.master)
    if getattr(args, "executor", None):
        config = with_overrides(config, "spark", executor=args.executor)
    console = "warn" if getattr(args, "verbose", False) else "off"
    config = with_overrides(config, "spark", console_log_level=console)
    if getattr(args, "tracking", None) is not None:
        config = with_overrides(config, "tracking", enabled=args.tracking)
    return config


def add_tracking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking",
        action=argparse.BooleanOptionalAction,
        help="log to MLflow (default: config [tracking], on; store ./mlruns)",
    )


def add_collections(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--collections", choices=["auto", "cms", "phase2", "dltrigger"], help=help_text
    )
