"""Stage 4: training (data loading from the features datasets, trainer, export)."""
