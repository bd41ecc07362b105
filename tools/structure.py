"""The package's structure in figures: rooms, arrows between them, circles, big modules.

    python tools/structure.py [src/dltrigger]

A *room* is a subpackage of ``dltrigger`` or one of its top-level modules; an *arrow* is one
room importing another (module level or inside a function; ``if TYPE_CHECKING:`` imports and
the lazy package face ``dltrigger/__init__.py`` left out). Rooms sit on floors: the foundation
(errors, schema, config, io, physics, models, ml, artifacts, executors, ...), the stages, the
pipeline, the command line. An arrow *runs back up* when it goes to a higher floor, and a stage
importing another stage is counted apart. A *circle* is a set of modules that import each
other round (a strongly connected component of the module graph). ``tests/test_structure.py``
holds the house to these figures.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

#: The pipeline's stages (dltrigger.stages.STAGES names them too; this tool reads source only).
STAGE_ROOMS = frozenset(
    {"generate", "ingest", "features", "tune", "train", "baselines", "l1", "evaluate", "stream"}
)
FLOORS = {"cli": 3, "__main__": 3, "pipeline": 2} | dict.fromkeys(STAGE_ROOMS, 1)
#: Modules over this many lines are listed.
BIG_MODULE_LINES = 400


@dataclass
class Structure:
    modules: dict[str, int] = field(default_factory=dict)  # module -> lines
    edges: set[tuple[str, str]] = field(default_factory=set)  # module -> module

    @property
    def rooms(self) -> set[str]:
        return {room(m) for m in self.modules} - {""}

    @property
    def arrows(self) -> set[tuple[str, str]]:
        return {
            (room(a), room(b)) for a, b in self.edges if room(a) != room(b) and room(a) and room(b)
        }

    @property
    def back_up(self) -> list[tuple[str, str]]:
        return sorted((a, b) for a, b in self.arrows if floor(a) < floor(b))

    @property
    def stage_to_stage(self) -> list[tuple[str, str]]:
        return sorted((a, b) for a, b in self.arrows if a in STAGE_ROOMS and b in STAGE_ROOMS)

    @property
    def circles(self) -> list[list[str]]:
        return [sorted(c) for c in strongly_connected(self.modules, self.edges) if len(c) > 1]

    @property
    def big_modules(self) -> list[tuple[str, int]]:
        return sorted(
            ((m, n) for m, n in self.modules.items() if n > BIG_MODULE_LINES),
            key=lambda item: -item[1],
        )


def room(module: str) -> str:
    """``dltrigger.io.atomic`` -> ``io``; the package face itself has none."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def floor(name: str) -> int:
    return FLOORS.get(name, 0)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for name in names:
            # the longest known module the name starts with (``from .io import atomic``)
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def measure(root: Path) -> Structure:
    root = Path(root)
    files = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    result = Structure()
    for module, path in files.items():
        result.modules[module] = len(path.read_text().splitlines())
        if module == root.name:  # the lazy package face
            continue
        for target in _imports(path, module, known):
            # importing a package runs its __init__: an arrow to the package module itself
            result.edges.add((module, target))
    return result


def strongly_connected(nodes, edges) -> list[set[str]]:
    """Tarjan's components of the graph."""
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            found.append(component)

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else Path(__file__).parents[1] / "src" / "dltrigger")
    s = measure(root)
    print(f"modules {len(s.modules)}, rooms {len(s.rooms)}, arrows {len(s.arrows)}")
    print(f"running back up {len(s.back_up)}: {s.back_up}")
    print(f"stage to stage {len(s.stage_to_stage)}: {s.stage_to_stage}")
    print(f"circles {len(s.circles)}: {s.circles}")
    print(f"modules over {BIG_MODULE_LINES} lines {len(s.big_modules)}: {s.big_modules}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
