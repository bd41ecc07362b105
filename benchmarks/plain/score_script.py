"""The plain script a user would write to score ROOT files with a trained model: one process,
every file read with dltrigger's reader, selected and featured with dltrigger's pure functions,
scaled and scored with ONNX Runtime as the trigger does, written with pyarrow; no quarantine,
no accepted events, no summary.

    python score_script.py RUN_FOLDER THRESHOLD OUT FILE...

benchmarks/score.py times it against ``dltrigger score``, start-up included.
"""

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dltrigger.config import StreamConfig
from dltrigger.io.root_layout import top_level_names
from dltrigger.io.root_reader import infer_layout, open_tree, read_record_batch
from dltrigger.physics.collections import resolve_collections
from dltrigger.physics.features import compute_features
from dltrigger.stream.trigger import load_trigger

model, threshold, out, files = (
    Path(sys.argv[1]),
    float(sys.argv[2]),
    Path(sys.argv[3]),
    sys.argv[4:],
)
out.mkdir(parents=True, exist_ok=True)
# The model: the run's scaling, feature settings and ONNX Runtime session (threshold given, so
# no working point is computed on the run's dataset).
trigger = load_trigger(StreamConfig(model=model, threshold=threshold))
for index, path in enumerate(files):
    file, tree = open_tree(path, "Delphes")
    with file:
        collections = resolve_collections(trigger.features.collections, top_level_names(tree), path)
        names = list(collections.names.values())
        layout = infer_layout(tree, names).select(names)
        batch = read_record_batch(tree, layout, 0, tree.num_entries, path)
    c = compute_features(pa.Table.from_batches([batch]), trigger.features, collections, path)
    scores = trigger.scores(c.hlf, c.rows, c.counts)
    pq.write_table(
        pa.table(
            {
                "source_file": pa.array(np.full(len(c.kept), path, dtype=object), pa.string()),
                "entry": pa.array(np.asarray(c.kept, dtype=np.int64)),
                "score_qcd": pa.array(scores[:, 0]),
                "score_ttbar": pa.array(scores[:, 1]),
                "score_wjets": pa.array(scores[:, 2]),
            }
        ),
        out / f"part-{index:05d}.parquet",
        compression="zstd",
    )
