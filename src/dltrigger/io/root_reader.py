"""Read Delphes-style ROOT trees with uproot into Arrow record batches.

A tree's *layout* maps its branches to columns: a collection ``C`` (branches ``C.M`` that are
jagged numbers, written by Delphes as the split TClonesArray ``C/C.M`` or by our generator as
top-level ``C.M`` with a counter ``C_size``) becomes one ``list<struct<M...>>`` column ``C``;
a flat numeric branch becomes a scalar column. Counters are implied by the list lengths and
are not read. Members that are not plain numbers per object (Delphes' ``fUniqueID``/``fBits``
bookkeeping, TRef/TRefArray links, fixed-size arrays such as ``Tower.Edges[4]``) are left out of
the default layout and listed in ``TreeLayout.skipped``.

Nothing here knows about Spark; ``spark/root_source.py`` wires it into a Spark data source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import awkward as ak
import numpy as np
import pyarrow as pa
import uproot

from ..errors import BranchNotFoundError, RootFileError, TreeNotFoundError
from .paths import is_remote

#: TObject bookkeeping members of every Delphes class: never physics, skipped by default.
BOOKKEEPING_MEMBERS = frozenset({"fUniqueID", "fBits"})

#: Spark has no unsigned integers: widen them to the next signed type.
_SPARK_DTYPES = {
    np.dtype(np.uint8): np.dtype(np.int16),
    np.dtype(np.uint16): np.dtype(np.int32),
    np.dtype(np.uint32): np.dtype(np.int64),
    np.dtype(np.uint64): np.dtype(np.int64),
}

SOURCE_FILE_COLUMN = "source_file"
ENTRY_COLUMN = "entry"


@dataclass(frozen=True)
class Column:
    """One numeric branch: its column (or member) name, its path in the tree, its dtype."""

    name: str
    branch: str
    dtype: str

    @property
    def arrow_type(self) -> pa.DataType:
        dtype = np.dtype(self.dtype)
        return pa.from_numpy_dtype(_SPARK_DTYPES.get(dtype, dtype))


@dataclass(frozen=True)
class Collection:
    name: str
    members: tuple[Column, ...]

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.list_(pa.struct([pa.field(m.name, m.arrow_type) for m in self.members]))


@dataclass(frozen=True)
class TreeLayout:
    collections: tuple[Collection, ...]
    scalars: tuple[Column, ...]
    #: Branches left out of the layout, with the reason.
    skipped: dict[str, str] = field(default_factory=dict, compare=False)

    def names(self) -> list[str]:
        """Every selectable name: collections, ``C.M`` members and scalars."""
        out = []
        for c in self.collections:
            out.append(c.name)
            out.extend(f"{c.name}.{m.name}" for m in c.members)
        out.extend(s.name for s in self.scalars)
        return out

    def branch_paths(self) -> list[str]:
        paths = [m.branch for c in self.collections for m in c.members]
        return paths + [s.branch for s in self.scalars]

    def select(self, requested: list[str], path: str = "?", tree: str = "?") -> TreeLayout:
        """The layout restricted to ``requested`` collections, ``C.M`` members and scalars."""
        if not requested:
            return self
        members: dict[str, list[Column]] = {}
        scalars: list[Column] = []
        by_collection = {c.name: c for c in self.collections}
        by_scalar = {s.name: s for s in self.scalars}
        for name in requested:
            if name in by_collection:
                members[name] = list(by_collection[name].members)
            elif name in by_scalar:
                scalars.append(by_scalar[name])
            elif "." in name and name.split(".", 1)[0] in by_collection:
                collection, member = name.split(".", 1)
                found = [m for m in by_collection[collection].members if m.name == member]
                if not found:
                    raise self._missing(name, path, tree)
                members.setdefault(collection, [])
                if found[0] not in members[collection]:
                    members[collection].append(found[0])
            else:
                raise self._missing(name, path, tree)
        collections = tuple(
            Collection(c.name, tuple(members[c.name]))
            for c in self.collections
            if c.name in members
        )
        return TreeLayout(collections, tuple(s for s in self.scalars if s in scalars))

    def _missing(self, name: str, path: str, tree: str) -> BranchNotFoundError:
        if name in self.skipped:
            return RootFileError(
                path, f"branch {name!r} of tree {tree!r} cannot be read: {self.skipped[name]}"
            )
        return BranchNotFoundError(path, tree, name, self.names())

    def arrow_schema(self, source_columns: bool = True) -> pa.Schema:
        fields = [pa.field(c.name, c.arrow_type) for c in self.collections]
        fields += [pa.field(s.name, s.arrow_type) for s in self.scalars]
        if source_columns:
            fields += [
                pa.field(SOURCE_FILE_COLUMN, pa.string()),
                pa.field(ENTRY_COLUMN, pa.int64()),
            ]
        return pa.schema(fields)


def open_file(path: str, timeout: float = 30.0):
    """Open a ROOT file (local or ``root://``), turning every failure into a RootFileError."""
    options = {}
    if is_remote(path) and path.startswith("root://"):
        options = {"handler": uproot.source.xrootd.XRootDSource, "timeout": timeout}
    try:
        return uproot.open(path, **options)
    except FileNotFoundError:
        return _raise(path, "file not found")
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if is_remote(path):
            return _raise(path, f"cannot open over {path.split('://')[0]}:// ({reason})")
        if os.path.exists(path) and os.path.getsize(path) == 0:
            return _raise(path, "empty file (0 bytes)")
        return _raise(path, f"not a readable ROOT file ({reason})")


def _raise(path: str, reason: str):
    raise RootFileError(path, reason)


def open_tree(path: str, tree_name: str):
    """The file and its tree ``tree_name``; errors name the file and the trees present."""
    file = open_file(path)
    try:
        classes = file.classnames(recursive=True)
    except Exception as exc:
        file.close()
        raise RootFileError(path, f"cannot read the file's directory ({exc})") from None
    trees = sorted({k.split(";")[0] for k, v in classes.items() if v in ("TTree", "TNtuple")})
    if tree_name not in trees:
        file.close()
        raise TreeNotFoundError(path, tree_name, trees)
    try:
        return file, file[tree_name]
    except Exception as exc:
        file.close()
        raise RootFileError(path, f"cannot read tree {tree_name!r} ({exc})") from None


def _numeric_dtype(interpretation) -> tuple[str, np.dtype] | None:
    """('jagged'|'flat', dtype) for plain numbers per object or per event, else None."""
    if isinstance(interpretation, uproot.interpretation.jagged.AsJagged):
        content = interpretation.content
        if (
            isinstance(content, uproot.interpretation.numerical.AsDtype)
            and content.to_dtype.shape == ()
        ):
            return "jagged", content.to_dtype
        return None
    if (
        isinstance(interpretation, uproot.interpretation.numerical.AsDtype)
        and interpretation.to_dtype.shape == ()
        and interpretation.to_dtype.kind in "biuf"
    ):
        return "flat", interpretation.to_dtype
    return None


def infer_layout(tree) -> TreeLayout:
    """The columns a tree offers (see module doc)."""
    members: dict[str, list[Column]] = {}
    scalars: list[Column] = []
    skipped: dict[str, str] = {}
    counters: set[str] = set()
    for full_path, branch in tree.iteritems(recursive=True, full_paths=True):
        if len(branch.branches) > 0:
            continue  # a split parent such as Delphes' "Electron": its leaves are read instead
        name = branch.name
        try:
            interpretation = branch.interpretation
        except Exception as exc:  # uproot cannot interpret some streamed classes at all
            skipped[name] = f"no interpretation ({type(exc).__name__})"
            continue
        kind = _numeric_dtype(interpretation)
        collection, _, member = name.partition(".")
        if member and member in BOOKKEEPING_MEMBERS:
            skipped[name] = "TObject bookkeeping member"
        elif kind is None:
            skipped[name] = f"not plain numbers ({interpretation})"
        elif kind[0] == "jagged" and member:
            members.setdefault(collection, []).append(Column(member, full_path, kind[1].str))
        elif kind[0] == "flat":
            if name.endswith("_size"):
                counters.add(name)
            scalars.append(Column(name.replace(".", "_"), full_path, kind[1].str))
        else:
            skipped[name] = "jagged branch outside a collection"
    collection_names = set(members)
    scalars = [
        s for s in scalars if not (s.name.endswith("_size") and s.name[:-5] in collection_names)
    ]
    collections = tuple(Collection(n, tuple(m)) for n, m in members.items())
    return TreeLayout(collections, tuple(scalars), skipped)


def check_not_truncated(path: str, file, tree, layout: TreeLayout) -> None:
    """Every basket of the branches read must lie inside the file.

    A cut-off copy still opens (uproot finds the directory and the tree's metadata near the
    start) and would fail only when its missing baskets are read, after other parts of the
    file were already used; this check finds it from the header alone.
    """
    size = getattr(file.file.source, "num_bytes", None)
    if not size:
        return
    for name in layout.branch_paths():
        branch = tree[name]
        n = branch.num_baskets
        if n == 0:
            continue
        ends = branch.member("fBasketSeek")[:n] + branch.member("fBasketBytes")[:n]
        if int(ends.max()) > size:
            raise RootFileError(
                path,
                f"truncated: branch {branch.name!r} has data up to byte {int(ends.max())} "
                f"but the file has {size} bytes",
            )


def cluster_starts(tree, layout: TreeLayout) -> list[int]:
    """Entries where every branch read starts a new basket (the tree's clusters)."""
    try:
        offsets = tree.common_entry_offsets(
            filter_name=[b.rsplit("/", 1)[-1] for b in layout.branch_paths()]
        )
        return [int(x) for x in offsets[:-1]] or [0]
    except Exception:  # a tree without baskets in common: one cluster
        return [0]


def compressed_bytes(tree, layout: TreeLayout, start: int, stop: int) -> int:
    """Compressed bytes of the baskets holding entries [start, stop) of the branches read."""
    total = 0
    for name in layout.branch_paths():
        branch = tree[name]
        n = branch.num_baskets
        if n == 0:
            continue
        first = branch.member("fBasketEntry")[: n + 1]
        sizes = branch.member("fBasketBytes")[:n]
        last_entry = np.append(first[1:n], branch.num_entries)
        overlap = (first[:n] < stop) & (last_entry > start)
        total += int(sizes[overlap].sum())
    return total


def _flat_numpy(array: ak.Array, dtype: np.dtype) -> np.ndarray:
    values = ak.to_numpy(array)
    target = _SPARK_DTYPES.get(values.dtype, values.dtype)
    return values.astype(target, copy=False) if values.dtype != target else values


def read_record_batch(
    tree,
    layout: TreeLayout,
    start: int,
    stop: int,
    source_file: str | None = None,
) -> pa.RecordBatch:
    """Entries [start, stop) of ``tree`` as one Arrow record batch of ``layout``'s columns.

    Jagged collections go to Arrow as offsets + flat member buffers (no Python objects);
    ``source_file`` (when given) adds the ``source_file`` and ``entry`` columns.
    """
    arrays = tree.arrays(
        layout.branch_paths(), entry_start=start, entry_stop=stop, library="ak", how=dict
    )
    n = stop - start
    columns: list[pa.Array] = []
    for collection in layout.collections:
        first = arrays[collection.members[0].branch]
        counts = ak.to_numpy(ak.num(first, axis=1))
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        children = [
            pa.array(_flat_numpy(ak.flatten(arrays[m.branch], axis=1), m.dtype))
            for m in collection.members
        ]
        struct = pa.StructArray.from_arrays(children, names=[m.name for m in collection.members])
        columns.append(pa.ListArray.from_arrays(pa.array(offsets), struct))
    for scalar in layout.scalars:
        columns.append(pa.array(_flat_numpy(arrays[scalar.branch], scalar.dtype)))
    with_source = source_file is not None
    if with_source:
        columns.append(pa.array([source_file]).take(np.zeros(n, dtype=np.int32)))
        columns.append(pa.array(np.arange(start, stop, dtype=np.int64)))
    return pa.RecordBatch.from_arrays(columns, schema=layout.arrow_schema(with_source))
