"""Core layer: the canonical code-intelligence semantic layer (scan, clean, measure, score)."""
