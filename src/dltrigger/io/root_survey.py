"""Before reading many ROOT files: their sizes, and their layouts merged by name.

A stage or the Spark source plans from file sizes ([`file_sizes`][], a stat each, in threads)
and needs one layout for all files: [`first_layout`][] (the first readable file's) or
[`survey`][] (every file's tree opened, the layouts merged by collection and member name,
conflicts and incomplete files named or skipped). [`cached_survey`][] keeps a survey for a
while in a small file, for a planner that asks twice from separate processes. Nothing here
knows about Spark; ``mapper`` lets a caller run the per-file part as a Spark job.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IncompleteFileError, InputError, RootFileError
from .paths import is_remote
from .root_layout import TreeLayout, infer_layout, missing_names, unify
from .root_reader import open_tree


def file_size(path: str) -> int:
    """Bytes on disk of a local or remote file (a stat, no ROOT parsing)."""
    try:
        if not is_remote(path):
            return os.path.getsize(path)
        import fsspec

        scheme, rest = path.split("://", 1)
        host, _, name = rest.partition("/")
        fs = fsspec.filesystem(scheme, hostid=host)
        return int(fs.info("/" + name.lstrip("/"))["size"])
    except FileNotFoundError:
        raise RootFileError(path, "file not found") from None
    except Exception as exc:
        raise RootFileError(path, f"cannot reach the file ({exc})") from None


def file_sizes(
    paths: list[str], skip_bad_files: bool, threads: int = 16
) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """Sizes of ``paths`` (in threads: remote stats are round trips); bad ones raise or are
    returned with their reason."""

    def attempt(path: str) -> int | RootFileError:
        try:
            return file_size(path)
        except RootFileError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(threads, max(len(paths), 1))) as pool:
        results = list(pool.map(attempt, paths))
    sizes: list[tuple[str, int]] = []
    bad: dict[str, str] = {}
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, RootFileError):
            if not skip_bad_files:
                raise result
            bad[path] = result.reason
        else:
            sizes.append((path, result))
    return sizes, bad


def file_layout(path: str, tree_name: str, requested: list[str]) -> TreeLayout:
    """One file's layout, restricted to ``requested`` (errors name the file and branch)."""
    file, tree = open_tree(path, tree_name)
    with file:
        return infer_layout(tree, requested or None).select(requested, path, tree_name)


def _layout_or_reason(path: str, tree_name: str, requested: list[str]) -> LayoutOrReason:
    """``file_layout`` for a Spark task or a thread: the layout, or the error (picklable)."""
    try:
        return file_layout(path, tree_name, requested)
    except RootFileError as exc:
        return exc


#: What reading one file's layout gives: the layout, or the error (to be raised or skipped).
LayoutOrReason = TreeLayout | RootFileError

#: Runs the per-file part of [`survey`][] on every path: ``mapper(function, paths)``.
SurveyMapper = Callable[[Callable[[str], LayoutOrReason], list[str]], list[LayoutOrReason]]


def first_layout(
    paths: list[str], tree_name: str, requested: list[str], skip_bad_files: bool
) -> tuple[TreeLayout, dict[str, str]]:
    """The layout of the first readable file, and the files before it that were not (with
    ``skip_bad_files``; otherwise the first error is raised)."""
    bad: dict[str, str] = {}
    for path in paths:
        try:
            return file_layout(path, tree_name, requested), bad
        except RootFileError as exc:
            if not skip_bad_files:
                raise
            bad[path] = exc.reason
    first = next(iter(bad.items()), None)
    raise InputError(
        f"none of the {len(paths)} input file(s) could be read"
        + (f"; first: {first[0]}: {first[1]}" if first else "")
    )


@dataclass(frozen=True)
class Survey:
    """The layouts of all input files merged by name, and the files left out (and why)."""

    layout: TreeLayout
    paths: list[str]
    bad: dict[str, str]


