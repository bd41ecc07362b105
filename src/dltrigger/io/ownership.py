"""Which folders dltrigger may replace: output markers, input containment, one writer at a time.

Every output folder dltrigger writes carries ``_dltrigger.json`` naming its *kind* (``ingest``,
``features``, ``run``, ``report``, ``scores``, ``tune``, ``baselines``, ``stream``) and the
format version. ``--overwrite`` replaces a folder only if it carries the marker of the same
kind (or, written before markers existed, that kind's own files: [`LEGACY_FILES`][]); it
refuses a folder that holds or is one of the stage's inputs, a folder of another kind, and
anything else, naming what it found. A writer holds a lock beside its output for as long as it
writes, so a second writer of the same output fails at once, naming the first; hidden
temporary folders that dead writers left beside the output are removed under that lock.

Leading underscore: Spark and pyarrow skip the marker when reading a folder as a dataset.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import OutputError, OutputExistsError, option
from ..stage import OUTPUT_KINDS

#: The start of the hidden name of anything being written (dltrigger.io.atomic): never an
#: output, removed when its writer is gone.
TEMPORARY_MARK = ".tmp-"
MARKER = "_dltrigger.json"
MARKER_VERSION = 1
#: The kinds of folder a stage writes (dltrigger.stage.REGISTRY names them).
KINDS = OUTPUT_KINDS

#: What identified each kind of output before markers existed (dltrigger 0.1).
LEGACY_FILES: dict[str, tuple[str, ...]] = {
    "ingest": ("_ingest_report.json",),
    "features": ("full/_manifest.json",),
    "run": ("config.json",),
    "report": ("evaluation.json",),
    "scores": ("summary.json", "quarantine.json"),
    "tune": ("results.csv",),
    "baselines": ("scores.parquet",),
    "stream": ("_stream_report.json",),
}


#: Everything each kind of output holds (``fnmatch`` patterns of paths relative to the
#: folder; Spark's hidden ``.*.crc`` checksums included). A folder without a marker is taken
#: for a pre-marker output only if *every* file in it matches: a user's folder that merely
#: holds a file of the same name (``config.json`` beside ``thesis.tex``) is never replaced.
OWN_FILES: dict[str, tuple[str, ...]] = {
    "ingest": ("_ingest_report.json", "_SUCCESS", ".*.crc", "label=*/part-*", "label=*/.*.crc",
               "part-*"),
    "features": ("*/part-*.parquet", "*/_scaling.json", "*/_manifest.json", "*/_SUCCESS",
                 "*/.*.crc"),
    "run": ("config.json", "features.json", "scaling.json", "checkpoint.pt", "best.pt",
            "metrics.json", "metrics.csv", "summary.json", "training.png", "model.onnx",
            "model.onnx.data", "model.torchscript.pt", "ranks.json"),
    "report": ("evaluation.json", "report.md", "report.html", "roc_*.png", "scores_*.png",
               "confusion_*.png"),
    "scores": ("summary.json", "quarantine.json", "scores/*", "accepted/*", "*/.*.crc"),
    "tune": ("results.csv", "best.json", "summary.json"),
    "baselines": ("*/scores.parquet", "*/metrics.json", "*/model*", "*/model*/*",
                  "*/model*/*/*", "*/model*/*/*/*", "*/model.txt"),
    "stream": ("_stream_report.json", "scores/*", "accepted/*", "quarantine/*", "batches/*",
               "_checkpoint/*", "_checkpoint/*/*", "_checkpoint/*/*/*", "*/.*.crc",
               "_checkpoint/*/.*.crc", "_checkpoint/*/*/.*.crc"),
    "l1": (),  # made after markers existed: never a folder without one
}  # fmt: skip


def foreign_files(folder: Path, kind: str) -> list[str]:
    """Files under ``folder`` that a ``kind`` output does not hold (relative paths)."""
    patterns = OWN_FILES[kind]
    foreign = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        relative = path.relative_to(folder).as_posix()
        if relative == MARKER or not any(fnmatch.fnmatchcase(relative, p) for p in patterns):
            foreign.append(relative)
    return foreign


def marker_of(folder: Path) -> dict[str, Any] | None:
    """The folder's marker (``{"kind", "version", ...}``), or None if it has none."""
    try:
        data = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") in KINDS else None


