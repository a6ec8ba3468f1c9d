"""The registry exported to the open standards: ODCS, OpenLineage and JSON Schema.

One entry point for the command and the pytest plugin: :func:`export` turns a compiled
registry (and the docstrings of its nodes) into one standard's document, as plain data and
as the exact text printed (the same bytes for the same registry).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from semdag.core.errors import SemdagError
from semdag.core.graph import GraphModel
from semdag.core.registry import SEMANTIC_ID, Registry
from semdag.store.artifacts import canonical_json

# Each export format, with what it prints.
FORMATS = {
    "odcs": "an Open Data Contract Standard v3 contract (YAML)",
    "openlineage": "an OpenLineage job event: one output dataset per semantic id (JSON)",
    "jsonschema": "JSON Schema 2020-12: one schema per semantic id under $defs (JSON)",
}


@dataclass(frozen=True)
class Exported:
    """One standard's document: as plain data, and as the text that is printed."""

    format: str
    data: dict[str, Any]
    text: str


def docs_of(registry: Registry, graph: GraphModel) -> dict[str, str]:
    """Each semantic id's docstring (empty where its node has none)."""
    return {
        sid: (graph.nodes[entry.node].doc if entry.node in graph.nodes else "") or ""
        for sid, entry in registry.entries.items()
    }


def export(
    registry: Registry,
    docs: Mapping[str, str],
    fmt: str,
    environ: Mapping[str, str] | None = None,
) -> Exported:
    """The registry as ``fmt`` (one of :data:`FORMATS`). ``environ`` gives
    ``SOURCE_DATE_EPOCH`` for OpenLineage's event time (default: the process environment)."""
    check_exportable(registry)
    if fmt == "odcs":
        from semdag.app import odcs

        contract = odcs.contract(registry, docs)
        return Exported(fmt, odcs.as_data(contract), odcs.as_yaml(contract))
    if fmt == "openlineage":
        from semdag.app import lineage

        when = lineage.event_time(os.environ if environ is None else environ)
        data = lineage.as_data(lineage.job_event(registry, docs, when))
        return Exported(fmt, data, canonical_json(data))
    if fmt == "jsonschema":
        from semdag.core.standards import json_schema_bundle

        data = json_schema_bundle(registry, docs)
        return Exported(fmt, data, canonical_json(data))
    raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")


def check_exportable(registry: Registry) -> None:
    """Refuse a semantic id that the standards cannot carry as an identifier (``validate``
    reports it as an invalid tag; the exports would not validate)."""
    for sid, entry in sorted(registry.entries.items()):
        if not SEMANTIC_ID.match(sid):
            raise SemdagError(
                f"{entry.node}: semantic_id {sid!r} must match {SEMANTIC_ID.pattern} to be "
                "exported",
                file=entry.file,
                line=entry.line,
                hint="`semdag validate` lists every invalid tag",
            )


def emit_lineage(registry: Registry, docs: Mapping[str, str], url: str) -> tuple[Exported, str]:
    """Send the registry's OpenLineage event, stamped with the time of sending, to the HTTP
    endpoint at ``url``; returns the event sent and the address it was posted to."""
    from datetime import UTC, datetime

    from semdag.app import lineage

    check_exportable(registry)
    event = lineage.job_event(registry, docs, datetime.now(UTC))
    target = lineage.emit(event, url)
    data = lineage.as_data(event)
    return Exported("openlineage", data, canonical_json(data)), target
