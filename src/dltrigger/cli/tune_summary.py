"""The grid search's results as a table on the terminal (best first)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ..progress import output


def print_summary(summary: dict[str, Any], out: Path, top: int = 10) -> None:
    rows = summary["rows"]
    metric = summary["metric"]
    table = Table(title=f"grid search: {summary['points']} points, best {min(top, len(rows))}")
    names = list(rows[0]["point"])
    for name in ["#", *names, metric, "val_accuracy", "epochs", "s"]:
        table.add_column(name, justify="right")
    for rank, row in enumerate(rows[:top], start=1):
        values = [json.dumps(row["point"][n]) for n in names]
        if "error" in row:
            table.add_row(str(rank), *values, "failed", row["error"][:40], "", "")
            continue
        table.add_row(
            str(rank), *values, f"{row[metric]:.4f}", f"{row['val_accuracy']:.3f}",
            f"{row['epochs_trained']:.0f}", f"{row['seconds']:.1f}",
        )  # fmt: skip
    console = output()
    console.print(table)
    failed = [r for r in rows if "error" in r]
    for row in failed[:5]:
        console.print(f"[red]failed[/red] {row['point']}: {row['error']}")
    console.print(
        f"{summary['tasks']} tasks ({summary['failed']} failed points) in "
        f"{summary['seconds']:.1f} s on {summary['training_events']} training events; "
        f"results in {out}/results.csv; `dltrigger train --tuned {out}` uses the best point"
    )
