"""The ``dltrigger`` command: one subcommand per pipeline stage, each flag a config override."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import MODEL_NAMES, PROCESSES, Config, load_config, with_overrides
from .errors import DLTriggerError, did_you_mean


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (no usage dump), naming the value."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _process(text: str) -> str:
    if text == "all" or text in PROCESSES:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown process {text!r}{did_you_mean(text, PROCESSES)}; "
        f"valid: {', '.join(PROCESSES)}, all"
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="configuration file (default: ./dltrigger.toml if present)"
    )
    parser.add_argument("--master", help="Spark master URL, e.g. local[2] or spark://host:7077")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dltrigger",
        description="Event-topology classification for the LHC trigger: ROOT -> Spark -> PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"dltrigger {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = commands.add_parser(
        "generate",
        help="generate Delphes-format ROOT files (Pythia 8 + fast detector simulation)",
        description=(
            "Generate W+jets, ttbar and lepton-enriched QCD events at 13 TeV with Pythia 8, pass "
            "them through a fast CMS-like detector simulation and write Delphes-format ROOT files "
            "<process>_<index>.root (tree 'Delphes'), one Spark task per file. Defaults come from "
            "the [generate] section of the configuration."
        ),
    )
    gen.add_argument(
        "--process",
        nargs="+",
        type=_process,
        metavar="{wjets,ttbar,qcd,all}",
        help="process(es) to generate",
    )
    gen.add_argument("--events", type=_positive_int, help="events written per process")
    gen.add_argument("--events-per-file", type=_positive_int, help="events per output file")
    gen.add_argument("--seed", type=_non_negative_int, help="random seed (same seed, same files)")
    gen.add_argument("--out", type=Path, help="output folder")
    gen.add_argument(
        "--overwrite", action="store_true", default=None, help="replace existing output files"
    )
    gen.add_argument("--batch-size", type=_positive_int, help="events per Pythia batch")
    gen.add_argument(
        "--mpi",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="multiparton interactions (underlying event)",
    )
    gen.add_argument("--pileup", type=float, dest="pileup_mean", help="mean pile-up interactions")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(gen)
    gen.set_defaults(handler=_generate)

    ing = commands.add_parser(
        "ingest",
        help="read ROOT files (local, globs, root:// URLs) into Spark and save them as Parquet",
        description=(
            "Read the samples' ROOT files through Spark (format 'root', uproot underneath) and "
            "write one Parquet dataset partitioned by label, with columns label, sample, "
            "source_file and entry added, and a JSON report. Files given as INPUT are assigned "
            "to samples by their name prefix (wjets_*.root, Wlnu_lepFilter_13TeV_*.root, ...); "
            "with no INPUT the [ingest.samples] of the configuration are read."
        ),
    )
    ing.add_argument("inputs", nargs="*", metavar="INPUT", help="files, folders, globs or URLs")
    ing.add_argument("--out", type=Path, help="output folder (Parquet dataset)")
    ing.add_argument("--tree", help="tree name (default Delphes)")
    ing.add_argument("--branches", help="comma-separated collections/branches to read")
    ing.add_argument(
        "--skip-bad-files",
        action="store_true",
        default=None,
        help="leave out unreadable files (listed in the report) instead of failing",
    )
    ing.add_argument("--overwrite", action="store_true", default=None, help="replace the output")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(ing)
    ing.set_defaults(handler=_ingest)

    feat = commands.add_parser(
        "features",
        help="select isolated-lepton events, compute HLF and particle lists, split, scale",
        description=(
            "Select events with an isolated lepton, compute the 14 high-level features and the "
            "19-feature particle lists, split train/test by a hash of (file, entry), and write "
            "the datasets full/, balanced/ and dev/ with scaling statistics fitted on the "
            "training split and a manifest beside each."
        ),
    )
    feat.add_argument("input", nargs="?", type=Path, help="ingested dataset (default: config)")
    feat.add_argument("--out", type=Path, help="output folder")
    feat.add_argument("--test-fraction", type=float, help="test share (default 0.2)")
    feat.add_argument("--dev-per-class", type=_positive_int, help="events per class in dev/")
    feat.add_argument(
        "--balance", action=argparse.BooleanOptionalAction, default=None, help="write balanced/"
    )
    feat.add_argument("--overwrite", action="store_true", default=None, help="replace the output")
    feat.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(feat)
    feat.set_defaults(handler=_features)

    tr = commands.add_parser(
        "train",
        help="train a classifier on a features dataset (single process)",
        description="Train one of the models on a features dataset (full/, balanced/ or dev/), "
        "validating on its test split every epoch; writes a run folder with the config, "
        "metrics (CSV/JSON), the last checkpoint and the best model, exported to ONNX and "
        "TorchScript. Every option overrides the [train] section of the config file.",
    )
    tr.add_argument("--model", choices=list(MODEL_NAMES), help="default: config (inclusive)")
    tr.add_argument("--data", type=Path, help="features dataset folder (default: config)")
    tr.add_argument("--out", type=Path, help="run folder (default: runs/MODEL)")
    tr.add_argument("--epochs", type=_positive_int)
    tr.add_argument("--batch-size", type=_positive_int)
    tr.add_argument("--learning-rate", type=float)
    tr.add_argument("--lr-schedule", choices=["constant", "cosine", "plateau"])
    tr.add_argument("--seed", type=_non_negative_int)
    tr.add_argument("--patience", type=_positive_int, help="early-stopping epochs")
    tr.add_argument("--max-particles", type=_positive_int)
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
    tr.add_argument("--threads", type=_non_negative_int, help="torch CPU threads (0: default)")
    tr.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training on the Spark master (DDP through TorchDistributor)",
    )
    tr.add_argument(
        "--num-processes",
        type=_positive_int,
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
    _add_common(tr)
    _add_tracking(tr)
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
    tu.add_argument("--folds", type=_non_negative_int, help="k-fold (0: the test split)")
    tu.add_argument("--metric", help="val_loss (default), val_accuracy or val_auc_<class>")
    tu.add_argument(
        "--overwrite", action="store_true", default=None, help="replace the output folder"
    )
    tu.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(tu)
    _add_tracking(tu)
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
    _add_common(bl)
    _add_tracking(bl)
    bl.set_defaults(handler=_baselines)
    return parser


def _comma_list(text: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]`` (an empty string gives an empty list)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _config_for(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if args.master:
        config = with_overrides(config, "spark", master=args.master)
    if getattr(args, "tracking", None) is not None:
        config = with_overrides(config, "tracking", enabled=args.tracking)
    return config


def _add_tracking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking",
        action=argparse.BooleanOptionalAction,
        help="log to MLflow (default: config [tracking], on; store ./mlruns)",
    )


def _generate(args: argparse.Namespace) -> int:
    from .generate.job import generate
    from .generate.summary import print_summary

    config = _config_for(args)
    processes = None
    if args.process:
        processes = list(PROCESSES) if "all" in args.process else args.process
    config = with_overrides(
        config,
        "generate",
        processes=processes,
        events=args.events,
        events_per_file=args.events_per_file,
        seed=args.seed,
        out=args.out,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        mpi=args.mpi,
        pileup_mean=args.pileup_mean,
    )
    reports = generate(config, progress=not args.quiet)
    print_summary(reports, config.generate.out)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from .ingest.job import ingest
    from .ingest.summary import print_report

    config = with_overrides(
        _config_for(args),
        "ingest",
        out=args.out,
        tree=args.tree,
        branches=_comma_list(args.branches) if args.branches else None,
        skip_bad_files=args.skip_bad_files,
        overwrite=args.overwrite,
    )
    report = ingest(config, inputs=args.inputs or None, progress=not args.quiet)
    print_report(report)
    return 0


def _features(args: argparse.Namespace) -> int:
    from .features.job import features

    config = with_overrides(
        _config_for(args),
        "features",
        input=args.input,
        out=args.out,
        test_fraction=args.test_fraction,
        dev_per_class=args.dev_per_class,
        balance=args.balance,
        overwrite=args.overwrite,
    )
    manifests = features(config, progress=not args.quiet)
    for name, m in manifests.items():
        counts = ", ".join(f"label {k}: {v}" for k, v in m["counts"].items())
        print(f"{config.features.out}/{name}: {counts}; train/test {m['per_split']}")
    full = manifests["full"]
    print(
        "selection efficiency: "
        + ", ".join(f"{s} {e['efficiency']:.1%}" for s, e in full["selection_efficiency"].items())
        + f"; {full['bytes_per_event']:.0f} bytes/event on disk vs "
        f"{full['padded_bytes_per_event']} padded; {full['seconds']:.1f} s"
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    from .models import describe_parameters
    from .train.trainer import train

    base = _config_for(args)
    if args.tuned is not None:
        base = _apply_tuned(base, args.tuned)
    export = None if args.export is None else _comma_list(args.export)
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
        from .spark.session import get_spark

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

    from .errors import ConfigError
    from .tune.grid import apply

    path = folder / "best.json"
    if not path.exists():
        raise ConfigError(f"{path} not found (is {folder} a `dltrigger tune` output?)")
    best = json.loads(path.read_text())
    train = config.train.model_copy(update={"model": best["model"]})
    return config.model_copy(update={"train": apply(train, best["point"])})


def _tune(args: argparse.Namespace) -> int:
    from .tune.job import tune
    from .tune.summary import print_summary

    config = with_overrides(
        _config_for(args),
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
    from .spark.session import get_spark
    from .train.spark_ml import train_baselines

    config = with_overrides(
        _config_for(args),
        "baselines",
        data=args.data,
        out=args.out,
        models=_comma_list(args.models) if args.models else None,
        overwrite=args.overwrite,
    )
    results = train_baselines(config.baselines, get_spark(config.spark), config.tracking)
    for name, m in results.items():
        aucs = ", ".join(f"{k[4:]} {v:.4f}" for k, v in m.items() if k.startswith("auc_"))
        print(f"{name}: accuracy {m['accuracy']:.4f}, AUC {aucs} ({m['seconds']:.1f} s)")
    print(f"models, scores and metrics in {config.baselines.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
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
