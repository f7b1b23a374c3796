"""Merge processors: pure merge rules, and the faust worker that applies them in batches."""
