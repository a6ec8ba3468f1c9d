"""Benchmarks: synthetic stacks and timing helpers (``make bench``)."""
