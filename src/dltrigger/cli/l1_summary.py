"""What ``dltrigger l1`` prints: one table of the versions, the agreement, the estimates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..schema import CLASS_NAMES


def _efficiency(entry: dict[str, Any]) -> str:
    low, high = entry["interval"]
    return f"{entry['value']:.4f} [{low:.4f}, {high:.4f}]"


def print_summary(summary: dict[str, Any], out: Path, console: Any = None) -> None:
    """The L1 result as a physicist reads it first (on ``console``, a rich Console, when
    given: the display of ``dltrigger run``)."""
    print: Callable[[str], None] = _printer(console)
    print(f"test events: {summary['test_events']} (score: {summary['score']})")
    for key, title in summary["versions"].items():
        metrics = summary["metrics"][key]
        aucs = ", ".join(f"{c} {metrics['classes'][c]['auc']:.4f}" for c in CLASS_NAMES
                         if "auc" in metrics["classes"][c])  # fmt: skip
        print(f"{title}: accuracy {metrics['accuracy']:.4f}; AUC {aucs}")
        for c in CLASS_NAMES:
            entry = metrics["classes"][c]
            if "background_efficiency" in entry:
                print(f"    {c} at 99% signal efficiency: background efficiency "
                      f"{_efficiency(entry['background_efficiency'])}")  # fmt: skip
    agree = summary["agreement"]
    print(
        f"emulation vs quantised model: {agree['agreement']:.6f} identical decisions "
        f"({agree['different_events']} of {agree['events']} events differ; argmax "
        f"{agree['argmax']:.6f}; max |logit difference| {agree['max_abs_logit_difference']:.3g})"
    )
    for key in ("ptq", "qat"):
        estimate = summary["estimates"][key]
        da4ml, share = estimate["da4ml"], estimate["share_of_part"]
        lut_share = f" ({share['luts']:.2%} of {estimate['part']})" if share["luts"] else ""
        print(
            f"{key} estimate (da4ml, not synthesised): {da4ml['luts']:.0f} LUTs{lut_share}, "
            f"{da4ml['cycles']} cycles = {da4ml['latency_ns']:.0f} ns at "
            f"{estimate['clock_mhz']:.0f} MHz, II {da4ml['initiation_interval']}"
        )
    print(f"l1.json, scores, hls4ml projects and plots in {out}")


def _printer(console: Any) -> Callable[[str], None]:
    import builtins

    if console is None:
        return builtins.print
    return lambda line: console.print(line, markup=False, highlight=False)
