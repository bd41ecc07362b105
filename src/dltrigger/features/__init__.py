"""Stage 2: event selection, high-level features, particle lists, split, scaling statistics."""
