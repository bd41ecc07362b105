"""Expand inputs (files, folders, globs, lists, ``root://`` URLs) into a list of ROOT files."""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError

ROOT_SUFFIX = ".root"


def bound_remote_waits(seconds: float) -> None:
    """Make an unreachable XRootD server or a stuck request fail within about ``seconds``.

    The XRootD client's defaults retry a refused connection for minutes (an unreachable URL
    was silent for 8 minutes before its error). Its settings are environment variables read
    when the client starts, so this must run before the first ``root://`` access; variables the
    user set are kept. Spark's local workers inherit them.
    """
    limit = str(max(1, int(seconds)))
    for name, value in (
        ("XRD_CONNECTIONWINDOW", limit),  # seconds to establish a connection
        ("XRD_CONNECTIONRETRY", "1"),  # attempts
        ("XRD_REQUESTTIMEOUT", limit),  # seconds for one request (stat, open, read, list)
        ("XRD_STREAMTIMEOUT", limit),
    ):
        os.environ.setdefault(name, value)


def is_remote(path: str) -> bool:
    """True for URLs such as ``root://host:port//path`` (anything with a scheme but file)."""
    return "://" in path and not path.startswith("file://")


def _has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _expand_remote(url: str) -> list[str]:
    """Folders and globs on XRootD (or another fsspec file system); plain URLs are kept.

    Globs may use wildcards in the last path component only (``root://h//store/qcd_*.root``);
    a URL ending in ``/`` means that folder's ``*.root`` files. A URL without wildcards is
    assumed to be a file: opening it later reports a missing file or an unreachable server
    with the URL in the message.
    """
    if not _has_glob(url) and not url.endswith("/"):
        return [url]
    import fsspec

    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    folder, _, pattern = ("/" + path.lstrip("/")).rpartition("/")
    pattern = pattern or "*" + ROOT_SUFFIX
    if _has_glob(folder):
        raise InputError(f"{url}: wildcards are supported in the last path component only")
    try:
        fs = fsspec.filesystem(scheme, hostid=host, skip_instance_cache=True)
        names = [n.rstrip("/").rpartition("/")[2] for n in fs.ls(folder or "/", detail=False)]
    except Exception as exc:  # fsspec back ends raise many types; keep the URL and the cause
        raise InputError(f"cannot list {scheme}://{host}/{folder or '/'}: {exc}") from None
    matches = sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
    if not matches:
        raise InputError(f"no files match {url}")
    return [f"{scheme}://{host}/{folder}/{name}" for name in matches]


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
