"""The folders one stage hands the next: the only code that names their files and checks them.

- [`GENERATE_RECORD`][]: ``_generate.json`` beside the ROOT files of ``dltrigger generate``
  (each file's process, seeds, settings and detector preset).
- [`IngestedDataset`][]: the folder of ``dltrigger ingest``: ``label=N/part-*.parquet``
  and ``_ingest_report.json`` (written last: every file read, its events and bytes).
- [`TuneResults`][]: the folder of ``dltrigger tune``: ``results.csv`` (every point, best
  first), ``best.json`` (the winning point, which ``dltrigger run`` and ``train --tuned``
  apply) and ``summary.json`` (written last).
- [`EvaluationReport`][]: the folder of ``dltrigger evaluate``: ``evaluation.json``
  (written last), the PNG plots, ``report.md`` and ``report.html``.
- [`L1Output`][]: the folder of ``dltrigger l1``: ``l1.json`` (written last), ``scores.parquet``,
  the hls4ml projects, ``qat.pt`` and the ROC overlays.
- [`ScoreOutput`][]: the folder of ``dltrigger score``: ``scores/`` and ``accepted/``
  (one Parquet part per task), ``quarantine.json`` and ``summary.json``.
- [`FeaturesDataset`][]: ``full/``, ``balanced/`` or ``dev/`` of ``dltrigger features``:
  ``part-*.parquet``, ``_scaling.json`` (training-split statistics) and ``_manifest.json``
  (counts, the feature settings that made it, the schema).
- [`RunFolder`][]: a folder of ``dltrigger train``: ``config.json`` (the training
  settings), ``features.json`` (the full feature settings and schema of the dataset it was
  trained on, copied at training time so that the run does not depend on that dataset still
  being there), ``scaling.json``, ``checkpoint.pt``, ``best.pt``, ``metrics.json``/``.csv``,
  ``summary.json`` (written last: the run finished), ``model.onnx``, ``model.torchscript.pt``.

Whoever reads a dataset with a trained model (``evaluate``, ``score``, ``stream``) asks
[`RunFolder.check_dataset`][] first: every feature setting that changes a value must be the
same, not just the feature names, and a difference is refused with the list of differences.
"""

from __future__ import annotations

from .data import GENERATE_RECORD, FileEntry, IngestedDataset, IngestReport
from .features import (
    FEATURES_MANIFEST_VERSION,
    NOT_VALUE_SETTINGS,
    PARTICLE_SETTINGS,
    RECORDED_BEFORE,
    RUN_FEATURES_VERSION,
    SPLIT_SETTINGS,
    FeaturesDataset,
    FeaturesManifest,
    Scaling,
    schema_differences,
    setting_differences,
    value_settings,
)
from .outputs import (
    EvaluationReport,
    L1Output,
    ScoreOutput,
    TuneResults,
    read_pipeline_state,
    write_pipeline_state,
)
from .runs import RunFolder

__all__ = [
    "FEATURES_MANIFEST_VERSION",
    "GENERATE_RECORD",
    "NOT_VALUE_SETTINGS",
    "PARTICLE_SETTINGS",
    "RECORDED_BEFORE",
    "RUN_FEATURES_VERSION",
    "SPLIT_SETTINGS",
    "EvaluationReport",
    "FeaturesDataset",
    "FeaturesManifest",
    "FileEntry", "IngestReport", "IngestedDataset",
    "L1Output",
    "RunFolder",
    "Scaling",
    "ScoreOutput",
    "TuneResults",
    "read_pipeline_state",
    "schema_differences",
    "setting_differences",
    "value_settings",
    "write_pipeline_state",
]  # fmt: skip
