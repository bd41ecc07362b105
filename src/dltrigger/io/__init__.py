"""Reading and writing: ROOT files, Parquet datasets, atomic outputs (no physics here)."""
