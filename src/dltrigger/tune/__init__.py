"""Stage 3: hyper-parameter search, one training per Spark task."""
