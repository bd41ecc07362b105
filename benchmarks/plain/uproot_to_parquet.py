"""The plain script a user would write to turn Delphes ROOT files into Parquet: one process,
uproot -> awkward -> ``ak.to_parquet``, one Parquet file per ROOT file.

    python uproot_to_parquet.py OUT BRANCHES.json FILE...

``BRANCHES.json`` lists the branches to read (those ``dltrigger ingest`` reads: TRef links
and bookkeeping left out), so both write the same columns. benchmarks/ingest.py times it
against ``dltrigger ingest``, start-up included.
"""

import json
import sys
from pathlib import Path

import awkward as ak
import uproot


def main() -> None:
    out, branches, files = (
        Path(sys.argv[1]),
        json.loads(Path(sys.argv[2]).read_text()),
        sys.argv[3:],
    )
    out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(files):
        with uproot.open(path) as file:
            arrays = file["Delphes"].arrays(branches, library="ak")
        ak.to_parquet(arrays, out / f"part-{index:05d}.parquet", compression="zstd")


if __name__ == "__main__":
    main()
