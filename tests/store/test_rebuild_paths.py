"""Which way a profile is built after an edit, and why: `--debug` says it on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

KINDS = '''
class Kind(float):
    """A float that says what it is."""


def base(x: float) -> Kind:
    return Kind(x)
'''
USES = """
from pkg.helper import FACTOR
from pkg.kinds import Kind


def doubled(base: Kind) -> float:
    return base * FACTOR
"""
PLAIN = '''
from hamilton.function_modifiers import tag


@tag(owner="a")
def plain(x: float) -> float:
    """Plain."""
    return x + 1


def plainer(plain: float) -> float:
    return plain * 2
'''


@pytest.fixture
def project(project_factory) -> Path:
    return project_factory(
        {
            "pkg/__init__.py": "",
            "pkg/helper.py": "FACTOR = 2\n",
            "pkg/kinds.py": KINDS,
            "pkg/uses.py": USES,
            "pkg/plain.py": PLAIN,
            "configs/dev.yaml": (
                "stack:\n  core: [pkg.kinds, pkg.plain]\n  plugins: [pkg.uses]\ninputs:\n  x: 1.0\n"
            ),
        }
    )


def _check(project: Path, *extra: str) -> tuple[int, str, str]:
    done = run_cli(["snapshot", "check", "--project-dir", str(project), "-f", "json", *extra])
    return done.exit_code, done.stdout, done.stderr


# (file, text, its replacement, what --debug says, whether the build succeeds and is kept)
@pytest.mark.parametrize(
    ("file", "old", "new", "said", "kept"),
    [
        (
            "pkg/plain.py",
            "x + 1",
            "x + 2",
            "debug: partial rebuild of dev: 1 of 3 modules changed (pkg/plain.py)",
            True,
        ),
        (
            "pkg/plain.py",
            "plain * 2",
            "plain * 2 + missing",
            "debug: partial rebuild of dev: 1 of 3 modules changed (pkg/plain.py)",
            True,
        ),
        (
            "pkg/helper.py",
            "2",
            "3",
            "debug: full build of dev: module file pkg/helper.py changed",
            True,
        ),
        (
            "pkg/kinds.py",
            "Kind(x)",
            "Kind(x * 2)",
            "debug: full build of dev: pkg/kinds.py changed, imported by 1 module (pkg.uses)",
            True,
        ),
        (
            "pkg/plain.py",
            "def plainer(plain: float)",
            "def plainer(plain: int)",
            "debug: full build of dev: plainer takes plain as int, not float",
            False,
        ),
        (
            "pkg/plain.py",
            "def plain(",
            "def plain(:",
            "debug: full build of dev: rebuilding pkg.plain failed: module pkg.plain does not "
            "import: SyntaxError",
            False,
        ),
    ],
)
def test_an_edit_is_rebuilt_as_a_full_build_answers(project, file, old, new, said, kept):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0  # the cache and the record of every module
    path = project / file
    path.write_text(path.read_text().replace(old, new))
    code, out, err = _check(project, "--debug")
    assert said in err
    full_code, full_out, _ = _check(project, "--no-cache")
    assert (code, out) == (full_code, full_out)
    # A build that succeeds is kept: the next check answers from it.
    assert (_check(project, "--debug")[2].count("debug:") == 0) is kept


def test_a_damaged_record_is_a_full_build(project):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0
    for record in (project / ".semdag" / "build-cache").glob("*.modules.jsonl"):
        record.write_text(record.read_text()[:-40])
    path = project / "pkg/plain.py"
    path.write_text(path.read_text().replace("x + 1", "x + 3"))
    code, out, err = _check(project, "--debug")
    assert "debug: full build of dev: the record of what each module contributed is damaged" in err
    assert (code, out) == _check(project, "--no-cache")[:2]


def test_a_baseline_that_does_not_read_after_an_edit_is_said_without_a_full_build(project):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0
    (project / "snapshots/dev/registry.json").write_text("{not json")
    path = project / "pkg/plain.py"
    path.write_text(path.read_text().replace("x + 1", "x + 4"))
    code, out, err = _check(project, "--debug")
    # The comparison's error is the answer: it is no reason to build again in full.
    assert "debug: full build" not in err and "BaselineError" in err
    assert "registry.json" in out and code != 0
    assert (code, out) == _check(project, "--no-cache")[:2]


def test_an_assembly_after_an_edit_takes_the_nodes_the_edit_left_alone(project):
    """The record's graph, drafted while the changed modules import, gives the assembly
    after the edit every node made of the same contribution, with its digests; the
    nodes the edit touched are made anew, and the digests of the runs that hold them."""
    import dataclasses
    import typing

    from semdag.config.profile import load_profile
    from semdag.config.project import find_project
    from semdag.core.export import graph_digests
    from semdag.hamilton.contributions import type_facts
    from semdag.hamilton.partial import assemble_facts, draft
    from semdag.store import buildcache
    from semdag.store.modulefacts import load_record

    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0  # the cache and the record of every module
    proj = find_project(project)
    profile = load_profile(proj, "dev")
    last = buildcache.last_build(proj, profile)
    assert last is not None
    stack = load_record(proj, profile, last[1])
    assert stack is not None
    drafted = draft(profile, stack)
    assert drafted is not None
    texts = _texts(drafted.graph)
    digests = graph_digests(drafted.graph)

    # pkg.plain's `plain` now says another owner.
    modules = _changed(
        stack, "plain", lambda n: dataclasses.replace(n, tags={**n.tags, "owner": "b"})
    )
    any_type = type_facts(typing.Any)
    graph = assemble_facts(profile, modules, stack, {"pkg.plain"}, any_type, drafted)[0]
    alone = assemble_facts(profile, modules, stack, {"pkg.plain"}, any_type)[0]

    assert graph == alone
    assert graph.nodes["doubled"] is drafted.graph.nodes["doubled"]
    assert graph.nodes["plain"] is not drafted.graph.nodes["plain"]
    assert graph.nodes["plain"].tags["owner"] == "b"
    new_texts = _texts(graph)
    assert new_texts == _texts(alone)
    assert new_texts["doubled"] == texts["doubled"]
    assert '"owner":"b"' in new_texts["plain"] and '"owner":"a"' in texts["plain"]
    assert graph_digests(graph) == graph_digests(alone) != digests
    assert graph_digests(graph)[1] == digests[1]  # the same edges

    # `plainer` now takes x, not plain: the edges are made anew.
    modules = _changed(
        stack, "plainer", lambda n: dataclasses.replace(n, inputs=(("x", *n.inputs[0][1:]),))
    )
    graph = assemble_facts(profile, modules, stack, {"pkg.plain"}, any_type, drafted)[0]
    alone = assemble_facts(profile, modules, stack, {"pkg.plain"}, any_type)[0]
    graph_digests(drafted.graph)
    assert ("x", "plainer") in graph.edges()
    assert graph_digests(graph)[1] == graph_digests(alone)[1] != digests[1]


def _texts(graph) -> dict[str, str]:
    from semdag.core.export import baseline_texts

    return dict(zip(graph.nodes, baseline_texts(graph, graph.nodes), strict=True))


def _changed(stack, node: str, change) -> tuple:
    """The record's modules, with the facts of ``node`` (of pkg.plain) changed."""
    import dataclasses

    def edited(module):
        definitions = tuple(
            dataclasses.replace(
                fn, nodes=tuple(change(n) if n.name == node else n for n in fn.nodes)
            )
            for fn in module.definitions
        )
        return dataclasses.replace(module, definitions=definitions)

    return tuple(edited(m) if m.name == "pkg.plain" else m for m in stack.modules)


@pytest.mark.parametrize("damage", ["{not json", '{"runs": ["00"], "edges": "00"}', '{"runs": 3}'])
def test_damaged_digests_of_the_last_graph_are_made_again(project, damage):
    """The digests a check kept of its graph are only a shortcut: unreadable, or of another
    shape, the check after an edit makes them again and answers as a full build."""
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    path = project / "pkg/plain.py"
    path.write_text(path.read_text().replace("x + 1", "x + 2"))
    assert _check(project)[0] == 0  # a partial rebuild, whose digests are kept
    kept = list((project / ".semdag/build-cache/verdicts").glob("graph-digests-*.json"))
    assert kept
    for file in kept:
        file.write_text(damage)
    path.write_text(path.read_text().replace("x + 2", "x + 3"))
    code, out, err = _check(project, "--debug")
    assert "partial rebuild of dev" in err
    assert (code, out) == _check(project, "--no-cache")[:2]
    assert "plain (code)" in out
