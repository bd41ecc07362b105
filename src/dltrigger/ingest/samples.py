"""Which files belong to which sample (process -> label) for ``dltrigger ingest``."""

from __future__ import annotations

import os

from ..config import IngestConfig
from ..errors import InputError
from ..io.paths import expand_inputs


def sample_of(path: str, config: IngestConfig) -> str | None:
    """The sample whose name or alias starts the file's name (``wjets_3.root`` -> wjets)."""
    name = os.path.basename(path.rstrip("/"))
    best = None
    for sample, settings in config.samples.items():
        for prefix in (sample, *settings.aliases):
            if name.startswith(prefix) and (best is None or len(prefix) > best[1]):
                best = (sample, len(prefix))
    return best[0] if best else None


def resolve_samples(config: IngestConfig, inputs: list[str] | None = None) -> dict[str, list[str]]:
    """Files per sample: from ``inputs`` (assigned by file-name prefix) or from the config."""
    files: dict[str, list[str]] = {}
    if inputs:
        unknown = []
        for path in expand_inputs(inputs):
            sample = sample_of(path, config)
            if sample is None:
                unknown.append(path)
            else:
                files.setdefault(sample, []).append(path)
        if unknown:
            names = ", ".join(
                f"{s} ({', '.join([s, *c.aliases])})" for s, c in config.samples.items()
            )
            raise InputError(
                f"cannot tell which sample {unknown[0]} belongs to"
                f"{f' (and {len(unknown) - 1} more files)' if len(unknown) > 1 else ''}: "
                f"file names must start with a sample name or alias: {names}"
            )
        return files
    for sample, settings in config.samples.items():
        if not settings.paths:
            continue
        try:
            files[sample] = expand_inputs(settings.paths)
        except InputError as exc:
            raise InputError(f"sample {sample!r}: {exc}") from None
    if not files:
        raise InputError("no input files: give INPUT paths or configure [ingest.samples]")
    return files
