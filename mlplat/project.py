"""Finding the project and turning a stack file into the config map the engine would pass."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class InputError(Exception):
    """Bad command-line input (missing stack file, unreadable YAML): exit code 2."""


@dataclass
class StackConfig:
    stack: str
    path: Path
    values: dict[str, str]
    secret_keys: list[str]
    #: Stand-ins for `secure:` values (the offline engine cannot decrypt them); never printed.
    placeholders: list[str] = field(default_factory=list)

    @property
    def region(self) -> str:
        return self.values.get("aws:region", "us-east-1")


@dataclass
class Project:
    root: Path
    name: str
    stack_config_dir: Path

    def stack_names(self) -> list[str]:
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


def find_project(start: Path | None = None) -> Project:
    """Walk up from `start` (default: the current directory) to the `Pulumi.yaml`, as the Pulumi CLI does."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "Pulumi.yaml"
        if candidate.is_file():
            data = yaml.safe_load(candidate.read_text()) or {}
            return Project(
                root=directory,
                name=str(data.get("name", directory.name)),
                stack_config_dir=directory / str(data.get("stackConfigDir", ".")),
            )
    raise InputError(f"no Pulumi.yaml found in {here} or any parent directory")


def _placeholder(ciphertext: str) -> str:
    return "offline-secret-" + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


def load_stack_config(project: Project, stack: str, config_file: Path | None = None) -> StackConfig:
    path = config_file or project.stack_file(stack)
    if not path.is_file():
        known = ", ".join(project.stack_names()) or "none"
        raise InputError(f"no stack file {path} (stacks available: {known})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise InputError(f"{path}: expected a mapping with a `config:` mapping")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    placeholders: list[str] = []

    def decode(v: Any) -> tuple[Any, bool]:
        if isinstance(v, dict) and set(v) == {"secure"}:
            ph = _placeholder(str(v["secure"]))
            placeholders.append(ph)
            return ph, True
        if isinstance(v, dict):
            items = {k: decode(x) for k, x in v.items()}
            return {k: x for k, (x, _) in items.items()}, any(s for _, s in items.values())
        if isinstance(v, list):
            items2 = [decode(x) for x in v]
            return [x for x, _ in items2], any(s for _, s in items2)
        return v, False

    for key, raw in (data.get("config") or {}).items():
        key = str(key)
        if ":" not in key:
            key = f"{project.name}:{key}"
        value, secret = decode(raw)
        if isinstance(value, dict | list):
            values[key] = json.dumps(value)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        else:
            values[key] = "" if value is None else str(value)
        if secret:
            secret_keys.append(key)
    return StackConfig(stack, path, values, secret_keys, placeholders)
