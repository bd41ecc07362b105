"""The ``>>>`` examples of the API reference run: each stage's entry point (``run``, and
``dltrigger.stream.score``), ``dltrigger.with_overrides`` and ``dltrigger.load_config``.

Each docstring is run on its own with :mod:`doctest`, from the repository root (the examples
read the genuine Delphes fixtures ``tests/data/delphes/`` by that path) and with
``tempfile.mkdtemp()`` inside pytest's temporary folder. Ingest and features run for real on
those 75 events (seconds, marked slow); the other stages need a trained model, a dataset or
Spark, so their examples build the configuration, show what the call would use, and skip the
call itself (``# doctest: +SKIP``).
"""

from __future__ import annotations

import doctest
import importlib
import io
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

#: (module, function, runs a stage on real files)
EXAMPLES = [
    ("dltrigger.config.root", "load_config", False),
    ("dltrigger.config.root", "with_overrides", False),
    ("dltrigger.generate.job", "run", False),
    ("dltrigger.ingest.job", "run", True),
    ("dltrigger.features.job", "run", True),
    ("dltrigger.tune.job", "run", False),
    ("dltrigger.train.trainer", "run", False),
    ("dltrigger.baselines.job", "run", False),
    ("dltrigger.l1.job", "run", False),
    ("dltrigger.evaluate.job", "run", False),
    ("dltrigger.stream.job", "run", False),
    ("dltrigger.stream.batch", "score", False),
]


@pytest.mark.parametrize(
    ("module", "function"),
    [
        pytest.param(module, function, marks=[pytest.mark.slow] if heavy else [])
        for module, function, heavy in EXAMPLES
    ],
    ids=[f"{module}.{function}" for module, function, _ in EXAMPLES],
)
def test_docstring_example(module, function, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name = f"{module}.{function}"
    tests = doctest.DocTestFinder(recurse=False).find(
        getattr(importlib.import_module(module), function), name, globs={}
    )
    assert tests and tests[0].examples, f"{name} has no >>> example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()


def test_examples_cover_every_stage():
    """A stage added to the pipeline gets an example too (its ``run`` is listed above)."""
    from dltrigger.stage import STAGES

    listed = {module.split(".")[1] for module, _, _ in EXAMPLES}
    assert set(STAGES) <= listed, set(STAGES) - listed
