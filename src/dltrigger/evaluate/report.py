"""The evaluation report: one list of blocks rendered as Markdown and as self-contained HTML
(plots embedded), so the two never disagree."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from ..schema import CLASS_NAMES
from .l1_section import l1_blocks
from .notes import reading_notes
from .trigger_tables import rate_blocks, working_point_blocks

#: Published results of the reference (docs/reference.md §7): accuracy and AUC per class.
REFERENCE_RESULTS = [
    ("HLF 50-20-10, TF, 5 epochs", 0.9164, (0.98741, 0.98563, 0.98141)),
    ("Particle-sequence GRU, BigDL, 50 epochs", 0.9394, None),
    ("Inclusive GRU, TF 2.0 CPU, 5 epochs", 0.9558, (0.99493, 0.99673, 0.99455)),
    ("Inclusive LSTM, TF 2.0 P100, 6 epochs", 0.9591, (0.99551, 0.99714, 0.99570)),
    ("Transformer, TF 2.12 T4, 6 epochs", 0.9462, (0.99364, 0.99482, 0.99229)),
    ("Spark ML random forest (100 trees, depth 10)", 0.9077, None),
    ("XGBoost on Spark (SparkXGBClassifier, 16 workers)", 0.9205, None),
    ("LightGBM on Spark (SynapseML)", 0.9186, None),
]

Block = tuple


def _blocks(results: dict[str, Any]) -> list[Block]:
    models = results["models"]
    blocks: list[Block] = [
        ("h1", "dltrigger evaluation report"),
        *(("p", note) for note in reading_notes(results)),
        (
            "p",
            "Classes 0 QCD, 1 ttbar, 2 W+jets; each class's AUC is one-vs-rest on that "
            "class's score (± bootstrap standard deviation).",
        ),
        ("h2", "AUC and accuracy"),
        (
            "table",
            [
                "run",
                "model",
                "test events",
                "accuracy",
                *(f"AUC {c}" for c in CLASS_NAMES),
                "finished",
            ],
            [
                [
                    name,
                    m["model"],
                    str(m["test_events"]),
                    f"{m['accuracy']:.4f}",
                    *(auc_text(m["classes"][c]) for c in CLASS_NAMES),
                    "yes" if m["complete"] else "**no: training did not finish**",
                ]
                for name, m in models.items()
            ],
        ),
    ]
    verdict_text = verdict(results.get("comparison"))
    if verdict_text:
        blocks.append(("p", verdict_text))
    if results.get("baselines") is not None:
        blocks += _baseline_blocks(results["baselines"])
    blocks += [
        ("h2", "The reference's published results (different simulated data)"),
        (
            "p",
            "From the CERN pipeline (Comput Softw Big Sci 4, 8, 2020) on its Delphes "
            "simulation of 13 TeV events, not on these generated events: a guide to the "
            "expected ordering, not a number to match.",
        ),
        (
            "table",
            ["reference model", "accuracy", *(f"AUC {c}" for c in CLASS_NAMES)],
            [
                [name, f"{acc:.4f}", *((f"{a:.5f}" for a in aucs) if aucs else ("—",) * 3)]
                for name, acc, aucs in REFERENCE_RESULTS
            ],
        ),
        ("h2", "ROC curves"),
    ]
    for name, plot in results["roc_plots"].items():
        blocks.append(("img", plot, f"{name} selector: every model"))
    minimum = results.get("rate_assumptions", {}).get("min_background_events", 10)
    blocks += working_point_blocks(models, minimum)
    blocks += rate_blocks(results)
    if results.get("l1") is not None:
        blocks += l1_blocks(results["l1"])
    blocks.append(("h2", "Per model"))
    for name, m in models.items():
        speed = m.get("training_samples_per_s")
        facts = (
            f"model `{m['model']}`, best epoch {m['best_epoch']} of "
            f"{m.get('epochs_trained', '?')}"
            + (f", training {speed:,.0f} samples/s (median epoch)" if speed else "")
        )
        blocks += [
            ("h3", name),
            ("p", facts),
            ("img", m["plots"]["scores"], f"{name}: score distributions"),
            ("img", m["plots"]["confusion"], f"{name}: confusion matrix"),
        ]
    manifest = results.get("manifest") or {}
    if manifest:
        blocks += _dataset_blocks(manifest)
    if results.get("stages"):
        blocks += [
            ("h2", "Stages of the run"),
            ("p", "As `dltrigger run` recorded them when each stage last ran."),
            (
                "table",
                ["stage", "finished", "seconds", "throughput"],
                _stage_rows(results["stages"]),
            ),
        ]
    return blocks


#: How the report names each model of ``dltrigger baselines``.
BASELINE_TITLES = {
    "random_forest": "Spark ML random forest",
    "gbt": "Spark ML GBT (one per class vs rest)",
    "xgboost": "XGBoost on Spark",
    "lightgbm": "LightGBM (single node)",
}


def _baseline_blocks(baselines: dict[str, Any]) -> list[Block]:
    """The tree baselines' table (their own metrics.json: AUCs from probabilities, no
    bootstrap error), below the networks' and apart from them."""
    blocks: list[Block] = [("h2", "Tree baselines on the HLF (dltrigger baselines)")]
    source = f"From `{baselines['folder']}`"
    if baselines.get("missing"):
        return [*blocks, ("p", f"{source}: {baselines['missing']}.")]
    blocks.append(
        (
            "p",
            f"{source}: tree models fitted on the 14 high-level features of the same "
            "training split, scored on the same test events; one-vs-rest AUC from their "
            "probabilities (no bootstrap error).",
        )
    )
    if baselines["models"]:
        blocks.append(
            (
                "table",
                ["baseline", "test events", "accuracy", *(f"AUC {c}" for c in CLASS_NAMES),
                 "fit seconds"],
                [
                    [
                        f"baseline: {BASELINE_TITLES.get(name, name)} (`{name}`)",
                        str(m["test_events"]),
                        f"{m['accuracy']:.4f}",
                        *(_baseline_auc(m.get(f"auc_{c}")) for c in CLASS_NAMES),
                        f"{m['seconds']:.1f}" if "seconds" in m else "—",
                    ]
                    for name, m in baselines["models"].items()
                ],
            )
        )  # fmt: skip
    for name, why in baselines.get("skipped", {}).items():
        blocks.append(("p", f"Baseline `{name}` left out: {why}."))
    return blocks


