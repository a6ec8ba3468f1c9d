"""Hashes taken from the committed baselines equal hashes computed from scratch."""

from __future__ import annotations

import json
from pathlib import Path

from semdag.export import export_document
from semdag.registry import compile_registry
from semdag.session import Session


def documents(root: Path) -> tuple[str, str]:
    session = Session(command="t", profile_name="dev", project_dir=root, build_cache=False)
    graph = session.graph()
    profile = session.profile
    graph_doc = export_document(graph, profile, None, whole_graph=True)
    registry = compile_registry(graph, profile.tag_filter).as_document()
    return json.dumps(graph_doc, sort_keys=True), json.dumps(registry, sort_keys=True)


def scratch(root: Path) -> tuple[str, str]:
    hidden = root / "snapshots.hidden"
    (root / "snapshots").rename(hidden)
    try:
        return documents(root)
    finally:
        hidden.rename(root / "snapshots")


def test_memo_gives_what_a_fresh_parse_gives(example):
    assert documents(example) == scratch(example)


def test_an_edited_file_is_parsed_again(example):
    path = example / "modules/core/repo_rollup.py"
    path.write_text(path.read_text().replace('"""Number of functions', '"""Count of functions'))
    risk = example / "modules/core/risk_selection.py"
    risk.write_text(risk.read_text().replace(".mean(axis=1)", ".mean(axis=1) * 1.0"))
    with_memo = documents(example)
    assert with_memo == scratch(example)
    graph = json.loads(with_memo[0])
    baseline = json.loads((example / "snapshots/dev/graph.json").read_text())
    assert (
        graph["files"]["modules/core/risk_selection.py"]
        != (baseline["files"]["modules/core/risk_selection.py"])
    )
    changed = graph["nodes"]["function_risk_score"]["code_hash"]
    assert changed != baseline["nodes"]["function_risk_score"]["code_hash"]
    # A docstring edit changes the file, not the hash.
    assert (
        graph["nodes"]["repo_function_count"]["code_hash"]
        == (baseline["nodes"]["repo_function_count"]["code_hash"])
    )


def test_hashes_recorded_under_another_context_are_not_reused(example):
    path = example / "snapshots/dev/graph.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    real = document["nodes"]["repo_function_count"]["code_hash"]
    document["nodes"]["repo_function_count"]["code_hash"] = "f" * 64

    def code_hash_after_writing(hashed_with: dict) -> str:
        path.write_text(json.dumps({**document, "hashed_with": hashed_with}), encoding="utf-8")
        return json.loads(documents(example)[0])["nodes"]["repo_function_count"]["code_hash"]

    # The same context: the recorded hash is taken as it is (the memo is in use)...
    assert code_hash_after_writing(document["hashed_with"]) == "f" * 64
    # ...another Python, Hamilton or semdag hash version: computed again.
    for key, other in (
        ("python", "2.7"),
        ("hamilton", "sf-hamilton==1.0"),
        ("semdag_logic_hash", "0"),
    ):
        assert code_hash_after_writing({**document["hashed_with"], key: other}) == real
