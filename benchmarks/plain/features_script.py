"""The plain script a user would write for the features: one process, every ingested part
through dltrigger's pure functions (selection, HLF, particle lists), written with pyarrow; no
split, subsets, statistics or duplicate search.

    python features_script.py OUT PART...

benchmarks/features.py times it against ``dltrigger features``, start-up included.
"""

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dltrigger.config import FeaturesConfig
from dltrigger.features.arrow import hlf_column, particles_column
from dltrigger.physics.collections import resolve_collections
from dltrigger.physics.features import compute_features

out, parts = Path(sys.argv[1]), sys.argv[2:]
out.mkdir(parents=True, exist_ok=True)
settings = FeaturesConfig()
collections = resolve_collections(settings.collections, pq.read_schema(parts[0]).names, "")
for index, path in enumerate(parts):
    table = pq.read_table(path, columns=list(collections.names.values()))
    c = compute_features(table, settings, collections)
    label = int(Path(path).parent.name.split("=")[1])  # label=N/part-....parquet
    pq.write_table(
        pa.table(
            {
                "label": pa.array(np.full(len(c.kept), label, dtype=np.int32)),
                "hlf": hlf_column(c.hlf),
                "particles": particles_column(c.rows, c.counts),
            }
        ),
        out / f"part-{index:05d}.parquet",
        compression="zstd",
    )
