"""``validate``: every baseline-free check over a build, as findings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from semdag.builder import Build
from semdag.errors import ConfigError
from semdag.graph import GraphModel, unknown_node_message
from semdag.registry import registry_findings
from semdag.rules import Finding, apply_severities, finding


def final_vars(build: Build, graph: GraphModel) -> list[str]:
    """The profile's outputs, or every computed node when it names none."""
    outputs = list(build.profile.outputs)
    if not outputs:
        return [n.name for n in graph.nodes.values() if not n.is_input]
    for index, name in enumerate(outputs):
        if name not in graph.nodes:
            file, line = build.profile.where("outputs", str(index))
            raise ConfigError(
                f"outputs: {unknown_node_message(name, graph.nodes)}", file=file, line=line
            )
    return outputs


def validate(
    build: Build,
    graph: GraphModel,
    *,
    inputs: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> list[Finding]:
    """Run every baseline-free rule; findings sorted, profile severities applied."""
    profile = build.profile
    run_inputs = dict(profile.inputs) | dict(inputs or {})
    run_overrides = dict(profile.overrides) | dict(overrides or {})
    found: list[Finding] = []
    found += _override_findings(build)
    found += _shadow_findings(build)
    found += _execution_findings(build, graph, final_vars(build, graph), run_inputs, run_overrides)
    found += registry_findings(graph, profile.tag_filter, profile.required_tags, profile.dtypes)
    found += _cache_findings(build, graph)
    return apply_severities(found, profile.rules)


def _override_findings(build: Build) -> Iterator[Finding]:
    for conflict in build.conflicts:
        first, second = conflict.first, conflict.second
        yield finding(
            "override-not-allowed",
            conflict.node,
            f"{conflict.node} is defined in {first.module} ({first.where()}, layer {first.layer}) "
            f"and again in {second.module} ({second.where()}, layer {second.layer}), "
            f"which may not override",
            node=conflict.node,
            old=first.module,
            new=second.module,
            file=second.file,
            line=second.line,
        )


def _shadow_findings(build: Build) -> Iterator[Finding]:
    for name in build.shadowed:
        definition = build.final_definition(name)
        file, line = build.profile.where("config", name)
        yield finding(
            "config-shadows-node",
            name,
            f"config key {name!r} has the name of a node defined in "
            f"{definition.module if definition else '?'}: Hamilton turns the node into an input",
            node=name,
            file=file,
            line=line,
        )


def _execution_findings(
    build: Build,
    graph: GraphModel,
    outputs: list[str],
    inputs: Mapping[str, Any],
    overrides: Mapping[str, Any],
) -> Iterator[Finding]:
    from hamilton import htypes
    from hamilton import node as h_node

    nodes, user_nodes = build.driver.graph.get_upstream_nodes(
        outputs, dict(inputs), dict(overrides)
    )
    for cycle in find_cycles(graph, {n.name for n in nodes}):
        first = graph.nodes.get(cycle[0])
        yield finding(
            "cycle",
            cycle[0],
            f"dependency cycle: {' -> '.join([*cycle, cycle[0]])}",
            node=cycle[0],
            new=list(cycle),
            file=first.file if first else None,
            line=first.line if first else None,
        )
    config = build.profile.config
    for user in sorted(user_nodes, key=lambda n: n.name):
        name = user.name
        if name in overrides or name in config:
            continue
        if name in inputs:
            value = inputs[name]
            if not htypes.check_input_type(user.type, value):
                yield finding(
                    "type-mismatch",
                    name,
                    f"input {name!r} must be {htypes.get_type_as_string(user.type)}, "
                    f"got {type(value).__name__}",
                    node=name,
                    old=htypes.get_type_as_string(user.type),
                    new=type(value).__name__,
                )
            continue
        needing = sorted(
            n.name
            for n in user.depended_on_by
            if n in nodes
            and n.input_types.get(name, (None, None))[1] == h_node.DependencyType.REQUIRED
        )
        if needing:
            first = graph.nodes.get(needing[0])
            yield finding(
                "missing-input",
                name,
                f"input {name!r} is required by {', '.join(needing)} and has no value "
                "(set it under inputs: or pass --input)",
                node=name,
                new=needing,
                file=first.file if first else None,
                line=first.line if first else None,
            )


def find_cycles(graph: GraphModel, names: set[str]) -> list[list[str]]:
    """Each cycle among ``names`` once, as a path starting at its smallest node name.

    Iterative Tarjan: strongly connected components of more than one node (or a self-loop).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(names):
        if root in index:
            continue
        work = [(root, iter(sorted(d for d in graph.nodes[root].dependencies if d in names)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            current, deps = work[-1]
            advanced = False
            for dep in deps:
                if dep not in index:
                    index[dep] = low[dep] = counter
                    counter += 1
                    stack.append(dep)
                    on_stack.add(dep)
                    children = sorted(d for d in graph.nodes[dep].dependencies if d in names)
                    work.append((dep, iter(children)))
                    advanced = True
                    break
                if dep in on_stack:
                    low[current] = min(low[current], index[dep])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                self_loop = current in graph.nodes[current].dependencies
                if len(component) > 1 or self_loop:
                    cycles.append(_cycle_path(graph, set(component)))
    return sorted(cycles)


def _cycle_path(graph: GraphModel, component: set[str]) -> list[str]:
    start = min(component)
    path, current = [start], start
    while True:
        nxt = min(d for d in graph.nodes[current].dependencies if d in component)
        if nxt == start or nxt in path:
            return path
        path.append(nxt)
        current = nxt


def _cache_findings(build: Build, graph: GraphModel) -> Iterator[Finding]:
    cache = build.profile.cache
    if not cache or cache.get("enabled") is False:
        return
    ignored = cache.get("ignore") or []
    for name in ignored if isinstance(ignored, list) else []:
        yield finding(
            "cache-ignore-stale",
            name,
            f"cache.ignore lists {name!r}: its dependents may reuse results computed "
            "from an older value",
            node=name,
        )
    if cache.get("default_behavior") != "disable":
        return
    listed = set(cache.get("default") or [])
    for name in sorted(listed):
        if name not in graph.nodes:
            continue
        missing = sorted(graph.upstream([name]) - listed - {name})
        missing = [m for m in missing if not graph.nodes[m].is_config]
        if missing:
            yield finding(
                "cache-incomplete",
                name,
                f"{name} is cached in opt-in mode but its upstream "
                f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} is not: "
                "it recomputes on every run",
                node=name,
                new=missing,
            )
