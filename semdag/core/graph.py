"""A plain, immutable model of a built graph that every command reads."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from semdag.core.errors import UnknownNodeError, did_you_mean

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


@dataclass
class Digests:
    """The digests a comparison made of a graph (see semdag.core.export.graph_digests), of
    each run of its nodes and of its edges, with the nodes they were made of. A graph that
    shares node objects with that one (assembled after an edit, taking a draft's nodes)
    shares them, and makes again only those of the runs that hold another node."""

    made: tuple[Mapping[str, NodeInfo], tuple[bytes, ...], bytes] | None = None


@dataclass(frozen=True)
class GraphModel:
    """Every node of a build, keyed and sorted by name, with forward and reverse edges."""

    profile: str
    nodes: Mapping[str, NodeInfo]
    dependents: Mapping[str, tuple[str, ...]] = field(repr=False)
    # Inputs that no node of this build takes, only functions the config left out
    # (``@config.when``): name -> those functions. A profile may give them for another config.
    variant_inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    # What a comparison made of it, shared by graphs that share node objects (see Digests).
    digests: Digests = field(default_factory=lambda: Digests(), repr=False, compare=False)

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
        nodes = self.nodes
        keep = nodes.keys() if names is None else set(names)
        pairs = [
            (dep, node)
            for node in keep
            for group in (nodes[node].required, nodes[node].optional)
            for dep in group
            if dep in keep
        ]
        pairs.sort()
        return pairs


def unknown_node_message(name: str, known: Iterable[str]) -> str:
    return f"unknown node {name!r}{did_you_mean(name, known)}"
