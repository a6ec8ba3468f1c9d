"""Running a build: executors, Dask, the cache, timings, and which node failed.

The profile's ``execution:`` and ``cache:`` sections become :class:`ExecutionSettings`
(checked before anything runs); a :class:`Runner` turns them into Builder configuration,
owns any Dask cluster or client for the length of one run, and executes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from semdag.config.project import Project
from semdag.core.errors import (
    CheckFailed,
    ExecutionError,
    MissingToolError,
    SemdagError,
    UnknownNodeError,
    UsageError,
)

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.core.graph import GraphModel
    from semdag.hamilton.build import Build

EXECUTORS = ("sync", "threads", "processes", "dask")
# Executors that need Hamilton's task-based (dynamic) execution.
TASK_EXECUTORS = ("threads", "processes")
DASK_INSTALL = "pip install 'semdag[dask]'"
DEFAULT_DASK_WORKERS = 2
DEFAULT_DASK_TIMEOUT = 10.0
# The attribute a failing node's exception carries; it survives pickling across processes.
FAILED_NODE_ATTR = "_semdag_failed_node"
_CACHE_LISTS = ("default", "recompute", "ignore", "disable")


# --- settings ----------------------------------------------------------------------------------


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
    execution = dict(profile.execution or {})
    if executor is not None and executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    chosen = executor or execution.get("executor") or "sync"
    dynamic = bool(execution.get("dynamic", False))
    if chosen in TASK_EXECUTORS and not dynamic:
        origin = f"--executor {chosen}" if executor else f"execution.executor: {chosen}"
        raise _fail(
            profile,
            ("execution", "executor") if not executor else ("execution",),
            f"{origin} needs execution.dynamic: true (Hamilton's task-based executor); "
            "set it in the profile or pass --set execution.dynamic=true",
        )
    max_tasks = execution.get("max_tasks")
    dask = None
    if chosen == "dask":
        require_dask()
        raw = dict(execution.get("dask") or {})
        n_workers = raw.get("n_workers", DEFAULT_DASK_WORKERS)
        if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
            raise _fail(
                profile,
                ("execution", "dask", "n_workers"),
                "execution.dask.n_workers: expected an integer of at least 1",
            )
        timeout = raw.get("timeout", DEFAULT_DASK_TIMEOUT)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise _fail(
                profile,
                ("execution", "dask", "timeout"),
                "execution.dask.timeout: expected a positive number of seconds",
            )
        address = raw.get("address") or None
        if address is not None and "://" not in address:
            raise _fail(
                profile,
                ("execution", "dask", "address"),
                "execution.dask.address: expected a scheduler address such as "
                f"tcp://127.0.0.1:8786, got {address!r}",
            )
        dask = DaskSettings(address=address, n_workers=n_workers, timeout=float(timeout))
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
        max_tasks=max_tasks,
        dask=dask,
        cache=cache_settings,
    )


def resolve_cache(project: Project, profile: Profile, flag: bool | None) -> CacheSettings | None:
    """The cache settings, or None when caching is off.

    The cache is on when the profile's ``cache:`` mapping has any key (unless
    ``enabled: false``) or with ``--cache``; ``--no-cache`` turns it off.
    """
    raw = dict(profile.cache or {})
    enabled = bool(raw) and raw.get("enabled", True) is not False
    if flag is not None:
        enabled = flag
    if not enabled:
        return None
    path_text = raw.get("path")
    path = Path(path_text) if path_text else project.state_dir("cache")
    if not path.is_absolute():
        path = project.root / path
    lists: dict[str, bool | tuple[str, ...]] = {}
    everything = [key for key in _CACHE_LISTS if raw.get(key) is True]
    if len(everything) > 1:
        raise _fail(
            profile,
            ("cache", everything[1]),
            f"cache: only one of {', '.join(everything)} may be true (each applies to every node)",
        )
    for key in _CACHE_LISTS:
        value = raw.get(key)
        if value is True:
            lists[key] = True
        elif value:
            lists[key] = tuple(value)
    return CacheSettings(
        path=path,
        default_behavior=raw.get("default_behavior"),
        lists=lists,
        log_to_file=bool(raw.get("log_to_file", False)),
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
    execution = profile.execution or {}
    dynamic = settings.dynamic if settings else bool(execution.get("dynamic", False))
    executor = settings.executor if settings else (execution.get("executor") or "sync")
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
    cache = profile.cache or {}
    for key in _CACHE_LISTS:
        names = cache.get(key)
        if not isinstance(names, list):
            continue
        for index, name in enumerate(names):
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


# --- lifecycle hooks ---------------------------------------------------------------------------


class ProgressSink(Protocol):
    """Where progress goes (the CLI draws it; workers get none)."""

    def start(self, total: int) -> None: ...

    def grow(self, extra: int) -> None: ...

    def running(self, node: str) -> None: ...

    def advance(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Timing:
    """Time spent in one node, or, for work done in other processes, the wall time during
    which tasks of one group were in flight (queueing included)."""

    name: str
    kind: str  # "node" or "task"
    calls: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "calls": self.calls,
            "seconds": round(self.seconds, 6),
        }


_HOOK_NAMES = ("FailureHook", "TimingHook", "ProgressHook")


def __getattr__(name: str) -> Any:
    # The hook classes subclass Hamilton's lifecycle classes, so they are defined on first
    # use (Hamilton is a heavy import). Module-level names keep them picklable for
    # process pools and Dask workers, which look them up here.
    if name == "TaggingDaskGraphAdapter":
        _define_dask_adapter()
        return globals()[name]
    if name == "CloudpickleProcessExecutor":
        _define_process_executor()
        return globals()[name]
    if name in _HOOK_NAMES:
        _define_hooks()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _covered(spans: list[tuple[float, float]]) -> float:
    """Wall time during which at least one of the (start, end) spans was running."""
    total = 0.0
    end_so_far = float("-inf")
    for start, end in sorted(spans):
        if end > end_so_far:
            total += end - max(start, end_so_far)
            end_so_far = end
    return total


def _quiet_worker_logging() -> None:
    """Run on Dask workers semdag started: Hamilton's failure logs would repeat the error."""
    logging.getLogger("hamilton").setLevel(logging.CRITICAL + 1)


