"""Code hashes already recorded in a profile's committed baselines, reused where text matches.

A node's code hash and name-blind hash are pure functions of its raw source text, and the
baselines record that text's sha beside the hashes. A fresh clone in CI therefore skips the
``ast.unparse`` of every function whose text did not change, with no cache to trust.
"""

from __future__ import annotations

import json
from pathlib import Path

from semdag.project import Project
from semdag.sourceinfo import HashMemo


def _load(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def baseline_memo(project: Project, profile: str) -> HashMemo:
    """Raw-source sha -> (code hash, name-blind hash) from snapshots/<profile>/; {} if none."""
    folder = project.snapshots_path / profile
    nodes = _load(folder / "graph.json").get("nodes")
    entries = _load(folder / "registry.json").get("entries")
    if not isinstance(nodes, dict):
        return {}
    logic: dict[str, str] = {}
    if isinstance(entries, dict):
        for entry in entries.values():
            if isinstance(entry, dict) and isinstance(entry.get("logic_hash"), str):
                logic[str(entry.get("node"))] = entry["logic_hash"]
    memo: dict[str, tuple[str, str | None]] = {}
    for name, node in nodes.items():
        if not isinstance(node, dict):
            continue
        sha, code = node.get("source_sha"), node.get("code_hash")
        if isinstance(sha, str) and isinstance(code, str) and not node.get("is_input"):
            memo[sha] = (code, logic.get(name))
    return memo
