"""Profiles: ``configs/<profile>.yaml`` with ``extends``, ``${VAR}`` and ``--set``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semdag.config.keys import (
    Checker,
    blame,
    check_dtypes,
    check_rules,
    key_line,
    set_path,
)
from semdag.config.project import Project
from semdag.config.sections import (
    CacheConfig,
    ExecutionConfig,
    MaterializerConfig,
    parse_cache,
    parse_execution,
    parse_materializers,
)
from semdag.config.yamlio import KeyPath, parse_scalar, read_yaml
from semdag.core.errors import ConfigError, SemdagError, UsageError, did_you_mean, show_key

DEFAULT_TAG_FILTER: dict[str, Any] = {"layer": "semantic", "semantic_id": None}
DEFAULT_REQUIRED_TAGS = ("semantic_id", "entity", "grain", "dtype", "version")
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
    execution: ExecutionConfig
    cache: CacheConfig
    materializers: tuple[MaterializerConfig, ...]
    env_used: Mapping[str, str | None] = field(default_factory=dict)
    sets: tuple[str, ...] = ()
    lines: Mapping[KeyPath, tuple[str, int]] = field(default_factory=dict, compare=False)

    def where(self, *path: str) -> tuple[str, int | None]:
        """File and line of a key path in the YAML, for messages."""
        return key_line(self.lines, self.file, tuple(map(str, path)))

    def error(self, message: str, *path: str, hint: str | None = None) -> SemdagError:
        """An error about the value at ``path``, blamed on where it was given: the ``--set``
        that set it (a usage error), else its file and line in the YAML (a config error)."""
        return blame(tuple(map(str, path)), message, self.file, self.lines, self.sets, hint=hint)


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
                parent = target.parent
                siblings = (
                    [p.name for p in parent.glob("*.y*ml") if p.resolve() != resolved]
                    if parent.is_dir()
                    else []
                )
                near = did_you_mean(Path(base).name, siblings)
                raise ConfigError(f"extends: {base} does not exist{near}", file=shown, line=line)
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


def apply_set(data: dict[str, Any], assignment: str) -> dict[str, Any]:
    """Apply one ``--set dotted.key=VALUE`` to merged profile data."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--set {assignment!r}: expected KEY=VALUE (for example outputs=[a,b])")
    parts = set_path(key)
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
            at, line = key_line(lines, file, path)
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


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the keys set to null (null means "no value")."""
    return {key: value for key, value in values.items() if value is not None}


def _validate(
    name: str, loader: _Loader, data: dict[str, Any], lines: dict, sets: tuple[str, ...]
) -> Profile:
    file = loader.files[0]
    check = Checker(file, lines, sets)
    check.known_keys(data, (), (*_TOP, "extends"))

    stack = check.mapping(data.get("stack"), ("stack",))
    if not stack:
        raise check.fail(("stack",), "a profile needs at least one layer of modules")
    policies = check.mapping(data.get("layers"), ("layers",))
    for layer_name, policy in policies.items():
        if layer_name not in stack:
            raise check.fail(
                ("layers", layer_name),
                "names a layer that the stack does not have"
                f"{did_you_mean(layer_name, stack)} (stack layers: {', '.join(stack)})",
            )
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

    # null removes a key: a profile that extends another drops an inherited input this way.
    config = _given(check.mapping(data.get("config"), ("config",)))
    inputs = _given(check.mapping(data.get("inputs"), ("inputs",)))
    overrides = _given(check.mapping(data.get("overrides"), ("overrides",)))
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
    dtypes = check_dtypes(check, registry.get("dtypes"))

    from semdag.core.rules import RULES_BY_ID

    rules = check_rules(check, check.mapping(data.get("rules"), ("rules",)), list(RULES_BY_ID))

    execution = parse_execution(check, check.mapping(data.get("execution"), ("execution",)))
    cache = parse_cache(check, check.mapping(data.get("cache"), ("cache",)))
    materializers = parse_materializers(check, data.get("materializers"))

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
