"""Delphes detector cards read from their Tcl text, and their formulas as numpy functions.

A Delphes card is a Tcl script: ``module <Type> <Name> { ... }`` blocks whose bodies hold
``set Key value`` (a word or a ``{ ... }`` body), ``add Key word ...`` (repeated: BTagging's
``add EfficiencyFormula {code} {formula}``) and ``source file.tcl`` (read here relative to the
card's folder). [`read_card`][] reads those; other commands (``for``/``foreach`` loops that
build calorimeter bins, ``set pi [expr ...]``) are skipped: nothing here evaluates Tcl.

Formulas (``EfficiencyFormula``, ``ResolutionFormula``, ``ScaleFormula``) are ROOT ``TFormula``
text of the variables ``pt``, ``eta``, ``phi`` and ``energy`` (``classes/DelphesFormula.cc``:
whitespace and backslashes are dropped, then the text is compiled). [`compile_formula`][]
translates them into vectorised numpy functions through a whitelist (the text is parsed with
``ast``, checked node by node, rewritten, and only then compiled): ``&&``/``||`` become
``np.logical_and``/``np.logical_or``, ``!`` a logical not, ``^`` a power, comparisons give
0.0/1.0 as in C, and only numbers, the four variables, ``abs sqrt exp log tanh pow`` and
arithmetic are accepted; anything else raises [`CardError`][] naming the card, module and
key.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DLTriggerError

#: The packaged cards (unchanged copies of Delphes 3.5.1's, see ``cards/README.md``).
CARDS = Path(__file__).parent / "cards"
PHASE2_CARD = CARDS / "CMS_PhaseII" / "CMS_PhaseII_0PU.tcl"

#: The variables a formula may use: Delphes passes pt, eta, phi and energy (``Eval``).
VARIABLES = ("pt", "eta", "phi", "energy")

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


class CardError(DLTriggerError, ValueError):
    """A card that cannot be read, or a formula that cannot be translated safely."""


def _as_float(value: Any) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def _logical_and(*values: Any) -> FloatArray:
    return _as_float(functools.reduce(np.logical_and, (np.asarray(v) != 0 for v in values)))


def _logical_or(*values: Any) -> FloatArray:
    return _as_float(functools.reduce(np.logical_or, (np.asarray(v) != 0 for v in values)))


def _logical_not(value: Any) -> FloatArray:
    return _as_float(np.asarray(value) == 0)


#: Functions a formula may call, with their number of arguments.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "abs": (np.abs, 1),
    "sqrt": (np.sqrt, 1),
    "exp": (np.exp, 1),
    "log": (np.log, 1),
    "tanh": (np.tanh, 1),
    "pow": (np.power, 2),
}

_HELPERS: dict[str, Callable[..., Any]] = {
    "_f_as_float": _as_float,
    "_f_and": _logical_and,
    "_f_or": _logical_or,
    "_f_not": _logical_not,
    **{f"_f_{name}": function for name, (function, _) in FUNCTIONS.items()},
}

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.UAdd, ast.USub, ast.Invert)  # Invert: C's "!" (see _python_text)
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


class _Validate(ast.NodeVisitor):
    """Refuses every node outside the formula language, with the offending text."""

    def __init__(self, text: str):
        self.text = text

    def refuse(self, node: ast.AST, what: str) -> None:
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        raise ValueError(f"{what}: {segment!r}")

    def generic_visit(self, node: ast.AST) -> None:
        allowed = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call,
                   ast.Name, ast.Constant, ast.Load, ast.And, ast.Or, *_BINARY, *_UNARY,
                   *_COMPARE)  # fmt: skip
        if not isinstance(node, allowed):
            self.refuse(node, f"unsupported syntax ({type(node).__name__})")
        super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            self.refuse(node, "only numbers are allowed as constants")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id not in VARIABLES:
            self.refuse(node, f"unknown variable (allowed: {', '.join(VARIABLES)})")

    def visit_Call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            self.refuse(node, f"unknown function (allowed: {', '.join(FUNCTIONS)})")
            return
        if node.keywords or len(node.args) != FUNCTIONS[node.func.id][1]:
            self.refuse(node, f"{node.func.id} takes {FUNCTIONS[node.func.id][1]} argument(s)")
        for arg in node.args:
            self.visit(arg)


class _ToNumpy(ast.NodeTransformer):
    """Rewrites a validated tree into calls of the numpy helpers (C semantics)."""

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        return _call("_f_and" if isinstance(node.op, ast.And) else "_f_or", *node.values)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Invert):
            return _call("_f_not", node.operand)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        # C (and TFormula) compares left to right, each result a number: a < b < c is
        # (a < b) < c, not Python's chained a < b and b < c.
        self.generic_visit(node)
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            left = _call("_f_as_float", ast.Compare(left=left, ops=[op], comparators=[right]))
        return left

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        assert isinstance(node.func, ast.Name)  # checked by _Validate
        return _call(f"_f_{node.func.id}", *node.args)


def _python_text(formula: str, where: str) -> str:
    """The TFormula text in Python syntax (before validation).

    ``&&``/``||`` become ``and``/``or`` (the same precedence, below comparisons); C's unary
    ``!`` becomes ``~`` (Python's unary operator of the same rank; ``not`` ranks below ``+``)
    and is read back as a logical not; ``^`` becomes ``**``.
    """
    # DelphesFormula::Compile drops spaces, tabs, newlines and backslashes (Tcl continuations)
    text = " ".join(formula.replace("\\", " ").split())
    python_only = re.search(r"~|\*\*|\b(and|or|not)\b", text)
    if python_only:
        raise CardError(f"{where}: {python_only.group()!r} is not formula syntax: {text!r}")
    for c_operator, python in (("&&", " and "), ("||", " or "), ("^", "**")):
        text = text.replace(c_operator, python)
    return re.sub(r"!(?!=)", "~", text)


@dataclass(frozen=True)
class CardFormula:
    """A compiled card formula: call it with numpy arrays (broadcast against each other).

    ``where``: "card, module, key" for messages; ``text``: the formula as the card writes it;
    ``variables``: those it uses (each must be passed when called).
    """

    where: str
    text: str
    python: str
    variables: frozenset[str]
    _code: Any = field(repr=False, compare=False)

    def __call__(
        self,
        pt: ArrayLike | None = None,
        eta: ArrayLike | None = None,
        *,
        phi: ArrayLike | None = None,
        energy: ArrayLike | None = None,
    ) -> FloatArray:
        given = {"pt": pt, "eta": eta, "phi": phi, "energy": energy}
        missing = sorted(v for v in self.variables if given[v] is None)
        if missing:
            raise CardError(f"{self.where}: the formula needs {', '.join(missing)}")
        arrays = {k: _as_float(v) for k, v in given.items() if v is not None}
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values())) if arrays else ()
        namespace: dict[str, Any] = {"__builtins__": {}, **_HELPERS}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = eval(self._code, namespace, {v: arrays[v] for v in self.variables})
        return np.array(np.broadcast_to(_as_float(value), shape), dtype=np.float64)


def compile_formula(formula: str, where: str = "formula") -> CardFormula:
    """Translate a Delphes/TFormula expression into a [`CardFormula`][].

    ``where`` names the formula's origin (card, module, key) in errors. Raises
    [`CardError`][] for anything outside numbers, ``pt eta phi energy``, the functions of
    [`FUNCTIONS`][], ``+ - * / ^``, comparisons, ``&& || !`` and parentheses.
    """
    text = _python_text(formula, where)
    if not text:
        raise CardError(f"{where}: empty formula")
    try:
        tree = ast.parse(text, filename=where, mode="eval")
    except SyntaxError as error:
        raise CardError(f"{where}: not a formula ({error.msg}): {formula.strip()!r}") from None
    try:
        _Validate(text).visit(tree)
    except ValueError as error:
        raise CardError(f"{where}: {error}") from None
    variables = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)) & set(VARIABLES)
    numpy_tree = ast.fix_missing_locations(_ToNumpy().visit(tree))
    code = compile(numpy_tree, filename=where, mode="eval")
    return CardFormula(where=where, text=formula, python=text, variables=variables, _code=code)


# -- the card's Tcl ------------------------------------------------------------------------


def _commands(text: str, where: str) -> list[list[str]]:
    """Split Tcl text into commands, each a list of words (outer braces kept on words).

    Commands end at a newline or ``;`` outside braces and brackets; ``#`` at the start of a
    command is a comment to the end of the line; backslash-newline joins lines.
    """
    commands: list[list[str]] = []
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] == "\n":
            i += 2
        elif c in " \t\r":
            i += 1
        elif c in "\n;":
            if words:
                commands.append(words)
                words = []
            i += 1
        elif c == "#" and not words:
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{[":
            close = {"{": "}", "[": "]"}[c]
            depth, j = 0, i
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == c:
                    depth += 1
                elif text[j] == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise CardError(f"{where}: unbalanced {c!r} at offset {i}")
            j += 1
            while j < n and text[j] not in " \t\r\n;":  # a word may go on after a bracket
                j += 1
            words.append(text[i:j])
            i = j
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise CardError(f"{where}: unbalanced '\"' at offset {i}")
            words.append(text[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in " \t\r\n;":
                j += 2 if text[j] == "\\" else 1
            words.append(text[i:j])
            i = j
    if words:
        commands.append(words)
    return commands


def _unbrace(word: str) -> str:
    return word[1:-1] if word.startswith("{") and word.endswith("}") else word


@dataclass(frozen=True)
class CardModule:
    """One ``module <Type> <Name> { ... }`` block: its ``set`` values (braces removed, the
    last ``set`` wins) and its ``add`` lists (one list of words per ``add`` line)."""

    type: str
    name: str
    card: Path
    settings: dict[str, str]
    adds: dict[str, list[list[str]]]

    def where(self, key: str) -> str:
        return f"card {self.card.name}, module {self.name}, key {key}"

    def get(self, key: str) -> str:
        """The value of ``set <key>``; [`CardError`][] if the module has none."""
        if key not in self.settings:
            raise CardError(f"{self.where(key)}: not set (set: {', '.join(self.settings)})")
        return self.settings[key].strip()

    def number(self, key: str) -> float:
        try:
            return float(self.get(key))
        except ValueError:
            raise CardError(f"{self.where(key)}: not a number: {self.get(key)!r}") from None

    def formula(self, key: str) -> CardFormula:
        """``set <key> {formula}``, compiled."""
        return compile_formula(self.get(key), self.where(key))

    def keyed_formulas(self, key: str = "EfficiencyFormula") -> dict[int, CardFormula]:
        """``add <key> {code} {formula}`` lines (BTagging, TauTagging), by integer code."""
        out: dict[int, CardFormula] = {}
        for words in self.adds.get(key, []):
            if len(words) != 2:
                raise CardError(f"{self.where(key)}: expected 'add {key} {{code}} {{formula}}'")
            code = int(_unbrace(words[0]).strip())
            out[code] = compile_formula(_unbrace(words[1]), f"{self.where(key)} {{{code}}}")
        return out


@dataclass(frozen=True)
class Card:
    """A Delphes card's modules, by name, and its execution path."""

    path: Path
    modules: dict[str, CardModule]
    execution_path: tuple[str, ...]

    def module(self, name: str) -> CardModule:
        if name not in self.modules:
            raise CardError(f"card {self.path.name}: no module {name!r}")
        return self.modules[name]


def _module_body(
    commands: Sequence[list[str]], base: Path, where: str, seen: tuple[Path, ...]
) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    settings: dict[str, str] = {}
    adds: dict[str, list[list[str]]] = {}
    for words in commands:
        command, args = words[0], words[1:]
        if command == "set" and len(args) == 2:
            settings[args[0]] = _unbrace(args[1])
        elif command == "add" and args:
            adds.setdefault(args[0], []).append(list(args[1:]))
        elif command == "source" and len(args) == 1:
            path = _sourced(base, args[0], where, seen)
            more_settings, more_adds = _module_body(
                _commands(path.read_text(), str(path)), base, where, (*seen, path)
            )
            settings.update(more_settings)
            for key, lines in more_adds.items():
                adds.setdefault(key, []).extend(lines)
    return settings, adds


def _sourced(base: Path, name: str, where: str, seen: tuple[Path, ...]) -> Path:
    path = (base / _unbrace(name)).resolve()
    if path in seen:
        raise CardError(f"{where}: 'source {name}' includes itself")
    if not path.is_file():
        raise CardError(f"{where}: 'source {name}': no file {path}")
    return path


def read_card(path: str | Path) -> Card:
    """Read a Delphes card: its modules (``source`` lines resolved relative to the card)."""
    card = Path(path).resolve()
    if not card.is_file():
        raise CardError(f"no card {card}")
    modules: dict[str, CardModule] = {}
    execution_path: tuple[str, ...] = ()
    pending = list(_commands(card.read_text(), card.name))
    seen: tuple[Path, ...] = (card,)
    while pending:
        words = pending.pop(0)
        if words[0] == "module" and len(words) == 4:
            type_, name, body = words[1], words[2], _unbrace(words[3])
            where = f"card {card.name}, module {name}"
            settings, adds = _module_body(_commands(body, where), card.parent, where, seen)
            modules[name] = CardModule(type_, name, card, settings, adds)
        elif words[0] == "set" and len(words) == 3 and words[1] == "ExecutionPath":
            execution_path = tuple(_unbrace(words[2]).split())
        elif words[0] == "source" and len(words) == 2:
            sourced = _sourced(card.parent, words[1], f"card {card.name}", seen)
            seen = (*seen, sourced)
            pending[:0] = _commands(sourced.read_text(), sourced.name)
    return Card(card, modules, execution_path)


@functools.cache
def phase2_card() -> Card:
    """The packaged ``CMS_PhaseII_0PU.tcl`` (read once per process)."""
    return read_card(PHASE2_CARD)
