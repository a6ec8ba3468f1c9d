"""Profiles: ``configs/<profile>.yaml`` with ``extends``, ``${VAR}`` and ``--set``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semdag.config.project import Project
from semdag.config.yamlio import KeyPath, parse_scalar, read_yaml
from semdag.core.errors import ConfigError, SemdagError, UsageError, did_you_mean, show_key

SEVERITY_WORDS = ("error", "breaking", "warning", "additive", "info", "off")
EXECUTORS = ("sync", "threads", "processes", "dask")
CACHE_BEHAVIORS = ("default", "recompute", "disable", "ignore")
DEFAULT_TAG_FILTER: dict[str, Any] = {"layer": "semantic", "semantic_id": None}
DEFAULT_REQUIRED_TAGS = ("semantic_id", "entity", "grain", "dtype", "version")
# Free-form maps: a dotted --set key below them names one key, dots included.
_FREE_FORM = ("config", "inputs", "overrides", "rules")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Layer:
    """One layer of the module stack."""

    name: str
    modules: tuple[str, ...]
    allow_overrides: bool


@dataclass(frozen=True)
class Profile:
    """A merged, validated profile."""

    name: str
    file: str
    files: tuple[str, ...]
    layers: tuple[Layer, ...]
    config: Mapping[str, Any]
    inputs: Mapping[str, Any]
    overrides: Mapping[str, Any]
    outputs: tuple[str, ...]
    tag_filter: Mapping[str, Any]
    required_tags: tuple[str, ...]
    # The project's own dtype names -> the scalar output types each fits (None: any).
    dtypes: Mapping[str, tuple[str, ...] | None]
    rules: Mapping[str, str]
    execution: Mapping[str, Any]
    cache: Mapping[str, Any]
    materializers: tuple[Mapping[str, Any], ...]
    env_used: Mapping[str, str | None] = field(default_factory=dict)
    sets: tuple[str, ...] = ()
    lines: Mapping[KeyPath, tuple[str, int]] = field(default_factory=dict, compare=False)

    def where(self, *path: str) -> tuple[str, int | None]:
        """File and line of a key path in the YAML, for messages."""
        return _where(self.lines, self.file, tuple(map(str, path)))

    def error(self, message: str, *path: str, hint: str | None = None) -> SemdagError:
        """An error about the value at ``path``, blamed on where it was given: the ``--set``
        that set it (a usage error), else its file and line in the YAML (a config error)."""
        return _blame(tuple(map(str, path)), message, self.file, self.lines, self.sets, hint=hint)


def _where(
    lines: Mapping[KeyPath, tuple[str, int]], file: str, path: KeyPath
) -> tuple[str, int | None]:
    for end in range(len(path), 0, -1):
        hit = lines.get(path[:end])
        if hit:
            return hit
    return file, None


def _set_origin(
    sets: Sequence[str], path: KeyPath, lines: Mapping[KeyPath, Any] | None = None
) -> str | None:
    """The ``--set`` assignment that gave the value at ``path``: the last one naming it or a
    key above it, or one below it when the YAML has no such key (the ``--set`` made it);
    None when the value comes from the YAML."""
    found = None
    for assignment in sets:
        key = tuple(_set_path(assignment.partition("=")[0]))
        made = key[: len(path)] == path and path not in (lines or {})
        if path[: len(key)] == key or made:
            found = assignment
    return found


def _blame(
    path: KeyPath,
    message: str,
    file: str,
    lines: Mapping[KeyPath, tuple[str, int]],
    sets: Sequence[str],
    *,
    keyed: bool = False,
    hint: str | None = None,
) -> SemdagError:
    """``message`` about the value at ``path`` as an error where the value was given;
    ``keyed`` puts the key path in front of the message (the ``--set`` names its own key)."""
    origin = _set_origin(sets, path, lines)
    if origin is not None:
        key = tuple(_set_path(origin.partition("=")[0]))
        below = ".".join(map(show_key, path[len(key) :])) if keyed else ""
        return UsageError(f"--set {origin}: {below + ': ' if below else ''}{message}", hint=hint)
    at, line = _where(lines, file, path)
    # YAML keys may be numbers, booleans or null: show them, never crash on them.
    shown = f"{'.'.join(map(show_key, path))}: " if keyed else ""
    return ConfigError(f"{shown}{message}", file=at, line=line, hint=hint)


class _Loader:
    """Loads one profile file and its ``extends`` chain."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.files: list[str] = []
        self.env_used: dict[str, str | None] = {}

    def display(self, path: Path) -> str:
        return self.project.relative(path)

    def load(self, path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict]:
        resolved = path.resolve()
        shown = self.display(resolved)
        if resolved in chain:
            cycle = " -> ".join(self.display(p) for p in (*chain, resolved))
            raise ConfigError(f"extends cycle: {cycle}", file=shown)
        doc = read_yaml(resolved, shown)
        if shown not in self.files:
            self.files.append(shown)
        data = self._interpolate(doc.data, (), shown, doc.lines)
        lines = {key: (shown, line) for key, line in doc.lines.items()}
        bases = data.pop("extends", None)
        if bases is None:
            return data, lines
        if isinstance(bases, str):
            bases = [bases]
        if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
            raise ConfigError(
                "extends must be a path or a list of paths",
                file=shown,
                line=doc.lines.get(("extends",)),
            )
        merged: dict[str, Any] = {}
        merged_lines: dict = {}
        for index, base in enumerate(bases):
            target = resolved.parent / base
            if not target.is_file():
                line = doc.lines.get(("extends", str(index))) or doc.lines.get(("extends",))
                raise ConfigError(f"extends: {base} does not exist", file=shown, line=line)
            base_data, base_lines = self.load(target, (*chain, resolved))
            merged = deep_merge(merged, base_data)
            merged_lines.update(base_lines)
        merged_lines.update(lines)
        return deep_merge(merged, data), merged_lines

    def _interpolate(self, value: Any, path: KeyPath, file: str, lines: dict) -> Any:
        if isinstance(value, dict):
            return {k: self._interpolate(v, (*path, str(k)), file, lines) for k, v in value.items()}
        if isinstance(value, list):
            return [self._interpolate(v, (*path, str(i)), file, lines) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            current = os.environ.get(name)
            self.env_used[name] = current
            if current is not None:
                return current
            if default is not None:
                return default
            raise ConfigError(
                f"{'.'.join(path)}: environment variable {name} is not set "
                f"(write ${{{name}:-default}} for a default)",
                file=file,
                line=lines.get(path),
            )

        whole = _ENV.fullmatch(value)
        result = _ENV.sub(substitute, value)
        # A value that is one reference takes the type of what it expands to (${N:-4} -> 4).
        return parse_scalar(result) if whole else result


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``top`` over ``base``: mappings merge recursively, anything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _set_path(key: str) -> list[str]:
    """The key path a ``--set`` key names: dotted, except below a free-form map."""
    parts = key.strip().split(".")
    if parts[0] in _FREE_FORM and len(parts) > 1:
        parts = [parts[0], ".".join(parts[1:])]
    return parts


def apply_set(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply one ``--set dotted.key=VALUE`` to merged profile data."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--set {assignment!r}: expected KEY=VALUE (for example outputs=[a,b])")
    parts = _set_path(key)
    out = dict(data)
    cursor = out
    for index, part in enumerate(parts[:-1]):
        nxt = cursor.get(part)
        if nxt is None:
            nxt = {}
        elif not isinstance(nxt, dict):
            raise UsageError(
                f"--set {key}: {'.'.join(parts[: index + 1])} is not a mapping in the profile"
            )
        cursor[part] = dict(nxt)
        cursor = cursor[part]
    cursor[parts[-1]] = parse_scalar(raw)
    return out


def load_profile(
    project: Project,
    name: str | None = None,
    *,
    config_file: Path | None = None,
    sets: Sequence[str] = (),
) -> Profile:
    """Load, merge, interpolate and validate a profile by name or from ``config_file``."""
    loader = _Loader(project)
    if config_file is not None:
        path = config_file if config_file.is_absolute() else Path.cwd() / config_file
        if not path.is_file():
            raise ConfigError("profile file not found", file=str(config_file))
        profile_name = path.stem
    else:
        profile_name = name or project.default_profile
        if profile_name in (".", "..") or Path(profile_name).name != profile_name:
            raise UsageError(
                f"profile {profile_name!r}: a profile is a file name in "
                f"{project.configs_dir}/ without .yaml (use --config for a file elsewhere)"
            )
        path = project.profile_path(profile_name)
        if not path.is_file():
            profiles = project.profiles()
            raise ConfigError(
                f"unknown profile {profile_name!r}{did_you_mean(profile_name, profiles)} "
                f"(available: {', '.join(profiles) or 'none'})",
                file=project.relative(path),
            )
    data, lines = loader.load(path, ())
    # Before --set: a path the user types on the command line may point anywhere.
    _check_contained(project, data, lines, loader.files[0])
    for assignment in sets:
        data = apply_set(data, assignment)
    return _validate(profile_name, loader, data, lines, tuple(sets))


# Materializer arguments that name a file (as semdag.hamilton.materialize resolves them).
MATERIALIZER_PATH_KEYS = ("path", "file", "filepath_or_buffer", "file_path", "filepath")


def _check_contained(project: Project, data: Mapping[str, Any], lines: dict, file: str) -> None:
    """Refuse file paths read from profile YAML that leave the project: a profile from a
    pull request must not import code from, cache to or write files anywhere on the machine."""

    def check(value: Any, *path: str) -> None:
        if isinstance(value, str) and value:
            at, line = _where(lines, file, path)
            project.contained(value, key=".".join(map(show_key, path)), file=at, line=line)

    stack = data.get("stack")
    if isinstance(stack, Mapping):
        for layer, modules in stack.items():
            specs = [modules] if isinstance(modules, str) else modules
            if isinstance(specs, list):
                for index, spec in enumerate(specs):
                    if isinstance(spec, str) and spec.endswith(".py"):
                        check(spec, "stack", str(layer), str(index))
    cache = data.get("cache")
    if isinstance(cache, Mapping):
        check(cache.get("path"), "cache", "path")
    # Savers write; loaders only read, and input data often lives outside the project.
    materializers = data.get("materializers")
    if isinstance(materializers, list):
        for index, entry in enumerate(materializers):
            if isinstance(entry, Mapping) and "to" in entry:
                for key in MATERIALIZER_PATH_KEYS:
                    check(entry.get(key), "materializers", str(index), key)


# --- schema -----------------------------------------------------------------------------------


class _Checker:
    def __init__(self, file: str, lines: dict, sets: tuple[str, ...]) -> None:
        self.file = file
        self.lines = lines
        self.sets = sets

    def fail(self, path: KeyPath, message: str) -> SemdagError:
        return _blame(tuple(map(str, path)), message, self.file, self.lines, self.sets, keyed=True)

    def mapping(self, value: Any, path: KeyPath) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, got {_kind(key)}")
        return value

    def strings(self, value: Any, path: KeyPath, *, allow_one: bool = True) -> tuple[str, ...]:
        if value is None:
            return ()
        if allow_one and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, f"expected a list of strings, got {_kind(value)}")
        return tuple(value)

    def known_keys(self, value: dict, path: KeyPath, known: Sequence[str]) -> None:
        for key in value:
            if key not in known:
                raise self.fail((*path, key), f"unknown key (expected one of: {', '.join(known)})")

    def typed(self, value: Any, path: KeyPath, kind: type | tuple, label: str) -> Any:
        if value is not None and (
            not isinstance(value, kind) or (isinstance(value, bool) and kind is int)
        ):
            raise self.fail(path, f"expected {label}, got {_kind(value)}")
        return value

    def choice(self, value: Any, path: KeyPath, choices: Sequence[str]) -> Any:
        if value is not None and value not in choices:
            raise self.fail(path, f"expected one of {', '.join(choices)}, got {value!r}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_TOP = (
    "stack",
    "layers",
    "config",
    "inputs",
    "overrides",
    "outputs",
    "registry",
    "rules",
    "execution",
    "cache",
    "materializers",
)


