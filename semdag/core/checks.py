"""Checks of a graph model that need nothing but the model and the profile: output and input
names, and dependency cycles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from semdag.core.errors import UnknownNodeError, UsageError, did_you_mean
from semdag.core.graph import GraphModel

if TYPE_CHECKING:
    from semdag.config.profile import Profile


def profile_outputs(profile: Profile, graph: GraphModel) -> list[str]:
    """The node names of the profile's ``outputs`` (each a node name or a semantic id); an
    unknown one is an error at its line, or on the ``--set`` that gave it."""
    names: list[str] = []
    for index, name in enumerate(profile.outputs):
        try:
            names.append(graph.get(name).name)
        except UnknownNodeError as exc:
            raise profile.error(f"outputs: {exc.message}", "outputs", str(index)) from None
    return list(dict.fromkeys(names))


def check_input_names(profile: Profile, graph: GraphModel, given: Mapping[str, Any]) -> None:
    """Every input name, from the profile's ``inputs:`` (or ``--set inputs.NAME``) and from
    ``--input`` (``given``), must be an external input of the graph: a typo would otherwise
    leave the real input unset without a word. The error names where the name was given."""
    known = [n.name for n in graph.nodes.values() if n.is_input and not n.is_config]
    hint = f"the graph's inputs: {', '.join(known[:10])}{' …' if len(known) > 10 else ''}"
    hint = hint if known else "the graph takes no external input"
    # Taken only by a function that the config leaves out: unused in this configuration.
    variant = graph.variant_inputs
    near = [*known, *variant]
    for name in profile.inputs:
        if name not in given and name not in graph.nodes and name not in variant:
            raise profile.error(_unknown_input(name, near), "inputs", name, hint=hint)
    for name in given:
        if name not in graph.nodes and name not in variant:
            raise UsageError(f"--input {name}: {_unknown_input(name, near)}", hint=hint)
    for name in [n for n in (*profile.inputs, *given) if n in graph.nodes]:
        if not graph.nodes[name].is_input:
            message = (
                f"{name!r} is computed by the graph, not an input: "
                f"replace its value with --override {name}=VALUE or the profile's overrides:"
            )
            if name in given:
                raise UsageError(f"--input {name}: {message}")
            raise profile.error(message, "inputs", name)


def _unknown_input(name: str, known: list[str]) -> str:
    return f"no node takes an input {name!r}{did_you_mean(name, known)}"


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
