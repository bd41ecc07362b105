"""Atomic outputs: write under a temporary name beside the target, rename when complete.

A rename within one folder is atomic on POSIX file systems, so a reader (or a later stage
checking for existing outputs) sees either the complete file or nothing, never a partial file
under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from .ownership import TEMPORARY_MARK, check_replaceable, write_marker, writing

__all__ = ["TEMPORARY_MARK", "atomic_folder", "atomic_path", "temporary_folder"]


def temporary_folder(target: Path) -> Path:
    """A hidden, unique sibling folder of ``target`` (its contents never match ``*.root``)."""
    return target.parent / f"{TEMPORARY_MARK}{target.name}-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; move it to ``target`` only if the block succeeds.

    The temporary file has the target's own name inside a hidden sibling folder, because
    ROOT files record their name: the finished file must not name a temporary.
    """
    target = Path(target)
    folder = temporary_folder(target)
    folder.mkdir()
    temporary = folder / target.name
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(
    target: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    kind: str,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Path]:
    """Yield a temporary folder to fill; it replaces ``target`` only if the block succeeds.

    ``target`` existing is refused unless ``overwrite`` and it is a dltrigger output of this
    ``kind`` holding none of ``inputs`` (io/ownership.py); the old folder is then moved aside
    and removed only after the new one, with its marker, is in place. The writer's lock is
    held throughout: a second writer of ``target`` fails at once.
    """
    from ..errors import OutputError

    target = Path(target)
    check_replaceable(target, kind, overwrite, inputs)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {target.parent}: {exc.strerror}") from None
    with writing(target):
        check_replaceable(target, kind, overwrite, inputs)  # as it is now, under the lock
        temporary = temporary_folder(target)
        try:
            yield temporary
            write_marker(temporary, kind)
            if target.exists():
                old = temporary_folder(target)
                os.replace(target, old)
                os.replace(temporary, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(temporary, target)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
