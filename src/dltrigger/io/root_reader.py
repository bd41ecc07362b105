"""Read Delphes-style ROOT trees with uproot into Arrow record batches.

What a tree offers as columns (its layout, and how many files' layouts agree) is
[`root_layout`][dltrigger.io.root_layout]; this module opens files and reads entry ranges of a
layout. The same reader serves ``dltrigger ingest``, the Spark ``root`` source, ``dltrigger score``
and ``dltrigger stream``. Nothing here knows about Spark; ``spark/root_source.py`` wires it into a
Spark data source.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

import awkward as ak
import numpy as np
import pyarrow as pa
import uproot

from ..bounds import first_outside, member_bound
from ..errors import BadValueError, RootFileError, TreeNotFoundError
from .paths import is_remote
from .root_layout import (
    ENTRY_COLUMN,
    LORENTZ_FIELDS,
    SOURCE_FILE_COLUMN,
    Collection,
    Column,
    TreeLayout,
    bind,
    infer_layout,
    unify,
)

# The reader's public names, the layout's re-exported among them.
__all__ = [
    "ENTRY_COLUMN",
    "LORENTZ_FIELDS",
    "SOURCE_FILE_COLUMN",
    "Collection",
    "Column",
    "TreeLayout",
    "bind",
    "check_not_truncated",
    "check_values",
    "cluster_starts",
    "compressed_bytes",
    "infer_layout",
    "open_file",
    "open_tree",
    "read_record_batch",
    "unify",
]


def open_file(path: str, timeout: float = 30.0) -> Any:
    """Open a ROOT file (local or ``root://``), turning every failure into a RootFileError;
    a file shorter than its header says (a cut-off copy) is refused here, before any of it
    is used."""
    options: dict[str, Any] = {}
    if is_remote(path) and path.startswith("root://"):
        options = {"handler": uproot.source.xrootd.XRootDSource, "timeout": timeout}
    try:
        file = uproot.open(path, **options)
    except FileNotFoundError:
        return _raise(path, "file not found")
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if is_remote(path):
            return _raise(path, f"cannot open over {path.split('://')[0]}:// ({reason})")
        return _raise(path, _header_reason(path) or f"not a readable ROOT file ({reason})")
    end, size = file.file.fEND, _num_bytes(file)
    if size is not None and end > size:
        file.close()
        _raise(path, truncated_reason(size, end))
    return file


def _num_bytes(file: Any) -> int | None:
    """The size of an open file as its source sees it (None where the source cannot tell)."""
    try:
        return int(file.file.source.num_bytes)
    except Exception:  # a source without a size (some HTTP servers): not checked
        return None


def _raise(path: str, reason: str) -> NoReturn:
    raise RootFileError(path, reason)


#: Every ROOT file begins with these four bytes.
ROOT_MAGIC = b"root"


def truncated_reason(size: int, end: int) -> str:
    """The one-line reason for a file shorter than its header's ``fEND`` (where ROOT wrote
    the file's last byte: its size when complete)."""
    return (
        f"truncated: the file has {size:,} bytes but its header says it ends at byte {end:,} (fEND)"
    )


def _header_reason(path: str) -> str | None:
    """Why a local file uproot could not open is unusable, from its first bytes: empty, not
    a ROOT file at all (no ``root`` signature, or shorter than ROOT's file header), or cut
    short of the end its header gives; None when the header looks whole (uproot's own reason
    is then the best there is).

    A cut-off copy fails in uproot with a message about a chunk it could not read (the
    directory and its keys sit at the file's end); the header, read here by hand, says how
    long the file should be.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(ROOT_HEADER_BYTES[True])
    except OSError:
        return None
    if size == 0:
        return "empty file (0 bytes)"
    # After the magic: fVersion, fBEGIN, then fEND, 4 bytes or 8 in a file of 64-bit
    # pointers (fVersion >= 1000000), all big-endian.
    big = len(head) >= 8 and int.from_bytes(head[4:8], "big") >= 1_000_000
    if not head.startswith(ROOT_MAGIC) or size < ROOT_HEADER_BYTES[big]:
        return not_root_reason(size, head)
    width = 8 if big else 4
    end = int.from_bytes(head[12 : 12 + width], "big")
    return truncated_reason(size, end) if end > size else None


#: Bytes of ROOT's file header (``TFile::WriteHeader``: the magic, fVersion, fBEGIN, fEND,
#: fSeekFree, fNbytesFree, nfree, fNbytesName, fUnits, fCompress, fSeekInfo, fNbytesInfo and
#: fUUID), by whether its pointers are 64-bit: no ROOT file is shorter.
ROOT_HEADER_BYTES = {False: 63, True: 75}


def not_root_reason(size: int, head: bytes) -> str:
    """The one-line reason for a file that is no ROOT file: ``head``, its first bytes, lack
    the ``root`` signature, or the file is shorter than a ROOT file header."""
    return f"not a ROOT file ({size:,} bytes, starts with {head[:16]!r})"


def open_tree(path: str, tree_name: str) -> tuple[Any, Any]:
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


def check_not_truncated(path: str, file: Any, tree: Any, layout: TreeLayout) -> None:
    """Every basket of the branches read must lie inside the file.

    A cut-off copy is refused by [`open_file`][] already (its header's ``fEND`` is past its
    size); this second check, from the tree's metadata, catches a file whose header was
    rewritten to its cut length: it would otherwise fail only when its missing baskets are
    read, after other parts of the file were already used.
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
                f"truncated: branch {branch.name!r} has data up to byte {int(ends.max()):,} "
                f"but the file has {size:,} bytes (its header says {file.file.fEND:,}: fEND)",
            )


