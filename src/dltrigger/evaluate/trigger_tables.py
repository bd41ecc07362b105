"""The report's trigger sections: working points and rates, from ``evaluation.json``'s content
(Markdown blocks, see [`report`][dltrigger.evaluate.report]). An efficiency is printed with its
68.3% Clopper-Pearson interval; a point or a class rate that is not measurable is printed as its 95%
upper limit, never as a measured number."""

from __future__ import annotations

from typing import Any

from ..schema import CLASS_NAMES

Block = tuple


def efficiency_text(efficiency: dict[str, Any], digits: int = 4) -> str:
    """``0.8015 [0.7800, 0.8221] (641/800)``: value, 68.3% interval, counts."""
    low, high = efficiency["interval"]
    return (
        f"{efficiency['value']:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}] "
        f"({efficiency['passed']:,}/{efficiency['total']:,})"
    )


def cut_text(threshold: float | None) -> str:
    """A cut on a score; None (null in ``evaluation.json``): no cut fits, nothing is kept."""
    return "none: keeps nothing" if threshold is None else f"{threshold:.4f}"


def rate_efficiency_text(entry: dict[str, Any], minimum: int) -> str:
    """A class's efficiency at an output-rate budget, three digits; marked when fewer than
    ``minimum`` events pass (its rate is then an upper limit, see [`_class_rate`][])."""
    text = efficiency_text(entry, 3)
    return text if entry["measurable"] else f"{text}, not measurable (< {minimum} pass)"


def rate_text(rate_hz: float) -> str:
    """A rate in Hz or kHz, three significant digits."""
    return f"{rate_hz / 1e3:.3g} kHz" if rate_hz >= 1e3 else f"{rate_hz:.3g} Hz"


def _point_cell(point: dict[str, Any]) -> str:
    if point["measurable"]:
        return efficiency_text(point["signal_efficiency"])
    return (
        f"not measurable ({point['expected_background_events']:.2g} background events "
        f"expected): bkg. eff. < {point['background_efficiency_upper_limit_95']:.2%} (95% CL)"
    )


def _rejection_cell(at99: dict[str, Any]) -> str:
    low, high = at99["background_rejection_interval"]
    background = at99["background_efficiency"]
    upper = "∞" if high is None else f"{high:.1f}"
    if at99["background_rejection"] is None:
        return f"> {low:.1f} (no background event passes; 68.3% interval [{low:.1f}, ∞])"
    return (
        f"{at99['background_rejection']:.1f} [{low:.1f}, {upper}] "
        f"({background['passed']:,}/{background['total']:,} background pass)"
    )


def working_point_blocks(models: dict[str, Any], minimum: int) -> list[Block]:
    """The working points of every model: signal efficiency at background efficiencies of
    10%, 1% and 0.1%, and the background rejection at 99% signal efficiency."""
    blocks: list[Block] = [
        ("h2", "Trigger working points"),
        (
            "p",
            "Signal efficiency when the background efficiency (the two other classes) is held "
            "at 10%, 1% and 0.1%, and the background rejection (1 / background efficiency) when "
            "99% of the signal is kept; on the test split, with 68.3% Clopper-Pearson intervals "
            "and the passing/total counts. A working point is measured only when at least "
            f"{minimum} background events of the test split are expected to pass its cut; "
            "otherwise the 95% CL upper limit on the background efficiency of the cut is "
            "given instead (`[evaluate] min_background_events`).",
        ),
    ]
    header = ["run", "signal", "sig. eff. @ bkg 10%", "@ bkg 1%", "@ bkg 0.1%",
              "bkg rejection @ sig 99%"]  # fmt: skip
    rows = []
    for name, m in models.items():
        for c in CLASS_NAMES:
            cls = m["classes"][c]
            if "absent" in cls:
                rows.append([name, c, *(f"— ({cls['absent']})",) * 4])
                continue
            points = cls["signal_efficiency_at_background"].values()
            rows.append([name, c, *(_point_cell(p) for p in points),
                         _rejection_cell(cls["at_signal_efficiency"])])  # fmt: skip
    blocks.append(("table", header, rows))
    return blocks


def rate_blocks(results: dict[str, Any]) -> list[Block]:
    """Per model and signal class: at each output-rate budget, the cut, the signal
    efficiency and each class's rate (intervals; upper limits where not measurable)."""
    assumptions = results.get("rate_assumptions")
    if not assumptions:
        return []
    fractions = ", ".join(f"{c} {f:.1%}" for c, f in assumptions["class_fractions"].items())
    blocks: list[Block] = [
        ("h2", "Trigger rates"),
        (
            "p",
            f"Events reach the trigger at {rate_text(assumptions['input_rate_hz'])} (`[evaluate] "
            f"input_rate_hz`; 100 kHz is the CMS Level-1 accept rate) in the mix {fractions} "
            "(`class_fractions`). For each output-rate budget the loosest cut on the signal "
            "class's score whose expected output rate stays within it; each class's rate is "
            "input rate × fraction × its test-split efficiency, with the 68.3% Clopper-Pearson "
            "interval (the total's interval adds the classes' bounds: conservative). A class "
            f"rate resting on fewer than {assumptions['min_background_events']} passing test "
            "events is given as its 95% CL upper limit (marked <), and such a signal "
            "efficiency is marked not measurable. A budget that no cut meets (the few "
            "highest-scored test events alone exceed it) keeps nothing (cut: none).",
        ),
    ]
    header = ["run", "signal", "budget", "cut", "signal efficiency",
              *(f"{c} rate" for c in CLASS_NAMES), "total rate"]  # fmt: skip
    rows = []
    for name, m in results["models"].items():
        for signal, entry in m.get("rates", {}).items():
            if "absent" in entry:
                rows.append([name, signal, "—", "—", f"— ({entry['absent']})",
                             *("—",) * (len(CLASS_NAMES) + 1)])  # fmt: skip
                continue
            for point in entry["points"]:
                classes = point["classes"]
                low, high = point["output_rate_interval_hz"]
                rows.append([
                    name, signal, rate_text(point["target_hz"]), cut_text(point["threshold"]),
                    rate_efficiency_text(classes[signal], assumptions["min_background_events"]),
                    *(_class_rate(classes[c]) for c in CLASS_NAMES),
                    f"{rate_text(point['output_rate_hz'])} [{rate_text(low)}, "
                    f"{rate_text(high)}]",
                ])  # fmt: skip
    blocks.append(("table", header, rows))
    for signal, plot in results.get("rate_plots", {}).items():
        blocks.append(("img", plot, f"{signal} selector: efficiency against output rate"))
    return blocks


def _class_rate(entry: dict[str, Any]) -> str:
    if not entry["total"]:
        return "— (no test event)"
    if not entry["measurable"]:
        return f"< {rate_text(entry['rate_upper_limit_95_hz'])} ({entry['passed']} pass)"
    low, high = entry["rate_interval_hz"]
    return f"{rate_text(entry['rate_hz'])} [{rate_text(low)}, {rate_text(high)}]"
