"""Subcommands of the data stages: ``generate``, ``ingest``, ``features``."""

from __future__ import annotations

import argparse

from .common import add_collections, add_common, config_for
from .options import add_section


def add_commands(commands) -> None:
    gen = commands.add_parser(
        "generate",
        help="generate Delphes-format ROOT files (Pythia 8 + fast detector simulation)",
        description=(
            "Generate events at 13 TeV with Pythia 8 (the processes of [generate.processes]: "
            "W+jets, ttbar, lepton-enriched or generic QCD, or your own Pythia settings), pass "
            "them through a fast re-implementation of a Delphes CMS card (Phase-II by default) "
            "and write Delphes-format ROOT files <process>_<index>.root (tree 'Delphes'), one "
            "Spark task per file. Defaults come from the [generate] section of the configuration."
        ),
    )
    add_section(gen, "generate")
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
    add_section(ing, "ingest")
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
    add_section(feat, "features")
    add_collections(feat, "collection names of a card: cms (Muon), phase2 or dltrigger "
                    "(MuonTight); auto (default): detected from the ingested columns")  # fmt: skip
    feat.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(feat)
    feat.set_defaults(handler=_features)


def _generate(args: argparse.Namespace) -> int:
    from .. import generate
    from .generate_summary import print_summary

    result = generate.run(config_for(args), progress=not args.quiet)
    print_summary(list(result.files), result.out)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from .. import ingest
    from .ingest_summary import print_report

    result = ingest.run(config_for(args), progress=not args.quiet)
    assert result.report is not None
    print_report(result.report)
    return 0


def _features(args: argparse.Namespace) -> int:
    from .. import features
    from ..features import note as features_note
    from ..schema import class_counts_text

    result = features.run(config_for(args), progress=not args.quiet)
    for name, m in result.manifests.items():
        counts = class_counts_text({int(k): v for k, v in m["counts"].items()})
        splits = ", ".join(f"{s} {n:,}" for s, n in m["per_split"].items())
        print(f"{result.out}/{name}: {counts} events; {splits}")
    full = result.manifests["full"]
    print(
        "selection efficiency: "
        + ", ".join(f"{s} {e['efficiency']:.1%}" for s, e in full["selection_efficiency"].items())
        + f"; {full['bytes_per_event']:.0f} bytes/event on disk vs "
        f"{full['padded_bytes_per_event']} padded; {full['seconds']:.1f} s"
    )
    print(features_note(full))
    return 0
