"""The execution graph in Hamilton's ``export_execution`` form, and what Hamilton needs to run it.

- :func:`hamilton_export` returns, node for node and byte for byte, the string that
  ``Driver.export_execution`` returns, without its cost: each source file is parsed once and
  each function hashed once (see :mod:`semdag.hamilton.sourceinfo`), where Hamilton reads the
  source of every node twice and parses it again.
- :func:`input_problems` is what Hamilton's input validation would object to for a run.
- :func:`node_sources` is the source text of each node's function.

semdag's own form is :mod:`semdag.core.export`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hamilton import driver as h_driver

    from semdag.hamilton.build import Build
    from semdag.hamilton.sourceinfo import SourceIndex


def node_sources(build: Build, names: Iterable[str]) -> dict[str, str | None]:
    """Source text (as ``inspect.getsource`` gives it) of each named node's function."""
    from semdag.hamilton.sourceinfo import SourceIndex

    index = SourceIndex(build.project.relative, with_source=True)
    graph_nodes = build.driver.graph.nodes
    out: dict[str, str | None] = {}
    for name in names:
        fns = graph_nodes[name].originating_functions if name in graph_nodes else None
        found = index.lookup(fns[0]) if fns else None
        out[name] = found.source if found else None
    return out


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputProblem:
    """An input that ``Driver.export_execution`` (and a run) would refuse."""

    name: str
    kind: str  # missing | type-mismatch | also-in-config
    message: str


def input_problems(
    driver: h_driver.Driver,
    final_vars: Sequence[str],
    inputs: Mapping[str, Any],
    overrides: Mapping[str, Any],
) -> list[InputProblem]:
    """What Hamilton's input validation would object to for a run of ``final_vars``.

    Hamilton raises on these before exporting; semdag exports regardless (inputs are only
    metadata to an export) and reports them with ``--strict``. A value given as an override
    counts as provided, as it does for a run.
    """
    from hamilton import htypes
    from hamilton import node as h_node

    graph = driver.graph
    config = graph.config
    nodes, user_nodes = graph.get_upstream_nodes(list(final_vars), dict(inputs), dict(overrides))
    problems = [
        InputProblem(k, "also-in-config", f"input {k!r} is also set in config")
        for k in sorted(inputs)
        if k in config
    ]
    given = {**config, **inputs}
    for user in sorted(user_nodes, key=lambda n: n.name):
        name = user.name
        if name in overrides:
            continue
        if name not in given:
            needing = sorted(
                n.name
                for n in user.depended_on_by
                if n in nodes and n.input_types[name][1] == h_node.DependencyType.REQUIRED
            )
            if needing:
                problems.append(
                    InputProblem(
                        name,
                        "missing",
                        f"input {name!r} has no value (needed by {', '.join(needing)})",
                    )
                )
            continue
        value = given[name]
        if value is not None and not htypes.check_input_type(user.type, value):
            expected = htypes.get_type_as_string(user.type)
            problems.append(
                InputProblem(
                    name,
                    "type-mismatch",
                    f"input {name!r} must be {expected}, got {type(value).__name__}",
                )
            )
    return problems


# --- Hamilton's form ---------------------------------------------------------------------------


def hamilton_export(
    driver: h_driver.Driver,
    final_vars: Sequence[str],
    inputs: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    index: SourceIndex | None = None,
) -> str:
    """Exactly the string ``driver.export_execution(final_vars, inputs, overrides)`` returns,
    except that missing or mistyped inputs do not stop it (see :func:`input_problems`).

    Each node's ``source`` equals ``inspect.getsource`` of its first originating function and
    its ``version`` equals ``HamiltonNode.version``; both come from ``index`` (a fresh
    :class:`~semdag.hamilton.sourceinfo.SourceIndex` by default), which parses each file once.
    """
    from semdag.hamilton.sourceinfo import SourceIndex

    if index is None:
        index = SourceIndex(str, with_source=True, hamilton=True)
    with index.tuning.quiet():
        return _hamilton_rows(driver, final_vars, inputs, overrides, index)


def _hamilton_rows(
    driver: h_driver.Driver,
    final_vars: Sequence[str],
    inputs: Mapping[str, Any] | None,
    overrides: Mapping[str, Any] | None,
    index: SourceIndex,
) -> str:
    import json

    from hamilton import htypes
    from hamilton import node as h_node

    nodes, user_nodes = driver.graph.get_upstream_nodes(
        list(final_vars),
        None if inputs is None else dict(inputs),
        None if overrides is None else dict(overrides),
    )
    required_kind = h_node.DependencyType.REQUIRED
    chosen = nodes | user_nodes
    index.prefetch(n.originating_functions[0] for n in chosen if n.originating_functions)
    rows = []
    for n in chosen:
        fns = n.originating_functions
        found = index.lookup(fns[0], with_source=True) if fns else None
        if fns:
            version = found.hamilton_hash if found else None
        else:
            version = n.name if n.user_defined else None
        required: list[str] = []
        optional: list[str] = []
        for dep, (_type, kind) in n.input_types.items():
            (required if kind == required_kind else optional).append(dep)
        # Key order and value shapes follow HamiltonNode.as_dict(); json.dumps keeps them.
        rows.append(
            {
                "name": n.name,
                "tags": n.tags,
                "output_type": htypes.get_type_as_string(n.type) or "",
                "required_dependencies": sorted(required),
                "optional_dependencies": sorted(optional),
                "source": found.source if found else None,
                "documentation": n.documentation,
                "version": version,
            }
        )
    rows.sort(key=lambda row: row["name"])
    return json.dumps({"nodes": rows})
