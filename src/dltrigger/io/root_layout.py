"""What a ROOT tree offers as columns (its *layout*), and how layouts of many files agree.

A collection ``C`` (branches ``C.M`` that are jagged per event: Delphes' split TClonesArray
``C/C.M`` or our generator's top-level ``C.M`` with a counter ``C_size``) becomes one
``list<struct<M...>>`` column ``C``; a flat branch becomes a scalar column. Counters are implied
by the list lengths and are not read. Every member of a genuine Delphes file is either a typed
field or listed in [`TreeLayout.skipped`][] with the reason:

==========================  ====================================================================
member                      column
==========================  ====================================================================
numbers (``Float_t``...)    the number; unsigned integers widened to the next signed type
                            (Spark has none): ``UInt_t`` -> ``int64``
fixed arrays (``Edges[4]``) ``fixed_size_list<number>[4]`` named without the ``[4]``
``TLorentzVector``          ``struct<px, py, pz, E>`` (float64); ``TrimmedP4[5]`` a fixed list
                            of five
``TRef`` / ``TRefArray``    skipped: links to objects of other collections (GenParticles,
                            constituents), meaningless without them
``fUniqueID`` / ``fBits``   skipped: ``TObject`` bookkeeping
anything else               skipped, its ROOT type named
==========================  ====================================================================

Files are matched **by collection and member name**, never by position: [`unify`][] merges
the layouts of every input file (a number type that differs between files is widened to one
both fit, ``int32`` + ``int64`` -> ``int64``; an integer in one file and a float in another is a
[`SchemaMismatchError`][] naming both files and types), and
[`bind`][] checks one file against the merged layout before it is read.

Nothing here opens a file or knows about Spark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import uproot

from ..errors import BranchNotFoundError, RootFileError, SchemaMismatchError

#: TObject bookkeeping members of every Delphes class: never physics, skipped.
BOOKKEEPING_MEMBERS = frozenset({"fUniqueID", "fBits"})

#: Spark has no unsigned integers: widen them to the next signed type.
_SIGNED: dict[np.dtype[Any], np.dtype[Any]] = {
    np.dtype(np.uint8): np.dtype(np.int16),
    np.dtype(np.uint16): np.dtype(np.int32),
    np.dtype(np.uint32): np.dtype(np.int64),
    np.dtype(np.uint64): np.dtype(np.int64),
}

#: The four components of a ``TLorentzVector`` as stored (``fP.fX``...) and as columns.
LORENTZ_FIELDS = ("px", "py", "pz", "E")

SOURCE_FILE_COLUMN = "source_file"
ENTRY_COLUMN = "entry"


def column_dtype(dtype: np.dtype) -> np.dtype:
    """The type a number is stored as: native byte order, unsigned widened to signed."""
    native = np.dtype(dtype).newbyteorder("=")
    return _SIGNED.get(native, native)


@dataclass(frozen=True)
class Column:
    """One readable branch: its column (or member) name, its path in the tree, its values.

    ``kind`` is ``"number"`` (one value per object or event), ``"array"`` (a fixed-size array
    of ``shape``) or ``"lorentz"`` (a TLorentzVector, or a fixed-size array of them);
    ``dtype`` is the stored number type (after widening).
    """

    name: str
    branch: str
    dtype: str
    kind: str = "number"
    shape: tuple[int, ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        if self.kind == "lorentz":
            value = pa.struct([pa.field(f, pa.float64()) for f in LORENTZ_FIELDS])
        else:
            value = pa.from_numpy_dtype(np.dtype(self.dtype))
        for size in reversed(self.shape):
            value = pa.list_(value, size)
        return value

    def describe(self) -> str:
        """The type in words, for error messages (``int64``, ``float32[4]``, ``TLorentzVector``)."""
        base = "TLorentzVector" if self.kind == "lorentz" else str(np.dtype(self.dtype))
        return base + "".join(f"[{n}]" for n in self.shape)


@dataclass(frozen=True)
class Collection:
    name: str
    members: tuple[Column, ...]

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.list_(pa.struct([pa.field(m.name, m.arrow_type) for m in self.members]))

    def member(self, name: str) -> Column | None:
        return next((m for m in self.members if m.name == name), None)


@dataclass(frozen=True)
class TreeLayout:
    collections: tuple[Collection, ...]
    scalars: tuple[Column, ...]
    #: Branches left out of the layout (full name, e.g. ``Jet.Constituents``), with the reason.
    skipped: dict[str, str] = field(default_factory=dict, compare=False)
    #: Every collection and flat branch of the tree, also those not inferred (``only``):
    #: the names an error suggests from.
    available: tuple[str, ...] = field(default=(), compare=False)

    def collection(self, name: str) -> Collection | None:
        return next((c for c in self.collections if c.name == name), None)

    def scalar(self, name: str) -> Column | None:
        return next((s for s in self.scalars if s.name == name), None)

    def names(self) -> list[str]:
        """Every selectable name: collections, ``C.M`` members and scalars."""
        out = []
        for c in self.collections:
            out.append(c.name)
            out.extend(f"{c.name}.{m.name}" for m in c.members)
        out.extend(s.name for s in self.scalars)
        return out

    def top_names(self) -> list[str]:
        """Collections and scalars: the columns of the layout."""
        return [c.name for c in self.collections] + [s.name for s in self.scalars]

    def column_names(self) -> list[str]:
        """The names that select exactly this layout (every member of each collection)."""
        return [f"{c.name}.{m.name}" for c in self.collections for m in c.members] + [
            s.name for s in self.scalars
        ]

    def branch_paths(self) -> list[str]:
        paths = [m.branch for c in self.collections for m in c.members]
        return paths + [s.branch for s in self.scalars]

    def select(self, requested: list[str], path: str = "?", tree: str = "?") -> TreeLayout:
        """The layout restricted to ``requested`` collections, ``C.M`` members and scalars, in
        the order requested (a member's collection where it is first named)."""
        if not requested:
            return self
        members: dict[str, list[Column]] = {}
        scalars: list[Column] = []
        for name in requested:
            collection = self.collection(name)
            scalar = self.scalar(name)
            if collection is not None:
                members[name] = list(collection.members)
            elif scalar is not None:
                scalars.append(scalar)
            elif "." in name and (outer_coll := self.collection(name.split(".", 1)[0])) is not None:
                outer, member = name.split(".", 1)
                found = outer_coll.member(member)
                if found is None:
                    raise self._missing(name, path, tree)
                members.setdefault(outer, [])
                if found not in members[outer]:
                    members[outer].append(found)
            else:
                raise self._missing(name, path, tree)
        # In the order asked for, so that files that order their branches differently agree.
        collections = tuple(Collection(name, tuple(found)) for name, found in members.items())
        return TreeLayout(collections, tuple(scalars), self.skipped, self.available)

    def _missing(self, name: str, path: str, tree: str) -> RootFileError:
        if name in self.skipped:
            return RootFileError(
                path, f"branch {name!r} of tree {tree!r} cannot be read: {self.skipped[name]}"
            )
        # A collection's name is compared with collections and scalars, a member with members.
        candidates = self.names() if "." in name else (self.available or self.top_names())
        return BranchNotFoundError(path, tree, name, candidates)

    def arrow_schema(self, source_columns: bool = True) -> pa.Schema:
        fields = [pa.field(c.name, c.arrow_type) for c in self.collections]
        fields += [pa.field(s.name, s.arrow_type) for s in self.scalars]
        if source_columns:
            fields += [
                pa.field(SOURCE_FILE_COLUMN, pa.string()),
                pa.field(ENTRY_COLUMN, pa.int64()),
            ]
        return pa.schema(fields)


def _model_name(content: Any) -> str:
    model = getattr(content, "model", None)
    return getattr(model, "__name__", str(model))


def _shape_of(dtype: np.dtype) -> tuple[np.dtype, tuple[int, ...]]:
    return (dtype.base, tuple(dtype.shape)) if dtype.shape else (dtype, ())


def member_column(name: str, path: str, branch: Any) -> Column | str:
    """The column of one leaf branch, or the reason it is skipped."""
    try:
        interpretation = branch.interpretation
    except Exception as exc:  # uproot cannot interpret some streamed classes at all
        return f"{getattr(branch, 'typename', '?')}: uproot has no interpretation ({exc})"
    jagged = isinstance(interpretation, uproot.interpretation.jagged.AsJagged)
    content = interpretation.content if jagged else interpretation
    typename = getattr(branch, "typename", str(interpretation))
    # AsStridedObjects is an AsDtype too (a structured one): test it first.
    if isinstance(content, uproot.interpretation.objects.AsStridedObjects):
        model = _model_name(content)
        shape = tuple(getattr(content, "inner_shape", ()) or ())
        if model.startswith("Model_TLorentzVector"):
            return Column(name, path, np.dtype(np.float64).str, "lorentz", shape)
        if model.startswith("Model_TRef"):
            return "TRef: a link to an object of another collection (e.g. Particle), not read"
    if isinstance(content, uproot.interpretation.numerical.AsDtype):
        base, shape = _shape_of(content.to_dtype)
        if base.kind not in "biuf":
            return f"{typename}: not numbers ({base})"
        dtype = column_dtype(base)
        return Column(name, path, dtype.str, "array" if shape else "number", shape)
    if "TRefArray" in str(interpretation):
        return "TRefArray: links to objects of other collections (e.g. constituents), not read"
    return f"{typename}: a type the reader does not convert ({interpretation})"


def top_level_names(tree: Any) -> list[str]:
    """The tree's collections and flat branches by name, without reading any branch's type
    (cheap: for choosing what to read)."""
    names = []
    for name in tree.keys(recursive=False):
        base = name.split(".", 1)[0] if "." in name else name
        if not name.endswith("_size") and base not in names:
            names.append(base)
    return names


def infer_layout(tree: Any, only: Iterable[str] | None = None) -> TreeLayout:
    """The columns a tree offers (see module doc); ``only``: just these collections and
    scalars (the types of the other branches are not even looked at: reading a genuine Delphes
    file's ~440 branch types takes about as long as opening it)."""
    wanted = None if only is None else {name.split(".", 1)[0] for name in only}
    members: dict[str, list[Column]] = {}
    scalars: list[Column] = []
    skipped: dict[str, str] = {}
    for full_path, branch in tree.iteritems(recursive=True, full_paths=True):
        if len(branch.branches) > 0:
            continue  # a split parent such as Delphes' "Electron": its leaves are read instead
        name = branch.name
        collection, _, member = name.partition(".")
        if wanted is not None and collection not in wanted and name.replace(".", "_") not in wanted:
            continue
        if member in BOOKKEEPING_MEMBERS:
            skipped[name] = "TObject bookkeeping member"
            continue
        found = member_column(member.split("[", 1)[0] if member else name, full_path, branch)
        if isinstance(found, str):
            skipped[name] = found
            continue
        jagged = isinstance(branch.interpretation, uproot.interpretation.jagged.AsJagged)
        if jagged and member:
            members.setdefault(collection, []).append(found)
        elif not jagged:
            scalars.append(replace(found, name=name.replace(".", "_").split("[", 1)[0]))
        else:
            skipped[name] = "jagged branch outside a collection"
    # The counters are implied by the collections' list lengths.
    scalars = [s for s in scalars if not (s.name.endswith("_size") and s.name[:-5] in members)]
    collections = tuple(Collection(n, tuple(m)) for n, m in members.items())
    return TreeLayout(collections, tuple(scalars), skipped, tuple(top_level_names(tree)))


def _merged_dtype(a: Column, b: Column) -> np.dtype | None:
    """A number type both columns' values fit (None when they are not the same kind)."""
    if (a.kind, a.shape) != (b.kind, b.shape):
        return None
    da, db = np.dtype(a.dtype), np.dtype(b.dtype)
    if da == db:
        return da
    if (da.kind in "iu") != (db.kind in "iu") or "b" in (da.kind, db.kind):
        return None
    return column_dtype(np.promote_types(da, db))


def unify(layouts: Iterable[tuple[str, TreeLayout]], tree: str = "Delphes") -> TreeLayout:
    """One layout for many files, matched by name (see module doc).

    ``layouts`` are ``(path, layout)`` pairs, already restricted to what was asked for; the
    result has the collections, members and scalars of the first file, in its order, then
    those only later files have. Types that differ are widened where both fit; otherwise a
    [`SchemaMismatchError`][] names both files, the branch and both types.
    """
    columns: dict[tuple[str, str], tuple[Column, str]] = {}  # (collection, member) -> first seen
    order: list[tuple[str, str]] = []
    skipped: dict[str, str] = {}
    for path, layout in layouts:
        skipped.update(layout.skipped)
        entries = [((c.name, m.name), m) for c in layout.collections for m in c.members]
        entries += [(("", s.name), s) for s in layout.scalars]
        for key, column in entries:
            if key not in columns:
                columns[key] = (column, path)
                order.append(key)
                continue
            seen, where = columns[key]
            dtype = _merged_dtype(seen, column)
            if dtype is None:
                name = ".".join(k for k in key if k)
                raise SchemaMismatchError(
                    path, tree, name, column.describe(), where, seen.describe()
                )
            columns[key] = (replace(seen, dtype=dtype.str), where)
    collections: dict[str, list[Column]] = {}
    scalars: list[Column] = []
    for key in order:
        column = columns[key][0]
        if key[0]:
            collections.setdefault(key[0], []).append(column)
        else:
            scalars.append(column)
    return TreeLayout(
        tuple(Collection(n, tuple(m)) for n, m in collections.items()), tuple(scalars), skipped
    )


def bind(expected: TreeLayout, found: TreeLayout, path: str, tree: str = "Delphes") -> TreeLayout:
    """``expected`` (the merged layout) with this file's branch paths, checked by name.

    A collection, member or scalar of ``expected`` that the file lacks raises
    [`BranchNotFoundError`][] naming the file and the nearest names it has; a type that
    cannot be widened to the expected one raises [`SchemaMismatchError`][].
    """
    collections = []
    for collection in expected.collections:
        present = found.collection(collection.name)
        if present is None:
            raise BranchNotFoundError(
                path, tree, collection.name, found.available or found.top_names()
            )
        members = []
        for member in collection.members:
            here = present.member(member.name)
            name = f"{collection.name}.{member.name}"
            if here is None:
                reason = found.skipped.get(name)
                if reason:
                    raise RootFileError(path, f"branch {name!r} of tree {tree!r}: {reason}")
                raise BranchNotFoundError(path, tree, name, found.names())
            members.append(_bound(member, here, name, path, tree))
        collections.append(Collection(collection.name, tuple(members)))
    scalars = []
    for scalar in expected.scalars:
        here = found.scalar(scalar.name)
        if here is None:
            raise BranchNotFoundError(path, tree, scalar.name, found.available or found.top_names())
        scalars.append(_bound(scalar, here, scalar.name, path, tree))
    return TreeLayout(tuple(collections), tuple(scalars), found.skipped)


def _bound(expected: Column, here: Column, name: str, path: str, tree: str) -> Column:
    dtype = _merged_dtype(expected, here)
    if dtype is None or dtype != np.dtype(expected.dtype):
        raise SchemaMismatchError(
            path, tree, name, here.describe(), "the other input files", expected.describe()
        )
    return replace(expected, branch=here.branch)


def missing_names(layout: TreeLayout, union: TreeLayout) -> list[str]:
    """What ``union`` has and ``layout`` lacks: whole collections and scalars first, then
    ``C.M`` members of collections both have."""
    whole = [c.name for c in union.collections if layout.collection(c.name) is None]
    whole += [s.name for s in union.scalars if layout.scalar(s.name) is None]
    members = [
        f"{c.name}.{m.name}"
        for c in union.collections
        if (own := layout.collection(c.name)) is not None
        for m in c.members
        if own.member(m.name) is None
    ]
    return whole + members
