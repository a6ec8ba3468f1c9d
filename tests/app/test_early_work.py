"""Work started early (reading the stack's source while it imports, reading baselines) gives
exactly what the same work gives later, in this process or another."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from semdag.app.session import Session
from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.core.tuning import SerialWorkers, Tuning
from semdag.hamilton import sourceinfo
from semdag.hamilton.stack import load_stack, stack_files
from semdag.perf.processes import ParallelWorkers
from semdag.store.snapshot import read_recorded_graph
from tests.conftest import run_cli, write_files

STACK = {
    "pyproject.toml": "[tool.semdag]\n",
    "configs/dev.yaml": (
        "stack:\n  core: [aheadpkg.core, aheadpkg.sub.more]\n  extra: [loose.py]\n"
    ),
    "aheadpkg/__init__.py": "raise RuntimeError('a package body must not run to find its files')\n",
    "aheadpkg/core.py": "def a() -> int:\n    return 1\n",
    "aheadpkg/sub/__init__.py": "",
    "aheadpkg/sub/more.py": "def b(a: int) -> int:\n    return a + 1\n",
    "loose.py": "def c(b: int) -> int:\n    return b\n",
}


def test_stack_files_are_found_without_running_any_module(tmp_path: Path) -> None:
    root = write_files(tmp_path / "proj", STACK)
    project = find_project(explicit=root)
    profile = load_profile(project, "dev")
    files = stack_files(project, profile)
    assert "aheadpkg" not in sys.modules and "aheadpkg.core" not in sys.modules
    assert [Path(f).resolve() for f in files] == [
        (root / "aheadpkg/core.py").resolve(),
        (root / "aheadpkg/sub/more.py").resolve(),
        (root / "loose.py").resolve(),
    ]


def test_stack_files_are_the_files_the_functions_come_from(tmp_path: Path) -> None:
    files = dict(STACK, **{"aheadpkg/__init__.py": ""})
    root = write_files(tmp_path / "proj", files)
    project = find_project(explicit=root)
    profile = load_profile(project, "dev")
    predicted = stack_files(project, profile)
    loaded = load_stack(project, profile)
    try:
        defined = [
            fn.__code__.co_filename
            for module in loaded
            for fn in vars(module.module).values()
            if callable(fn) and getattr(fn, "__module__", None) == module.module.__name__
        ]
        assert sorted(set(defined)) == sorted(predicted)
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in ("aheadpkg", "loose")]:
            del sys.modules[name]


def test_a_missing_stack_module_is_left_to_the_import_to_report(tmp_path: Path) -> None:
    root = write_files(
        tmp_path / "proj",
        {
            "pyproject.toml": "[tool.semdag]\n",
            "configs/dev.yaml": "stack:\n  core: [nothere.mod, gone.py]\n",
        },
    )
    project = find_project(explicit=root)
    assert stack_files(project, load_profile(project, "dev")) == []


def _index_all(index: sourceinfo.SourceIndex, files: list[Path]) -> dict[str, object]:
    out = {}
    for path in files:
        indexed = index._indexed(str(path))
        assert indexed is not None
        out[path.name] = {
            start: (span.start, span.end, span.code_hash, span.hamilton_hash, span.source_sha)
            for start, span in indexed.spans.items()
        }
    return out


def test_indexing_early_gives_what_indexing_later_gives(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sourceinfo, "AHEAD_MIN_CHARS", 0)
    files = []
    for number in range(3):
        path = tmp_path / f"m{number}.py"
        body = "".join(
            f"@deco\ndef f{k}(x: int) -> int:\n    '''doc'''\n    return x * {k + number}\n\n"
            for k in range(20)
        )
        path.write_text(body)
        files.append(path)
    later = sourceinfo.SourceIndex(str)
    ahead = sourceinfo.SourceIndex(str)
    assert sourceinfo.worth_indexing_early(map(str, files))
    found = ParallelWorkers().start(lambda: sourceinfo.index_files(str, map(str, files)))
    ahead.take_indexed(found.result())
    assert set(ahead._files) == {str(f) for f in files}  # indexed without a lookup
    assert _index_all(ahead, files) == _index_all(later, files)


def test_a_file_edited_after_it_was_indexed_early_is_read_again(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(sourceinfo, "AHEAD_MIN_CHARS", 0)
    path = tmp_path / "m.py"
    path.write_text("def f() -> int:\n    return 1\n")
    index = sourceinfo.SourceIndex(str)
    found = sourceinfo.index_files(str, [str(path)])
    path.write_text("def f() -> int:\n    return 2\n")
    index.take_indexed(found)
    assert str(path) not in index._files
    fresh = sourceinfo.SourceIndex(str)
    assert _index_all(index, [path]) == _index_all(fresh, [path])


def test_too_little_text_is_not_worth_a_worker(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f() -> int:\n    return 1\n")
    assert not sourceinfo.worth_indexing_early([str(path)])


class CountingWorkers(SerialWorkers):
    """Serial workers that note what was started, in order, and what the build did first."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def start(self, work):
        self.log.append("started")
        return super().start(work)

    def spare(self, work):
        self.log.append("spared")
        return super().spare(work)

    def count(self) -> int:
        return 2  # as if another core were free: the session starts its early work