def _validate(
    name: str, loader: _Loader, data: dict[str, Any], lines: dict, sets: tuple[str, ...]
) -> Profile:
    file = loader.files[0]
    check = _Checker(file, lines, sets)
    check.known_keys(data, (), (*_TOP, "extends"))

    stack = check.mapping(data.get("stack"), ("stack",))
    if not stack:
        raise check.fail(("stack",), "a profile needs at least one layer of modules")
    policies = check.mapping(data.get("layers"), ("layers",))
    for layer_name, policy in policies.items():
        if layer_name not in stack:
            raise check.fail(("layers", layer_name), "names a layer that the stack does not have")
        policy = check.mapping(policy, ("layers", layer_name))
        check.known_keys(policy, ("layers", layer_name), ("allow_overrides",))
        check.typed(
            policy.get("allow_overrides"), ("layers", layer_name, "allow_overrides"), bool, "a bool"
        )
    layers = []
    for layer_name, modules in stack.items():
        mods = check.strings(modules, ("stack", layer_name))
        if not mods:
            raise check.fail(("stack", layer_name), "the layer names no module")
        policy = policies.get(layer_name) or {}
        allow = policy.get("allow_overrides")
        layers.append(
            Layer(layer_name, mods, layer_name == "overrides" if allow is None else bool(allow))
        )

    config = check.mapping(data.get("config"), ("config",))
    inputs = check.mapping(data.get("inputs"), ("inputs",))
    overrides = check.mapping(data.get("overrides"), ("overrides",))
    outputs = check.strings(data.get("outputs"), ("outputs",), allow_one=False)

    registry = check.mapping(data.get("registry"), ("registry",))
    check.known_keys(registry, ("registry",), ("tag_filter", "required_tags", "dtypes"))
    tag_filter = registry.get("tag_filter", DEFAULT_TAG_FILTER)
    tag_filter = check.mapping(tag_filter, ("registry", "tag_filter"))
    for key, wanted in tag_filter.items():
        is_list = isinstance(wanted, list) and all(isinstance(v, str) for v in wanted)
        if wanted is not None and not isinstance(wanted, str) and not is_list:
            raise check.fail(
                ("registry", "tag_filter", key), "expected null, a string or a list of strings"
            )
    required = registry.get("required_tags", list(DEFAULT_REQUIRED_TAGS))
    required_tags = check.strings(required, ("registry", "required_tags"), allow_one=False)
    dtypes = _dtypes(check, registry.get("dtypes"))

    rules = check.mapping(data.get("rules"), ("rules",))
    for rule_id, severity in rules.items():
        check.choice(severity, ("rules", rule_id), SEVERITY_WORDS)

    execution = _execution(check, check.mapping(data.get("execution"), ("execution",)))
    cache = _cache(check, check.mapping(data.get("cache"), ("cache",)))

    raw_materializers = data.get("materializers") or []
    if not isinstance(raw_materializers, list):
        raise check.fail(("materializers",), f"expected a list, got {_kind(raw_materializers)}")
    materializers = tuple(
        check.mapping(m, ("materializers", str(i))) for i, m in enumerate(raw_materializers)
    )
    for index, entry in enumerate(materializers):
        if not isinstance(entry.get("id"), str) or not entry.get("id"):
            raise check.fail(("materializers", str(index)), "each materializer needs an id")

    return Profile(
        name=name,
        file=file,
        files=tuple(loader.files),
        layers=tuple(layers),
        config=config,
        inputs=inputs,
        overrides=overrides,
        outputs=outputs,
        tag_filter=tag_filter,
        required_tags=required_tags,
        dtypes=dtypes,
        rules=rules,
        execution=execution,
        cache=cache,
        materializers=materializers,
        env_used=dict(sorted(loader.env_used.items())),
        sets=sets,
        lines=lines,
    )


