"""Where the project is and what its ``[tool.semdag]`` table says."""

from __future__ import annotations

import contextlib
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from semdag.core.errors import ConfigError, NoProjectError

STATE_DIR = ".semdag"
STATE_GITIGNORE = "# Written by semdag: local state, never committed.\n*\n"
DEFAULTS = {"configs_dir": "configs", "snapshots_dir": "snapshots", "default_profile": "dev"}


@dataclass(frozen=True)
class Project:
    """A semdag project: its root and the settings of ``[tool.semdag]``."""

    root: Path
    configs_dir: str = "configs"
    snapshots_dir: str = "snapshots"
    default_profile: str = "dev"

    @property
    def configs_path(self) -> Path:
        return self.root / self.configs_dir

    @property
    def snapshots_path(self) -> Path:
        return self.root / self.snapshots_dir

    @property
    def state_path(self) -> Path:
        """Per-project working state (build cache, hash memo, execution cache): local to the
        machine, never committed (see :meth:`state_dir`)."""
        return self.root / STATE_DIR

    def state_dir(self, *parts: str) -> Path:
        """A folder under :attr:`state_path`, made on demand. The state folder ignores
        itself in git (a ``.gitignore`` of ``*``, as pytest's and mypy's caches do), so that
        ``git add -A`` never commits it."""
        base = self.state_path
        ignore = base / ".gitignore"
        if not ignore.is_file():
            base.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                ignore.write_text(STATE_GITIGNORE, encoding="utf-8")
        folder = base.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def profile_path(self, profile: str) -> Path:
        return self.configs_path / f"{profile}.yaml"

    def profiles(self) -> list[str]:
        """Names of every profile in the configs directory, sorted."""
        if not self.configs_path.is_dir():
            return []
        return sorted(p.stem for p in self.configs_path.glob("*.yaml"))

    def contained(self, path: str, *, key: str, file: str, line: int | None) -> Path:
        """``path`` (project-relative or absolute) resolved; a :class:`ConfigError` naming
        ``key``, ``file`` and ``line`` when it leaves the project root."""
        resolved = (self.root / path).resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise ConfigError(
                f"{key}: {path} is outside the project; paths in a profile must stay inside "
                f"{self.root.name}/",
                file=file,
                line=line,
                hint="to use a path outside the project, give it on the command line (--set)",
            )
        return resolved

    def relative(self, path: Path | str) -> str:
        """``path`` relative to the project root as POSIX text, or unchanged when outside it."""
        return _relative(self.root, str(path))


@functools.lru_cache(maxsize=65536)
def _relative(root: Path, path: str) -> str:
    # resolve() touches the file system; thousands of nodes share a few hundred files.
    p = Path(path)
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def _read_tool_table(pyproject: Path) -> dict[str, object] | None:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=str(pyproject)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(pyproject)) from None
    table = data.get("tool", {}).get("semdag")
    return table if isinstance(table, dict) else None


def find_project(start: Path | None = None, explicit: Path | None = None) -> Project:
    """Find the project root: ``explicit``, else the nearest ancestor of ``start`` with
    ``configs/`` or a ``pyproject.toml`` holding ``[tool.semdag]``."""
    if explicit is not None:
        root = explicit.resolve()
        if not root.is_dir():
            raise ConfigError(f"project directory does not exist: {explicit}")
        return _load(root, require=True)
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        pyproject = candidate / "pyproject.toml"
        if (candidate / "configs").is_dir() or (
            pyproject.is_file() and _read_tool_table(pyproject) is not None
        ):
            return _load(candidate, require=True)
    raise NoProjectError(
        # No absolute path: messages end up in JSON envelopes and CI logs.
        "no semdag project found in the working directory or its parents "
        "(looked for configs/ or [tool.semdag] in pyproject.toml)",
        hint="run `semdag init` to create one, or pass --project-dir",
    )


def _load(root: Path, *, require: bool) -> Project:
    pyproject = root / "pyproject.toml"
    table = _read_tool_table(pyproject) if pyproject.is_file() else None
    settings = dict(DEFAULTS)
    for key, value in (table or {}).items():
        if key not in DEFAULTS:
            raise ConfigError(
                f"unknown key tool.semdag.{key} (known: {', '.join(sorted(DEFAULTS))})",
                file="pyproject.toml",
            )
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"tool.semdag.{key} must be a non-empty string", file="pyproject.toml"
            )
        settings[key] = value
    project = Project(root=root, **settings)
    if require and not project.configs_path.is_dir():
        raise ConfigError(
            f"no {project.configs_dir}/ directory in {root}",
            hint="run `semdag init` to create a project",
        )
    return project
