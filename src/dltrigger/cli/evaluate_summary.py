"""What ``dltrigger evaluate`` and ``dltrigger run`` print at the end: the headline numbers
and where the report is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from ..evaluate.report import auc_text, verdict
from ..evaluate.trigger_tables import rate_efficiency_text, rate_text
from ..progress import output
from ..schema import CLASS_NAMES


def print_evaluation(results: dict[str, Any], out: Path) -> None:
    table = Table(title=f"test split of {results['data']}")
    for column in ["run", "model", "events", "accuracy", *(f"AUC {c}" for c in CLASS_NAMES)]:
        table.add_column(column, justify="right")
    for name, m in results["models"].items():
        aucs = [auc_text(m["classes"][c]) for c in CLASS_NAMES]
        table.add_row(name, m["model"], str(m["test_events"]), f"{m['accuracy']:.4f}", *aucs)
    console = output()
    console.print(table)
    rates = _rate_table(results)
    if rates is not None:
        console.print(rates)
    for name, m in results["models"].items():
        if not m.get("complete", True):
            console.print(
                f"[yellow]warning[/yellow]: run {name} did not finish training (no summary.json "
                f"in {m.get('run_folder', name)}): its best checkpoint so far was evaluated",
                highlight=False,
            )
    text = verdict(results.get("comparison"))
    if text:
        console.print(text.replace("**", ""))
    console.print(f"report: {Path(out) / 'report.html'} (and report.md, evaluation.json)")


def _rate_table(results: dict[str, Any]) -> Table | None:
    """Each model's signal efficiency at each output-rate budget (68.3% intervals)."""
    assumptions = results.get("rate_assumptions")
    if not assumptions:
        return None
    table = Table(
        title=f"trigger at output-rate budgets (input {rate_text(assumptions['input_rate_hz'])})"
    )
    for column in ["run", "signal", "budget", "signal efficiency [68.3% CL]", "total rate"]:
        table.add_column(column, justify="right")
    for name, m in results["models"].items():
        for signal, entry in m.get("rates", {}).items():
            for point in entry.get("points", []):
                table.add_row(name, signal, rate_text(point["target_hz"]),
                              rate_efficiency_text(point["classes"][signal],
                                                   assumptions["min_background_events"]),
                              rate_text(point["output_rate_hz"]))  # fmt: skip
    return table


def ran_because(reason: str) -> str:
    """A stage that has just run, and why (``reason``: the state it was in before)."""
    return "ran (first run)" if reason == "never ran" else f"ran ({reason})"


def print_stages(outcomes) -> None:
    """One row per stage of ``dltrigger run``: ran or skipped, time, throughput."""
    table = Table(title="dltrigger run")
    for column in ["stage", "status", "seconds", "throughput"]:
        table.add_column(column, justify="right")
    for outcome in outcomes:
        rate = outcome.facts.get("per_s") if outcome.ran else None
        unit = outcome.facts.get("unit", "items")
        table.add_row(
            outcome.name,
            ran_because(outcome.reason) if outcome.ran else "skipped (up to date)",
            f"{outcome.seconds:.1f}" if outcome.ran else "",
            f"{rate:,.0f} {unit}/s" if rate else "",
        )
    total = sum(o.seconds for o in outcomes)
    output().print(table)
    for outcome in outcomes:
        if outcome.facts.get("note"):
            output().print(f"{outcome.name}: {outcome.facts['note']}", highlight=False)
    output().print(f"stages run in {total:.1f} s")
