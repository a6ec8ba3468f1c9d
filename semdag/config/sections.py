"""The profile's ``execution:``, ``cache:`` and ``materializers:`` sections, parsed once into
typed records when the profile loads: nothing downstream reads them as raw mappings again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from semdag.config.keys import Checker, blame, kind_name

EXECUTORS = ("sync", "threads", "processes", "dask")
CACHE_BEHAVIORS = ("default", "recompute", "disable", "ignore")
# The cache's node lists: each a list of node names, or true for every node.
CACHE_LISTS = ("default", "recompute", "ignore", "disable")
COMBINE = ("dict", "dataframe")
# Keys of a materializer entry that semdag reads; every other key goes to the saver/loader.
MATERIALIZER_KEYS = ("id", "to", "from", "dependencies", "combine", "target")
DEFAULT_DASK_WORKERS = 2
DEFAULT_DASK_TIMEOUT = 10.0


@dataclass(frozen=True)
class DaskConfig:
    """``execution.dask``: an existing scheduler's address, or a local cluster's size."""

    address: str | None = None
    n_workers: int = DEFAULT_DASK_WORKERS
    timeout: float = DEFAULT_DASK_TIMEOUT


@dataclass(frozen=True)
class ExecutionConfig:
    """``execution:``."""

    dynamic: bool = False
    executor: str | None = None  # None: sync unless --executor says otherwise
    max_tasks: int | None = None
    dask: DaskConfig = field(default_factory=DaskConfig)


@dataclass(frozen=True)
class CacheConfig:
    """``cache:``: on when the section has any key (unless ``enabled: false``)."""

    given: bool = False
    enabled: bool | None = None
    path: str | None = None
    default_behavior: str | None = None
    # default / recompute / ignore / disable: node names, or True for every node.
    lists: Mapping[str, bool | tuple[str, ...]] = field(default_factory=dict)
    log_to_file: bool = False

    @property
    def on(self) -> bool:
        return self.given and self.enabled is not False

    def names(self, key: str) -> tuple[str, ...]:
        """The node names listed under ``key`` (none when it is true or absent)."""
        value = self.lists.get(key)
        return value if isinstance(value, tuple) else ()


@dataclass(frozen=True)
class MaterializerConfig:
    """One entry of ``materializers:``, its shape checked (Hamilton's savers and loaders and
    the graph are checked against it when a run needs it)."""

    index: int
    id: str
    kind: str  # "saver" (to:) or "loader" (from:)
    adapter: str  # the saver or loader name: csv, json, parquet...
    dependencies: tuple[str, ...] = ()  # a saver's nodes (names or semantic ids)
    target: str | None = None  # a loader's node (default: the id)
    combine: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The YAML key that names the adapter."""
        return "to" if self.kind == "saver" else "from"