def _call_node(node_name: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a node's function, tagging any exception with the node's name."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        _tag(exc, node_name)
        raise


def _tag(error: BaseException, node_name: str) -> None:
    if getattr(error, FAILED_NODE_ATTR, None) is None:
        with contextlib.suppress(Exception):
            setattr(error, FAILED_NODE_ATTR, node_name)


def _define_hooks() -> None:
    if "FailureHook" in globals():
        return
    from hamilton.lifecycle import api

    class FailureHook(api.NodeExecutionHook):
        """Tags the exception a node raised with the node's name, wherever the node ran."""

        def run_before_node_execution(self, **kwargs: Any) -> None:
            pass

        def run_after_node_execution(
            self, *, node_name: str, success: bool, error: Exception | None = None, **kwargs: Any
        ) -> None:
            if not success and error is not None:
                _tag(error, node_name)

    class TimingHook(api.NodeExecutionHook, api.TaskSubmissionHook, api.TaskReturnHook):
        """Times nodes run in this process, and task groups run elsewhere."""

        def __init__(self) -> None:
            self.started: dict[tuple[str, str | None], float] = {}
            self.nodes: dict[str, list[float]] = {}
            self.submitted: dict[str, float] = {}
            self.tasks: list[tuple[tuple[str, ...], float, float]] = []

        def run_before_node_execution(
            self, *, node_name: str, task_id: str | None = None, **kwargs: Any
        ) -> None:
            self.started[(node_name, task_id)] = time.perf_counter()

        def run_after_node_execution(
            self, *, node_name: str, task_id: str | None = None, **kwargs: Any
        ) -> None:
            start = self.started.pop((node_name, task_id), None)
            if start is not None:
                self.nodes.setdefault(node_name, []).append(time.perf_counter() - start)

        def run_before_task_submission(self, *, task_id: str, **kwargs: Any) -> None:
            self.submitted[task_id] = time.perf_counter()

        def run_after_task_return(self, *, task_id: str, nodes: list[Any], **kwargs: Any) -> None:
            start = self.submitted.pop(task_id, None)
            computed = tuple(sorted(n.name for n in nodes if not n.user_defined))
            if start is not None and computed:
                self.tasks.append((computed, start, time.perf_counter()))

        def timings(self) -> list[Timing]:
            out = [
                Timing(name, "node", len(spans), sum(spans)) for name, spans in self.nodes.items()
            ]
            remote: dict[tuple[str, ...], list[tuple[float, float]]] = {}
            for names, start, end in self.tasks:
                # A task whose nodes were timed here ran in this process: already counted.
                if not any(n in self.nodes for n in names):
                    remote.setdefault(names, []).append((start, end))
            out += [
                Timing(", ".join(names), "task", len(spans), _covered(spans))
                for names, spans in remote.items()
            ]
            return sorted(out, key=lambda t: (-t.seconds, t.name))

    class ProgressHook(
        api.GraphExecutionHook,
        api.NodeExecutionHook,
        api.TaskGroupingHook,
        api.TaskReturnHook,
    ):
        """Drives a progress sink: nodes for plain runs, tasks for task-based runs."""

        def __init__(self, sink: ProgressSink | None) -> None:
            self.sink = sink
            self.task_based = False

        def __getstate__(self) -> dict[str, Any]:
            # Workers get an inert copy: the sink draws on this process's terminal.
            return {"sink": None, "task_based": self.task_based}

        def run_before_graph_execution(self, *, execution_path: Any, **kwargs: Any) -> None:
            if self.sink is not None:
                self.sink.start(len(execution_path))

        def run_after_graph_execution(self, **kwargs: Any) -> None:
            if self.sink is not None:
                self.sink.stop()

        def run_after_task_grouping(self, *, task_ids: list[str], **kwargs: Any) -> None:
            self.task_based = True
            if self.sink is not None:
                self.sink.start(len(task_ids))

        def run_after_task_expansion(self, *, parameters: dict[str, Any], **kwargs: Any) -> None:
            if self.sink is not None:
                self.sink.grow(len(parameters))

        def run_after_task_return(self, **kwargs: Any) -> None:
            if self.sink is not None:
                self.sink.advance()

        def run_before_node_execution(self, *, node_name: str, **kwargs: Any) -> None:
            if self.sink is not None:
                self.sink.running(node_name)

        def run_after_node_execution(self, **kwargs: Any) -> None:
            if self.sink is not None and not self.task_based:
                self.sink.advance()

    for cls in (FailureHook, TimingHook, ProgressHook):
        _export(cls)


def _define_dask_adapter() -> None:
    if "TaggingDaskGraphAdapter" in globals():
        return
    import functools

    from dask.base import tokenize
    from dask.delayed import delayed
    from hamilton.plugins import h_dask

    class TaggingDaskGraphAdapter(h_dask.DaskGraphAdapter):
        """``DaskGraphAdapter`` whose delayed calls name the node that raised."""

        def execute_node(self, node: Any, kwargs: dict[str, Any]) -> Any:
            key = f"{node.name}_{tokenize(kwargs)}"
            call = functools.partial(_call_node, node.name, node.callable)
            return delayed(call, name=key)(**kwargs, dask_key_name=key)

    _export(TaggingDaskGraphAdapter)


def _execute_pickled_task(payload: bytes) -> Any:
    """Run a task that was serialised with cloudpickle (in a worker process)."""
    import cloudpickle
    from hamilton.execution.executors import base_execute_task

    return base_execute_task(cloudpickle.loads(payload))


def _define_process_executor() -> None:
    if "CloudpickleProcessExecutor" in globals():
        return
    import cloudpickle
    from hamilton.execution import executors

    class CloudpickleProcessExecutor(executors.MultiProcessingExecutor):
        """Hamilton's process pool, with tasks serialised by cloudpickle.

        A task carries its nodes and, through their dependencies, the graph upstream of them:
        decorators such as ``parameterize`` make closures that the standard pickle refuses.
        """

        def submit_task(self, task: Any) -> Any:
            future = self.pool.submit(_execute_pickled_task, cloudpickle.dumps(task))
            self.active_futures.append(future)
            return executors.TaskFutureWrappingPythonFuture(future)

    _export(CloudpickleProcessExecutor)


def _export(cls: type) -> None:
    cls.__module__ = __name__
    cls.__qualname__ = cls.__name__
    globals()[cls.__name__] = cls


# --- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheReport:
    """Which nodes the cache served and which it computed in this process."""

    path: str
    hits: tuple[str, ...]
    executed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "hits": list(self.hits), "executed": list(self.executed)}


