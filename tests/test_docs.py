"""The documentation site builds with --strict (every warning an error), API reference included;
the type checker passes.

The same build as ``make docs``, into a temporary folder, so CI (``make test``) catches a broken
link or anchor in docs/*.md and a module the API pages name that no longer exists.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_docs_build_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    config_page = site / "api" / "config" / "index.html"
    assert config_page.exists()
    html = config_page.read_text(encoding="utf-8")
    assert 'id="dltrigger.config.IngestConfig"' in html
    assert (site / "index.html").exists()
    for stage in ("generate", "ingest", "features", "tune", "train", "baselines", "evaluate"):
        page = (site / "api" / stage / "index.html").read_text(encoding="utf-8")
        assert f'id="dltrigger.{stage}.run"' in page, stage  # each stage's entry point


def test_type_checker_passes():
    """``make lint``'s mypy (strict on physics/, io/ and the public API), in the suite so that
    CI runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr
