"""Strict readers for the files users write (stack files, pack configs, domain configs).

Refused with a line naming the file and the line: text that is not UTF-8, YAML or JSON that does not
parse, and a key written twice in one mapping (YAML and JSON loaders keep the last one silently).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml


class InvalidFileError(Exception):
    """The file cannot be read; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _duplicates(node: yaml.Node, where: str, problems: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    problems.append(f"{where}:{line}: key {key.value!r} is written twice in one mapping (lines "
                                    f"{seen[key.value]} and {line}); YAML would silently keep only the last one")
                else:
                    seen[key.value] = line
            _duplicates(value, where, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicates(item, where, problems)


def load_yaml(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document, refusing duplicate keys; returns (data, node)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        problems: list[str] = []
        if node is not None:
            _duplicates(node, where, problems)
        if problems:
            raise InvalidFileError(problems)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise InvalidFileError([f"{where}{at}: not valid YAML: {reason}"]) from None
    finally:
        loader.dispose()
    return data, node


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte-order mark is accepted), CRLF or LF line ends."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidFileError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidFileError([f"{path}:{line}: expected UTF-8 text; found byte 0x{raw[exc.start]:02x} "
                              f"(save the file as UTF-8)"]) from None


def load_json(text: str, where: str) -> Any:
    """Parse JSON, refusing a key written twice in one object (naming both lines)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(rf'"{re.escape(key)}"\s*:', text)]
                at = f"lines {lines[0]} and {lines[1]}" if len(lines) >= 2 else "twice"
                raise InvalidFileError([f"{where}: key {key!r} is written twice in one object ({at}); JSON readers "
                                      "would silently keep only the last one"])
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise InvalidFileError([f"{where}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