def parse_execution(check: Checker, raw: dict[str, Any]) -> ExecutionConfig:
    path = ("execution",)
    check.known_keys(raw, path, ("dynamic", "executor", "max_tasks", "dask"))
    dynamic = check.typed(raw.get("dynamic"), (*path, "dynamic"), bool, "a bool")
    executor = check.choice(raw.get("executor"), (*path, "executor"), EXECUTORS)
    max_tasks = check.typed(raw.get("max_tasks"), (*path, "max_tasks"), int, "an integer")
    if max_tasks is not None and max_tasks < 1:
        raise check.fail((*path, "max_tasks"), "must be at least 1")
    dask = check.mapping(raw.get("dask"), (*path, "dask"))
    check.known_keys(dask, (*path, "dask"), ("address", "n_workers", "timeout"))
    address = check.typed(dask.get("address"), (*path, "dask", "address"), str, "a string")
    if address and "://" not in address:
        raise check.fail(
            (*path, "dask", "address"),
            f"expected a scheduler address such as tcp://127.0.0.1:8786, got {address!r}",
        )
    workers = dask.get("n_workers", DEFAULT_DASK_WORKERS)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise check.fail((*path, "dask", "n_workers"), "expected an integer of at least 1")
    timeout = dask.get("timeout", DEFAULT_DASK_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise check.fail((*path, "dask", "timeout"), "expected a positive number of seconds")
    return ExecutionConfig(
        dynamic=bool(dynamic),
        executor=executor,
        max_tasks=max_tasks,
        dask=DaskConfig(address or None, workers, float(timeout)),
    )


def parse_cache(check: Checker, raw: dict[str, Any]) -> CacheConfig:
    path = ("cache",)
    known = ("enabled", "path", "default_behavior", *CACHE_LISTS, "log_to_file")
    check.known_keys(raw, path, known)
    enabled = check.typed(raw.get("enabled"), (*path, "enabled"), bool, "a bool")
    where = check.typed(raw.get("path"), (*path, "path"), str, "a string")
    behavior = check.choice(
        raw.get("default_behavior"), (*path, "default_behavior"), CACHE_BEHAVIORS
    )
    log = check.typed(raw.get("log_to_file"), (*path, "log_to_file"), bool, "a bool")
    lists: dict[str, bool | tuple[str, ...]] = {}
    for key in CACHE_LISTS:
        value = raw.get(key)
        if value is True:
            lists[key] = True
        elif value is not None:
            names = check.strings(value, (*path, key), allow_one=False)
            if names:
                lists[key] = names
    everything = [key for key, value in lists.items() if value is True]
    if len(everything) > 1:
        raise check.fail(
            (*path, everything[1]),
            f"only one of {', '.join(everything)} may be true (each applies to every node)",
        )
    return CacheConfig(
        given=bool(raw),
        enabled=enabled,
        path=where or None,
        default_behavior=behavior,
        lists=lists,
        log_to_file=bool(log),
    )


def parse_materializers(check: Checker, raw: Any) -> tuple[MaterializerConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise check.fail(("materializers",), f"expected a list, got {kind_name(raw)}")
    out: list[MaterializerConfig] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        at = ("materializers", str(index))
        entry = check.mapping(item, at)
        ident = entry.get("id")
        if not isinstance(ident, str) or not ident:
            raise check.fail(at, "each materializer needs an id")

        def fail(key: str | None, message: str, at: tuple[str, ...] = at, ident: str = ident):
            label = f"materializers[{at[1]}] ({ident}): {message}"
            path = (*at, key) if key else at
            return blame(path, label, check.file, check.lines, check.sets)

        if ident in seen:
            raise fail("id", f"the id is also used by materializers[{seen[ident]}]")
        seen[ident] = index
        if ("to" in entry) == ("from" in entry):
            raise fail(None, "needs exactly one of `to: <saver>` or `from: <loader>`")
        kind, key = ("saver", "to") if "to" in entry else ("loader", "from")
        adapter = entry[key]
        if not isinstance(adapter, str) or not adapter:
            raise fail(key, f"expected a {kind} name, got {kind_name(adapter)}")
        combine = entry.get("combine")
        dependencies: tuple[str, ...] = ()
        target = None
        if kind == "saver":
            deps = entry.get("dependencies")
            deps = [deps] if isinstance(deps, str) else deps
            if (
                not isinstance(deps, list)
                or not deps
                or not all(isinstance(d, str) and d for d in deps)
            ):
                raise fail("dependencies", "a saver needs `dependencies:`, a list of node names")
            dependencies = tuple(deps)
            if combine is not None and combine not in COMBINE:
                raise fail(
                    "combine", f"combine must be one of {', '.join(COMBINE)}, got {combine!r}"
                )
            if combine is None and len(dependencies) > 1:
                combine = "dict"
            if "target" in entry:
                raise fail(
                    "target", "`target:` is for loaders (`from:`); savers take `dependencies:`"
                )
        else:
            if "dependencies" in entry or combine is not None:
                raise fail(
                    None, "a loader (`from:`) takes `target:`, not `dependencies:`/`combine:`"
                )
            target = str(entry.get("target", ident))
        arguments = {k: v for k, v in entry.items() if k not in MATERIALIZER_KEYS}
        out.append(
            MaterializerConfig(
                index, ident, kind, adapter, dependencies, target, combine, arguments
            )
        )
    return tuple(out)
