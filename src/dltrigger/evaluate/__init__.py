"""Stage 4's evaluation: metrics, working points and the report of trained models."""
