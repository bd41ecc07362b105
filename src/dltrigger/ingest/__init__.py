"""Stage 1: ROOT files (local or root://) into Spark, saved as Parquet partitioned by label."""
