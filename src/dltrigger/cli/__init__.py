"""The ``dltrigger`` command: one subcommand per pipeline stage, each flag a config override."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import FROM_COMMAND_LINE, DLTriggerError
from . import data, l1, pipeline, training, trigger
from .common import OneLineParser


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="dltrigger",
        description="Event-topology classification for the LHC trigger: ROOT -> Spark -> PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"dltrigger {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    data.add_commands(commands)
    training.add_commands(commands)
    l1.add_commands(commands)
    pipeline.add_commands(commands)
    trigger.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends in one ``dltrigger <command>: error: ...`` line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    from ..spark.session import log_size

    logged = log_size()  # a session reused in this process may have logged before
    spelling = FROM_COMMAND_LINE.set(True)  # messages name flags, not keywords
    try:
        return args.handler(args)
    except DLTriggerError as exc:
        return _failed(args.command, str(exc), verbose, logged)
    except KeyboardInterrupt:
        print(f"dltrigger {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # not one of ours: a bug, or a failure nobody foresaw
        if verbose:
            raise
        from ..spark.failures import root_cause

        cause = root_cause(exc).splitlines()[0]
        return _failed(
            args.command,
            f"{cause} (unexpected {type(exc).__name__}: --verbose shows the traceback)",
            verbose,
            logged,
        )
    finally:
        FROM_COMMAND_LINE.reset(spelling)


def _failed(command: str, message: str, verbose: bool, logged: int) -> int:
    """Print the error line, after the JVM log's path if Spark logged an error (not only
    warnings) during the command."""
    from ..spark.session import log_file

    log = log_file(since=logged)
    if log is not None and not verbose:
        print(f"dltrigger {command}: Spark's log (Java stack traces): {log}", file=sys.stderr)
    print(f"dltrigger {command}: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