def _baseline_auc(auc: float | None) -> str:
    return "—" if auc is None or math.isnan(auc) else f"{auc:.4f}"


def _dataset_blocks(manifest: dict[str, Any]) -> list[Block]:
    counts = manifest.get("counts", {})
    per_class = ", ".join(f"{CLASS_NAMES[int(k)]} {v:,}" for k, v in counts.items())
    split = manifest.get("per_split", {})
    blocks: list[Block] = [
        ("h2", "Dataset"),
        ("p", f"`{manifest.get('dataset', '?')}`: {sum(counts.values()):,} events ({per_class}); "
              f"{split.get('train', 0):,} for training, {split.get('validation', 0):,} for "
              f"validation (choosing epochs), {split.get('test', 0):,} for the test."),
    ]  # fmt: skip
    efficiency = manifest.get("selection_efficiency", {})
    if efficiency:
        rows = [[sample, f"{e['events']:,}", f"{e['selected']:,}", f"{e['efficiency']:.1%}"]
                for sample, e in efficiency.items()]  # fmt: skip
        blocks.append(("table", ["sample", "events in", "one isolated lepton", "efficiency"], rows))
    return blocks


def _stage_rows(stages: dict[str, dict]) -> list[list[str]]:
    rows = []
    for name, record in stages.items():
        rate = record.get("per_s")
        throughput = f"{rate:,.0f} {record.get('unit', 'items')}/s" if rate else "—"
        rows.append(
            [name, record.get("finished", "?"), f"{record.get('seconds', 0):.1f}", throughput]
        )
    return rows


def auc_text(cls: dict[str, Any]) -> str:
    """``0.9876 ± 0.0012``, or the AUC alone when there is no bootstrap error."""
    if cls.get("auc") is None:
        return f"— ({cls.get('absent', 'no AUC')})"
    error = cls.get("auc_error")
    if error is None or math.isnan(error):
        return f"{cls['auc']:.4f}"
    return f"{cls['auc']:.4f} ± {error:.4f}"


def verdict(comparison: dict[str, Any] | None) -> str | None:
    """Does the inclusive classifier beat the HLF one here? Said plainly, either way, with the
    AUC differences and their paired-bootstrap errors (see [`job.compare`][])."""
    if not comparison:
        return None
    model, baseline, classes = comparison["model"], comparison["baseline"], comparison["classes"]
    # An error is null in evaluation.json (NaN in memory before) without bootstrap resamples.
    errors = {c: d["error"] for c, d in classes.items()
              if d["error"] is not None and not math.isnan(d["error"])}  # fmt: skip
    worse = [c for c, d in classes.items() if d["difference"] <= 0]
    weak = [c for c, d in classes.items() if c in errors and 0 < d["difference"] < 2 * errors[c]]
    numbers = "; ".join(
        f"{c} {d['difference']:+.4f}" + (f" ± {errors[c]:.4f}" if c in errors else "")
        for c, d in classes.items()
    )
    if worse:
        text = (f"**The inclusive classifier ({model}) does not beat the HLF classifier "
                f"({baseline}) in {', '.join(worse)}**, unlike the reference")  # fmt: skip
    else:
        text = (f"**The inclusive classifier ({model}) beats the HLF classifier ({baseline}) in "
                "every class's AUC**, as in the reference")  # fmt: skip
    text += f": AUC differences {numbers} (paired bootstrap)."
    if weak:
        text += (f" The gain in {', '.join(weak)} is below two standard deviations: not "
                 "significant on this test set.")  # fmt: skip
    if worse:
        text += " Check the training length and the dataset size before drawing conclusions."
    return text


def _markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + block[1], ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "table":
            header, rows = block[1], block[2]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        elif kind == "img":
            lines += [f"![{block[2]}]({block[1]})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` in a paragraph or cell, escaped for HTML."""
    out = html.escape(text)
    for marker, tag in (("**", "strong"), ("`", "code")):
        parts = out.split(marker)
        out = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(parts))
    return out


def _html(blocks: list[Block], folder: Path) -> str:
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(block[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in block[1])
            rows = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                for row in block[2]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode((folder / block[1]).read_bytes()).decode()
            body.append(
                f'<figure><img alt="{html.escape(block[2])}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f"{html.escape(block[2])}</figcaption></figure>"
            )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:right}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>dltrigger report</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(results: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """``report.md`` (plots beside it) and ``report.html`` (plots embedded) in ``folder``."""
    blocks = _blocks(results)
    markdown, page = folder / "report.md", folder / "report.html"
    markdown.write_text(_markdown(blocks))
    page.write_text(_html(blocks, folder))
    return markdown, page
