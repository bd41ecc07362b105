"""The walkthrough notebook runs top to bottom on tiny data, so it never rots, and a second run
in the same folder redoes nothing."""

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_uses_the_public_api_only():
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    imports = [
        line.strip() for line in code.splitlines() if "dltrigger" in line and "import" in line
    ]
    assert imports == ["import dltrigger as dlt"]
    assert "dlt." in code and "dltrigger." not in code


@pytest.mark.slow
def test_walkthrough_notebook_runs_and_reruns_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_EVENTS", "60")
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_EPOCHS", "1")
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_MASTER", "local[2]")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    best = [tmp_path / "work" / "runs" / model / "best.pt" for model in ("hlf", "inclusive")]

    first, seconds = _execute(tmp_path)
    assert set(seconds) == STAGES and all(s > 0 for s in seconds.values()), seconds
    assert (tmp_path / "work" / "report" / "report.html").exists()
    trained = [path.stat().st_mtime_ns for path in best]

    # the same work folder again: every stage (if_exists="skip") reads its output back
    second, seconds = _execute(tmp_path)
    assert seconds == dict.fromkeys(STAGES, 0.0)
    assert [path.stat().st_mtime_ns for path in best] == trained

    for outputs in (first, second):
        assert not [o for o in outputs if o.output_type == "error"]
        assert not [o.text for o in outputs if o.get("name") == "stderr"]
        text = _text(outputs)
        assert "events ingested" in text and "inclusive: accuracy" in text
        assert not [line for line in text.splitlines() if any(n in line for n in NOISE)]
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(images) >= 2  # the feature plots and the ROC curve


#: What the notebook reports each stage's wall time of (0.0: read back, not re-run).
STAGES = {"generate", "ingest", "features", "train hlf", "train inclusive", "evaluate"}
#: Lines that must not reach a notebook: the JVM's note on the vector module Spark adds, and
#: matplotlib's font cache and font lookups.
NOISE = ("WARNING: Using incubator modules", "Matplotlib is building the font cache", "findfont")


def _execute(folder: Path) -> tuple[list, dict[str, float]]:
    """Run the notebook in ``folder``: every code cell's outputs, and each stage's seconds
    (``results`` of its last cell, printed by a cell added here)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json\nprint(json.dumps({s: r.seconds for s, r in results.items()}))"))  # fmt: skip
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={
        "metadata": {"path": str(folder)}}).execute()  # fmt: skip
    added = notebook.cells.pop()
    seconds = json.loads(added.outputs[0]["text"])
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    return outputs, seconds


def _text(outputs: list) -> str:
    """Everything the outputs show as text: streams, plain-text results, tracebacks."""
    parts = [o.get("text", "") for o in outputs if o.output_type == "stream"]
    parts += [o.get("data", {}).get("text/plain", "") for o in outputs]
    parts += ["\n".join(o.get("traceback", [])) for o in outputs]
    return "\n".join(parts)
