"""What a cold build may take from earlier work instead of recomputing it.

- The local hash memo (``.semdag/hash-memo/<profile>.json``): for each file a build indexed,
  the sha of its text and the span and hashes of each function in it. A later build takes an
  unchanged file whole from it, and an unchanged function's hashes from its raw-source sha,
  so only what changed is parsed and hashed again. It is local, like every speed fact: the
  committed baselines hold the contract only.
- Fingerprints of a baseline graph: one small digest per node and one for the edges, so a
  check compares the current graph with ``graph.json`` without keeping the parsed document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.store.artifacts import fingerprint

if TYPE_CHECKING:
    from semdag.config.project import Project
    from semdag.hamilton.sourceinfo import FileMemo, HashMemo, SourceIndex

MEMO_DIR = "hash-memo"


@dataclass(frozen=True)
class GraphPrint:
    """Fingerprints of a graph document's nodes (by name) and of its edge list."""

    nodes: Mapping[str, bytes]
    edges: bytes


def graph_print(
    document: Any, entry: Callable[[Mapping[str, Any]], Any] = lambda node: node
) -> GraphPrint | None:
    """The fingerprints of a parsed ``graph.json``, each node's taken of ``entry(node)``;
    None when it is not a JSON object."""
    if not isinstance(document, dict):
        return None
    nodes = document.get("nodes")
    prints = (
        {str(k): fingerprint(entry(v) if isinstance(v, dict) else v) for k, v in nodes.items()}
        if isinstance(nodes, dict)
        else {}
    )
    return GraphPrint(prints, fingerprint(document.get("edges")))


def read_json(path: Path) -> Any:
    """A parsed JSON file, or None when it is missing or not JSON."""
    from semdag.perf.gctools import paused

    try:
        with paused():
            return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _memo_path(project: Project, profile: str) -> Path:
    return project.state_path / MEMO_DIR / f"{profile}.json"


def load_memo(project: Project, profile: str) -> tuple[HashMemo, FileMemo]:
    """The hashes a profile's last build recorded, as (by raw-source sha, by file); empty
    when there is no memo or it was recorded under another context (see
    :func:`semdag.store.cachekey.memo_context`)."""
    from semdag.store.cachekey import memo_context

    document = read_json(_memo_path(project, profile))
    if not isinstance(document, dict) or document.get("context") != memo_context():
        return {}, {}
    memo: dict[str, tuple[str, str | None]] = {}
    files: dict[str, tuple[str, dict[int, tuple[int, str, str | None, str]]]] = {}
    try:
        for name, (sha, spans) in document["files"].items():
            table: dict[int, tuple[int, str, str | None, str]] = {}
            for start, (end, code, theirs, raw) in spans.items():
                table[int(start)] = (int(end), str(code), theirs, str(raw))
                memo[str(raw)] = (str(code), theirs)
            files[str(name)] = (str(sha), table)
    except (AttributeError, KeyError, TypeError, ValueError):
        return {}, {}
    return memo, files


def store_memo(project: Project, profile: str, index: SourceIndex) -> None:
    """Record what ``index`` learnt for the profile's next build (failing to is no error)."""
    from semdag.store.artifacts import atomic_write
    from semdag.store.cachekey import memo_context

    document = {"context": memo_context(), "files": index.file_memo()}
    try:
        project.state_dir(MEMO_DIR)
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        atomic_write(_memo_path(project, profile), text)
    except (OSError, ValueError):
        pass