def _dtypes(check: _Checker, value: Any) -> dict[str, tuple[str, ...] | None]:
    """``registry.dtypes``: a list of names (each fits any output type), or a mapping of
    name -> the scalar output types it fits (an empty list or null: any)."""
    path = ("registry", "dtypes")
    if value is None:
        return {}
    if isinstance(value, list):
        return {name: None for name in check.strings(value, path, allow_one=False)}
    out: dict[str, tuple[str, ...] | None] = {}
    for name, fits in check.mapping(value, path).items():
        types = check.strings(fits, (*path, name))
        out[name] = types or None
    return dict(sorted(out.items()))


def _execution(check: _Checker, execution: dict[str, Any]) -> dict[str, Any]:
    path = ("execution",)
    check.known_keys(execution, path, ("dynamic", "executor", "max_tasks", "dask"))
    check.typed(execution.get("dynamic"), (*path, "dynamic"), bool, "a bool")
    check.choice(execution.get("executor"), (*path, "executor"), EXECUTORS)
    max_tasks = check.typed(execution.get("max_tasks"), (*path, "max_tasks"), int, "an integer")
    if max_tasks is not None and max_tasks < 1:
        raise check.fail((*path, "max_tasks"), "must be at least 1")
    dask = check.mapping(execution.get("dask"), (*path, "dask"))
    check.known_keys(dask, (*path, "dask"), ("address", "n_workers", "timeout"))
    check.typed(dask.get("address"), (*path, "dask", "address"), str, "a string")
    return execution


def _cache(check: _Checker, cache: dict[str, Any]) -> dict[str, Any]:
    path = ("cache",)
    known = ("enabled", "path", "default_behavior", "default", "recompute", "ignore", "disable")
    check.known_keys(cache, path, (*known, "log_to_file"))
    check.typed(cache.get("enabled"), (*path, "enabled"), bool, "a bool")
    check.typed(cache.get("path"), (*path, "path"), str, "a string")
    check.choice(cache.get("default_behavior"), (*path, "default_behavior"), CACHE_BEHAVIORS)
    check.typed(cache.get("log_to_file"), (*path, "log_to_file"), bool, "a bool")
    for key in ("default", "recompute", "ignore", "disable"):
        value = cache.get(key)
        if value is not True:
            check.strings(value, (*path, key), allow_one=False)
    return cache
