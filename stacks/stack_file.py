"""Reading a stack file (`stacks/Pulumi.<stack>.yaml`) the way the Pulumi engine hands it to the program.

Both engines use it: the offline engine builds the config map from it, and `stacks.config.load()`
reads the running stack's file for what the engine does not pass on: *which paths* hold `secure:`
values (the engine only says that a whole top-level key is secret).

Refused here, before any validation: a file that is not UTF-8, YAML that does not parse, and a key
written twice in one mapping (YAML loaders keep the last one silently; we name both lines).
PyYAML reads YAML 1.1, where a bare `off`, `no`, `on` or `yes` is a boolean: such scalars are
remembered by path so that a type error on one of them can say so.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Namespaces a stack file may use besides the project's own (the providers this program configures).
PROVIDER_NAMESPACES = ("aws", "aws-native", "kubernetes", "pulumi")
_BOOL_TAG = "tag:yaml.org,2002:bool"
_YAML11_WORDS = {"yes", "no", "on", "off"}

Loc = tuple[Any, ...]


class StackFileError(Exception):
    """The file cannot be read as a stack file; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class StackFile:
    path: Path
    #: Full key (`ml-platform:network`, `aws:region`) -> the string the engine passes (JSON for objects).
    values: dict[str, str]
    #: Top-level keys holding a `secure:` value anywhere inside.
    secret_keys: list[str]
    #: Key paths (as `stacks.errors.key_path` locs) of every `secure:` value.
    secret_paths: frozenset[Loc]
    #: Key paths of scalars YAML 1.1 turned into booleans, with the text written (`off`, `no`, ...).
    yaml11_booleans: dict[Loc, str] = field(default_factory=dict)
    #: Stand-ins for `secure:` values (the offline engine cannot decrypt them); never printed.
    placeholders: list[str] = field(default_factory=list)


def placeholder(ciphertext: str) -> str:
    return "offline-secret-" + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


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


def _yaml11_booleans(node: yaml.Node, loc: Loc, out: dict[Loc, str]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                _yaml11_booleans(value, (*loc, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml11_booleans(item, (*loc, i), out)
    elif isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG and node.value.lower() in _YAML11_WORDS:
        out[loc] = node.value


def load_yaml(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document, refusing duplicate keys; returns (data, node)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        problems: list[str] = []
        if node is not None:
            _duplicates(node, where, problems)
        if problems:
            raise StackFileError(problems)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise StackFileError([f"{where}{at}: not valid YAML: {reason}"]) from None
    finally:
        loader.dispose()
    return data, node


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte-order mark is accepted), CRLF or LF line ends."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StackFileError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StackFileError([f"{path}:{line}: expected UTF-8 text; found byte 0x{raw[exc.start]:02x} "
                              f"(save the file as UTF-8)"]) from None


def _loc(full_key: str, project: str) -> Loc:
    namespace, _, key = full_key.partition(":")
    return (key,) if namespace == project else (full_key,)


def read(path: Path, project: str) -> StackFile:
    """Read `path` as the stack file of `project`; raises `StackFileError`."""
    data, node = load_yaml(read_text(path), str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("config", {}) or {}, dict):
        raise StackFileError([f"{path}: expected a mapping with a `config:` mapping"])
    config_node = next((v for k, v in node.value if k.value == "config"), None) if node is not None else None

    values: dict[str, str] = {}
    secret_keys: list[str] = []
    secret_paths: set[Loc] = set()
    placeholders: list[str] = []
    booleans: dict[Loc, str] = {}

    def decode(value: Any, loc: Loc) -> Any:
        if isinstance(value, dict) and set(value) == {"secure"}:
            ph = placeholder(str(value["secure"]))
            placeholders.append(ph)
            secret_paths.add(loc)
            return ph
        if isinstance(value, dict):
            return {k: decode(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v, (*loc, i)) for i, v in enumerate(value)]
        return value

    for raw_key, raw in (data.get("config") or {}).items():
        full_key = str(raw_key) if ":" in str(raw_key) else f"{project}:{raw_key}"
        loc = _loc(full_key, project)
        before = len(secret_paths)
        value = decode(raw, loc)
        if len(secret_paths) > before:
            secret_keys.append(full_key)
        if isinstance(value, dict | list):
            values[full_key] = json.dumps(value)
        elif isinstance(value, bool):
            values[full_key] = "true" if value else "false"
        else:
            values[full_key] = "" if value is None else str(value)
    if isinstance(config_node, yaml.MappingNode):
        for key_node, value_node in config_node.value:
            key = str(key_node.value)
            full_key = key if ":" in key else f"{project}:{key}"
            _yaml11_booleans(value_node, _loc(full_key, project), booleans)
    return StackFile(path, values, secret_keys, frozenset(secret_paths), booleans, placeholders)


def load_json(text: str, where: str) -> Any:
    """Parse JSON, refusing a key written twice in one object (naming both lines)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(rf'"{re.escape(key)}"\s*:', text)]
                at = f"lines {lines[0]} and {lines[1]}" if len(lines) >= 2 else "twice"
                raise StackFileError([f"{where}: key {key!r} is written twice in one object ({at}); JSON readers "
                                      "would silently keep only the last one"])
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise StackFileError([f"{where}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
