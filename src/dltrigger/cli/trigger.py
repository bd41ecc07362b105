"""Subcommands that use a trained model as a trigger: ``stream`` and ``score``."""

from __future__ import annotations

import argparse

from .common import add_collections, add_common, config_for
from .options import add_section

#: The [stream] settings that ``dltrigger score`` uses too: the model and its working point.
_TRIGGER_SETTINGS = ("model", "tree", "accept_classes", "background_efficiency", "threshold",
                     "output_rate_hz", "batch_size")  # fmt: skip
_COLLECTIONS_HELP = "collection names of the scored files' card (default auto: detected per file)"


def add_commands(commands) -> None:
    st = commands.add_parser(
        "stream",
        help="the trained classifier as a trigger on ROOT files arriving in a folder",
        description="Spark Structured Streaming: new *.root files in the input folder go "
        "through selection, features and the exported model (ONNX in an Arrow UDF) per "
        "micro-batch; per-event scores, the predicted class and the accept/reject decision "
        "go to OUT/scores, accepted events to OUT/accepted, unusable files (corrupt, "
        "truncated, wrong schema) to OUT/quarantine with the reason. A restart on the same "
        "checkpoint resumes exactly where the stream stopped (no event lost or repeated). "
        "Write files elsewhere and move them into the folder; a file still growing is waited "
        "for. Options override the [stream] section of the config.",
    )
    add_section(st, "stream")
    add_collections(st, _COLLECTIONS_HELP)
    st.add_argument("--quiet", action="store_true", help="no line per micro-batch")
    add_common(st)
    st.set_defaults(handler=_stream)

    sc = commands.add_parser(
        "score",
        help="score ROOT or Parquet files with a trained model (batch)",
        description="Score every event of ROOT files (paths, globs, folders, root://) or "
        "Parquet files of dltrigger ingest/features with a run's exported model, at the "
        "[stream] working point: OUT/scores (one row per event), OUT/accepted, "
        "OUT/quarantine.json, OUT/summary.json; the folder appears only when complete.",
    )
    add_section(sc, "score")
    add_section(sc, "stream", only=_TRIGGER_SETTINGS)
    add_collections(sc, _COLLECTIONS_HELP)
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common(sc)
    sc.set_defaults(handler=_score)


def _stream(args: argparse.Namespace) -> int:
    from .. import stream

    result = stream.run(config_for(args), progress=not args.quiet)
    summary = result.summary
    print(
        f"{summary['batches']} micro-batches, {summary['files']} files, {summary['events']:,} "
        f"events, {summary['accepted']:,} accepted, {len(summary['quarantined'])} files "
        f"quarantined; latency p50 {summary['latency_p50_s']:.2f} s, p99 "
        f"{summary['latency_p99_s']:.2f} s; outputs in {result.out}"
    )
    return 0


def _score(args: argparse.Namespace) -> int:
    from .. import stream

    result = stream.score(config_for(args), progress=not args.quiet)
    summary = result.summary
    print(
        f"{summary['files']} files, {summary['events']:,} events, {summary['selected']:,} "
        f"selected, {summary['accepted']:,} accepted (threshold {summary['threshold']:.4f}); "
        f"{len(summary['quarantined'])} files quarantined; outputs in {result.out}"
    )
    for item in summary["quarantined"]:
        print(f"quarantined {item['path']}: {item['reason']}")
    return 0
