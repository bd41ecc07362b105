"""What the events of a features dataset are, for its manifest, plot labels and reports.

Found from what the stages recorded, never guessed from the data: the files ``dltrigger
generate`` wrote are named in its record (``_generate.json``, with the detector preset) beside
them; any other file is Delphes output, whose card the collection names tell apart (the
standard CMS card's ``Muon``). The Phase-II cards name their collections as our generator
does, so such files without a generate record are only "Delphes-format files".
"""

from __future__ import annotations

import json
from pathlib import Path

from ..physics.collections import PRESETS, ResolvedCollections

#: Files of the standard CMS card (by their collection names) that dltrigger did not generate.
CMS_CARD = "Delphes, CMS card"
#: Files whose card is not told apart by its names (Phase-II cards, names set by hand).
DELPHES_FORMAT = "Delphes-format files"


def _generated_detectors(paths: list[str]) -> set[str] | None:
    """The detector presets of files ``dltrigger generate`` wrote (``"?"`` for a record
    without the preset); None when any file is not in a generate record."""
    from ..artifacts import GENERATE_RECORD

    detectors: set[str] = set()
    records: dict[Path, dict] = {}
    for path in paths:
        if "://" in path:  # remote files: no record can be read beside them
            return None
        folder, name = Path(path).parent, Path(path).name
        if folder not in records:
            try:
                records[folder] = json.loads((folder / GENERATE_RECORD).read_text())
            except (OSError, ValueError):
                records[folder] = {}
        entry = records[folder].get(name) if isinstance(records[folder], dict) else None
        if not isinstance(entry, dict):
            return None
        detectors.add(str(entry.get("detector", "?")))
    return detectors


def events_origin(source_files: list[str], collections: ResolvedCollections) -> str:
    """``"dltrigger generator, detector <preset>"``, ``"Delphes, CMS card"`` or
    ``"Delphes-format files"``, for the ROOT files ``source_files``."""
    detectors = _generated_detectors(source_files) if source_files else None
    if detectors:
        known = sorted(d for d in detectors if d != "?")
        return "dltrigger generator" + (f", detector {'/'.join(known)}" if known else "")
    return CMS_CARD if collections.names == PRESETS["cms"] else DELPHES_FORMAT


def ingested_files(ingested: Path) -> list[str]:
    """The ROOT files an ingested dataset was read from (its ingest report), or []."""
    from ..artifacts import IngestedDataset

    return IngestedDataset(Path(ingested)).source_files()