def test_a_session_starts_early_work_with_its_tuning_before_the_build(
    example: Path, monkeypatch
) -> None:
    from semdag.hamilton import build as build_module

    monkeypatch.setattr(sourceinfo, "AHEAD_MIN_CHARS", 0)
    shutil.rmtree(example / ".semdag", ignore_errors=True)
    log: list[str] = []
    real_build = build_module.build
    monkeypatch.setattr(
        build_module, "build", lambda *a, **k: log.append("build") or real_build(*a, **k)
    )
    session = Session(
        command="test", profile_name="dev", project_dir=example, tuning=Tuning(CountingWorkers(log))
    )
    facts, (profile, read) = session.compared(
        None, {"pid": os.getpid}, lambda graph, read: (graph.profile, read)
    )
    session.finish()
    # The read and the source index start before the build; after it, the record of each
    # module, then validate, which writes the cache (compared meanwhile): neither is kept
    # for a retry here, so the driver can be freed before the comparison.
    assert log == ["started", "started", "build", "spared", "spared"]
    assert (example / ".semdag/hash-memo/dev.json").is_file()
    assert read == {"pid": os.getpid()} and profile == "dev"
    assert facts.graph.profile == "dev" and "repo_summary" in facts.graph.nodes


def test_a_reformatted_graph_json_compares_equal(example: Path) -> None:
    path = example / "snapshots/dev/graph.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps(document, indent=4))  # other layout, same values
    recorded = read_recorded_graph(path)
    assert recorded is not None and not recorded.legacy
    result = run_cli(
        ["snapshot", "check", "-p", "dev", "--project-dir", str(example), "--fail-on", "any"]
    )
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_changed_graph_json_value_is_named_with_its_reason(example: Path) -> None:
    path = example / "snapshots/dev/graph.json"
    document = json.loads(path.read_text())
    name = sorted(document["nodes"])[0]
    document["nodes"][name]["output_type"] = "bytes"
    path.write_text(json.dumps(document))
    result = run_cli(
        ["snapshot", "check", "-p", "dev", "--project-dir", str(example), "-f", "json"]
    )
    drift = [
        f
        for f in json.loads(result.stdout)["data"]["comparisons"][0]["findings"]
        if f["rule"] == "graph-changed"
    ]
    assert len(drift) == 1
    assert drift[0]["new"]["changed"] == [name]
    assert drift[0]["new"]["reasons"] == {name: ["type"]}


