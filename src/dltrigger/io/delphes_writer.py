"""Write Delphes-format ROOT files with uproot: tree ``Delphes``, split collection branches.

Each collection ``C`` with members ``M`` becomes branches ``C.M`` with a counter ``C_size``,
as Delphes' TreeWriter names them (docs/delphes.md, "The layouts"). The tree is a TTree
(``mktree`` + ``extend``; uproot's ``f[name] = ...`` would write an RNTuple).

Reproducibility: ROOT headers carry a creation time and a UUID. With ``reproducible=True``
the file is written with a fixed clock (``SOURCE_DATE_EPOCH`` if set, else 2020-01-01) and a
UUID derived from ``uuid_seed``, so the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import awkward as ak
import numpy as np
import numpy.typing as npt
import uproot

from .atomic import atomic_path

TREE_NAME = "Delphes"

_CLOCK_MODULES = (
    "uproot.writing._cascade",
    "uproot.writing._cascadetree",
    "uproot.writing.writable",
)


class _FixedDatetime(datetime.datetime):
    fixed: datetime.datetime = datetime.datetime(2020, 1, 1)

    @classmethod
    def now(  # type: ignore[override]  # the fixed plain datetime, not a _FixedDatetime
        cls, tz: datetime.tzinfo | None = None
    ) -> datetime.datetime:
        return cls.fixed


class _FixedDatetimeModule:
    """Stands in for the ``datetime`` module inside uproot's writers while a file is written."""

    datetime = _FixedDatetime

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)


@contextlib.contextmanager
def _fixed_clock() -> Iterator[None]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        _FixedDatetime.fixed = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).replace(
            tzinfo=None
        )
    modules = [sys.modules[m] for m in _CLOCK_MODULES if m in sys.modules]
    saved = [vars(m)["datetime"] for m in modules]
    try:
        for module in modules:
            vars(module)["datetime"] = _FixedDatetimeModule()
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            vars(module)["datetime"] = original


def _branch_name(outer: str, inner: str) -> str:
    return f"{outer}.{inner}" if outer else inner


def _counter_name(collection: str) -> str:
    return f"{collection}_size"


class DelphesWriter:
    """Write one Delphes-format ROOT file atomically, a batch of events at a time.

    Use as a context manager; the file appears under its final name only when the block ends
    without error. Each [`extend`][] call takes ``collections`` (Delphes collection name ->
    jagged array of records, one list per event) and ``scalars`` (full branch name such as
    ``"Event.Number"`` -> one value per event), and writes one ROOT basket per branch.
    With ``uuid_seed`` given, the file is byte-for-byte reproducible (see module doc).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        uuid_seed: int | None = None,
        compression: uproot.compression.Compression | None = None,
    ):
        self.path = Path(path)
        self._options: dict[str, Any] = {"compression": compression or uproot.ZSTD(1)}
        self._clock: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if uuid_seed is not None:
            rng = np.random.default_rng(uuid_seed)
            self._options["uuid_function"] = lambda: uuid.UUID(bytes=rng.bytes(16), version=4)
            self._clock = _fixed_clock()
        self._stack = contextlib.ExitStack()
        self._file: uproot.WritableDirectory | None = None
        self._tree: uproot.WritableTree | None = None
        self.events = 0

    def __enter__(self) -> DelphesWriter:
        with self._stack as stack:
            temporary = stack.enter_context(atomic_path(self.path))
            stack.enter_context(self._clock)
            self._file = stack.enter_context(uproot.recreate(temporary, **self._options))
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        self._file = self._tree = None
        return self._stack.__exit__(exc_type, exc, traceback)

    def extend(
        self,
        collections: Mapping[str, ak.Array],
        scalars: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> None:
        if self._file is None:
            raise RuntimeError("DelphesWriter.extend called outside its 'with' block")
        data: dict[str, ak.Array | npt.NDArray[Any]] = {**collections, **(scalars or {})}
        if self._tree is None:
            types = {
                name: (value.type.content if isinstance(value, ak.Array) else value.dtype)
                for name, value in data.items()
            }
            self._tree = self._file.mktree(
                TREE_NAME, types, counter_name=_counter_name, field_name=_branch_name
            )
        self._tree.extend(data)
        self.events += len(next(iter(data.values())))
