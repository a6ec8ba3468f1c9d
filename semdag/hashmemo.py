"""What a cold build takes from a profile's committed baselines instead of recomputing it.

- Code hashes: a node's code hash and name-blind hash are pure functions of its raw source
  text, and the baselines record that text's sha beside the hashes. A fresh clone in CI
  therefore skips the ``ast.unparse`` of every function whose text did not change, with no
  cache to trust.
- Fingerprints of the baseline graph: one small digest per node and one for the edges, so a
  check compares the current graph with ``graph.json`` without keeping the parsed document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.artifacts import fingerprint
from semdag.sourceinfo import FileMemo, HashMemo


@dataclass(frozen=True)
class GraphPrint:
    """Fingerprints of a graph document's nodes (by name) and of its edge list."""

    nodes: Mapping[str, bytes]
    edges: bytes


def graph_print(document: Any) -> GraphPrint | None:
    """The fingerprints of a parsed ``graph.json``; None when it is not a JSON object."""
    if not isinstance(document, dict):
        return None
    nodes = document.get("nodes")
    prints = {str(k): fingerprint(v) for k, v in nodes.items()} if isinstance(nodes, dict) else {}
    return GraphPrint(prints, fingerprint(document.get("edges")))


def read_json(path: Path) -> Any:
    """A parsed JSON file, or None when it is missing or not JSON."""
    from semdag.gctools import paused

    try:
        with paused():
            return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def memo_from_baselines(
    graph_doc: Any, registry_doc: Any, text_sha: Callable[[str], str | None]
) -> tuple[HashMemo, FileMemo]:
    """From a profile's baselines: for each recorded file whose text is unchanged (by
    ``text_sha`` of its project-relative name), the spans and hashes of its node functions;
    for the functions of every other file, raw-source sha -> (code hash, name-blind hash).

    An unchanged file is answered whole from the first, so its functions need no entry in
    the second: the memo a build holds stays small when little changed. Nothing is taken
    from baselines whose ``hashed_with`` is not this run's :func:`~semdag.versions.hash_context`.
    """
    from semdag.versions import hash_context

    nodes = graph_doc.get("nodes") if isinstance(graph_doc, dict) else None
    entries = registry_doc.get("entries") if isinstance(registry_doc, dict) else None
    files = graph_doc.get("files") if isinstance(graph_doc, dict) else None
    if not isinstance(nodes, dict) or graph_doc.get("hashed_with") != hash_context():
        # Hashes made by another Python, Hamilton or semdag may differ for the same text.
        return {}, {}
    recorded: dict[str, str] = {
        file: sha
        for file, sha in (files.items() if isinstance(files, dict) else ())
        if isinstance(sha, str) and text_sha(file) == sha
    }
    logic: dict[str, str] = {}
    if isinstance(entries, dict):
        for entry in entries.values():
            if isinstance(entry, dict) and isinstance(entry.get("logic_hash"), str):
                logic[str(entry.get("node"))] = entry["logic_hash"]
    memo: dict[str, tuple[str, str | None]] = {}
    spans: dict[str, dict[int, tuple[int, str, str | None, str]]] = {}
    for name, node in nodes.items():
        if not isinstance(node, dict):
            continue
        sha, code = node.get("source_sha"), node.get("code_hash")
        if not isinstance(sha, str) or not isinstance(code, str) or node.get("is_input"):
            continue
        file, line, end = node.get("file"), node.get("line"), node.get("end_line")
        whole_file = isinstance(file, str) and file in recorded
        if whole_file and isinstance(line, int) and isinstance(end, int):
            spans.setdefault(str(file), {})[line] = (end, code, logic.get(name), sha)
        else:
            memo[sha] = (code, logic.get(name))
    file_memo = {file: (recorded[file], spans[file]) for file in sorted(spans)}
    return memo, file_memo
