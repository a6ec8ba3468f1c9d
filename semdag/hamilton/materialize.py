"""The profile's ``materializers:``: checked entries, Hamilton savers and loaders, and results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.config.profile import MATERIALIZER_PATH_KEYS
from semdag.config.project import Project
from semdag.core.errors import SemdagError, UnknownNodeError, UsageError, did_you_mean

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.sections import MaterializerConfig
    from semdag.core.graph import GraphModel
    from semdag.hamilton.build import Build

# Arguments that name a file: relative values are resolved against the project root.
PATH_ARGUMENTS = MATERIALIZER_PATH_KEYS


@dataclass(frozen=True)
class MaterializerSpec:
    """One checked entry of ``materializers:``."""

    index: int
    id: str
    kind: str  # "saver" or "loader"
    adapter: str  # the saver or loader name: csv, json, parquet...
    adapter_class: str  # the class Hamilton will pick for the value's type
    dependencies: tuple[str, ...]
    target: str | None
    combine: str | None
    arguments: Mapping[str, Any]
    file: str
    line: int | None

    @property
    def label(self) -> str:
        return f"materializers[{self.index}] ({self.id})"

    def describe(self, project: Project) -> dict[str, Any]:
        """The entry as plain data (paths project-relative)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "adapter": self.adapter,
            "class": self.adapter_class,
            "dependencies": list(self.dependencies),
            "target": self.target,
            "combine": self.combine,
            "paths": [project.relative(p) for p in self.paths()],
        }

    def paths(self) -> list[Path]:
        """The files this entry names."""
        return [
            Path(v)
            for k, v in sorted(self.arguments.items())
            if k in PATH_ARGUMENTS and isinstance(v, str)
        ]


@dataclass(frozen=True)
class Materialized:
    """What one saver wrote, as Hamilton reported it."""

    id: str
    adapter: str
    dependencies: tuple[str, ...]
    path: str | None
    metadata: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.adapter,
            "dependencies": list(self.dependencies),
            "path": self.path,
            "metadata": dict(self.metadata),
        }


def _error(profile: Profile, index: int, ident: str, key: str | None, message: str) -> SemdagError:
    path = ("materializers", str(index), *((key,) if key else ()))
    return profile.error(f"materializers[{index}] ({ident}): {message}", *path)


def parse_materializers(
    project: Project, profile: Profile, build: Build, graph: GraphModel
) -> list[MaterializerSpec]:
    """Check every entry (parsed with the profile) against Hamilton's savers and loaders and
    the graph."""
    from hamilton import registry
    from hamilton.function_modifiers.adapters import resolve_adapter_class

    hamilton_nodes = build.driver.graph.nodes
    specs: list[MaterializerSpec] = []
    for entry in profile.materializers:

        def fail(key: str | None, message: str, entry: MaterializerConfig = entry) -> SemdagError:
            return _error(profile, entry.index, entry.id, key, message)

        kind, name = entry.kind, entry.adapter
        table = registry.SAVER_REGISTRY if kind == "saver" else registry.LOADER_REGISTRY
        if name not in table:
            raise fail(
                entry.key,
                f"unknown {kind} {name!r}{did_you_mean(name, table)} "
                f"(available: {', '.join(sorted(table))})",
            )
        dependencies: tuple[str, ...] = ()
        target: str | None = None
        if kind == "saver":
            # Node names or semantic ids; Hamilton takes node names.
            resolved: list[str] = []
            for position, dep in enumerate(entry.dependencies):
                try:
                    resolved.append(graph.get(dep).name)
                except UnknownNodeError as exc:
                    raise fail("dependencies", f"dependencies[{position}]: {exc.message}") from None
            dependencies = tuple(resolved)
            value_type = (
                _combined_type(entry.combine)
                if entry.combine
                else hamilton_nodes[dependencies[0]].type
            )
            subject = (
                f"the combined {entry.combine}" if entry.combine else f"node {dependencies[0]}"
            )
        else:
            try:
                target = graph.get(str(entry.target)).name
            except UnknownNodeError as exc:
                raise fail("target", f"target: {exc.message}") from None
            value_type = hamilton_nodes[target].type
            subject = f"node {target}"

        cls = resolve_adapter_class(value_type, table[name])
        if cls is None:
            accepted = sorted({_type_label(t) for c in table[name] for t in c.applicable_types()})
            raise fail(
                entry.key,
                f"no {name} {kind} handles {_type_label(value_type)} ({subject}); "
                f"{name} {kind}s handle: {', '.join(accepted)}",
            )
        arguments = dict(entry.arguments)
        required = set(cls.get_required_arguments())
        optional = set(cls.get_optional_arguments())
        missing = sorted(required - set(arguments))
        if missing:
            raise fail(
                None,
                f"the {name} {kind} for {_type_label(value_type)} ({cls.__name__}) needs "
                f"{', '.join(missing)}",
            )
        unknown = sorted(set(arguments) - required - optional)
        if unknown:
            raise fail(
                unknown[0],
                f"unknown argument {unknown[0]!r} for {cls.__name__} "
                f"(accepts: {', '.join(sorted(required | optional))})",
            )
        for arg in PATH_ARGUMENTS:
            value = arguments.get(arg)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                arguments[arg] = str(project.root / value)
        file, line = profile.where("materializers", str(entry.index))
        specs.append(
            MaterializerSpec(
                index=entry.index,
                id=entry.id,
                kind=kind,
                adapter=name,
                adapter_class=cls.__name__,
                dependencies=dependencies,
                target=target,
                combine=entry.combine,
                arguments=arguments,
                file=file,
                line=line,
            )
        )
    return specs