def cluster_starts(tree: Any, layout: TreeLayout) -> list[int]:
    """Entries where every branch read starts a new basket (the tree's clusters)."""
    try:
        offsets = tree.common_entry_offsets(
            filter_name=[b.rsplit("/", 1)[-1] for b in layout.branch_paths()]
        )
        return [int(x) for x in offsets[:-1]] or [0]
    except Exception:  # a tree without baskets in common: one cluster
        return [0]


def compressed_bytes(tree: Any, layout: TreeLayout, start: int, stop: int) -> int:
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


def _values(array: ak.Array, column: Column) -> pa.Array:
    """One member's values (all objects of the range, flattened) as an Arrow array."""
    if column.kind == "lorentz":
        parts = [array.fP.fX, array.fP.fY, array.fP.fZ, array.fE]
        children = [
            pa.array(ak.to_numpy(ak.flatten(p, axis=None)).astype(np.float64)) for p in parts
        ]
        values: pa.Array = pa.StructArray.from_arrays(children, names=list(LORENTZ_FIELDS))
    else:
        flat = ak.to_numpy(ak.flatten(array, axis=None))
        values = pa.array(flat.astype(np.dtype(column.dtype), copy=False))
    for size in reversed(column.shape):
        values = pa.FixedSizeListArray.from_arrays(values, size)
    return values


