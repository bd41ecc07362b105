"""Subcommands that close the loop: ``evaluate`` (trained models -> report) and ``run`` (the
whole pipeline)."""

from __future__ import annotations

import argparse

from .common import add_common, add_tracking, config_for
from .options import add_section


def add_commands(commands) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="score trained models on a test split and write a report (Markdown and HTML)",
        description="Score the best model of each run folder on the test split of a features "
        "dataset: per-class one-vs-rest ROC curves and AUCs (bootstrap errors), accuracy, "
        "confusion matrix, score distributions and trigger working points (signal efficiency "
        "at 10%, 1% and 0.1% background; background rejection at 99% signal). Writes "
        "evaluation.json, PNG plots, report.md and a self-contained report.html. Options "
        "override the [evaluate] section of the config.",
    )
    add_section(ev, "evaluate")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(ev)
    ev.set_defaults(handler=_evaluate)

    rn = commands.add_parser(
        "run",
        help="the whole pipeline: generate, ingest, features, [tune], train, evaluate",
        description="Run every stage from the config in one Spark session, skipping a stage "
        "whose outputs are complete, made with the same settings and newer than its inputs "
        "(so a re-run after a failure resumes where it stopped). Ends with a summary: the "
        "report's location, the headline AUCs and the time of every stage.",
    )
    add_section(rn, "run")
    rn.add_argument("--quiet", action="store_true", help="no progress display")
    add_common(rn)
    add_tracking(rn)
    rn.set_defaults(handler=_run)


def _evaluate(args: argparse.Namespace) -> int:
    from .. import evaluate
    from .evaluate_summary import print_evaluation

    result = evaluate.run(config_for(args), progress=not args.quiet)
    print_evaluation(result.evaluation, result.out)
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..pipeline import run_pipeline
    from .evaluate_summary import print_evaluation, print_stages

    def tables(name: str, result) -> None:  # the tables of data stages and l1, as their commands
        if args.quiet:
            return
        from ..progress import console

        if name == "generate":
            from .generate_summary import print_summary

            print_summary(list(result.files), result.out, console=console)
        elif name == "ingest":
            from .ingest_summary import print_report

            print_report(result.report, console=console)
        elif name == "l1":
            from .l1_summary import print_summary as print_l1

            print_l1(result.summary, result.out, console=console)

    result = run_pipeline(config_for(args), progress=not args.quiet, on_stage=tables)
    print_stages(result.stages)
    print_evaluation(result.evaluation, result.out)
    return 0
