"""Safe YAML reading that remembers the line of every key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from semdag.errors import ConfigError

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML mapping and the 1-based line of each key path in it."""

    data: Any
    lines: dict[KeyPath, int]


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _walk(value_node, path, lines, file)
                continue
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(
                    f"duplicate key {'.'.join((*path, key))}",
                    file=file,
                    line=key_node.start_mark.line + 1,
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, str(index))] = item.start_mark.line + 1
            _walk(item, (*path, str(index)), lines, file)


def parse_yaml(text: str, file: str, *, allow_list: bool = False) -> YamlDocument:
    """Parse ``text`` with the safe loader; the top level must be a mapping (or empty),
    or also a list when ``allow_list``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _walk(node, (), lines, file)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"invalid YAML: {problem}", file=file, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nesting too deep", file=file) from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict) and not (allow_list and isinstance(data, list)):
        raise ConfigError(
            f"the top level must be a mapping, not {type(data).__name__}", file=file, line=1
        )
    return YamlDocument(data=data, lines=lines)


def read_yaml(path: Path, display: str) -> YamlDocument:
    """Read and parse a YAML file; ``display`` is the name used in messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=display) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", file=display) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=display) from None
    return parse_yaml(text, display)


def parse_scalar(text: str) -> Any:
    """Parse a command-line value as a YAML scalar or flow collection (never code)."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text
