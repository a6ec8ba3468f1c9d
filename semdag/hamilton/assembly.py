"""The graph a stack's recorded contributions make, assembled as Hamilton assembles it.

Hamilton's ``create_function_graph`` walks the modules in stack order and lets a later node
of a name replace an earlier one in place (``allow_module_overrides``); a node named like a
config key is left out; then, node by node in that order, each dependency is joined to its
node or, when no module defines it, to an external input made from the first function that
takes it (its type, its originating functions); every config key no node took becomes an
input of type ``Any``. :func:`assemble` does the same over
:class:`~semdag.hamilton.contributions.ModuleFacts`, and :func:`facts_of` reads the result
into the graph model, the override ledger and validate's findings, as a full build does.

Where Hamilton would compare two types that are not the same type (nor ``Any``) and the
earlier build did not show the pair to match, it raises :class:`NotReproduced`: the caller
then builds in full.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from semdag.core.graph import Digests, GraphModel, NodeInfo
from semdag.hamilton.contributions import FunctionFacts, ModuleFacts, NodeFacts, TypeFacts
from semdag.hamilton.stack import Definition, compute_ledger

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.hamilton.validate import Checked, InputUse


class NotReproduced(Exception):
    """The recorded contributions cannot show that the graph equals a full build's."""


@dataclass(frozen=True)
class Assembled:
    """The nodes of the graph in Hamilton's order, and who defined each name."""

    nodes: dict[str, NodeFacts]
    definitions: dict[str, list[Definition]]
    functions: Mapping[str, FunctionFacts]


def assemble(
    modules: Sequence[ModuleFacts],
    config: Mapping[str, Any],
    accepts: Any,
    any_type: TypeFacts,
) -> Assembled:
    """The graph ``modules`` make under ``config``; ``accepts(param, node)`` says whether
    Hamilton accepts a node of type ``node`` for a parameter of type ``param``."""
    nodes: dict[str, NodeFacts] = {}
    definitions: dict[str, list[Definition]] = {}
    functions: dict[str, FunctionFacts] = {}
    for module in modules:
        functions.update(module.functions)
        for fn in module.definitions:
            for n in fn.nodes:
                definitions.setdefault(n.name, []).append(
                    Definition(n.name, module.layer, module.name, fn.name, fn.file, fn.line)
                )
                if n.name not in config:
                    nodes[n.name] = n
    for name, n in list(nodes.items()):
        for dep, param, _required in n.inputs:
            found = nodes.get(dep)
            if found is None:
                nodes[dep] = NodeFacts(dep, param, {}, "", True, (), n.functions)
            elif param.key == found.type.key:
                continue  # the same type: accepted (see plainly_accepts), whoever defines it
            elif found.user_defined:
                # Hamilton would narrow the input's type or fail: either way, not shown here.
                if not plainly_accepts(param, found.type):
                    raise NotReproduced(f"functions take input {dep} as different types")
            elif not accepts(param, found.type):
                raise NotReproduced(f"{name} takes {dep} as {param.text}, not {found.type.text}")
    for key in config:
        if key not in nodes:
            nodes[key] = NodeFacts(key, any_type, {}, "", True, (), ())
    return Assembled(nodes, definitions, functions)


def plainly_accepts(param: TypeFacts, node: TypeFacts) -> bool:
    """Whether Hamilton takes a node of type ``node`` for a parameter of type ``param``,
    as far as the types' keys show it: the same type, or ``Any`` on either side (type
    variables are compared by equality alone)."""
    if param.key == node.key:
        return True
    if param.key.startswith(_TYPE_VARIABLE) or node.key.startswith(_TYPE_VARIABLE):
        return False
    return param.is_any or node.is_any


# How a type variable's repr starts (~T, +T_co, -T_contra).
_TYPE_VARIABLE = ("~", "+", "-")


# What a node of the model was made of (its contribution, first function and final
# definition), and what it was made into.
_Made = tuple[NodeFacts, "FunctionFacts | None", "Definition | None", NodeInfo]


@dataclass(frozen=True)
class Modelled:
    """A graph model, and what each of its nodes was made of: a later model of the same
    profile (after an edit) takes a node as it is where it is made of the same objects."""

    graph: GraphModel
    made: Mapping[str, _Made]


def graph_of(
    assembled: Assembled,
    profile: Profile,
    layer_of: Mapping[str, str],
    variants: Sequence[Any],
    like: Modelled | None = None,
) -> Modelled:
    """The graph model of the assembled nodes (as :func:`semdag.hamilton.model._model`
    reads a built driver), taking from ``like`` (a model of the same profile and stack) each
    node made of the same contribution and first function, defined alike; the graph shares
    the digests a comparison made of ``like``'s graph (see
    :func:`semdag.core.export.graph_digests`)."""
    from semdag.core.registry import registry_id
    from semdag.hamilton.model import check_variants

    config = profile.config
    tag_filter = profile.tag_filter
    functions = assembled.functions
    definitions = assembled.definitions
    model: dict[str, NodeInfo] = {}
    made: dict[str, _Made] = {}
    earlier = like.made if like is not None else {}
    dependents: dict[str, list[str]] = {}
    for name, n in assembled.nodes.items():
        for dep, _type, _required in n.inputs:
            found = dependents.get(dep)
            if found is None:
                dependents[dep] = [name]
            else:
                found.append(name)
        first = functions[n.functions[0]] if n.functions else None
        defs = definitions.get(name)
        definition = defs[-1] if defs else None
        prior = earlier.get(name)
        if prior is not None and prior[0] is n and prior[1] is first and prior[2] == definition:
            model[name] = prior[3]
            made[name] = prior
            continue
        required = sorted(dep for dep, _type, is_required in n.inputs if is_required)
        optional = sorted(dep for dep, _type, is_required in n.inputs if not is_required)
        module = definition.module if definition else (n.tags.get("module") if first else None)
        is_input = n.user_defined
        # NodeInfo's fields in order (see semdag.core.graph.NodeInfo).
        model[name] = info = NodeInfo(
            name,
            n.type.public,
            n.tags,
            layer_of.get(module) if module else None,
            module,
            definition.function if definition else (first.name if first else None),
            first.file if first else None,
            first.line if first else None,
            first.end_line if first else None,
            n.doc,
            name if is_input else (first.code_hash if first else None),
            tuple(required),
            tuple(optional),
            is_input,
            is_input and name in config,
            registry_id(n.tags, tag_filter, is_input=is_input),
        )
        made[name] = (n, first, definition, info)
    model = _fold_subdags(model, assembled)
    ordered = {k: model[k] for k in sorted(model)}
    graph = GraphModel(
        profile=profile.name,
        nodes=ordered,
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
        variant_inputs=check_variants(profile, variants, ordered, dependents),
        digests=like.graph.digests if like is not None else Digests(),
    )
    return Modelled(graph, made)


