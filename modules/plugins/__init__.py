"""Plugins layer: optional nodes that extend the core layer without replacing any of it."""
