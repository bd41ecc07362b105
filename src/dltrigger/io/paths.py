"""Expand inputs (files, folders, globs, lists, ``root://`` URLs) into a list of ROOT files."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError

ROOT_SUFFIX = ".root"


def is_remote(path: str) -> bool:
    """True for URLs such as ``root://host:port//path`` (anything with a scheme but file)."""
    return "://" in path and not path.startswith("file://")


def _has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _expand_remote(url: str) -> list[str]:
    """Folders and globs on XRootD (or any fsspec file system); plain URLs are kept as they are.

    A URL without glob characters is assumed to be a file: opening it later reports a
    missing file or an unreachable server with the URL in the message.
    """
    if not _has_glob(url) and not url.endswith("/"):
        return [url]
    import fsspec

    try:
        fs, _, _ = fsspec.get_fs_token_paths(url)
        protocol = url.split("://", 1)[0]
        host = url.split("://", 1)[1].split("/", 1)[0]
        target = url if _has_glob(url) else url.rstrip("/") + "/*" + ROOT_SUFFIX
        matches = fs.glob(fs._strip_protocol(target))
    except Exception as exc:  # fsspec back ends raise many types; keep the URL and the cause
        raise InputError(f"cannot list {url}: {exc}") from None
    if not matches:
        raise InputError(f"no ROOT files match {url}")
    return sorted(f"{protocol}://{host}/{m if m.startswith('/') else '/' + m}" for m in matches)


def expand_inputs(inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    """Resolve each input to ROOT files, keeping order and dropping duplicates.

    - a file is kept (whatever its suffix);
    - a folder gives its ``*.root`` files (not recursive);
    - a glob gives its matches, and matching nothing is an error naming the glob;
    - ``root://`` URLs are kept, or listed when they are globs or folders (ending in ``/``).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files: list[str] = []
    for item in inputs:
        text = os.fspath(item)
        if text.startswith("file://"):
            text = text[len("file://") :]
        if is_remote(text):
            files.extend(_expand_remote(text))
        elif _has_glob(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise InputError(f"no files match {text}")
            files.extend(m for m in matches if not os.path.isdir(m))
        elif os.path.isdir(text):
            matches = sorted(str(p) for p in Path(text).glob("*" + ROOT_SUFFIX))
            if not matches:
                raise InputError(f"no *.root files in folder {text}")
            files.extend(matches)
        elif os.path.exists(text):
            files.append(text)
        else:
            raise InputError(f"no such file or folder: {text}")
    return list(dict.fromkeys(os.path.abspath(f) if not is_remote(f) else f for f in files))