def _fold_subdags(model: dict[str, NodeInfo], assembled: Assembled) -> dict[str, NodeInfo]:
    """As :func:`semdag.hamilton.model._fold_subdags`, over function keys."""
    from semdag.hamilton.model import _like

    inside: dict[str, list[str]] = {}
    for name, n in assembled.nodes.items():
        if len(n.functions) >= 2 and model[name].code_hash is not None:
            inside.setdefault(n.functions[-1], []).append(str(model[name].code_hash))
    for name, n in assembled.nodes.items():
        fns = n.functions
        own = model[name].code_hash
        if len(fns) != 1 or fns[0] not in inside or own is None or "." in name:
            continue
        if not assembled.functions[fns[0]].is_subdag:
            continue
        folded = "\n".join([own, *sorted(inside[fns[0]])]).encode()
        model[name] = dataclasses.replace(model[name], code_hash=_like(own, folded))
    return model


def input_uses(
    assembled: Assembled,
    profile: Profile,
    outputs: Iterable[str],
    problems: Mapping[str, tuple[str, str | None]],
) -> list[InputUse]:
    """The external inputs a run of ``outputs`` reaches, as Hamilton's
    ``get_upstream_nodes`` finds them with the profile's inputs and overrides; the type
    problem of a given value comes from ``problems`` (recorded by a full build), and a value
    whose node has another type since raises :class:`NotReproduced`."""
    from semdag.hamilton.validate import InputUse

    nodes = assembled.nodes
    config = profile.config
    inputs = profile.inputs
    overrides = profile.overrides
    reached: set[str] = set()
    users: set[str] = set()
    for var in outputs:
        if var not in nodes and var not in config:
            if var not in inputs:
                raise NotReproduced(f"output {var} is no node")
            continue
        stack = [var]
        reached.add(var)
        while stack:
            current = nodes[stack.pop()]
            if current.user_defined:
                users.add(current.name)
            if current.name in overrides:
                continue
            for dep, _type, is_required in current.inputs:
                target = nodes[dep]
                if (
                    target.user_defined
                    and dep not in inputs
                    and dep not in config
                    and not is_required
                ):
                    continue
                if dep not in reached:
                    reached.add(dep)
                    stack.append(dep)
    consumers: dict[str, list[str]] = {}
    for name in reached:
        for dep, _type, is_required in nodes[name].inputs:
            if is_required and dep in users:
                consumers.setdefault(dep, []).append(name)
    uses = []
    for name in sorted(users):
        if name in overrides or name in config:
            continue
        node = nodes[name]
        given = name in inputs
        problem = None
        if given:
            recorded = problems.get(name)
            if recorded is None or recorded[0] != node.type.key:
                raise NotReproduced(f"input {name} has another type than the value was checked on")
            problem = recorded[1]
        uses.append(
            InputUse(
                name=name,
                type_text=node.type.text,
                from_yaml=node.type.from_yaml,
                given=given,
                problem=problem,
                value_type=type(inputs[name]).__name__ if given else None,
                needing=tuple(sorted(consumers.get(name, ()))),
            )
        )
    return uses


def checked_of_assembled(
    assembled: Assembled,
    profile: Profile,
    graph: GraphModel,
    variants: Sequence[Any],
    problems: Mapping[str, tuple[str, str | None]],
) -> tuple[Checked, tuple[Mapping[str, Any], ...]]:
    """What validate checks of the assembled graph (its findings are
    ``findings_of(checked, graph)``), and the override ledger (as dicts)."""
    from semdag.core.checks import profile_outputs
    from semdag.hamilton.validate import Checked

    allow = {layer.name: layer.allow_overrides for layer in profile.layers}
    ledger, conflicts = compute_ledger(assembled.definitions, allow)
    definitions = assembled.definitions
    shadowed = tuple(sorted(name for name in definitions if name in profile.config))
    if profile.outputs:
        outputs = profile_outputs(profile, graph)
    else:
        outputs = [n.name for n in graph.nodes.values() if not n.is_input]
    asynchronous = {key for key, fn in assembled.functions.items() if fn.is_async}
    checked = Checked(
        profile=profile,
        conflicts=conflicts,
        shadowed=shadowed,
        final_definition=lambda name: definitions[name][-1] if definitions.get(name) else None,
        uses=tuple(input_uses(assembled, profile, outputs, problems)),
        variants=tuple(variants),
        async_nodes=tuple(
            sorted(
                name
                for name, n in assembled.nodes.items()
                if not asynchronous.isdisjoint(n.functions)
            )
        ),
    )
    return checked, tuple(entry.as_dict() for entry in ledger)
