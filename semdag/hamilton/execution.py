"""Running a build: a :class:`Runner` turns :class:`~semdag.config.execution.ExecutionSettings`
into Builder configuration (executors, the cache, semdag's hooks), owns any Dask cluster or
client for the length of one run, and executes.

The hooks are :mod:`semdag.hamilton.hooks`, the executors :mod:`semdag.hamilton.executors` and
:mod:`semdag.hamilton.dask_adapter`, failure naming :mod:`semdag.hamilton.failures`; each is
imported when a run needs it, so that importing this module does not import Hamilton.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from semdag.config.execution import ExecutionSettings
from semdag.config.project import Project
from semdag.core.errors import (
    CheckFailed,
    ExecutionError,
    UnknownNodeError,
    UsageError,
)
from semdag.hamilton.failures import failed_node, input_message

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.core.graph import GraphModel
    from semdag.core.progress import ProgressSink
    from semdag.hamilton.build import Build
    from semdag.hamilton.hooks import QualityWarning, Timing


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
    # Warn-level data-quality validators that failed (seen in this process).
    quality: tuple[QualityWarning, ...] = ()


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
        from semdag.hamilton.hooks import FailureHook, ProgressHook, QualityHook, TimingHook

        settings = self.settings
        self._hooks = {
            "failure": FailureHook(),
            "quality": QualityHook(),
            "timing": TimingHook(),
            "progress": ProgressHook(self._progress_sink),
        }
        if settings.dynamic:
            from hamilton.execution import executors

            builder = builder.enable_dynamic_execution(allow_experimental_mode=True)
            builder = builder.with_local_executor(executors.SynchronousLocalTaskExecutor())
            builder = builder.with_remote_executor(self._remote_executor())
        elif settings.executor == "dask":
            from hamilton import base

            from semdag.hamilton.dask_adapter import TaggingDaskGraphAdapter

            adapter = TaggingDaskGraphAdapter(None, result_builder=base.DictResult())
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
                from semdag.hamilton.executors import CloudpickleProcessExecutor
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
                from semdag.hamilton.executors import quiet_worker_logging

                client.run(quiet_worker_logging)
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
        _refuse_async(build, graph, final_vars, overrides)
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
            quality=tuple(self._hooks["quality"].failed) if "quality" in self._hooks else (),
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
            raise UsageError(input_message(str(exc)), file=self.profile.file) from None

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


def _refuse_async(
    build: Build, graph: GraphModel, final_vars: Sequence[str], overrides: Mapping[str, Any]
) -> None:
    """An ``async def`` node would hand an un-awaited coroutine downstream: refuse the run
    (``validate`` reports it as ``async-node``)."""
    import inspect

    from semdag.core.export import execution_closure

    reached = execution_closure(graph, final_vars, inputs={}, overrides=overrides, config={})
    for name in sorted(reached):
        node = build.driver.graph.nodes.get(name)
        functions = (node.originating_functions or ()) if node is not None else ()
        if any(inspect.iscoroutinefunction(inspect.unwrap(fn)) for fn in functions):
            info = graph.nodes[name]
            error = CheckFailed(
                f"cannot run: {name} is an async def, which Hamilton's synchronous driver does "
                "not await (make it a plain def)",
                file=info.file,
                line=info.line,
            )
            error.code = "async-node"
            raise error


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
