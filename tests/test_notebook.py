"""The walkthrough notebook runs top to bottom on tiny data, so it never rots."""

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
def test_walkthrough_notebook_runs(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_EVENTS", "60")
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_EPOCHS", "1")
    monkeypatch.setenv("DLTRIGGER_NOTEBOOK_MASTER", "local[2]")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "events ingested" in text and "inclusive: accuracy" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the MT/jets plot and the ROC curve
    assert (tmp_path / "work" / "report" / "report.html").exists()
