"""The one patch of Hamilton's internals is applied only to the Hamilton versions it is tested
against, and a Hamilton outside that range builds the same graph without it."""

from __future__ import annotations

import pytest

from semdag.hamilton import version as hamilton_version
from tests.conftest import run_cli


def test_the_installed_hamilton_is_in_the_tested_range() -> None:
    assert hamilton_version.patch_tested()


@pytest.mark.parametrize(
    ("version", "patched"),
    [
        ("apache-hamilton==1.90.0", True),
        ("sf-hamilton==1.99.4", True),
        ("apache-hamilton==1.89.9", False),
        ("apache-hamilton==2.0.0", False),
        ("unknown", False),
    ],
)
def test_resolve_nodes_is_patched_only_for_tested_versions(monkeypatch, version, patched) -> None:
    from hamilton import graph as h_graph

    from semdag.hamilton.stack import reusing_resolved_nodes

    monkeypatch.setattr(hamilton_version, "hamilton_version", lambda: version)
    original = h_graph.fm_base.resolve_nodes
    with reusing_resolved_nodes({}, {}):
        assert (h_graph.fm_base.resolve_nodes is not original) is patched
    assert h_graph.fm_base.resolve_nodes is original


def test_reused_nodes_answer_only_the_config_they_were_resolved_with() -> None:
    from hamilton import graph as h_graph

    from semdag.hamilton.stack import reusing_resolved_nodes

    def fn(x: int) -> int:
        return x

    kept = ["resolved under mode=a"]
    with reusing_resolved_nodes({id(fn): kept}, {"mode": "a"}):
        resolve = h_graph.fm_base.resolve_nodes
        assert resolve(fn, {"mode": "a"}) is kept
        # Another config is Hamilton's own resolver's to answer.
        assert [n.name for n in resolve(fn, {"mode": "b"})] == ["fn"]


def test_an_untested_hamilton_builds_the_same_graph_unpatched(layered, monkeypatch) -> None:
    # The layered fixture overrides a node, which takes the patched path when it applies.
    args = ["ls", "--project-dir", str(layered), "-p", "dev", "--no-cache", "-f", "json"]
    patched = run_cli(args)
    monkeypatch.setattr(hamilton_version, "hamilton_version", lambda: "apache-hamilton==2.0.0")
    unpatched = run_cli(args)
    assert patched.exit_code == unpatched.exit_code == 0, patched.stderr + unpatched.stderr
    assert unpatched.stdout == patched.stdout
    assert '"module": "stack.hotfix"' in patched.stdout
