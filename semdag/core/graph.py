"""A plain, immutable model of a built graph that every command reads."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from semdag.core.errors import UnknownNodeError, did_you_mean

if TYPE_CHECKING:
    from semdag.hamilton.build import Build
    from semdag.hamilton.sourceinfo import SourceIndex

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
    # semdag's code hash (see semdag.core.codehash); an input's is its name.
    code_hash: str | None
    required: tuple[str, ...]
    optional: tuple[str, ...]
    is_input: bool
    is_config: bool
    # The id the registry lists the node under (see semdag.core.registry.registry_id), else None.
    semantic_id: str | None = None

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
        """The node called ``name``, else the node whose semantic id is ``name`` (the public
        key: node names may change); an error listing near matches of both otherwise."""
        node = self.nodes.get(name)
        if node is None:
            by_id = self.by_semantic_id.get(name)
            if by_id is None:
                known = (*self.nodes, *self.by_semantic_id)
                raise UnknownNodeError(unknown_node_message(name, known))
            node = self.nodes[by_id]
        return node

    @functools.cached_property
    def by_semantic_id(self) -> Mapping[str, str]:
        """Semantic id -> node name, as the registry pairs them (the first node by name wins
        a duplicated id, which validate reports)."""
        index: dict[str, str] = {}
        for node in self.nodes.values():
            if node.semantic_id is not None:
                index.setdefault(node.semantic_id, node.name)
        return index

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
    return f"unknown node {name!r}{did_you_mean(name, known)}"


def model_from_build(build: Build, index: SourceIndex | None = None) -> GraphModel:
    """Read every node of the built driver into a :class:`GraphModel` (see ``_model``)."""
    from semdag.hamilton.sourceinfo import SourceIndex
    from semdag.perf.gctools import paused

    if index is None:
        index = SourceIndex(build.project.relative)
    with paused():
        return _model(build, index)


def _model(build: Build, index: SourceIndex) -> GraphModel:
    """Read every node of the built driver into a :class:`GraphModel`, with the span and code
    hash of each node's function from ``index`` (which may know them from a memo)."""
    from hamilton import htypes
    from hamilton import node as h_node

    from semdag.core.registry import registry_id

    tag_filter = build.profile.tag_filter
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
        semantic_id = registry_id(n.tags, tag_filter, is_input=is_input)
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
            semantic_id=semantic_id,
        )
    ordered = {k: nodes[k] for k in sorted(nodes)}
    return GraphModel(
        profile=build.profile.name,
        nodes=ordered,
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
    )
