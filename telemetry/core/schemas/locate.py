"""Where a field is declared in an `.avsc` file: the line of its `"name"`.

CI annotations point at the line of the broken field. `json` keeps no
positions, so the file is read here once more by a small parser that keeps the
line of every key, and the field path (`lap.sectors[].time_ms`) is followed
through records, arrays, maps, unions and references to named types declared
elsewhere in the file. A path that leaves the file (a field the file does not
declare) stops at the deepest step it found, or the record's own name.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typeshed declares scanstring in _json only; json.decoder re-exports it
    from _json import scanstring
else:
    from json.decoder import scanstring

from telemetry.core.schemas.describe import parse_path
from telemetry.core.schemas.explain import ITEMS, VALUES

__all__ = ["declaration_line"]

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


@dataclass
class _Node:
    """A JSON value with the line it starts on; objects also keep each key's line."""

    value: Any
    line: int
    key_lines: dict[str, int] = field(default_factory=dict)


def declaration_line(text: str, path: str) -> int:
    """The line declaring the field at `path` in the schema `text` (1 if none is found)."""
    try:
        root = _Parser(text).document()
    except (ValueError, IndexError):
        return 1
    named = _named_types(root, None, {})
    node, line = root, _name_line(root) or 1
    for step in parse_path(path):
        found = _step(node, step, named)
        if found is None:
            break
        node, step_line = found
        line = step_line or line
    return line


def _step(node: _Node, step: str, named: dict[str, _Node]) -> tuple[_Node, int | None] | None:
    """Follow one path step from the type `node`: a field name, `[]` or `{}`."""
    for candidate in _branches(node, named, set()):
        if not isinstance(candidate.value, dict):
            continue
        kind = _scalar(candidate.value.get("type"))
        if step == ITEMS and kind == "array" and "items" in candidate.value:
            return candidate.value["items"], None
        if step == VALUES and kind == "map" and "values" in candidate.value:
            return candidate.value["values"], None
        fields = candidate.value.get("fields")
        if kind == "record" and fields is not None and isinstance(fields.value, list):
            items: list[_Node] = fields.value
            for item in items:
                if isinstance(item.value, dict) and _scalar(item.value.get("name")) == step:
                    return item.value.get("type", item), item.key_lines.get("name", item.line)
    return None


def _branches(node: _Node, named: dict[str, _Node], seen: set[str]) -> list[_Node]:
    """The type definitions `node` may stand for: itself, its union branches, its referent."""
    if isinstance(node.value, list):
        return [b for branch in node.value for b in _branches(branch, named, seen)]
    if isinstance(node.value, str):
        name = node.value
        if name in _PRIMITIVES or name in seen:
            return []
        target = named.get(name) or named.get(name.rsplit(".", 1)[-1])
        return _branches(target, named, seen | {name}) if target else []
    if isinstance(node.value, dict):
        inner = node.value.get("type")
        if inner is not None and not isinstance(inner.value, str):
            return _branches(inner, named, seen)  # {"type": {...}} wraps a type
        return [node]
    return []


def _named_types(node: _Node, namespace: str | None, named: dict[str, _Node]) -> dict[str, _Node]:
    """Every named type declared in the document, by full and by short name."""
    if isinstance(node.value, list):
        for item in node.value:
            _named_types(item, namespace, named)
    elif isinstance(node.value, dict):
        kind = _scalar(node.value.get("type"))
        name = _scalar(node.value.get("name"))
        if kind in ("record", "enum", "fixed", "error") and isinstance(name, str):
            namespace = _scalar(node.value.get("namespace")) or namespace
            full = name if "." in name else f"{namespace}.{name}" if namespace else name
            named.setdefault(full, node)
            named.setdefault(full.rsplit(".", 1)[-1], node)
            namespace = full.rsplit(".", 1)[0] if "." in full else namespace
        for key in ("type", "items", "values", "fields"):
            child = node.value.get(key)
            if child is not None:
                _named_types(child, namespace, named)
    return named


def _name_line(node: _Node) -> int | None:
    return node.key_lines.get("name") if isinstance(node.value, dict) else None


def _scalar(node: _Node | None) -> Any:
    return node.value if node is not None and not isinstance(node.value, dict | list) else None


class _Parser:
    """Just enough JSON to keep line numbers; the text was already validated."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]

    def document(self) -> _Node:
        node = self.value()
        self.skip()
        if self.pos != len(self.text):
            raise ValueError("trailing text")
        return node

    def line(self) -> int:
        return bisect.bisect_left(self.newlines, self.pos) + 1

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def value(self) -> _Node:
        self.skip()
        line, char = self.line(), self.text[self.pos]
        if char == "{":
            return self.object(line)
        if char == "[":
            self.pos += 1
            items: list[_Node] = []
            while not self.next_is("]"):
                items.append(self.value())
                self.next_is(",")
            return _Node(items, line)
        if char == '"':
            return _Node(self.string(), line)
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return _Node(literal, line)
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise ValueError(f"unexpected {char!r} at line {line}")
        self.pos = match.end()
        return _Node(json.loads(match.group()), line)

    def object(self, line: int) -> _Node:
        self.pos += 1
        node = _Node({}, line)
        while not self.next_is("}"):
            self.skip()
            key_line, key = self.line(), self.string()
            if not self.next_is(":"):
                raise ValueError(f"expected ':' at line {key_line}")
            node.value[key] = self.value()
            node.key_lines[key] = key_line
            self.next_is(",")
        return node

    def string(self) -> str:
        if self.text[self.pos] != '"':
            raise ValueError(f"expected a string at line {self.line()}")
        text, self.pos = scanstring(self.text, self.pos + 1)
        return text

    def next_is(self, char: str) -> bool:
        self.skip()
        if self.text[self.pos] == char:
            self.pos += 1
            return True
        return False