def test_indexing_takes_unchanged_files_from_the_local_memo(example: Path, monkeypatch) -> None:
    monkeypatch.setattr(sourceinfo, "AHEAD_MIN_CHARS", 0)
    memo = example / ".semdag/hash-memo/dev.json"
    shutil.rmtree(example / ".semdag/build-cache", ignore_errors=True)
    first = Session(command="test", profile_name="dev", project_dir=example)
    first.graph()
    first.finish()
    document = json.loads(memo.read_text())
    for span in document["files"]["modules/core/repo_rollup.py"][1].values():
        span[1] = "f" * 64  # a recorded hash no parse gives: tells whether the memo was used
    memo.write_text(json.dumps(document))
    shutil.rmtree(example / ".semdag/build-cache", ignore_errors=True)
    second = Session(command="test", profile_name="dev", project_dir=example)
    graph = second.graph()
    second.finish()
    hashes = {n.code_hash for n in graph.nodes.values() if n.module == "modules.core.repo_rollup"}
    assert hashes == {"f" * 64}
    others = {n.code_hash for n in graph.nodes.values() if n.module == "modules.core.risk"}
    assert others and "f" * 64 not in others


class LosingWorkers(CountingWorkers):
    """Counting workers whose spare work of checking a build is lost, as when the process
    that does it dies: its result is None."""

    def spare(self, work):
        from semdag.core.tuning import _Done
        from semdag.store import rebuild

        if getattr(work, "func", None) is rebuild._found_and_written:
            self.log.append("lost")
            return _Done(None)
        return SerialWorkers.spare(self, work)


class DeferredWorkers(CountingWorkers):
    """Counting workers whose spare work is done only when its result is asked for, as a
    forked worker's is only known then."""

    def spare(self, work):
        from semdag.core.tuning import _Later

        self.log.append("spared")
        return _Later(work)


LOSSY = {
    "pyproject.toml": "[tool.semdag]\n",
    "configs/dev.yaml": "stack:\n  core: [pkg.core]\noutputs: [total]\n",
    "pkg/__init__.py": "",
    # `rate` is given by no input: validate finds it missing.
    "pkg/core.py": "def total(count: int, rate: float) -> float:\n    return count * rate\n",
}


def test_a_comparison_that_fails_still_leaves_the_record_of_each_module(tmp_path: Path) -> None:
    from semdag.store.modulefacts import record_path

    root = write_files(tmp_path / "proj", LOSSY)
    log: list[str] = []
    session = Session(
        command="test", profile_name="dev", project_dir=root, tuning=Tuning(DeferredWorkers(log))
    )

    def compare(graph, read):
        raise RuntimeError("the baseline does not read")

    with pytest.raises(RuntimeError, match="does not read"):
        session.compared(None, {}, compare, release=True)
    session.finish()
    # The check was given up, but the record was waited for: the next edit is rebuilt partly.
    assert log == ["spared", "spared"]
    assert record_path(session.project, session.profile).is_file()


def test_findings_of_a_check_lost_elsewhere_are_found_again_from_a_new_build(
    tmp_path: Path, monkeypatch
) -> None:
    from semdag.hamilton import build as build_module

    root = write_files(tmp_path / "proj", LOSSY)
    expected = Session(command="test", profile_name="dev", project_dir=root, build_cache=False)
    wanted = expected.facts().findings
    assert wanted, "the stack must give validate something to find"
    log: list[str] = []
    real_build = build_module.build
    monkeypatch.setattr(
        build_module, "build", lambda *a, **k: log.append("build") or real_build(*a, **k)
    )
    session = Session(
        command="test", profile_name="dev", project_dir=root, tuning=Tuning(LosingWorkers(log))
    )
    facts, names = session.compared(None, {}, lambda graph, read: sorted(graph.nodes), release=True)
    session.finish()
    # Built, checked elsewhere and lost, then built again here to find the same findings.
    assert log == ["build", "lost", "build"]
    assert facts.findings == wanted
    assert names == sorted(facts.graph.nodes) and "total" in names
