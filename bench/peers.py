"""Peer scripts that use Hamilton directly, run as whole processes beside semdag.

``python -m bench.peers floor DIR PROFILE``: import ``hamilton.driver`` and build the driver
for the profile's stack (what any tool over this stack must at least do).
``python -m bench.peers export DIR PROFILE``: the same, then ``Driver.export_execution`` for
every computed node, printed to stdout.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


def _profile(path: Path) -> dict[str, Any]:
    """A profile with the profiles it ``extends`` merged under it (one level of keys)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    merged: dict[str, Any] = {}
    for base in [data.get("extends")] if isinstance(data.get("extends"), str) else []:
        merged.update(_profile(path.parent / base))
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _stack(root: Path, profile: str) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:

    data = _profile(root / "configs" / f"{profile}.yaml")
    sys.path.insert(0, str(root))
    modules = [importlib.import_module(name) for layer in data["stack"].values() for name in layer]
    return modules, data.get("config") or {}, data.get("inputs") or {}


def build(root: Path, profile: str) -> tuple[Any, dict[str, Any]]:
    """Build the Hamilton driver for a generated or example profile (no semdag involved)."""
    modules, config, inputs = _stack(root, profile)
    from hamilton import driver

    builder = driver.Builder().with_modules(*modules).with_config(config)
    dr = builder.allow_module_overrides().build()
    return dr, inputs


def main(argv: list[str]) -> int:
    mode, root, profile = argv[0], Path(argv[1]), argv[2]
    dr, inputs = build(root, profile)
    if mode == "export":
        final = [n.name for n in dr.list_available_variables() if not n.is_external_input]
        sys.stdout.write(dr.export_execution(final, inputs=inputs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
