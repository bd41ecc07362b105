"""Subcommands that use a trained model as a trigger: ``stream`` and ``score``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import with_overrides
from .common import add_common, comma_list, config_for, positive_int


def _add_trigger_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="run folder with model.onnx (default: config)")
    parser.add_argument("--accept", help="comma-separated classes kept (default: ttbar,W+jets)")
    parser.add_argument(
        "--background-efficiency", type=float, help="working point on the run's test split"
    )
    parser.add_argument("--threshold", type=float, help="explicit cut on the summed score")
    parser.add_argument(
        "--collections",
        choices=["auto", "cms", "phase2", "dltrigger"],
        help="collection names of the scored files' card (default auto: detected per file)",
    )


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
    _add_trigger_options(st)
    st.add_argument("--input", help="folder watched for new *.root files")
    st.add_argument("--out", type=Path, help="output folder (default: runs/stream)")
    st.add_argument("--checkpoint", type=Path, help="default: OUT/_checkpoint")
    st.add_argument("--max-files-per-trigger", type=positive_int)
    st.add_argument("--trigger-seconds", type=float, help="seconds between micro-batches")
    st.add_argument(
        "--available-now", action="store_true", help="process the files there, then stop"
    )
    st.add_argument("--timeout", type=float, help="stop after this many seconds")
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
    sc.add_argument("inputs", nargs="+", help="ROOT or Parquet files, folders, globs, URLs")
    _add_trigger_options(sc)
    sc.add_argument("--out", type=Path, required=True, help="output folder")
    sc.add_argument("--overwrite", action="store_true", help="replace the output folder")
    add_common(sc)
    sc.set_defaults(handler=_score)


def _trigger_overrides(args: argparse.Namespace, **more):
    config = config_for(args)
    if args.collections:
        collections = config.features.collections.model_copy(update={"preset": args.collections})
        config = with_overrides(config, "features", collections=collections)
    return with_overrides(
        config,
        "stream",
        model=args.model,
        accept_classes=comma_list(args.accept) if args.accept else None,
        background_efficiency=args.background_efficiency,
        threshold=args.threshold,
        **more,
    )


def _stream(args: argparse.Namespace) -> int:
    from ..stream.job import stream

    config = _trigger_overrides(
        args,
        input=args.input,
        out=args.out,
        checkpoint=args.checkpoint,
        max_files_per_trigger=args.max_files_per_trigger,
        trigger_seconds=args.trigger_seconds,
    )
    summary = stream(config, available_now=args.available_now, timeout=args.timeout,
                     quiet=args.quiet)  # fmt: skip
    print(
        f"{summary['batches']} micro-batches, {summary['files']} files, {summary['events']:,} "
        f"events, {summary['accepted']:,} accepted, {len(summary['quarantined'])} files "
        f"quarantined; latency p50 {summary['latency_p50_s']:.2f} s, p99 "
        f"{summary['latency_p99_s']:.2f} s; outputs in {config.stream.out}"
    )
    return 0


def _score(args: argparse.Namespace) -> int:
    from ..stream.score import score

    config = _trigger_overrides(args)
    summary = score(config, args.inputs, args.out, overwrite=args.overwrite)
    print(
        f"{summary['files']} files, {summary['events']:,} events, {summary['selected']:,} "
        f"selected, {summary['accepted']:,} accepted (threshold {summary['threshold']:.4f}); "
        f"{len(summary['quarantined'])} files quarantined; outputs in {args.out}"
    )
    for item in summary["quarantined"]:
        print(f"quarantined {item['path']}: {item['reason']}")
    return 0
