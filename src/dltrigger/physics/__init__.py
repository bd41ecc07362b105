"""Pure, vectorised physics formulas (numpy and awkward arrays; no I/O, no Spark)."""
