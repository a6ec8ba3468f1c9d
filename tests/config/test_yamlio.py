"""Profiles parse the same with libyaml's parser and with PyYAML's pure one: the same values,
the same line for every key, and the same message for a document that does not parse."""

from __future__ import annotations

import pytest
import yaml

from semdag.config import yamlio
from semdag.core.errors import ConfigError

DOCUMENTS = [
    "stack:\n  core:\n    - pkg.a\n    - pkg.b\nconfig:\n  mode: fast\n",
    "base: &b\n  x: 1\n  y: [1, 2.5, null]\nother:\n  <<: *b\n  z: 2024-02-01\n",
    "\ufeffinputs:\n  when: 2024-01-01T10:00:00\n  flag: yes\n  text: 'a: b'\n",
    "- 1\n- two\n",
    "",
    "# only a comment\n",
    "a:\n  b:\n    c:\n      - {d: 1, e: [x, y]}\n",
]

BROKEN = [
    "a: \x07b\n",
    "a:\n\t- 1\n",
    "a: [1,\n",
    "a: 1\na: 2\n",
    "a: !!python/object:os.system x\n",
    "- 1\n",
]


def parsed(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> yamlio.YamlDocument:
    monkeypatch.setattr(yamlio, "_FAST_LOADER", yamlio._FAST_LOADER if fast else None)
    return yamlio.parse_yaml(text, "configs/dev.yaml", allow_list=text.startswith("- 1\n- two"))


def failure(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int | None]:
    with pytest.raises(ConfigError) as info:
        parsed(text, fast, monkeypatch)
    return info.value.message, info.value.line


def test_this_pyyaml_has_the_fast_parser() -> None:
    assert yaml.__with_libyaml__ and yamlio._FAST_LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("text", DOCUMENTS)
def test_both_parsers_give_the_same_values_and_lines(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = parsed(text, True, monkeypatch)
    pure = parsed(text, False, monkeypatch)
    assert fast.data == pure.data
    assert fast.lines == pure.lines
    assert text.strip().startswith("#") or not text or fast.lines


@pytest.mark.parametrize("text", BROKEN)
def test_a_document_that_does_not_parse_is_said_as_the_pure_parser_says_it(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert failure(text, True, monkeypatch) == failure(text, False, monkeypatch)
