"""``semdag init`` in a repository that has Hamilton modules: find them, and lay them out as a
profile's stack.

The modules are those the repository's own driver scripts hand to Hamilton
(``driver.Builder().with_modules(a, b)``, ``driver.Driver(config, a, b)``); where no script
does, those that import Hamilton's decorators (``hamilton.function_modifiers``). Tests,
``setup.py``, scripts and virtualenvs are never modules. Files are read, never imported.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Folders never searched: tools, environments, build output, and tests.
_SKIPPED_DIRS = {
    "node_modules",
    "site-packages",
    "build",
    "dist",
    "tests",
    "test",
    "testing",
    "scripts",
    "venv",
    "env",
    "__pycache__",
    "snapshots",
    "configs",
}
_SKIPPED_FILES = {"setup.py", "conftest.py", "noxfile.py", "tasks.py", "__main__.py"}
# The layers a folder layout names, in stack order.
LAYER_NAMES = ("core", "plugins", "overrides")


@dataclass(frozen=True)
class Found:
    """The Hamilton modules of a repository, by layer in stack order, and how they were
    found (the driver scripts that name them, or none: found by their imports)."""

    stack: dict[str, list[str]]
    scripts: tuple[str, ...]
    # The build-time config the scripts give Hamilton as literals (``with_config({...})``).
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def modules(self) -> list[str]:
        return [module for modules in self.stack.values() for module in modules]


def python_files(root: Path) -> Iterator[Path]:
    """The repository's own Python files, sorted, without tests, scripts and environments."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith((".", "_"))
            and d not in _SKIPPED_DIRS
            and not (here / d / "pyvenv.cfg").exists()
        )
        for name in sorted(files):
            if (
                name.endswith(".py")
                and name not in _SKIPPED_FILES
                and not name.startswith("test_")
                and not name.endswith("_test.py")
            ):
                yield here / name


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


def dotted_name(root: Path, path: Path) -> str | None:
    """``path``'s module name from ``root`` (``pkg/mod.py`` -> ``pkg.mod``), or None when a
    part is not an identifier."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def _imported_names(tree: ast.Module, package: str) -> dict[str, str]:
    """Local name -> module name for each import of the script (``import a.b as m``, ``from
    pkg import mod``, ``from . import mod``)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
                    names[alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".") if package else []
                up = up[: len(up) - node.level + 1] if node.level > 1 else up
                base = ".".join([*up, *([base] if base else [])])
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return names


def _dotted_expr(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted_expr(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _literal_config(tree: ast.Module) -> dict[str, Any]:
    """The literal dicts a script passes to ``with_config(...)`` or as ``Driver``'s config
    (written in the call, or assigned to a name it passes), merged in order; one that is not a
    literal is skipped."""
    assigned: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                assigned[target.id] = node.value
    config: dict[str, Any] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if attr not in ("with_config", "Driver"):
            continue
        given = node.args[0]
        if isinstance(given, ast.Name) and given.id in assigned:
            given = assigned[given.id]
        try:
            value = ast.literal_eval(given)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            config.update(value)
    return config


def _passed_modules(tree: ast.Module) -> list[str]:
    """The expressions (as dotted text) a script passes to ``with_modules(...)`` or as the
    modules of ``Driver(config, ...)``."""
    passed: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if attr == "with_modules":
            args = node.args
        elif attr == "Driver":
            args = node.args[1:]
        else:
            continue
        for arg in args:
            if isinstance(arg, ast.Starred):
                arg = arg.value
            items = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
            for item in items:
                text = _dotted_expr(item)
                if text and text not in passed:
                    passed.append(text)
    return passed


def _module_file(root: Path, name: str, near: Path) -> Path | None:
    """The repository file of module ``name``, resolved from the script's folder first (as
    Python does for a script), then from the root."""
    rel = Path(*name.split("."))
    for folder in dict.fromkeys([near, root]):
        for candidate in (folder / rel.with_suffix(".py"), folder / rel / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _driver_modules(root: Path, files: list[Path]) -> tuple[list[Path], list[str], dict[str, Any]]:
    modules: list[Path] = []
    scripts: list[str] = []
    config: dict[str, Any] = {}
    for path in files:
        text = _read(path)
        if text is None or ("with_modules" not in text and "Driver(" not in text):
            continue
        tree = _parse(path)
        if tree is None:
            continue
        package = (
            (dotted_name(root, path.parent / "__init__.py") or "") if path.parent != root else ""
        )
        names = _imported_names(tree, package)
        found = []
        for passed in _passed_modules(tree):
            head, _, rest = passed.partition(".")
            module = names.get(passed) or (
                f"{names[head]}.{rest}" if head in names and rest else names.get(head)
            )
            target = _module_file(root, module, path.parent) if module else None
            if target is not None and target != path and target not in modules:
                found.append(target)
        if found:
            scripts.append(path.relative_to(root).as_posix())
            modules.extend(found)
            # The first script that gives a config is the one the profile follows: others
            # (run_dask.py beside run.py) choose other variants of the same modules.
            config = config or _literal_config(tree)
    return modules, scripts, config


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _imports_decorators(path: Path) -> bool:
    text = _read(path)
    if text is None or "function_modifiers" not in text:
        return False
    tree = _parse(path)
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.startswith("hamilton.function_modifiers") or (
                module == "hamilton" and any(a.name == "function_modifiers" for a in node.names)
            ):
                return True
        elif isinstance(node, ast.Import) and any(
            a.name.startswith("hamilton.function_modifiers") for a in node.names
        ):
            return True
    return False


def find_modules(root: Path, *, ignore: set[str] | None = None) -> Found | None:
    """The Hamilton modules of the repository at ``root``; None when it has none. ``ignore``:
    project-relative files that are not the repository's own (the sample ``init`` writes)."""
    files = [p for p in python_files(root) if p.relative_to(root).as_posix() not in (ignore or ())]
    modules, scripts, config = _driver_modules(root, files)
    if not modules:
        modules = [p for p in files if _imports_decorators(p)]
    named: list[tuple[Path, str]] = []
    for path in modules:
        name = dotted_name(root, path)
        if name:
            named.append((path, name))
    if not named:
        return None
    stack: dict[str, list[str]] = {layer: [] for layer in LAYER_NAMES}
    for path, name in named:
        parts = path.relative_to(root).parts[:-1]
        layer = next((part for part in reversed(parts) if part in LAYER_NAMES), "core")
        stack[layer].append(name)
    return Found({k: v for k, v in stack.items() if v}, tuple(scripts), config)
