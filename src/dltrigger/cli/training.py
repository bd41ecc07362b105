"""Subcommands of the learning stages: ``train``, ``tune``, ``baselines``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Config, with_overrides
from .common import add_common, add_tracking, config_for
from .options import add_section


def add_commands(commands) -> None:
    tr = commands.add_parser(
        "train",
        help="train a classifier on a features dataset (one process or data-parallel)",
        description="Train one of the models on a features dataset (full/, balanced/ or dev/), "
        "validating on its validation split every epoch (the test split only measures); "
        "writes a run folder with the config, metrics (CSV/JSON), the last checkpoint and the "
        "best model, exported to ONNX and TorchScript. Every option overrides the [train] "
        "section of the config file.",
    )
    add_section(tr, "train")
    tr.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training on the Spark master (DDP through TorchDistributor)",
    )
    tr.add_argument(
        "--tuned", type=Path, help="apply the best point of a `dltrigger tune` output folder"
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(tr)
    add_tracking(tr)
    tr.set_defaults(handler=_train)

    tu = commands.add_parser(
        "tune",
        help="grid search of training settings, one model per Spark task",
        description="Train one model per grid point (and fold) as Spark tasks on a small "
        "dataset broadcast once, rank the points by a validation metric, and write "
        "results.csv, best.json (used by `dltrigger train --tuned DIR`) and summary.json. "
        "With no [tune.grid] in the config: the reference's 243-point HLF grid.",
    )
    add_section(tu, "tune")
    tu.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(tu)
    add_tracking(tu)
    tu.set_defaults(handler=_tune)

    bl = commands.add_parser(
        "baselines",
        help="tree baselines on the HLF: random forest, boosted trees, XGBoost, LightGBM",
        description="Fit Spark ML's RandomForestClassifier (100 trees, depth 10, as the "
        "reference), one-vs-rest gradient-boosted trees, XGBoost on Spark and (single node) "
        "LightGBM on the 14 high-level features, and score the test split with the networks' "
        "metrics (per-class AUC from probabilities, accuracy).",
    )
    add_section(bl, "baselines")
    add_common(bl)
    add_tracking(bl)
    bl.set_defaults(handler=_baselines)


def _train(args: argparse.Namespace) -> int:
    from .. import train
    from ..models import describe_parameters

    # the tuned point first: an option given on the command line still wins over it
    tuned = None if args.tuned is None else lambda config: _apply_tuned(config, args.tuned)
    config = config_for(args, before=tuned)
    spark = None
    if args.distributed or config.train.num_processes > 1:
        from ..spark.session import get_spark

        spark = get_spark(config.spark)
        if args.distributed and getattr(args, "train.num_processes") is None:
            processes = spark.sparkContext.defaultParallelism
            config = with_overrides(config, "train", num_processes=processes)
    settings = config.train
    print(describe_parameters(settings.model, settings.model_options))
    if settings.num_processes > 1:
        assert spark is not None
        master = spark.sparkContext.master
        print(f"data-parallel training: {settings.num_processes} processes on {master}")
    result = train.run(config, spark=spark, progress=not args.quiet)
    best = result.best
    aucs = ", ".join(f"{name} {auc:.3f}" for name, auc in result.aucs.items())
    print(
        f"best epoch {best['epoch']}: val_loss {best['val_loss']:.4f}, "
        f"accuracy {best['val_accuracy']:.3f}, AUC {aucs}; run folder {result.out}"
    )
    return 0


def _apply_tuned(config: Config, folder: Path) -> Config:
    from ..artifacts import TuneResults

    return config.model_copy(update={"train": TuneResults(folder).tuned(config.train)})


def _tune(args: argparse.Namespace) -> int:
    from .. import tune
    from .tune_summary import print_summary

    result = tune.run(config_for(args), progress=not args.quiet)
    print_summary(result.summary, result.out)
    return 0


def _baselines(args: argparse.Namespace) -> int:
    from .. import baselines

    result = baselines.run(config_for(args))
    for name, m in result.metrics.items():
        aucs = ", ".join(f"{k[4:]} {v:.4f}" for k, v in m.items() if k.startswith("auc_"))
        print(f"{name}: accuracy {m['accuracy']:.4f}, AUC {aucs} ({m['seconds']:.1f} s)")
    print(f"models, scores and metrics in {result.out}")
    return 0
