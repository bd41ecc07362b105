"""The report's L1 section: the float, post-training-quantised and quantisation-aware HLF
triggers side by side, the emulation's agreement and the estimates (``dltrigger l1``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..artifacts import L1Output
from ..schema import CLASS_NAMES
from .trigger_tables import efficiency_text, rate_efficiency_text, rate_text

Block = tuple


def read_l1(folder: Path, labels_events: int, report: Path) -> dict[str, Any] | None:
    """The ``l1.json`` of ``folder`` with its ROC overlays copied into ``report`` (None when
    the folder holds no finished ``dltrigger l1`` output). ``labels_events``: the report's
    test events, which the L1 result must have scored too."""
    output = L1Output(Path(folder))
    if not output.summary_file.is_file():
        return None
    summary = output.summary()
    plots = {}
    for name, plot in summary.get("plots", {}).items():
        if (output.path / plot).is_file():
            shutil.copyfile(output.path / plot, report / plot)
            plots[name] = plot
    keep = ("run", "test_events", "score", "versions", "metrics", "quantised_vs_float",
            "agreement", "types", "estimates", "rate_assumptions")  # fmt: skip
    found = {key: summary[key] for key in keep if key in summary}
    found["folder"] = str(folder)
    found["plots"] = plots
    found["same_test_events"] = summary.get("test_events") == labels_events
    return found


def _efficiency(entry: dict[str, Any]) -> str:
    return efficiency_text(entry, digits=4)


def l1_blocks(l1: dict[str, Any]) -> list[Block]:
    """The section: a table of the versions, the comparison with the float model, the
    emulation's agreement, the estimates, and the ROC overlays."""
    blocks: list[Block] = [
        ("h2", "Level-1 trigger path (dltrigger l1)"),
        (
            "p",
            f"From `{l1['folder']}` (run `{l1['run']}`, {l1['test_events']} test events"
            + ("" if l1["same_test_events"] else ", **not the test events of this report**")
            + f"). Scores as an L1 trigger cuts, without softmax: {l1['score']}. Background "
            "efficiency at 99% signal efficiency with its 68.3% Clopper-Pearson interval.",
        ),
        (
            "table",
            ["version", "accuracy", *(f"AUC {c}" for c in CLASS_NAMES),
             *(f"bkg eff. {c} at 99%" for c in CLASS_NAMES)],
            [
                [title, f"{l1['metrics'][key]['accuracy']:.4f}",
                 *(_auc(l1["metrics"][key]["classes"][c]) for c in CLASS_NAMES),
                 *(_background(l1["metrics"][key]["classes"][c]) for c in CLASS_NAMES)]
                for key, title in l1["versions"].items()
            ],
        ),
    ]  # fmt: skip
    rows = []
    for key, title in (("ptq", "PTQ"), ("qat_emulated", "QAT")):
        for c, entry in l1.get("quantised_vs_float", {}).get(key, {}).items():
            ratio = entry["background_efficiency_ratio"]
            rows.append([
                title, c,
                f"{entry['auc_difference']:+.4f} ± {entry['auc_difference_error']:.4f}",
                "—" if ratio is None else f"{ratio:.3f}",
            ])  # fmt: skip
    if rows:
        blocks.append(
            ("table", ["quantised", "class", "AUC - float AUC", "bkg eff. / float's"], rows)
        )
    blocks += _rate_blocks(l1)
    agree = l1["agreement"]
    blocks.append(
        (
            "p",
            f"Emulation (hls4ml C simulation, g++) against the quantisation-aware model in "
            f"Python: **{agree['agreement']:.4%}** of {agree['events']} test events get every "
            f"decision the same (argmax and each class's trigger bit at its 99% cut); "
            f"{agree['different_events']} differ; largest logit difference "
            f"{agree['max_abs_logit_difference']:.3g}.",
        )
    )
    estimate_rows = []
    for key, title in (("ptq", "PTQ " + l1["types"]["ptq"]), ("qat", "QAT")):
        e = l1["estimates"][key]
        share = e["share_of_part"]["luts"]
        estimate_rows.append([
            title, f"{e['da4ml']['luts']:,.0f}" + (f" ({share:.2%})" if share else ""),
            f"{e['da4ml']['flip_flops']:,}", f"{e['analytic']['multiplications']:,}",
            f"{e['da4ml']['cycles']} ({e['da4ml']['latency_ns']:.0f} ns)",
            str(e["da4ml"]["initiation_interval"]),
        ])  # fmt: skip
    first = l1["estimates"]["qat"]
    blocks += [
        (
            "table",
            ["model", "LUTs (share)", "FFs", "multiplications (DSP bound)",
             f"cycles at {first['clock_mhz']:.0f} MHz", "II"],
            estimate_rows,
        ),
        (
            "p",
            f"Estimates, not synthesis, for {first['part']}: LUTs, FFs and cycles from da4ml's "
            "adder graphs (hls4ml's distributed-arithmetic implementation; "
            f"{first['adder_levels_per_cycle']} adder levels assumed per clock cycle), "
            "multiplications counted from the weights; the initiation interval is 1 by "
            "construction (docs/l1.md).",
        ),
    ]  # fmt: skip
    for name, plot in l1["plots"].items():
        blocks.append(("img", plot, f"{name} selector: float, PTQ and QAT (emulated)"))
    return blocks


def _rate_blocks(l1: dict[str, Any]) -> list[Block]:
    """Signal efficiency and output rate of each version at each output-rate budget."""
    minimum = l1.get("rate_assumptions", {}).get("min_background_events", 10)
    rows = []
    for key in ("float", "ptq", "qat_emulated"):
        for c in CLASS_NAMES:
            entry = l1["metrics"][key]["rates"].get(c, {})
            for point in entry.get("points", []):
                signal = point["classes"][c]
                low, high = point["output_rate_interval_hz"]
                rows.append([
                    VERSION_TITLES[key], c, rate_text(point["target_hz"]),
                    rate_efficiency_text(signal, minimum),
                    f"{rate_text(point['output_rate_hz'])} [{rate_text(low)}, {rate_text(high)}]",
                ])  # fmt: skip
    if not rows:
        return []
    return [
        (
            "p",
            "At the report's output-rate budgets: the loosest cut on the class's margin within "
            "each budget (rates as in the section above).",
        ),
        ("table", ["version", "signal", "budget", "signal efficiency", "output rate"], rows),
    ]


#: Short names of the versions in the rate table.
VERSION_TITLES = {"float": "float", "ptq": "PTQ (emulated)", "qat_emulated": "QAT (emulated)"}


def _auc(entry: dict[str, Any]) -> str:
    return f"{entry['auc']:.4f}" if "auc" in entry else "—"


def _background(entry: dict[str, Any]) -> str:
    return _efficiency(entry["background_efficiency"]) if "background_efficiency" in entry else "—"