def survey(
    paths: list[str],
    tree_name: str,
    requested: list[str],
    skip_bad_files: bool,
    mapper: SurveyMapper | None = None,
) -> Survey:
    """Open every input file's tree and merge the layouts by collection and member name.

    ``mapper(function, paths)`` runs the per-file part (default: threads here; ``dltrigger
    ingest`` passes a Spark job for many files). A file that cannot be read, whose types
    conflict with the others', or that lacks a collection or member another file has raises,
    naming it ([`SchemaMismatchError`][],
    [`IncompleteFileError`][]), or with ``skip_bad_files`` is left out.
    Nothing is ever dropped from the good files to match a bad one.
    """
    work = functools.partial(_layout_or_reason, tree_name=tree_name, requested=requested)
    if mapper is None:
        with ThreadPoolExecutor(max_workers=min(16, max(len(paths), 1))) as pool:
            results = list(pool.map(work, paths))
    else:
        results = mapper(work, paths)
    bad: dict[str, str] = {}
    good: list[tuple[str, TreeLayout]] = []
    union: TreeLayout | None = None

    def reject(path: str, error: RootFileError) -> None:
        if not skip_bad_files:
            raise error
        bad[path] = error.reason

    for path, result in zip(paths, results, strict=True):
        if isinstance(result, RootFileError):
            reject(path, result)
            continue
        try:
            earlier = [(_earlier(good), union)] if union is not None else []
            union = unify([*earlier, (path, result)], tree_name)
        except RootFileError as exc:
            reject(path, exc)
            continue
        good.append((path, result))
    if union is None:
        first = next(iter(bad.items()), None)
        raise InputError(
            f"none of the {len(paths)} input file(s) could be read"
            + (f"; first: {first[0]}: {first[1]}" if first else "")
        )
    complete = []
    for path, layout in good:
        missing = missing_names(layout, union)
        if missing:
            having = next(p for p, other in good if missing[0] not in missing_names(other, union))
            reject(path, IncompleteFileError(path, tree_name, missing, having))
        else:
            complete.append(path)
    if not complete:
        raise InputError(
            f"none of the {len(paths)} input file(s) has every collection the others have; "
            + "; ".join(f"{p}: {r}" for p, r in list(bad.items())[:2])
        )
    return Survey(union, complete, bad)


def _earlier(good: list[tuple[str, TreeLayout]]) -> str:
    return good[0][0] if len(good) == 1 else f"{good[0][0]} and {len(good) - 1} other file(s)"


#: How long a survey is reused by later plans of the same read (same files, sizes, times).
SURVEY_CACHE_SECONDS = 120.0


def _cache_file(key: tuple[Any, ...]) -> Path:
    import hashlib
    import tempfile

    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / f"dltrigger-survey-{os.getuid()}-{digest}.pickle"


def cached_survey(key: tuple[Any, ...]) -> Survey | None:
    import pickle

    path = _cache_file(key)
    try:
        stat = path.stat()
        if stat.st_uid != os.getuid() or time.time() - stat.st_mtime > SURVEY_CACHE_SECONDS:
            return None
        with path.open("rb") as f:
            stored_key, found = pickle.load(f)
        return found if stored_key == key else None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError):
        return None


def cache_survey(key: tuple[Any, ...], found: Survey) -> None:
    import pickle

    from ..io.atomic import atomic_path

    try:
        with atomic_path(_cache_file(key)) as temporary:
            temporary.write_bytes(pickle.dumps((key, found)))
    except OSError:
        pass  # a cache only


def stamps(paths: list[str]) -> tuple[tuple[int, int] | None, ...]:
    """(size, modification time) of each local file; remote ones by name only."""
    stamps: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            stat = os.stat(path) if not is_remote(path) else None
        except OSError:
            stat = None
        stamps.append((stat.st_size, stat.st_mtime_ns) if stat else None)
    return tuple(stamps)
