"""What every ``dltrigger`` subcommand shares: one-line errors, value types, common flags and
the configuration they override."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Config, load_config, with_overrides
from ..io.paths import bound_remote_waits


class OneLineParser(argparse.ArgumentParser):
    """Argument errors in one line (no usage dump), naming the value."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="configuration file (default: ./dltrigger.toml if present)"
    )
    parser.add_argument("--master", help="Spark master URL, e.g. local[2] or spark://host:7077")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Spark's warnings and Java stack traces on the console (else in a log file, "
        "named with an error), and the Python traceback of an unexpected error",
    )


def comma_list(text: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]`` (an empty string gives an empty list)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def config_for(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    bound_remote_waits(config.ingest.remote_timeout)  # before any root:// access of any command
    if args.master:
        config = with_overrides(config, "spark", master=args.master)
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
