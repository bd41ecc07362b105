"""A table summarising an ingest report."""

from __future__ import annotations

from collections import defaultdict

from rich import box
from rich.console import Console
from rich.table import Table

from ..artifacts import IngestReport
from ..ingest import REPORT_NAME
from ..progress import output


def print_report(report: IngestReport, console: Console | None = None) -> None:
    if console is None:
        console = output()
        if not console.is_terminal:
            console = Console(width=120, soft_wrap=True)
    per_sample: dict[tuple[str, int], list] = defaultdict(list)
    for f in report.files:
        per_sample[(f.sample, f.label)].append(f)
    table = Table(title=f"Ingested into {report.output}", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("sample", "label", "files", "events", "MB read"):
        table.add_column(name, justify="left" if name == "sample" else "right")
    for (sample, label), files in sorted(per_sample.items(), key=lambda kv: kv[0][1]):
        table.add_row(
            sample,
            str(label),
            str(len(files)),
            str(sum(f.events for f in files)),
            f"{sum(f.compressed_bytes for f in files) / 1e6:.1f}",
        )
    console.print(table)
    console.print(
        f"{report.events_written} events in {report.seconds:.1f} s "
        f"({report.events_per_second:.0f} events/s), {report.partitions} "
        f"{'Spark tasks' if report.executor == 'spark' else 'tasks in a local process pool'}; "
        f"report: {report.output}/{REPORT_NAME}",
        highlight=False,
    )
    if report.skipped_branches:
        reasons = sorted({r.split(":")[0] for r in report.skipped_branches.values()})
        console.print(
            f"{len(report.columns)} columns; {len(report.skipped_branches)} branches not read "
            f"({', '.join(reasons)}: listed in the report's skipped_branches)",
            highlight=False,
        )
    for path, reason in report.skipped.items():
        console.print(f"[yellow]skipped[/yellow] {path}: {reason}", highlight=False)
