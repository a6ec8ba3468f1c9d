"""``@config.when`` variants of the stack's functions: which one the profile's config selects,
the inputs that only the variants left out take, and the values each variant accepts."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One function decorated with ``@config.when`` (or its siblings)."""

    function: str
    node: str
    active: bool
    parameters: tuple[str, ...]
    # Each condition as text: ``orders_source=csv``, ``region in [uk, us]``.
    accepts: tuple[str, ...]
    config_keys: tuple[str, ...]


def find_variants(modules: Iterable[ModuleType], config: Mapping[str, Any]) -> list[Variant]:
    """Every config-selected function of ``modules``, and whether ``config`` selects it."""
    from hamilton import graph_utils

    return [
        variant
        for module in modules
        for variant in variants_of(graph_utils.find_functions(module), config)
    ]


def variants_of(
    functions: Iterable[tuple[str, Callable[..., Any]]], config: Mapping[str, Any]
) -> list[Variant]:
    """The config-selected functions among ``functions`` (name, function), and whether
    ``config`` selects each."""
    from hamilton.function_modifiers import base
    from hamilton.function_modifiers.configuration import config as config_decorator

    found: list[Variant] = []
    for name, fn in functions:
        resolvers = [r for r in getattr(fn, "resolve", []) or [] if isinstance(r, config_decorator)]
        if not resolvers:
            continue
        try:
            active = all(r.does_resolve(dict(config)) for r in resolvers)
        except Exception:  # a custom condition that fails on this config: not selected
            active = False
        target = resolvers[-1].target_name or base.sanitize_function_name(name)
        try:
            parameters = tuple(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            parameters = ()
        accepts: list[str] = []
        keys: list[str] = []
        for resolver in resolvers:
            accepts.append(_condition(resolver.does_resolve))
            keys += list(resolver._config_used or [])
        found.append(Variant(name, target, active, parameters, tuple(accepts), tuple(keys)))
    return found


def _condition(resolves: Any) -> str:
    """A ``ConfigResolver``'s condition as text, read from the closure Hamilton builds."""
    inner = getattr(resolves, "resolves", None)
    kind = getattr(inner, "__qualname__", "").split(".")
    cells = [c.cell_contents for c in getattr(inner, "__closure__", None) or ()]
    pairs = next((c for c in cells if isinstance(c, dict)), None)
    if len(kind) < 2 or pairs is None:
        return "a custom condition"
    op = kind[1]
    parts = []
    for key, value in pairs.items():
        if op == "when":
            parts.append(f"{key}={value}")
        elif op == "when_not":
            parts.append(f"{key}!={value}")
        elif op == "when_in":
            parts.append(f"{key} in [{', '.join(map(str, value))}]")
        elif op == "when_not_in":
            parts.append(f"{key} not in [{', '.join(map(str, value))}]")
        else:
            return "a custom condition"
    return " and ".join(parts)


def inactive_inputs(
    variants: Iterable[Variant], nodes: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Input name -> the functions left out by the config that take it, for the names that
    are no node of the built graph (a profile may give them for another config)."""
    known = set(nodes)
    out: dict[str, list[str]] = {}
    for variant in variants:
        if variant.active:
            continue
        for parameter in variant.parameters:
            if parameter not in known:
                out.setdefault(parameter, []).append(variant.function)
    return {k: tuple(sorted(v)) for k, v in sorted(out.items())}


@dataclass(frozen=True)
class Unselected:
    """A node that only config variants define, none of which the config selects."""

    node: str
    variants: tuple[Variant, ...]

    @property
    def config_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for v in self.variants for k in v.config_keys))

    def describe(self) -> str:
        return ", ".join(f"{v.function} ({' and '.join(v.accepts)})" for v in self.variants)


def unselected(variants: Iterable[Variant], needed: Iterable[str]) -> list[Unselected]:
    """The nodes in ``needed`` (external inputs the graph needs and has no value for) that
    config variants would define, had the config selected one."""
    groups: dict[str, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(variant.node, []).append(variant)
    out = []
    for name in sorted(set(needed)):
        group = groups.get(name)
        if group and not any(v.active for v in group):
            out.append(Unselected(name, tuple(sorted(group, key=lambda v: v.function))))
    return out
