"""Spark glue: sessions and job helpers that wire I/O and physics together."""
