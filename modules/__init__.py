"""Example semantic layer over code-intelligence data, built as Hamilton modules.

Sub-packages are stack layers (``core``, ``plugins``, ``overrides``); ``lib`` holds plain
helpers that are never handed to Hamilton as dataflow modules.
"""
