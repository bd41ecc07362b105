"""Subcommands that close the loop: ``evaluate`` (trained models -> report) and ``run`` (the
whole pipeline)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import MODEL_NAMES, with_overrides
from .common import add_common, add_tracking, comma_list, config_for, non_negative_int


def add_commands(commands) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="score trained models on a test split and write a report (Markdown and HTML)",
        description="Score the best model of each run folder on the test split of a features "
        "dataset: per-class one-vs-rest ROC curves and AUCs (bootstrap errors), accuracy, "
        "confusion matrix, score distributions and trigger working points (signal efficiency "
        "at 10%%, 1%% and 0.1%% background; background rejection at 99%% signal). Writes "
        "evaluation.json, PNG plots, report.md and a self-contained report.html. Options "
        "override the [evaluate] section of the config.",
    )
    ev.add_argument("runs", nargs="*", type=Path, help="run folders (default: config)")
    ev.add_argument("--data", type=Path, help="features dataset whose test split is scored")
    ev.add_argument("--out", type=Path, help="report folder (default: runs/report)")
    ev.add_argument("--bootstrap", type=non_negative_int, help="AUC resamplings (0: none)")
    ev.add_argument(
        "--overwrite", action="store_true", default=None, help="replace the report folder"
    )
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
    rn.add_argument("--models", help=f"comma-separated, from {', '.join(MODEL_NAMES)}")
    rn.add_argument(
        "--tune", action=argparse.BooleanOptionalAction, help="grid search before training"
    )
    rn.add_argument(
        "--generate",
        action=argparse.BooleanOptionalAction,
        help="the generate stage (--no-generate for existing/real files in [ingest.samples])",
    )
    rn.add_argument("--force", action="store_true", default=None, help="re-run every stage")
    rn.add_argument("--quiet", action="store_true", help="no progress display")
    add_common(rn)
    add_tracking(rn)
    rn.set_defaults(handler=_run)


def _evaluate(args: argparse.Namespace) -> int:
    from ..evaluate.job import evaluate
    from ..evaluate.summary import print_evaluation

    config = with_overrides(
        config_for(args),
        "evaluate",
        runs=args.runs or None,
        data=args.data,
        out=args.out,
        bootstrap=args.bootstrap,
        overwrite=args.overwrite,
    )
    settings = config.evaluate
    results = evaluate(
        settings.runs, settings.data, settings.out, settings.overwrite, settings.bootstrap
    )
    print_evaluation(results, settings.out)
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..evaluate.summary import print_evaluation, print_stages
    from ..pipeline import run_pipeline

    config = with_overrides(
        config_for(args),
        "run",
        models=comma_list(args.models) if args.models else None,
        tune=args.tune,
        generate=args.generate,
        force=args.force,
    )
    outcomes = run_pipeline(config, progress=not args.quiet)
    report = Path(config.evaluate.out)
    print_stages(outcomes)
    print_evaluation(json.loads((report / "evaluation.json").read_text()), report)
    return 0
