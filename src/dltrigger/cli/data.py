"""Subcommands of the data stages: ``generate``, ``ingest``, ``features``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import PROCESSES, with_overrides
from ..errors import did_you_mean
from .common import add_common, comma_list, config_for, non_negative_int, positive_int


def _process(text: str) -> str:
    if text == "all" or text in PROCESSES:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown process {text!r}{did_you_mean(text, PROCESSES)}; "
        f"valid: {', '.join(PROCESSES)}, all"
    )


def add_commands(commands) -> None:
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
    gen.add_argument(
        "--events", type=positive_int, help="events written per process (all processes)"
    )
    gen.add_argument("--events-per-file", type=positive_int, help="events per output file")
    gen.add_argument("--seed", type=non_negative_int, help="random seed (same seed, same files)")
    gen.add_argument("--out", type=Path, help="output folder")
    gen.add_argument(
        "--overwrite", action="store_true", default=None, help="replace existing output files"
    )
    gen.add_argument("--batch-size", type=positive_int, help="events per Pythia batch")
    gen.add_argument(
        "--mpi",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="multiparton interactions (underlying event)",
    )
    gen.add_argument("--pileup", type=float, dest="pileup_mean", help="mean pile-up interactions")
    gen.add_argument(
        "--detector",
        choices=["reference", "cms", "legacy"],
        help="detector preset: reference (CMS card, lepton isolation relaxed), cms (the standard "
        "card), legacy (before overlap removal)",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(gen)
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
    add_common(ing)
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
    feat.add_argument("--dev-per-class", type=positive_int, help="events per class in dev/")
    feat.add_argument(
        "--balance", action=argparse.BooleanOptionalAction, default=None, help="write balanced/"
    )
    feat.add_argument(
        "--collections",
        choices=["auto", "cms", "phase2", "dltrigger"],
        help="collection names of a card: cms (Muon), phase2 or dltrigger (MuonTight); "
        "auto (default): detected from the ingested columns",
    )
    feat.add_argument(
        "--empty-classes",
        choices=["error", "drop"],
        help="a class with no selected event: stop (default) or write the datasets without it",
    )
    feat.add_argument("--overwrite", action="store_true", default=None, help="replace the output")
    feat.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(feat)
    feat.set_defaults(handler=_features)


def _generate(args: argparse.Namespace) -> int:
    from ..generate.job import generate
    from ..generate.summary import print_summary

    config = config_for(args)
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
        detector=args.detector,
    )
    reports = generate(config, progress=not args.quiet)
    print_summary(reports, config.generate.out)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from ..ingest.job import ingest
    from ..ingest.summary import print_report

    config = with_overrides(
        config_for(args),
        "ingest",
        out=args.out,
        tree=args.tree,
        branches=comma_list(args.branches) if args.branches else None,
        skip_bad_files=args.skip_bad_files,
        overwrite=args.overwrite,
    )
    report = ingest(config, inputs=args.inputs or None, progress=not args.quiet)
    print_report(report)
    return 0


def _features(args: argparse.Namespace) -> int:
    from ..features.job import features
    from ..pipeline import features_note

    config = config_for(args)
    collections = None
    if args.collections:
        collections = config.features.collections.model_copy(update={"preset": args.collections})
    config = with_overrides(
        config,
        "features",
        collections=collections,
        empty_classes=args.empty_classes,
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
    print(features_note(full))
    return 0
