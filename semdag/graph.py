"""A plain, immutable model of a built graph that every command reads."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from semdag.errors import UnknownNodeError

if TYPE_CHECKING:
    from semdag.builder import Build
    from semdag.sourceinfo import SourceIndex

# Tags Hamilton adds for its own bookkeeping: kept on the node, left out of registries.
BOOKKEEPING_TAG_PREFIXES = ("hamilton.", "module")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node of the graph, as semdag reports it."""

    name: str
    type: str
    tags: Mapping[str, Any]
    layer: str | None
    module: str | None
    function: str | None
    file: str | None
    line: int | None
    end_line: int | None
    doc: str
    # semdag's code hash (see semdag.codehash); an input's is its name.
    code_hash: str | None
    required: tuple[str, ...]
    optional: tuple[str, ...]
    is_input: bool
    is_config: bool

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(sorted((*self.required, *self.optional)))

    def where(self) -> str | None:
        return f"{self.file}:{self.line}" if self.file and self.line else self.file

    def user_tags(self) -> dict[str, Any]:
        """Tags without Hamilton's bookkeeping (``module``, ``hamilton.*``)."""
        return {
            k: v
            for k, v in sorted(self.tags.items())
            if k != "module" and not k.startswith("hamilton.")
        }


@dataclass(frozen=True)
class GraphModel:
    """Every node of a build, keyed and sorted by name, with forward and reverse edges."""

    profile: str
    nodes: Mapping[str, NodeInfo]
    dependents: Mapping[str, tuple[str, ...]] = field(repr=False)

    def get(self, name: str) -> NodeInfo:
        """The node called ``name``; an error listing near matches otherwise."""
        try:
            return self.nodes[name]
        except KeyError:
            raise UnknownNodeError(unknown_node_message(name, self.nodes)) from None

    def upstream(self, names: Iterable[str], depth: int | None = None) -> set[str]:
        return self._walk(names, lambda n: self.nodes[n].dependencies, depth)

    def downstream(self, names: Iterable[str], depth: int | None = None) -> set[str]:
        return self._walk(names, lambda n: self.dependents.get(n, ()), depth)

    def _walk(self, names: Iterable[str], step: Any, depth: int | None) -> set[str]:
        start = [self.get(n).name for n in names]
        seen = set(start)
        queue = deque((n, 0) for n in start)
        while queue:
            current, hops = queue.popleft()
            if depth is not None and hops >= depth:
                continue
            for nxt in step(current):
                if nxt not in seen and nxt in self.nodes:
                    seen.add(nxt)
                    queue.append((nxt, hops + 1))
        return seen

    def edges(self, names: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(dependency, dependent) pairs among ``names`` (all nodes when None), sorted."""
        keep = set(self.nodes) if names is None else set(names)
        return sorted(
            (dep, node) for node in keep for dep in self.nodes[node].dependencies if dep in keep
        )


def unknown_node_message(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    hint = f" (did you mean: {', '.join(close)}?)" if close else ""
    return f"unknown node {name!r}{hint}"


def model_from_build(build: Build, index: SourceIndex | None = None) -> GraphModel:
    """Read every node of the built driver into a :class:`GraphModel` (see ``_model``)."""
    from semdag.gctools import paused
    from semdag.sourceinfo import SourceIndex

    if index is None:
        index = SourceIndex(build.project.relative)
    with paused():
        return _model(build, index)


def _model(build: Build, index: SourceIndex) -> GraphModel:
    """Read every node of the built driver into a :class:`GraphModel`, with the span and code
    hash of each node's function from ``index`` (which may know them from a memo)."""
    from hamilton import htypes
    from hamilton import node as h_node

    layer_of = build.layer_of_module()
    config = build.profile.config
    nodes: dict[str, NodeInfo] = {}
    dependents: dict[str, list[str]] = {}
    graph_nodes = build.driver.graph.nodes
    index.prefetch(
        n.originating_functions[0] for n in graph_nodes.values() if n.originating_functions
    )
    for name, n in graph_nodes.items():
        required: list[str] = []
        optional: list[str] = []
        for dep, (_type, dep_type) in n.input_types.items():
            (required if dep_type == h_node.DependencyType.REQUIRED else optional).append(dep)
            dependents.setdefault(dep, []).append(name)
        fns: tuple[Any, ...] = n.originating_functions or ()
        src = index.lookup(fns[0]) if fns else None
        definition = build.final_definition(name)
        module = definition.module if definition else (n.tags.get("module") if fns else None)
        is_input = bool(n.user_defined)
        nodes[name] = NodeInfo(
            name=name,
            type=htypes.get_type_as_string(n.type) or str(n.type),
            tags=n.tags,  # shared, not copied: nothing changes a built node's tags
            layer=layer_of.get(module) if module else None,
            module=module,
            function=definition.function if definition else (fns[0].__name__ if fns else None),
            file=src.file if src else None,
            line=src.line if src else None,
            end_line=src.end_line if src else None,
            doc=n.documentation or "",
            code_hash=(src.code_hash if src else (name if is_input else None)),
            required=tuple(sorted(required)),
            optional=tuple(sorted(optional)),
            is_input=is_input,
            is_config=is_input and name in config,
        )
    ordered = {k: nodes[k] for k in sorted(nodes)}
    return GraphModel(
        profile=build.profile.name,
        nodes=ordered,
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
    )
