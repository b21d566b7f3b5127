"""Turning validation failures into one clear line per problem: key path, expectation, what was found."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

NAMESPACE = "ml-platform"


class ConfigError(Exception):
    """Invalid stack configuration: `problems` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


def key_path(loc: tuple[Any, ...]) -> str:
    """`("gpuCluster", "nodeGroups", 0, "name")` -> `ml-platform:gpuCluster.nodeGroups[0].name`."""
    if not loc:
        return f"{NAMESPACE}:"
    head, *rest = loc
    path = f"{NAMESPACE}:{head}" if ":" not in str(head) else str(head)
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The type annotation found by walking `loc` (aliases, list indexes, dict keys) from `model`."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
            )
            if field is None:
                return None
            current = field.annotation
        elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    return _unwrap(current)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    parent = annotation_at(model, loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return [f.alias or name for name, f in parent.model_fields.items()]
    return []


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def describe(model: type[BaseModel], exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[str]:
    """One line per pydantic error, with secrets masked and unknown keys explained."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        local = tuple(err["loc"])
        kind = err["type"]
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        secret = annotation_at(model, local) is SecretStr
        found = "[secret]" if secret else _found(err.get("input"))
        if kind == "missing":
            lines.append(f"{key_path(loc)}: required key is missing")
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(model, local)
            lines.append(f"{key_path(loc)}: unknown key; allowed keys here: {', '.join(allowed)}")
        else:
            lines.append(f"{key_path(loc)}: {msg}; found {found}")
    return lines
