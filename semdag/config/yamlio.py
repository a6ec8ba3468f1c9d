"""Safe YAML reading that remembers the line of every key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from semdag.core.errors import ConfigError, show_key

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML mapping and the 1-based line of each key path in it."""

    data: Any
    lines: dict[KeyPath, int]


# Aliases let a few lines stand for an exponential tree ("billion laughs"); every consumer
# of the data walks it expanded, so more revisits than this is refused instead of hanging.
ALIAS_EXPANSION_LIMIT = 100_000


@dataclass
class _Walk:
    file: str
    lines: dict[KeyPath, int]
    visits: int = 0
    distinct: set[int] = field(default_factory=set)

    def visit(self, node: yaml.Node) -> None:
        self.visits += 1
        self.distinct.add(id(node))
        if self.visits - len(self.distinct) > ALIAS_EXPANSION_LIMIT:
            raise ConfigError(
                "invalid YAML: aliases expand to too many values "
                f"(more than {ALIAS_EXPANSION_LIMIT:,} repeated nodes)",
                file=self.file,
                line=node.start_mark.line + 1,
            )


def _walk(node: yaml.Node, path: KeyPath, walk: _Walk) -> None:
    walk.visit(node)
    lines, file = walk.lines, walk.file
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _walk(value_node, path, walk)
                continue
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(
                    f"duplicate key {'.'.join(map(show_key, (*path, key)))}",
                    file=file,
                    line=key_node.start_mark.line + 1,
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), walk)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, str(index))] = item.start_mark.line + 1
            _walk(item, (*path, str(index)), walk)


def parse_yaml(text: str, file: str, *, allow_list: bool = False) -> YamlDocument:
    """Parse ``text`` with the safe loader; the top level must be a mapping (or empty),
    or also a list when ``allow_list``."""
    fast = _parsed_fast(text, file)
    if fast is not None:
        data, lines = fast
    else:
        data, lines = _parsed(text, file)
    if data is None:
        data = {}
    if not isinstance(data, dict) and not (allow_list and isinstance(data, list)):
        raise ConfigError(
            f"the top level must be a mapping, not {type(data).__name__}", file=file, line=1
        )
    return YamlDocument(data=data, lines=lines)


# libyaml's parser, when PyYAML was built with it: the same nodes and values as the pure
# Python one, several times faster on a long profile.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _parsed_fast(text: str, file: str) -> tuple[Any, dict[KeyPath, int]] | None:
    """The document and its key lines by libyaml; None when it is not there or the text does
    not parse cleanly (the pure parser then says exactly what is wrong)."""
    if _FAST_LOADER is None:
        return None
    loader = None
    try:
        loader = _FAST_LOADER(text)
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _walk(node, (), _Walk(file, lines))
        return (loader.construct_document(node) if node is not None else None), lines
    except Exception:  # every failure is said by the pure parser
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _parsed(text: str, file: str) -> tuple[Any, dict[KeyPath, int]]:
    loader: yaml.SafeLoader | None = None
    try:
        # The reader rejects control characters as soon as it is made: inside the try.
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _walk(node, (), _Walk(file, lines))
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"invalid YAML: {problem}", file=file, line=mark.line + 1 if mark else None
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(
            f"invalid YAML: character #x{code:04x} is not allowed ({exc.reason})",
            file=file,
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"invalid YAML: {first}", file=file) from None
    except (ValueError, OverflowError) as exc:  # a well-formed scalar that is no value: 2024-02-30
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nesting too deep", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


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