def _plain_jagged(array: ak.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Offsets and flat values of a list of plain numbers (what uproot makes of a split
    Delphes member such as ``Jet.PT``), read from the buffers; None for anything else."""
    layout = array.layout
    if not isinstance(layout, ak.contents.ListOffsetArray):
        return None
    content = layout.content
    if not isinstance(content, ak.contents.NumpyArray) or content.data.ndim != 1:
        return None
    offsets = np.asarray(layout.offsets.data)
    return offsets, np.asarray(content.data)[offsets[0] : offsets[-1]]


def _counts(array: ak.Array) -> np.ndarray:
    plain = _plain_jagged(array)
    if plain is not None:
        return np.diff(plain[0])
    return np.asarray(ak.to_numpy(ak.num(array, axis=1)))


def _member_values(array: ak.Array, column: Column) -> pa.Array:
    """A collection member's values, all objects of the range, as one flat Arrow array; the
    buffers are taken directly for plain numbers (awkward's general flatten costs ~40% of the
    conversion on Delphes-like files), the general path for the rest."""
    plain = _plain_jagged(array) if column.kind != "lorentz" and not column.shape else None
    if plain is None:
        return _values(ak.flatten(array, axis=1), column)
    return pa.array(plain[1].astype(np.dtype(column.dtype), copy=False))


def _leaves(values: pa.Array) -> list[tuple[str, np.ndarray]]:
    """The numbers of one column's Arrow values as flat numpy arrays (the Arrow buffers
    themselves, no copy): fixed-size arrays flattened, a TLorentzVector's four components
    one by one (named by the suffix)."""
    while pa.types.is_fixed_size_list(values.type):
        values = values.flatten()
    if pa.types.is_struct(values.type):
        return [
            (f" ({values.type.field(i).name})", values.field(i).to_numpy(zero_copy_only=False))
            for i in range(values.type.num_fields)
        ]
    return [("", values.to_numpy(zero_copy_only=False))]


def check_values(
    tree: Any,
    column: Column,
    collection: str,
    values: pa.Array,
    start: int,
    offsets: np.ndarray | None = None,
) -> None:
    """Refuse a value no collision can produce ([`dltrigger.bounds`][]) in one column's
    values of entries from ``start``: a [`BadValueError`][] naming the file, the branch
    and the entry of the first.

    ``values`` holds one item per object (``offsets``: the objects of each entry) or, for a
    flat branch (no ``offsets``), per entry. A damaged basket whose compression carries no
    checksum (ZSTD) decompresses into garbage without any error; nothing else would notice.
    """
    for suffix, flat in _leaves(values):
        bound = member_bound(collection, column.name, flat.dtype, column.kind == "lorentz")
        index = None if bound is None else first_outside(flat, bound, bound.nonfinite_allowed)
        if bound is None or index is None:
            continue
        item = index // max(len(flat) // max(len(values), 1), 1)  # fixed arrays: per item
        row = item if offsets is None else int(np.searchsorted(offsets, item, side="right")) - 1
        branch = column.branch.rsplit("/", 1)[-1] + suffix
        raise BadValueError(
            tree.file.file_path, tree.name, branch, start + row, float(flat[index]),
            bound.describe(),
        )  # fmt: skip


def read_record_batch(
    tree: Any,
    layout: TreeLayout,
    start: int,
    stop: int,
    source_file: str | None = None,
) -> pa.RecordBatch:
    """Entries [start, stop) of ``tree`` as one Arrow record batch of ``layout``'s columns.

    ``layout`` is the file's own ([`infer_layout`][]) or the merged layout bound to it
    ([`bind`][]): values are cast to its types. Jagged collections go to Arrow as offsets +
    flat member buffers (no Python objects); ``source_file`` (when given) adds the
    ``source_file`` and ``entry`` columns. Every value is checked against its physical
    bounds ([`check_values`][]: a [`BadValueError`][] for the first that is not).
    """
    arrays = tree.arrays(
        layout.branch_paths(), entry_start=start, entry_stop=stop, library="ak", how=dict
    )
    n = stop - start
    columns: list[pa.Array] = []
    for collection in layout.collections:
        first = arrays[collection.members[0].branch]
        counts = _counts(first)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        children = [_member_values(arrays[m.branch], m) for m in collection.members]
        for member, values in zip(collection.members, children, strict=True):
            check_values(tree, member, collection.name, values, start, offsets)
        struct = pa.StructArray.from_arrays(children, names=[m.name for m in collection.members])
        columns.append(pa.ListArray.from_arrays(pa.array(offsets), struct))
    for scalar in layout.scalars:
        columns.append(_values(arrays[scalar.branch], scalar))
        check_values(tree, scalar, "", columns[-1], start)
    with_source = source_file is not None
    if with_source:
        columns.append(pa.array([source_file]).take(np.zeros(n, dtype=np.int32)))
        columns.append(pa.array(np.arange(start, stop, dtype=np.int64)))
    return pa.RecordBatch.from_arrays(columns, schema=layout.arrow_schema(with_source))
