"""The ``dltrigger`` command: one subcommand per pipeline stage, each flag a config override."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import DLTriggerError
from . import data, pipeline, training, trigger
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
    pipeline.add_commands(commands)
    trigger.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except DLTriggerError as exc:
        print(f"dltrigger {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dltrigger {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
