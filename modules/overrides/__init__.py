"""Overrides layer: nodes here replace same-named nodes of earlier layers."""
