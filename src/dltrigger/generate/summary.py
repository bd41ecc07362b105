"""A table summarising generated files, per process."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .job import FileReport


def summarise(reports: list[FileReport]) -> dict[str, dict[str, float]]:
    """Per-process totals and event-weighted means of the file reports."""
    groups: dict[str, list[FileReport]] = defaultdict(list)
    for report in reports:
        groups[report.process].append(report)
    summary = {}
    for process, items in sorted(groups.items(), key=lambda kv: kv[1][0].label):
        events = sum(r.events for r in items)

        def mean(field: str, items=items, events=events) -> float:
            return sum(getattr(r, field) * r.events for r in items) / events

        summary[process] = {
            "label": items[0].label,
            "files": len(items),
            "events": events,
            "generated": sum(r.generated for r in items),
            "selected": sum(r.selected for r in items),
            "megabytes": sum(r.bytes for r in items) / 1e6,
            "task_seconds": sum(r.seconds for r in items),
            "mean_tracks": mean("mean_tracks"),
            "mean_jets": mean("mean_jets"),
            "mean_btags": mean("mean_btags"),
            "mean_met": mean("mean_met"),
            "electrons": sum(r.electrons for r in items),
            "muons": sum(r.muons for r in items),
        }
    return summary


def print_summary(reports: list[FileReport], out: Path, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Generated samples in {out}")
    for column in (
        "process",
        "label",
        "files",
        "events",
        "Pythia events",
        "iso. lepton",
        "tracks/ev",
        "jets/ev",
        "b-tags/ev",
        "<MET> GeV",
        "MB",
        "ev/s/core",
    ):
        table.add_column(column, justify="left" if column == "process" else "right")
    for process, s in summarise(reports).items():
        table.add_row(
            process,
            str(s["label"]),
            str(s["files"]),
            str(s["events"]),
            str(s["generated"]),
            f"{s['selected'] / s['events']:.1%}",
            f"{s['mean_tracks']:.0f}",
            f"{s['mean_jets']:.2f}",
            f"{s['mean_btags']:.2f}",
            f"{s['mean_met']:.1f}",
            f"{s['megabytes']:.1f}",
            f"{s['events'] / s['task_seconds']:.0f}",
        )
    console.print(table)
    console.print(
        "iso. lepton: events with an e/mu of pT > 23 GeV and relative isolation < 0.45 "
        "(the reference's selection, §2); ev/s/core: events written per second of task time."
    )
