"""``validate``: every baseline-free check over a build, as findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from semdag.core.checks import check_input_names, find_cycles, profile_outputs
from semdag.core.errors import UsageError
from semdag.core.graph import GraphModel
from semdag.core.registry import registry_findings
from semdag.core.rules import Finding, apply_severities, finding
from semdag.hamilton.build import Build
from semdag.hamilton.stack import Conflict, Definition

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.hamilton.variants import Variant


def final_vars(build: Build, graph: GraphModel) -> list[str]:
    """The profile's outputs, or every computed node when it names none."""
    if not build.profile.outputs:
        return [n.name for n in graph.nodes.values() if not n.is_input]
    return profile_outputs(build.profile, graph)


def checked_inputs(build: Build, graph: GraphModel, given: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs of a run: the profile's, then ``given`` (``--input``) over them; each name
    checked (see :func:`check_input_names`) and each value of its input's type, an error
    naming where it was given otherwise (Hamilton's own message names no origin)."""
    profile = build.profile
    check_input_names(profile, graph, given)
    inputs = {**profile.inputs, **given}
    driver_nodes = build.driver.graph.nodes
    for name, value in inputs.items():
        node = driver_nodes.get(name)
        if node is None or name in profile.config:
            continue  # a config value: Hamilton takes it from the config
        problem = type_problem(name, node, value)
        if problem is None:
            continue
        if name in given:
            raise UsageError(f"--input {name}: {problem}")
        raise profile.error(problem, "inputs", name)
    return inputs


def type_problem(name: str, node: Any, value: Any) -> str | None:
    """Why ``value`` cannot be the input ``node`` (a Hamilton node), or None when it can."""
    from hamilton import htypes

    if htypes.check_input_type(node.type, value):
        return None
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return (
        f"input {name!r} must be {htypes.get_type_as_string(node.type)}, "
        f"got {type(value).__name__} {shown}"
    )


@dataclass(frozen=True)
class InputUse:
    """An external input that a run of the outputs reaches (and no override or config
    value gives)."""

    name: str
    type_text: str  # Hamilton's spelling of its type
    from_yaml: bool  # a value of its type can be written under inputs:
    given: bool  # the run has a value for it
    problem: str | None  # why that value cannot be it, or None
    value_type: str | None  # the name of that value's type
    needing: tuple[str, ...]  # the reached nodes that require it


@dataclass(frozen=True)
class Checked:
    """What validate reads of a build besides the graph model."""

    profile: Profile
    conflicts: tuple[Conflict, ...]
    shadowed: tuple[str, ...]
    final_definition: Callable[[str], Definition | None]
    uses: tuple[InputUse, ...]
    variants: tuple[Variant, ...]
    async_nodes: tuple[str, ...]  # sorted


def validate(
    build: Build,
    graph: GraphModel,
    *,
    inputs: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> list[Finding]:
    """Run every baseline-free rule; findings sorted, profile severities applied."""
    import inspect

    profile = build.profile
    run_inputs = dict(profile.inputs) | dict(inputs or {})
    run_overrides = dict(profile.overrides) | dict(overrides or {})
    async_nodes = tuple(
        name
        for name, n in sorted(build.driver.graph.nodes.items())
        if any(
            inspect.iscoroutinefunction(inspect.unwrap(fn)) for fn in n.originating_functions or ()
        )
    )
    checked = Checked(
        profile=profile,
        conflicts=build.conflicts,
        shadowed=build.shadowed,
        final_definition=build.final_definition,
        uses=tuple(_input_uses(build, graph, run_inputs, run_overrides)),
        variants=build.variants,
        async_nodes=async_nodes,
    )
    return findings_of(checked, graph)


def findings_of(checked: Checked, graph: GraphModel) -> list[Finding]:
    """Every baseline-free finding of a build (see :func:`validate`)."""
    profile = checked.profile
    found: list[Finding] = []
    found += _override_findings(checked.conflicts)
    found += _shadow_findings(checked)
    found += _cycle_findings(graph)
    found += _execution_findings(checked, graph)
    found += registry_findings(
        graph,
        profile.tag_filter,
        profile.required_tags,
        profile.dtypes,
        required_at=profile.where("registry", "required_tags"),
    )
    found += _cache_findings(profile, graph)
    found += _async_findings(checked.async_nodes, graph)
    return apply_severities(found, profile.rules)


def _async_findings(names: Iterable[str], graph: GraphModel) -> Iterator[Finding]:
    """``async def`` nodes: the synchronous driver would hand their coroutines downstream."""
    for name in names:
        info = graph.nodes.get(name)
        yield finding(
            "async-node",
            (info.semantic_id if info else None) or name,
            f"{name} is an async def: semdag runs graphs on Hamilton's synchronous driver, "
            "which does not await it (make it a plain def, or run it with "
            "hamilton.async_driver)",
            node=name,
            file=info.file if info else None,
            line=info.line if info else None,
        )


def _override_findings(conflicts: Iterable[Conflict]) -> Iterator[Finding]:
    for conflict in conflicts:
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


def _cycle_findings(graph: GraphModel) -> Iterator[Finding]:
    """A cycle anywhere in the built graph, whether or not an output needs it: a graph with
    a cycle is not a DAG, and the first run that asks for one of its nodes fails."""
    for cycle in find_cycles(graph, set(graph.nodes)):
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


def _shadow_findings(checked: Checked) -> Iterator[Finding]:
    for name in checked.shadowed:
        definition = checked.final_definition(name)
        file, line = checked.profile.where("config", name)
        yield finding(
            "config-shadows-node",
            name,
            f"config key {name!r} has the name of a node defined in "
            f"{definition.module if definition else '?'}: Hamilton turns the node into an input",
            node=name,
            file=file,
            line=line,
        )


def _input_uses(
    build: Build,
    graph: GraphModel,
    inputs: Mapping[str, Any],
    overrides: Mapping[str, Any],
) -> Iterator[InputUse]:
    """The external inputs Hamilton reaches from the outputs, by name."""
    from hamilton import htypes
    from hamilton import node as h_node

    nodes, user_nodes = build.driver.graph.get_upstream_nodes(
        final_vars(build, graph), dict(inputs), dict(overrides)
    )
    config = build.profile.config
    for user in sorted(user_nodes, key=lambda n: n.name):
        name = user.name
        if name in overrides or name in config:
            continue
        needing = sorted(
            n.name
            for n in user.depended_on_by
            if n in nodes
            and n.input_types.get(name, (None, None))[1] == h_node.DependencyType.REQUIRED
        )
        given = name in inputs
        yield InputUse(
            name=name,
            type_text=str(htypes.get_type_as_string(user.type)),
            from_yaml=from_yaml(user.type),
            given=given,
            problem=type_problem(name, user, inputs[name]) if given else None,
            value_type=type(inputs[name]).__name__ if given else None,
            needing=tuple(needing),
        )


def _execution_findings(checked: Checked, graph: GraphModel) -> Iterator[Finding]:
    from semdag.hamilton.variants import unselected

    profile = checked.profile
    for use in checked.uses:
        name = use.name
        if use.given:
            if use.problem is not None:
                # Where the value was given: the profile's line (an --input has none).
                file, line = (
                    profile.where("inputs", name) if name in profile.inputs else (None, None)
                )
                yield finding(
                    "type-mismatch",
                    name,
                    use.problem,
                    node=name,
                    old=use.type_text,
                    new=use.value_type,
                    file=file,
                    line=line,
                )
            continue
        if use.needing:
            first = graph.nodes.get(use.needing[0])
            file, line = (first.file, first.line) if first else (None, None)
            where = (
                "set it under inputs: or pass --input"
                if use.from_yaml
                else f"a {use.type_text} cannot be written in YAML: "
                "compute it in a node, or, when it is given at run time, set "
                "rules: {missing-input: warning} in the profile"
            )
            group = next((g for g in unselected(checked.variants, [name])), None)
            if group is not None:
                # A node that only @config.when variants define, none of them selected.
                keys = ", ".join(group.config_keys)
                where = (
                    f"no variant is selected: set config {keys}; its variants: {group.describe()}"
                )
                file, line = profile.where("config")
            yield finding(
                "missing-input",
                name,
                f"input {name!r} is required by {', '.join(use.needing)} and has no value "
                f"({where})",
                node=name,
                new=list(use.needing),
                file=file,
                line=line,
            )


# Types a value written in a profile (YAML) or on the command line can have.
_YAML_TYPES = (str, int, float, bool, list, dict, tuple, type(None))


def from_yaml(annotation: Any) -> bool:
    """Whether a value of ``annotation`` can be given under ``inputs:`` (an unknown or
    generic type is given the benefit of the doubt)."""
    import types
    import typing

    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Any, typing.Union, types.UnionType) or not isinstance(origin, type):
        return True
    return issubclass(origin, _YAML_TYPES)


def _cache_findings(profile: Profile, graph: GraphModel) -> Iterator[Finding]:
    cache = profile.cache
    if not cache.on:
        return
    for index, name in enumerate(cache.names("ignore")):
        file, line = profile.where("cache", "ignore", str(index))
        yield finding(
            "cache-ignore-stale",
            name,
            f"cache.ignore lists {name!r}: its dependents may reuse results computed "
            "from an older value",
            node=name,
            file=file,
            line=line,
        )
    if cache.default_behavior != "disable":
        return
    listed = set(cache.names("default"))
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
                file=graph.nodes[name].file,
                line=graph.nodes[name].line,
            )
