"""Subcommands of the learning stages: ``train``, ``tune``, ``baselines``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import MODEL_NAMES, Config, with_overrides
from .common import (
    add_common,
    add_tracking,
    comma_list,
    config_for,
    non_negative_int,
    positive_int,
)


def add_commands(commands) -> None:
    tr = commands.add_parser(
        "train",
        help="train a classifier on a features dataset (one process or data-parallel)",
        description="Train one of the models on a features dataset (full/, balanced/ or dev/), "
        "validating on its test split every epoch; writes a run folder with the config, "
        "metrics (CSV/JSON), the last checkpoint and the best model, exported to ONNX and "
        "TorchScript. Every option overrides the [train] section of the config file.",
    )
    tr.add_argument("--model", choices=list(MODEL_NAMES), help="default: config (inclusive)")
    tr.add_argument("--data", type=Path, help="features dataset folder (default: config)")
    tr.add_argument("--out", type=Path, help="run folder (default: runs/MODEL)")
    tr.add_argument("--epochs", type=positive_int)
    tr.add_argument("--batch-size", type=positive_int)
    tr.add_argument("--learning-rate", type=float)
    tr.add_argument("--lr-schedule", choices=["constant", "cosine", "plateau"])
    tr.add_argument("--seed", type=non_negative_int)
    tr.add_argument("--patience", type=positive_int, help="early-stopping epochs")
    tr.add_argument("--max-particles", type=positive_int)
    tr.add_argument(
        "--in-memory",
        action=argparse.BooleanOptionalAction,
        help="hold the dataset in memory (default: HLF model only)",
    )
    tr.add_argument(
        "--bucket-by-length",
        action=argparse.BooleanOptionalAction,
        help="batch similar particle-list lengths (faster, less mixed batches)",
    )
    tr.add_argument("--device", help="auto (default), cpu or cuda")
    tr.add_argument("--threads", type=non_negative_int, help="torch CPU threads (0: default)")
    tr.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training on the Spark master (DDP through TorchDistributor)",
    )
    tr.add_argument(
        "--num-processes",
        type=positive_int,
        help="data-parallel processes (default with --distributed: the master's cores)",
    )
    tr.add_argument(
        "--export",
        help="comma-separated export formats of the best model (onnx,torchscript; '' for none)",
    )
    tr.add_argument(
        "--tuned", type=Path, help="apply the best point of a `dltrigger tune` output folder"
    )
    tr.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    tr.add_argument(
        "--overwrite", action="store_true", default=None, help="replace an existing run folder"
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
    tu.add_argument("--model", choices=list(MODEL_NAMES), help="default: config (hlf)")
    tu.add_argument("--data", type=Path, help="features dataset (default: data/features/dev)")
    tu.add_argument("--out", type=Path, help="output folder (default: runs/tune)")
    tu.add_argument("--folds", type=non_negative_int, help="k-fold (0: the test split)")
    tu.add_argument("--metric", help="val_loss (default), val_accuracy or val_auc_<class>")
    tu.add_argument(
        "--overwrite", action="store_true", default=None, help="replace the output folder"
    )
    tu.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(tu)
    add_tracking(tu)
    tu.set_defaults(handler=_tune)

    bl = commands.add_parser(
        "baselines",
        help="Spark ML tree baselines (random forest, gradient-boosted trees) on the HLF",
        description="Fit Spark ML's RandomForestClassifier (100 trees, depth 10, as the "
        "reference) and one-vs-rest gradient-boosted trees on the 14 high-level features, "
        "and score the test split with the networks' metrics (per-class AUC from "
        "probabilities, accuracy).",
    )
    bl.add_argument("--data", type=Path, help="features dataset (default: config)")
    bl.add_argument("--out", type=Path, help="output folder (default: runs/baselines)")
    bl.add_argument("--models", help="comma-separated: random_forest,gbt")
    bl.add_argument(
        "--overwrite", action="store_true", default=None, help="replace the output folder"
    )
    add_common(bl)
    add_tracking(bl)
    bl.set_defaults(handler=_baselines)


def _train(args: argparse.Namespace) -> int:
    from ..models import describe_parameters
    from ..train.trainer import train

    base = config_for(args)
    if args.tuned is not None:
        base = _apply_tuned(base, args.tuned)
    export = None if args.export is None else comma_list(args.export)
    config = with_overrides(
        base,
        "train",
        model=args.model,
        data=args.data,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        lr_schedule=args.lr_schedule,
        seed=args.seed,
        patience=args.patience,
        max_particles=args.max_particles,
        in_memory=args.in_memory,
        bucket_by_length=args.bucket_by_length,
        device=args.device,
        threads=args.threads,
        num_processes=args.num_processes,
        export=export,
        overwrite=args.overwrite,
    )
    spark = None
    if args.distributed or config.train.num_processes > 1:
        from ..spark.session import get_spark

        spark = get_spark(config.spark)
        if args.distributed and args.num_processes is None:
            processes = spark.sparkContext.defaultParallelism
            config = with_overrides(config, "train", num_processes=processes)
    settings = config.train
    print(describe_parameters(settings.model, settings.model_options))
    if settings.num_processes > 1:
        master = spark.sparkContext.master
        print(f"data-parallel training: {settings.num_processes} processes on {master}")
    history = train(
        config.train, resume=args.resume, progress=not args.quiet, spark=spark,
        tracking=config.tracking,
    )  # fmt: skip
    best = min(history, key=lambda h: h["val_loss"])
    aucs = ", ".join(f"{k[8:]} {v:.3f}" for k, v in best.items() if k.startswith("val_auc_"))
    print(
        f"best epoch {best['epoch']}: val_loss {best['val_loss']:.4f}, "
        f"accuracy {best['val_accuracy']:.3f}, AUC {aucs}; run folder {settings.run_folder}"
    )
    return 0


def _apply_tuned(config: Config, folder: Path) -> Config:
    import json

    from ..errors import ConfigError
    from ..tune.grid import apply

    path = folder / "best.json"
    if not path.exists():
        raise ConfigError(f"{path} not found (is {folder} a `dltrigger tune` output?)")
    best = json.loads(path.read_text())
    train = config.train.model_copy(update={"model": best["model"]})
    return config.model_copy(update={"train": apply(train, best["point"])})


def _tune(args: argparse.Namespace) -> int:
    from ..tune.job import tune
    from ..tune.summary import print_summary

    config = with_overrides(
        config_for(args),
        "tune",
        model=args.model,
        data=args.data,
        out=args.out,
        folds=args.folds,
        metric=args.metric,
        overwrite=args.overwrite,
    )
    summary = tune(config, progress=not args.quiet)
    print_summary(summary, config.tune.out)
    return 0


def _baselines(args: argparse.Namespace) -> int:
    from ..spark.session import get_spark
    from ..baselines.job import train_baselines

    config = with_overrides(
        config_for(args),
        "baselines",
        data=args.data,
        out=args.out,
        models=comma_list(args.models) if args.models else None,
        overwrite=args.overwrite,
    )
    results = train_baselines(config.baselines, get_spark(config.spark), config.tracking)
    for name, m in results.items():
        aucs = ", ".join(f"{k[4:]} {v:.4f}" for k, v in m.items() if k.startswith("auc_"))
        print(f"{name}: accuracy {m['accuracy']:.4f}, AUC {aucs} ({m['seconds']:.1f} s)")
    print(f"models, scores and metrics in {config.baselines.out}")
    return 0