@dataclass(frozen=True)
class RunResult:
    """What a run produced."""

    values: Mapping[str, Any]
    seconds: float
    timings: tuple[Timing, ...]
    cache: CacheReport | None


class Runner:
    """One run: Builder configuration, hooks, and any Dask cluster or client it needs.

    Use ``configure`` as the ``configure`` callback of :func:`semdag.hamilton.build.build`, then run
    :meth:`execute` (or :meth:`materialize`) inside ``with runner.started():``.
    """

    def __init__(
        self,
        project: Project,
        profile: Profile,
        settings: ExecutionSettings,
        *,
        progress: ProgressSink | None = None,
        debug: bool = False,
    ) -> None:
        self.project = project
        self.profile = profile
        self.settings = settings
        self.debug = debug
        self._progress_sink = progress
        self._hooks: dict[str, Any] = {}
        self._dask_targets: list[Any] = []
        self._client: Any = None
        self._driver: Any = None

    # Builder configuration -------------------------------------------------------------------

    def configure(self, builder: Any) -> Any:
        """Add executors, the cache and semdag's hooks to a Hamilton Builder."""
        from semdag.hamilton import execution as this

        settings = self.settings
        self._hooks = {
            "failure": this.FailureHook(),
            "timing": this.TimingHook(),
            "progress": this.ProgressHook(self._progress_sink),
        }
        if settings.dynamic:
            from hamilton.execution import executors

            builder = builder.enable_dynamic_execution(allow_experimental_mode=True)
            builder = builder.with_local_executor(executors.SynchronousLocalTaskExecutor())
            builder = builder.with_remote_executor(self._remote_executor())
        elif settings.executor == "dask":
            from hamilton import base

            adapter = this.TaggingDaskGraphAdapter(None, result_builder=base.DictResult())
            self._dask_targets.append(adapter)
            builder = builder.with_adapters(adapter)
        if settings.cache is not None:
            builder = builder.with_cache(**settings.cache.builder_kwargs())
        return builder.with_adapters(*self._hooks.values())

    def _remote_executor(self) -> Any:
        from hamilton.execution import executors

        workers = self.settings.max_tasks or os.cpu_count() or 2
        if self.settings.executor == "threads":
            return executors.MultiThreadingExecutor(max_tasks=workers)
        if self.settings.executor == "processes":
            try:
                from semdag.hamilton.execution import CloudpickleProcessExecutor  # type: ignore[attr-defined]
            except ImportError:  # without cloudpickle: Hamilton's pool and the standard pickle
                return executors.MultiProcessingExecutor(max_tasks=workers)
            return CloudpickleProcessExecutor(max_tasks=workers)
        if self.settings.executor == "dask":
            from hamilton.plugins import h_dask

            executor = h_dask.DaskExecutor(client=None)
            self._dask_targets.append(executor)
            return executor
        return executors.SynchronousLocalTaskExecutor()

    # Resources -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def started(self) -> Iterator[None]:
        """Run in the project root with it importable, connect Dask if needed, quiet library
        logging, and send whatever runs print to stderr."""
        from semdag.hamilton.liblogs import quiet_libraries
        from semdag.hamilton.stack import inside_project

        # Worker processes inherit file descriptors and the working directory when they
        # start: redirect and change directory before that.
        with inside_project(self.project.root), quiet_libraries(self.debug), _stdout_to_stderr():
            if self.settings.executor != "dask":
                yield
                return
            with self._dask_client() as client:
                for target in self._dask_targets:
                    target.client = client
                with client.as_current():
                    yield

    @contextlib.contextmanager
    def _dask_client(self) -> Iterator[Any]:
        from distributed import Client, LocalCluster

        dask = self.settings.dask
        assert dask is not None
        if dask.address:
            try:
                client = Client(dask.address, timeout=f"{dask.timeout}s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                reason = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                raise self.profile.error(
                    f"cannot reach the Dask scheduler at {dask.address} "
                    f"within {dask.timeout:g}s ({reason})",
                    "execution",
                    "dask",
                    "address",
                    hint="start the scheduler, or drop execution.dask.address "
                    "to run a local cluster",
                ) from None
            try:
                yield client
            finally:
                client.close()
            return
        cluster = LocalCluster(
            n_workers=dask.n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # The scheduler's HTTP endpoint stays on loopback, on a free port.
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.WARNING if self.debug else logging.CRITICAL,
        )
        try:
            client = Client(cluster, set_as_default=False)
            if not self.debug:
                client.run(_quiet_worker_logging)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()

    # Execution -------------------------------------------------------------------------------

    def check(
        self,
        build: Build,
        graph: GraphModel,
        final_vars: Sequence[str],
        inputs: Mapping[str, Any],
        overrides: Mapping[str, Any],
    ) -> None:
        """Check outputs, overrides and inputs; call before :meth:`started`."""
        for name in (*final_vars, *overrides):
            graph.get(name)
        _refuse_cycles(graph, final_vars, overrides)
        self._dry_run(
            lambda: build.driver.validate_execution(
                list(final_vars), inputs=dict(inputs), overrides=dict(overrides)
            )
        )

    def execute(
        self,
        build: Build,
        graph: GraphModel,
        final_vars: Sequence[str],
        inputs: Mapping[str, Any],
        overrides: Mapping[str, Any],
    ) -> RunResult:
        """Run the graph for ``final_vars`` (checked with :meth:`check`); a node that raises
        becomes ``ExecutionError``."""
        start = time.perf_counter()
        values = self._guarded(
            graph,
            lambda: build.driver.execute(
                list(final_vars), inputs=dict(inputs), overrides=dict(overrides)
            ),
        )
        seconds = time.perf_counter() - start
        return RunResult(
            values={name: values[name] for name in final_vars},
            seconds=seconds,
            timings=tuple(self.timings()),
            cache=self.cache_report(build),
        )

    def check_materializers(
        self,
        build: Build,
        graph: GraphModel,
        materializers: Sequence[Any],
        inputs: Mapping[str, Any],
        overrides: Mapping[str, Any],
    ) -> None:
        """Hamilton's dry run of the materializers (inputs included); runs nothing."""
        for name in overrides:
            graph.get(name)
        _refuse_cycles(graph, list(graph.nodes), overrides)
        self._dry_run(
            lambda: build.driver.validate_materialization(
                *materializers, inputs=dict(inputs), overrides=dict(overrides)
            )
        )

    def _dry_run(self, validate: Callable[[], Any]) -> None:
        """Hamilton's own validation; what it rejects is an input error naming the profile."""
        try:
            validate()
        except UnknownNodeError:
            raise
        except Exception as exc:
            raise UsageError(_input_message(str(exc)), file=self.profile.file) from None

    def materialize(
        self,
        build: Build,
        graph: GraphModel,
        materializers: Sequence[Any],
        inputs: Mapping[str, Any],
        overrides: Mapping[str, Any],
    ) -> tuple[dict[str, Any], float]:
        """Run Hamilton's savers/loaders: (metadata by materializer id, seconds)."""
        start = time.perf_counter()
        metadata, _ = self._guarded(
            graph,
            lambda: build.driver.materialize(
                *materializers, inputs=dict(inputs), overrides=dict(overrides)
            ),
        )
        return dict(metadata), time.perf_counter() - start

    def _guarded(self, graph: GraphModel, run: Callable[[], Any]) -> Any:
        """Run the driver with node output kept off stdout; a node that raises becomes
        ``ExecutionError`` naming it."""
        with _stdout_to_stderr():
            try:
                return run()
            except Exception as exc:
                raise self.failure(exc, graph) from exc
            finally:
                self._stop_progress()

    def _stop_progress(self) -> None:
        if self._progress_sink is not None:
            with contextlib.suppress(Exception):
                self._progress_sink.stop()

    def timings(self) -> list[Timing]:
        """Slowest first. Under Dask without dynamic execution node times are not measured."""
        hook = self._hooks.get("timing")
        if hook is None or (self.settings.executor == "dask" and not self.settings.dynamic):
            return []
        return list(hook.timings())

    def cache_report(self, build: Build) -> CacheReport | None:
        """Cache hits and computed nodes of the last run (those seen in this process)."""
        if self.settings.cache is None:
            return None
        from hamilton.caching.adapter import CachingEventType

        cache = build.driver.cache
        hits: set[str] = set()
        executed: set[str] = set()
        if cache is not None and cache.run_ids:
            for key, events in cache.logs(run_id=cache.last_run_id, level="info").items():
                name = key[0] if isinstance(key, tuple) else key
                for event in events:
                    if event.event_type == CachingEventType.GET_RESULT:
                        hits.add(name)
                    elif event.event_type == CachingEventType.EXECUTE_NODE:
                        executed.add(name)
        return CacheReport(
            path=self.project.relative(self.settings.cache.path),
            hits=tuple(sorted(hits)),
            executed=tuple(sorted(executed - hits)),
        )

    def failure(self, exc: BaseException, graph: GraphModel) -> ExecutionError:
        """Turn an exception from a run into an ``ExecutionError`` naming the node."""
        name = failed_node(exc, graph)
        kind = type(exc).__name__
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{kind}: {text}" if text else kind
        hint = "rerun with --debug for the full traceback"
        if self.settings.executor == "dask" and isinstance(exc, ModuleNotFoundError):
            hint = (
                "Dask workers must be able to import the project's modules: start them "
                "from the project root or put it on PYTHONPATH"
            )
        if name is None:
            return ExecutionError(f"the run failed: {detail}", hint=hint)
        if name not in graph.nodes:  # a node Hamilton added, such as a materializer's saver
            return ExecutionError(f"node {name} raised {detail}", hint=hint)
        node = graph.nodes[name]
        origin = f" ({node.module}.{node.function})" if node.module and node.function else ""
        error = ExecutionError(
            f"node {name}{origin} raised {detail}", file=node.file, line=node.line, hint=hint
        )
        return error