def kind_of(folder: Path) -> str | None:
    """The kind of dltrigger output ``folder`` is, from its marker or its legacy files."""
    marker = marker_of(folder)
    if marker is not None:
        kind: str = marker["kind"]  # one of KINDS (marker_of checks)
        return kind
    for kind, files in LEGACY_FILES.items():
        if all((folder / f).exists() for f in files) and not foreign_files(folder, kind):
            return kind
    return None


def write_marker(folder: Path, kind: str) -> None:
    from .. import __version__

    marker = {"kind": kind, "version": MARKER_VERSION, "dltrigger": __version__}
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def _local(path: str | os.PathLike[str]) -> Path | None:
    text = str(path)
    if "://" in text and not text.startswith("file:"):
        return None
    return Path(text.removeprefix("file:")).expanduser().resolve()


def _contents(folder: Path, limit: int = 4) -> str:
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError:
        return "?"
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") or "nothing"


def check_replaceable(
    target: Path, kind: str, overwrite: bool, inputs: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Raise [`OutputError`][] unless ``target`` may be written: absent, or ``overwrite``
    and a ``kind`` output of dltrigger that holds none of ``inputs``."""
    if target.is_symlink():
        raise OutputError(
            f"output {target} is a symbolic link (to {os.readlink(target)}): dltrigger builds an "
            "output beside its place and renames it there, which would replace the link, not "
            "what it points to; give the folder it points to as the output"
        )
    if not target.exists():
        return
    if not overwrite:
        raise OutputExistsError(
            f"output {target} already exists "
            f"({option('use --overwrite', 'overwrite=True')} to replace it)"
        )
    if not target.is_dir():
        raise OutputError(f"output {target} is a file, not a dltrigger {kind} output: not replaced")
    where = target.resolve()
    for item in inputs:
        path = _local(item)
        if path is not None and (path == where or where in path.parents):
            raise OutputError(
                f"output {target} holds the input {item}: --overwrite would delete it; "
                "choose another output folder"
            )
    found = kind_of(target)
    if found == kind:
        return
    if not any(target.iterdir()):
        return  # an empty folder loses nothing
    what = f"a dltrigger {found} output" if found else f"not a dltrigger output ({MARKER} missing)"
    legacy = LEGACY_FILES[kind]
    if found is None and marker_of(target) is None and all((target / f).exists() for f in legacy):
        foreign = foreign_files(target, kind)
        shown = ", ".join(foreign[:4]) + (
            f" and {len(foreign) - 4} more" if len(foreign) > 4 else ""
        )
        what += f": it holds {legacy[0]} but also files dltrigger never writes there ({shown})"
    an = "an" if kind[0] in "aeiou" else "a"
    raise OutputError(
        f"output {target} is {what}, not {an} {kind} output: --overwrite replaces only a folder "
        f"dltrigger wrote as {an} {kind} output; it holds {_contents(target)}: remove it "
        "yourself or choose another output folder"
    )


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.dltrigger-lock"


@contextlib.contextmanager
def writing(target: Path) -> Iterator[None]:
    """Hold ``target``'s writer lock (a second writer fails at once, naming the first), and
    remove temporary folders of ``target`` that dead writers left."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(target)
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 4096).decode(errors="replace").strip()
            os.close(descriptor)
            raise OutputError(
                f"output {target} is being written by another dltrigger ({holder or 'unknown'}):"
                " wait for it to finish, or choose another output folder"
            ) from None
        try:
            same = os.fstat(descriptor).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(descriptor)  # the previous holder removed it after we opened it: retry
    try:
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()}, since "
                             f"{time.strftime('%H:%M:%S')}: {command}".encode())  # fmt: skip
        mine = re.compile(rf"{re.escape(TEMPORARY_MARK + target.name)}-[0-9a-f]{{12}}")
        for stale in target.parent.iterdir():
            if mine.fullmatch(stale.name):
                remove_leftover(stale)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(descriptor)


def remove_leftover(path: Path) -> None:
    """Remove a temporary of a dead writer: a link itself (dangling or not; never what it
    points to), a file, or a folder."""
    with contextlib.suppress(OSError):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