def _combined_type(combine: str) -> type:
    if combine == "dataframe":
        import pandas as pd

        return pd.DataFrame
    return dict


def _type_label(value_type: Any) -> str:
    from hamilton import htypes

    module = getattr(value_type, "__module__", "builtins").split(".")[0]
    name = htypes.get_type_as_string(value_type) or str(value_type)
    return name if module in ("builtins", "typing") else f"{module}.{name}"


def select(specs: Sequence[MaterializerSpec], only: Sequence[str]) -> list[MaterializerSpec]:
    """The savers named by ``--only`` (all when empty); loaders always stay: they change
    the graph the savers read."""
    if not only:
        return list(specs)
    known = {s.id for s in specs}
    for ident in only:
        if ident not in known:
            raise UsageError(
                f"--only {ident}: no materializer has that id "
                f"(ids: {', '.join(sorted(known)) or 'none'})"
            )
    return [s for s in specs if s.kind == "loader" or s.id in only]


def factories(specs: Sequence[MaterializerSpec]) -> list[Any]:
    """Hamilton's ``to.<saver>`` / ``from_.<loader>`` objects for the specs."""
    from hamilton import base
    from hamilton.io.materialization import from_, to

    out: list[Any] = []
    for spec in specs:
        if spec.kind == "loader":
            out.append(getattr(from_, spec.adapter)(target=spec.target, **spec.arguments))
            continue
        combine = {
            None: None,
            "dict": base.DictResult(),
            "dataframe": base.PandasDataFrameResult(),
        }[spec.combine]
        out.append(
            getattr(to, spec.adapter)(
                id=spec.id,
                dependencies=list(spec.dependencies),
                combine=combine,
                **spec.arguments,
            )
        )
    return out


def prepare_directories(specs: Sequence[MaterializerSpec]) -> None:
    """Create the directories the savers write into."""
    for spec in specs:
        if spec.kind == "saver":
            for path in spec.paths():
                path.parent.mkdir(parents=True, exist_ok=True)


def describe_results(
    project: Project, specs: Sequence[MaterializerSpec], metadata: Mapping[str, Any]
) -> list[Materialized]:
    """Hamilton's metadata per saver, paths made project-relative."""
    from semdag.core.values import plain

    out: list[Materialized] = []
    for spec in specs:
        if spec.kind != "saver":
            continue
        paths = spec.paths()
        out.append(
            Materialized(
                id=spec.id,
                adapter=spec.adapter,
                dependencies=spec.dependencies,
                path=project.relative(paths[0]) if paths else None,
                metadata=_relative_paths(project, plain(metadata.get(spec.id) or {})),
            )
        )
    return out


def _relative_paths(project: Project, value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                project.relative(v)
                if k == "path" and isinstance(v, str)
                else _relative_paths(project, v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_relative_paths(project, v) for v in value]
    return value
