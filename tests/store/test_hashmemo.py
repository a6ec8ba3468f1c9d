"""The local hash memo gives exactly what a fresh parse gives, and only ever helps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from semdag.app.session import Session
from semdag.config.project import find_project
from semdag.core.export import baseline_document
from semdag.core.registry import compile_registry
from semdag.store.hashmemo import MEMO_DIR, load_memo


def documents(root: Path, *, cache: bool = True) -> tuple[str, str]:
    """graph.json's and registry.json's documents for the dev profile, built in-process;
    with ``cache``, the hash memo is read and written (the build cache is left out)."""
    session = Session(command="t", profile_name="dev", project_dir=root, build_cache=cache)
    shutil.rmtree(root / ".semdag" / "build-cache", ignore_errors=True)
    graph = session.graph()
    session.finish()  # the memo is written meanwhile by another process
    profile = session.profile
    registry = compile_registry(graph, profile.tag_filter).as_document()
    graph_doc = baseline_document(graph, profile)
    return json.dumps(graph_doc, sort_keys=True), json.dumps(registry, sort_keys=True)


def memo_file(root: Path) -> Path:
    return root / ".semdag" / MEMO_DIR / "dev.json"


def test_memo_gives_what_a_fresh_parse_gives(example):
    first = documents(example)
    assert memo_file(example).is_file()
    memo, files = load_memo(find_project(explicit=example), "dev")
    assert memo and "modules/core/risk.py" in files
    assert documents(example) == first == documents(example, cache=False)


def test_an_edited_file_is_parsed_again(example):
    before = json.loads(documents(example)[0])
    path = example / "modules/core/repo_rollup.py"
    path.write_text(path.read_text().replace('"""Number of functions', '"""Count of functions'))
    risk = example / "modules/core/risk_selection.py"
    risk.write_text(risk.read_text().replace(".mean(axis=1)", ".mean(axis=1) * 1.0"))
    with_memo = documents(example)
    assert with_memo == documents(example, cache=False)
    after = json.loads(with_memo[0])
    changed = "function_risk_score"
    assert after["nodes"][changed]["code_hash"] != before["nodes"][changed]["code_hash"]
    # A docstring edit changes the file, not the hash.
    same = "repo_function_count"
    assert after["nodes"][same]["code_hash"] == before["nodes"][same]["code_hash"]


def test_a_memo_recorded_under_another_context_is_not_reused(example):
    documents(example)
    path = memo_file(example)
    document = json.loads(path.read_text(encoding="utf-8"))
    name = "modules/core/repo_rollup.py"
    spans = document["files"][name][1]
    real = {start: list(span) for start, span in spans.items()}
    for span in spans.values():
        span[1] = "f" * 64  # a wrong hash, to tell whether the memo was used

    def hashes_after_writing(context: dict) -> set[str]:
        path.write_text(json.dumps({**document, "context": context}), encoding="utf-8")
        graph = json.loads(documents(example)[0])
        return {
            node["code_hash"]
            for node in graph["nodes"].values()
            if node["module"] == "modules.core.repo_rollup"
        }

    # The same context: the recorded hash is taken as it is (the memo is in use)...
    assert hashes_after_writing(document["context"]) == {"f" * 64}
    # ...another Python, Hamilton or hash version: computed again.
    for key, other in (
        ("python", "2.7"),
        ("hamilton", "sf-hamilton==1.0"),
        ("semdag_code_hash", "0"),
    ):
        assert "f" * 64 not in hashes_after_writing({**document["context"], key: other})
    assert real  # the file had functions to memoise


def test_an_unreadable_memo_is_ignored_and_rewritten(example):
    first = documents(example)
    for text in ("{not json", '{"context": 1, "files": []}', "[]"):
        memo_file(example).write_text(text, encoding="utf-8")
        assert load_memo(find_project(explicit=example), "dev") == ({}, {})
        assert documents(example) == first
    assert load_memo(find_project(explicit=example), "dev")[0]  # written again, whole
