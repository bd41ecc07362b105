"""What a reader must know before the numbers of an evaluation report: what the events are,
which split chose each model, and which classes have no result and why."""

from __future__ import annotations

from typing import Any

from ..schema import CLASS_NAMES


def reading_notes(results: dict[str, Any]) -> list[str]:
    """The report's first paragraphs (Markdown), from ``evaluation.json``'s content."""
    manifest = results.get("manifest") or {}
    notes = [
        f"Simulated events ({manifest.get('events_origin', 'simulated events')}), scored on the "
        f"test split of `{results['data']}`, which chose nothing: each model's best epoch was "
        "chosen on the validation split."
    ]
    on_test = [name for name, m in results["models"].items() if m.get("validated_on") == "test"]
    if on_test:
        notes[0] = notes[0].replace(", which chose nothing: each model's best epoch was "
                                    "chosen on the validation split.", ".")  # fmt: skip
        notes.append(
            f"**{', '.join(on_test)} chose {'its' if len(on_test) == 1 else 'their'} best epoch "
            "on this test split** (`reference_validate_on_test`, the reference's behaviour): "
            "its test metrics are biased upwards, the more so the fewer the test events."
        )
    for dropped in manifest.get("dropped_classes", []):
        samples = ", ".join(dropped.get("samples", [])) or "no sample"
        notes.append(
            f"**{dropped.get('class', '?')}: no events** (dropped at features: none of the "
            f"{dropped.get('events', 0):,} events of {samples} passed the one-isolated-lepton "
            "selection; see the dataset's `_manifest.json`, `dropped_classes`): no AUC, "
            "working point or rate for it."
        )
    dropped_names = {d.get("class") for d in manifest.get("dropped_classes", [])}
    for name in CLASS_NAMES:
        if name in dropped_names:
            continue
        reasons = {
            m["classes"][name]["absent"]
            for m in results["models"].values()
            if "absent" in m.get("classes", {}).get(name, {})
        }
        for reason in sorted(reasons):
            notes.append(f"**{name}**: {reason} in the test split: no AUC for it.")
    return notes
