"""The documentation site builds with --strict (every warning an error), API reference included;
the type checker passes; the repository's docs stand on their own.

The same build as ``make docs``, into a temporary folder, so CI (``make test``) catches a broken
link or anchor in docs/*.md and a module the API pages name that no longer exists. A clone holds
nothing beside the repository, so no file may cite one (the reference pipeline's facts are in
docs/reference.md, the Delphes scripts in validation/delphes/), and every relative Markdown link
must point at a file of the repository.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

#: The text files checked for citations of files outside the repository.
TEXT_PATTERNS = (
    "*.py",
    "*.md",
    "*.toml",
    "*.sh",
    "*.yml",
    "*.yaml",
    "*.ipynb",
    "*.tcl",
    "Makefile",
    "*/Makefile",
)
#: Citations of files that are not in the repository (written so that this file does not match):
#: the notes the reference section numbers came from, and the folder beside the checkout.
OUTSIDE = re.compile(r"reference[-]pipeline\.md|\.\./shared\b|\bshared/(?:spec|delphes|data)\b")
#: A Markdown link or image, ``[text](target)`` or ``[text](target "title")``.
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def test_docs_build_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # mkdocs-material's notice of its end of life (2027), printed on every build
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    config_page = site / "api" / "config" / "index.html"
    assert config_page.exists()
    html = config_page.read_text(encoding="utf-8")
    assert 'id="dltrigger.config.IngestConfig"' in html
    assert (site / "index.html").exists()
    for stage in ("generate", "ingest", "features", "tune", "train", "baselines", "l1",
                  "evaluate"):  # fmt: skip
        page = (site / "api" / stage / "index.html").read_text(encoding="utf-8")
        assert f'id="dltrigger.{stage}.run"' in page, stage  # each stage's entry point
    check_api_reference(site)


#: A Sphinx role left in a docstring, rendered as literal text instead of a link.
SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`")


def check_api_reference(site: Path) -> None:
    """What the API pages must show: links, not roles; every public name of dltrigger.config
    (placed by hand on its page); each section's settings as a table with their defaults; the
    entry points' examples; no internals of training."""
    pages = {path.parent.name: path.read_text(encoding="utf-8")
             for path in (site / "api").glob("*/index.html")}  # fmt: skip
    pages["index"] = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name, page in pages.items():
        assert not SPHINX_ROLE.search(page), f"api/{name}: {SPHINX_ROLE.search(page)}"
    import dltrigger.config

    config = pages["config"]
    missing = [n for n in dltrigger.config.__all__ if f'id="dltrigger.config.{n}"' not in config]
    assert not missing, f"docs/api/config.md does not show {missing}"
    row = config.split('id="dltrigger.config.TrainConfig.batch_size"', 1)[1].split("</tr>", 1)[0]
    assert "<code>32</code>" in row and "Events per optimizer step" in row, row
    # a cross-reference in a docstring is a link (docs/api/index.md: Config.resolved)
    assert 'href="config/#dltrigger.config.Config.resolved"' in pages["index"]
    train_text = re.sub(r"<[^>]+>", "", pages["train"])  # the example, highlighted
    assert "&gt;&gt;&gt; result = dlt.train.run(config)" in train_text
    assert "Replica" not in pages["train"] and 'id="dltrigger.ml.loop.fit"' not in pages["train"]


def test_type_checker_passes():
    """``make lint``'s mypy (strict on physics/, io/ and the public API), in the suite so that
    CI runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr


def repository_files(*patterns: str) -> list[Path]:
    """Files of the checkout matching ``patterns``: tracked, and new ones not yet added (but
    not ignored ones: data, virtual environments, build outputs)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    names = sorted({name for name in result.stdout.decode().split("\0") if name})
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def test_no_file_cites_files_outside_the_repository():
    """No text file names the reference notes or the folder beside the checkout: a user's clone
    has neither. Cite docs/reference.md §N and validation/delphes/ instead."""
    files = repository_files(*TEXT_PATTERNS)
    assert any(path.name == "reference.md" for path in files)
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "citations of files outside the repository:\n" + "\n".join(found)


def relative_links(text: str) -> list[str]:
    """The relative link targets of a Markdown text, code blocks and code spans left out; no
    URL (``http:``, ``mailto:``...), no anchor-only link, no absolute path."""
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    targets = []
    for target in LINK.findall(text):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue
        targets.append(target)
    return targets


def test_relative_markdown_links_point_at_files():
    """Every relative link of the Markdown files (README.md, docs/, the READMEs beside code and
    data) names a file or folder of the repository; its #anchor is the site build's to check."""
    files = repository_files("*.md")
    assert ROOT / "README.md" in files and ROOT / "docs" / "reference.md" in files
    broken = []
    for path in files:
        for target in relative_links(path.read_text(encoding="utf-8")):
            name = target.split("#", 1)[0].split("?", 1)[0]
            if not name:
                continue
            resolved = (path.parent / name).resolve()
            if not resolved.is_relative_to(ROOT.resolve()) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: ({target})")
    assert not broken, "links to files that are not in the repository:\n" + "\n".join(broken)


def test_relative_links_are_found():
    """The link finder itself: relative links found, URLs, anchors and code left out."""
    text = (
        '[a](docs/x.md) ![b](img/p.png "title") [c](https://e.org) [d](#here) [e](x.md#sec)\n'
        "`[f](in/code.md)`\n```\n[g](in/block.md)\n```\n[h](mailto:a@b.c)\n"
    )
    assert relative_links(text) == ["docs/x.md", "img/p.png", "x.md#sec"]


def test_outside_citations_are_found():
    """The citation finder itself (the examples are put together, so this file has none)."""
    shared = "shared"
    for line in (
        f"bash ../{shared}/delphes/make_real_delphes.sh",
        f"(see {shared}/spec/delphes_card_CMS.tcl)",
        f"files of `{shared}/data/delphes/`",
        "(reference-" + "pipeline.md §11)",
    ):
        assert OUTSIDE.search(line), line
    for line in ("a shared file system", "docs/reference.md §11", "the shared dataset"):
        assert not OUTSIDE.search(line), line
