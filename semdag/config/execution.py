"""A profile's ``execution:`` and ``cache:`` sections, with the command line's ``--executor``
and ``--cache``, as typed settings, checked against the graph before anything runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.config.project import Project
from semdag.config.sections import CACHE_LISTS, EXECUTORS
from semdag.core.errors import MissingToolError, SemdagError, UsageError, did_you_mean

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.core.graph import GraphModel


# Executors that need Hamilton's task-based (dynamic) execution.
TASK_EXECUTORS = ("threads", "processes")


DASK_INSTALL = "pip install 'semdag[dask]'"


@dataclass(frozen=True)
class DaskSettings:
    """Where Dask runs: an existing scheduler, or a local cluster started for the run."""

    address: str | None
    n_workers: int
    timeout: float


@dataclass(frozen=True)
class CacheSettings:
    """``Builder.with_cache`` arguments, with the path resolved against the project root."""

    path: Path
    default_behavior: str | None = None
    lists: Mapping[str, bool | tuple[str, ...]] = field(default_factory=dict)
    log_to_file: bool = False

    def builder_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Builder.with_cache``."""
        kwargs: dict[str, Any] = {"path": str(self.path), "log_to_file": self.log_to_file}
        if self.default_behavior is not None:
            kwargs["default_behavior"] = self.default_behavior
        for key, value in self.lists.items():
            kwargs[key] = True if value is True else list(value)  # type: ignore[arg-type]
        return kwargs


@dataclass(frozen=True)
class ExecutionSettings:
    """How one run executes, after the profile and the command line are combined."""

    dynamic: bool
    executor: str
    max_tasks: int | None
    dask: DaskSettings | None
    cache: CacheSettings | None

    def describe(self, project: Project) -> dict[str, Any]:
        """The settings as plain data for ``--format json``."""
        return {
            "dynamic": self.dynamic,
            "executor": self.executor,
            "max_tasks": self.max_tasks,
            "dask": (
                {"address": self.dask.address, "n_workers": self.dask.n_workers}
                if self.dask
                else None
            ),
            "cache": project.relative(self.cache.path) if self.cache else None,
        }


def _fail(profile: Profile, path: Sequence[str], message: str) -> SemdagError:
    return profile.error(message, *path)


def resolve_settings(
    project: Project,
    profile: Profile,
    *,
    executor: str | None = None,
    cache: bool | None = None,
) -> ExecutionSettings:
    """Combine the profile's ``execution:``/``cache:`` with ``--executor`` and ``--cache``.

    Raises a ``ConfigError`` (a ``UsageError`` for a ``--set`` value) for combinations
    Hamilton cannot run and ``MissingToolError`` when the Dask extra is needed but not
    installed.
    """
    execution = profile.execution
    if executor is not None and executor not in EXECUTORS:
        raise UsageError(
            f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}"
            f"{did_you_mean(executor, EXECUTORS)}"
        )
    chosen = executor or execution.executor or "sync"
    dynamic = execution.dynamic
    if chosen in TASK_EXECUTORS and not dynamic:
        origin = f"--executor {chosen}" if executor else f"execution.executor: {chosen}"
        raise _fail(
            profile,
            ("execution", "executor") if not executor else ("execution",),
            f"{origin} needs execution.dynamic: true (Hamilton's task-based executor); "
            "set it in the profile or pass --set execution.dynamic=true",
        )
    dask = None
    if chosen == "dask":
        require_dask()
        raw = execution.dask
        dask = DaskSettings(address=raw.address, n_workers=raw.n_workers, timeout=raw.timeout)
    cache_settings = resolve_cache(project, profile, cache)
    if cache_settings is not None and chosen == "dask" and not dynamic:
        # Hamilton's Dask graph adapter and its cache both take over node execution.
        raise _fail(
            profile,
            ("cache",),
            "the cache cannot be combined with executor dask unless execution.dynamic is true "
            "(set it, or pass --no-cache)",
        )
    return ExecutionSettings(
        dynamic=dynamic,
        executor=chosen,
        max_tasks=execution.max_tasks,
        dask=dask,
        cache=cache_settings,
    )


def resolve_cache(project: Project, profile: Profile, flag: bool | None) -> CacheSettings | None:
    """The cache settings, or None when caching is off.

    The cache is on when the profile's ``cache:`` mapping has any key (unless
    ``enabled: false``) or with ``--cache``; ``--no-cache`` turns it off.
    """
    config = profile.cache
    enabled = config.on if flag is None else flag
    if not enabled:
        return None
    path = Path(config.path) if config.path else project.state_dir("cache")
    if not path.is_absolute():
        path = project.root / path
    return CacheSettings(
        path=path,
        default_behavior=config.default_behavior,
        lists=dict(config.lists),
        log_to_file=config.log_to_file,
    )


def require_dask() -> None:
    """Raise ``MissingToolError`` unless ``distributed`` can be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise MissingToolError(
            "executor dask needs dask[distributed], which is not installed",
            hint=f"install it with: {DASK_INSTALL}",
        ) from None


def parallel_nodes(graph: GraphModel) -> list[str]:
    """Nodes whose output type is ``Parallelizable`` (they need dynamic execution)."""
    return [n.name for n in graph.nodes.values() if n.type.split("[")[0] == "Parallelizable"]


def execution_config_errors(
    profile: Profile, graph: GraphModel, settings: ExecutionSettings | None = None
) -> list[SemdagError]:
    """Every reason the execution and cache settings cannot run this graph.

    Without ``settings`` the profile's own ``execution:`` is checked (for ``validate``).
    """
    from semdag.core.graph import unknown_node_message

    errors: list[SemdagError] = []
    execution = profile.execution
    dynamic = settings.dynamic if settings else execution.dynamic
    executor = settings.executor if settings else (execution.executor or "sync")
    parallel = parallel_nodes(graph)
    if parallel and not dynamic:
        node = graph.nodes[parallel[0]]
        errors.append(
            _fail(
                profile,
                ("execution", "dynamic"),
                f"node {node.name} ({node.where() or node.module}) is Parallelizable: "
                "set execution.dynamic: true to run it",
            )
        )
    if executor in TASK_EXECUTORS and not dynamic:
        errors.append(
            _fail(
                profile,
                ("execution", "executor"),
                f"execution.executor: {executor} needs execution.dynamic: true",
            )
        )
    for key in CACHE_LISTS:
        for index, name in enumerate(profile.cache.names(key)):
            if name not in graph.nodes:
                errors.append(
                    _fail(
                        profile,
                        ("cache", key, str(index)),
                        f"cache.{key}: {unknown_node_message(name, graph.nodes)}",
                    )
                )
    return errors


def check_execution_config(
    profile: Profile, graph: GraphModel, settings: ExecutionSettings | None = None
) -> None:
    """Raise the first of :func:`execution_config_errors`, if any."""
    errors = execution_config_errors(profile, graph, settings)
    if errors:
        raise errors[0]
