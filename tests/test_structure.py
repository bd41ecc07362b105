"""The house's structure: one stage list, stages that do not import each other, a model-side
floor below them, no circles, and callers that use each stage's public ``run``."""

import ast
import inspect
import sys
from pathlib import Path

import pytest

import dltrigger as dlt
from dltrigger.io import ownership
from dltrigger.stage import OUTPUT_KINDS, REGISTRY, pipeline_stages

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from structure import STAGE_ROOMS, measure  # noqa: E402

PACKAGE = ROOT / "src" / "dltrigger"


@pytest.fixture(scope="module")
def house():
    return measure(PACKAGE)


def test_one_stage_list(house):
    names = tuple(entry.name for entry in REGISTRY)
    assert names == dlt.STAGES
    assert set(STAGE_ROOMS) == set(names)  # the tool's floors know every stage
    assert ownership.KINDS == OUTPUT_KINDS
    for entry in REGISTRY:
        package = entry.package()
        assert callable(package.run) and callable(package.stages), entry.name
    # dltrigger run follows the registry's order, with the optional stages switched on
    config = dlt.with_overrides(dlt.Config(), "run", tune=True, baselines=True, l1=True).resolved()
    planned = [stage.name.split()[0] for stage in pipeline_stages(config)]
    assert planned == sorted(planned, key=names.index)
    assert planned == ["generate", "ingest", "features", "tune", "train", "train",
                       "baselines", "l1", "evaluate"]  # fmt: skip


def test_no_circles_and_nothing_runs_back_up(house):
    assert house.circles == []
    assert house.back_up == []


def test_stages_do_not_import_each_other(house):
    assert house.stage_to_stage == []


def test_the_model_side_floor_imports_no_stage(house):
    ml = {b for a, b in house.arrows if a == "ml"}
    assert not ml & (STAGE_ROOMS | {"pipeline", "cli", "stage"}), ml


def test_the_configuration_package_is_in_small_pieces(house):
    config = {m: n for m, n in house.modules.items() if m.startswith("dltrigger.config")}
    assert len(config) > 3 and max(config.values()) <= 400, config
    for path in (PACKAGE / "config").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                assert lines <= 80, f"{path.name}:{node.name} has {lines} lines"


def test_every_stage_run_is_the_job_itself():
    """``dlt.<stage>.run`` is the function that does the work, not a wrapper around another."""
    for entry in REGISTRY:
        run = entry.package().run
        source = inspect.getsource(run)
        assert "config.resolved()" in source, entry.name  # it works on the config itself
        assert run.__module__ != f"dltrigger.{entry.name}", entry.name  # lives in its job module


def _imported_names(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def test_tests_and_benchmarks_call_the_public_run():
    """A stage's job is reached as ``dlt.<stage>.run`` (or ``dlt.stream.score``), never
    imported from the module that defines it."""
    stages = {entry.name for entry in REGISTRY}
    offenders = []
    for folder in ("tests", "benchmarks", "validation"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for module, name in _imported_names(path):
                parts = module.split(".")
                inner = len(parts) > 2 and parts[0] == "dltrigger" and parts[1] in stages
                if inner and name in {"run", "score"}:
                    offenders.append(f"{path.relative_to(ROOT)}: from {module} import {name}")
    assert offenders == []