def _refuse_cycles(
    graph: GraphModel, final_vars: Sequence[str], overrides: Mapping[str, Any]
) -> None:
    """A run over a dependency cycle would recurse until the interpreter gives up: name the
    cycle instead (the walk stops at overridden nodes, as a run does)."""
    from semdag.core.checks import find_cycles
    from semdag.core.export import execution_closure

    reached = execution_closure(graph, final_vars, inputs={}, overrides=overrides, config={})
    cycles = find_cycles(graph, reached)
    if cycles:
        first = graph.nodes[cycles[0][0]]
        error = CheckFailed(
            f"cannot run: dependency cycle {' -> '.join([*cycles[0], cycles[0][0]])}",
            file=first.file,
            line=first.line,
        )
        error.code = "cycle"
        raise error


def failed_node(exc: BaseException, graph: GraphModel) -> str | None:
    """The node whose function raised ``exc``: from the tag the hooks set, else the traceback."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tagged = getattr(current, FAILED_NODE_ATTR, None)
        if isinstance(tagged, str):
            return tagged
        current = current.__cause__ or current.__context__
    return _node_from_traceback(exc, graph)


def _node_from_traceback(exc: BaseException, graph: GraphModel) -> str | None:
    import traceback

    spans: dict[str, list[tuple[int, int, str]]] = {}
    for node in graph.nodes.values():
        if node.file and node.line and node.end_line:
            spans.setdefault(node.file, []).append((node.line, node.end_line, node.name))
    if not spans:
        return None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        for file, ranges in spans.items():
            if path.as_posix().endswith(file):
                for first, last, name in ranges:
                    if first <= (frame.lineno or 0) <= last:
                        return name
    return None


def _input_message(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error:")]
    if errors:
        return (
            "cannot run: "
            + "; ".join(errors)
            + " (pass --input NAME=VALUE or set inputs: in the profile)"
        )
    return "cannot run: " + (lines[0] if lines else "Hamilton rejected the inputs")


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """While nodes run, whatever they print goes to stderr (stdout carries only results).

    The file descriptor is redirected too, so worker processes started during the run and
    C extensions that write to fd 1 cannot corrupt stdout either.
    """
    fd_saved: int | None = None
    try:
        sys.stdout.flush()
        if sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2:
            fd_saved = os.dup(1)
            os.dup2(2, 1)
    except (AttributeError, OSError, ValueError):
        fd_saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if fd_saved is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
            os.dup2(fd_saved, 1)
            os.close(fd_saved)
