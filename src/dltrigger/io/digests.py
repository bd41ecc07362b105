"""What a folder of data *is*: content digests, and cheap signatures that notice any rewrite.

A content digest (SHA-256 of every file's bytes, with the file's name relative to its folder)
identifies a dataset whatever its files' times: copied, touched or moved, the same content
has the same digest, and a change of content with the same size and modification time does
not. Reading every byte costs ~0.6 s per GB on one core, so a caller that asks often keeps a
cache keyed by the file's *signature* (device, inode, size, modification and change times):
a file cannot be rewritten without changing its change time (``ctime``), which no user tool
sets, so an unchanged signature means unchanged content and the cached digest is reused.

Hidden files (temporary folders of writers at work, lock files) are never part of a digest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

#: Bytes read at a time while hashing (large reads: hashing runs at the disk's speed).
_CHUNK = 1 << 20


def signature(path: Path) -> list[int]:
    """(device, inode, size, mtime_ns, ctime_ns) of ``path``: changes whenever it is rewritten,
    replaced or touched."""
    stat = path.stat()
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def files_of(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """Every file ``paths`` name, with the name it is digested under: a folder's files
    (recursively, hidden ones left out) relative to the folder, a file by its own name."""
    files: list[tuple[Path, str]] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if any(part.startswith(".") for part in relative.parts) or not file.is_file():
                    continue
                files.append((file, f"{path.name}/{relative.as_posix()}"))
        else:
            files.append((path, path.name))
    return files


def file_digest(path: Path, cache: MutableMapping[str, dict[str, Any]] | None = None) -> str:
    """SHA-256 of ``path``'s bytes (hex); with ``cache``, reused while its signature holds."""
    key = str(path.resolve())
    mark = signature(path)
    if cache is not None:
        known = cache.get(key)
        if isinstance(known, dict) and known.get("signature") == mark:
            return str(known["sha256"])
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
    value = digest.hexdigest()
    if cache is not None:
        cache[key] = {"signature": mark, "sha256": value}
    return value


def content_digest(
    paths: Iterable[str | os.PathLike[str]],
    cache: MutableMapping[str, dict[str, Any]] | None = None,
) -> str:
    """One digest of the content of every file ``paths`` name (see [`files_of`][]): equal
    for equal content under equal names, whatever the files' times; a missing path counts as
    missing, so its appearance changes the digest."""
    listed = [Path(p) for p in paths]
    total = hashlib.sha256()
    for item in listed:
        if not item.exists():
            total.update(f"missing {item.name}\n".encode())
    for file, name in files_of(p for p in listed if p.exists()):
        try:
            value = file_digest(file, cache)
        except OSError:
            value = "unreadable"
        total.update(f"{name} {value}\n".encode())
    return total.hexdigest()


def tree_signature(paths: Iterable[str | os.PathLike[str]]) -> str:
    """A cheap digest of the signatures of every file ``paths`` name: unchanged as long as no
    file is added, removed, replaced, rewritten or touched (no byte is read)."""
    total = hashlib.sha256()
    for file, name in files_of(p for p in paths if Path(p).exists()):
        try:
            mark = signature(file)
        except OSError:
            mark = []
        total.update(f"{name} {mark}\n".encode())
    return total.hexdigest()
