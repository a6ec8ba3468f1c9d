"""The graph model of a built driver: every Hamilton node read into a :class:`GraphModel`."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from semdag.core.graph import GraphModel, NodeInfo

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.hamilton.build import Build
    from semdag.hamilton.sourceinfo import SourceIndex
    from semdag.hamilton.variants import Variant


def model_from_build(build: Build, index: SourceIndex | None = None) -> GraphModel:
    """Read every node of the built driver into a :class:`GraphModel` (see ``_model``)."""
    from semdag.hamilton.sourceinfo import SourceIndex

    if index is None:
        index = SourceIndex(build.project.relative)
    with index.tuning.quiet():
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
    type_names: dict[int, tuple[Any, str]] = {}  # by id: each type object's name once
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
        named = type_names.get(id(n.type))
        if named is None or named[0] is not n.type:
            text = public_type_name(htypes.get_type_as_string(n.type) or str(n.type))
            named = type_names[id(n.type)] = (n.type, text)
        nodes[name] = NodeInfo(
            name=name,
            type=named[1],
            tags=n.tags,  # shared, not copied: nothing changes a built node's tags
            layer=layer_of.get(module) if module else None,
            module=module,
            function=definition.function if definition else (fns[0].__name__ if fns else None),
            file=src.file if src else None,
            line=src.line if src else None,
            end_line=src.end_line if src else None,
            doc=n.documentation or "",
            # An input has no code of its own: Hamilton gives it the function of one of its
            # consumers, which another branch's new consumer would change.
            code_hash=name if is_input else (src.code_hash if src else None),
            required=tuple(sorted(required)),
            optional=tuple(sorted(optional)),
            is_input=is_input,
            is_config=is_input and name in config,
            semantic_id=semantic_id,
        )
    nodes = _fold_subdags(nodes, graph_nodes)
    ordered = {k: nodes[k] for k in sorted(nodes)}
    return GraphModel(
        profile=build.profile.name,
        nodes=ordered,
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
        variant_inputs=check_variants(build.profile, _variants(build), ordered, dependents),
    )


def _fold_subdags(nodes: dict[str, NodeInfo], graph_nodes: Any) -> dict[str, NodeInfo]:
    """A node made by ``@subdag`` answers for the functions inside it: its code hash covers
    theirs, so that a change inside is a ``code-changed`` of the node, as a change to the
    node's own function is (the inner nodes are not in the registry)."""
    import dataclasses

    from hamilton.function_modifiers.recursive import subdag

    inside: dict[Any, list[str]] = {}
    for name, n in graph_nodes.items():
        fns: tuple[Any, ...] = tuple(n.originating_functions or ())
        if len(fns) >= 2 and nodes[name].code_hash is not None:
            inside.setdefault(fns[-1], []).append(str(nodes[name].code_hash))
    for name, n in graph_nodes.items():
        fns = tuple(n.originating_functions or ())
        own = nodes[name].code_hash
        if len(fns) != 1 or fns[0] not in inside or own is None or "." in name:
            continue  # not a subdag's output node (its inputs are `name.x`)
        decorators = getattr(fns[0], "generate", None) or []
        if not any(isinstance(d, subdag) for d in decorators):
            continue
        folded = "\n".join([own, *sorted(inside[fns[0]])]).encode()
        nodes[name] = dataclasses.replace(nodes[name], code_hash=_like(own, folded))
    return nodes


def _like(own: str, data: bytes) -> str:
    """A digest of ``data`` written as ``own`` is (same prefix and length)."""
    import hashlib

    prefix, sep, digest = own.rpartition(":")
    text = hashlib.sha256(data).hexdigest()[: len(digest)]
    return f"{prefix}{sep}{text}"


def _variants(build: Build) -> list[Variant]:
    return list(build.variants)


def check_variants(
    profile: Profile,
    variants: Sequence[Variant],
    nodes: Mapping[str, NodeInfo],
    dependents: Mapping[str, Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """The inputs only the config's unselected variants take (see ``GraphModel``); a config
    value that selects no variant of a node the graph needs is an error at that config key."""
    from semdag.hamilton.variants import inactive_inputs, unselected

    if not variants:
        return {}
    needed = [
        name
        for name, info in nodes.items()
        if info.is_input
        and not info.is_config
        and name not in profile.inputs
        and name not in profile.overrides
        and dependents.get(name)
    ]
    for group in unselected(variants, needed):
        keys = [k for k in group.config_keys if k in profile.config]
        if not keys:
            continue  # nothing chosen: validate reports the missing input
        chosen = ", ".join(f"{k}={profile.config[k]!r}" for k in keys)
        users = ", ".join(sorted(dependents[group.node]))
        raise profile.error(
            f"config {chosen} selects no variant of node {group.node} (needed by {users}); "
            f"its variants: {group.describe()}",
            "config",
            keys[0],
        )
    return inactive_inputs(variants, nodes)


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def public_type_name(text: str) -> str:
    """``text`` with each ``package._private.Name`` written as ``package.Name`` where the
    package exports that very object: Python 3.13 moved ``pathlib.Path`` into
    ``pathlib._local``, and a type's name must not depend on the interpreter."""

    def public(match: re.Match[str]) -> str:
        dotted = match.group(0)
        parts = dotted.split(".")
        if not any(part.startswith("_") for part in parts[1:-1]):
            return dotted
        owner = sys.modules.get(".".join(parts[:-1]))
        target = getattr(owner, parts[-1], None) if owner is not None else None
        for end in range(1, len(parts) - 1):
            module = sys.modules.get(".".join(parts[:end]))
            if target is not None and getattr(module, parts[-1], None) is target:
                return ".".join([*parts[:end], parts[-1]])
        return dotted

    return _DOTTED.sub(public, text)
