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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlruntime.files import InvalidFileError as StackFileError
from mlruntime.files import load_json, load_yaml, read_text
from stacks.errors import found

__all__ = ["StackFile", "StackFileError", "load_json", "load_yaml", "placeholder", "read", "read_text"]

#: Namespaces a stack file may use besides the project's own (the providers this program configures).
PROVIDER_NAMESPACES = ("aws", "aws-native", "kubernetes", "pulumi")
_BOOL_TAG = "tag:yaml.org,2002:bool"
_YAML11_WORDS = {"yes", "no", "on", "off"}

Loc = tuple[Any, ...]


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


    def holds(self, loc: Loc, project: str) -> bool:
        """Whether the file itself writes a value at `loc` (a value it lacks may come from a Pulumi ESC environment
        the file imports, which the engine merges into the config before the program runs)."""
        head = str(loc[0])
        raw = self.values.get(head if ":" in head else f"{project}:{head}")
        if raw is None:
            return False
        value: Any = json.loads(raw) if raw[:1] in "{[" else raw
        for part in loc[1:]:
            if (isinstance(value, dict) and part in value) or (
                    isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)):
                value = value[part]
            else:
                return False
        return True


def placeholder(ciphertext: str) -> str:
    return "offline-secret-" + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


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


def _loc(full_key: str, project: str) -> Loc:
    namespace, _, key = full_key.partition(":")
    return (key,) if namespace == project else (full_key,)


def read(path: Path, project: str) -> StackFile:
    """Read `path` as the stack file of `project`; raises `StackFileError`."""
    data, node = load_yaml(read_text(path), str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StackFileError([f"{path}: expected a mapping with a `config:` mapping"])
    if data.get("config") is not None and not isinstance(data["config"], dict):
        raise StackFileError([f"{path}: config: expected a mapping of key: value (such as `aws:region: us-east-1`); "
                              f"found {found(data['config'])}"])
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
