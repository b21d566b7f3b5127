"""Turning validation failures into one clear line per problem: key path, expectation, what was found."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from components.base import FieldProblems

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


def did_you_mean(word: str, choices: list[str]) -> str:
    """`; did you mean x?` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def found(value: Any) -> str:
    """What was found, short: a mapping or list is summarized, never dumped."""
    if isinstance(value, dict):
        keys = [str(k) for k in value][:6]
        more = ", ..." if len(value) > 6 else ""
        return f"a mapping with keys {', '.join(keys)}{more}" if keys else "an empty mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def _message(msg: str) -> str:
    """Pydantic's wording, turned into the "expected ..." form used by every other line."""
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    elif msg.startswith("String should "):
        msg = "expected a string that should " + msg[len("String should "):]
    elif msg.startswith("List should "):
        msg = "expected a list that should " + msg[len("List should "):]
    return msg


def _field_description(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    parent = annotation_at(model, loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        field = next((f for name, f in parent.model_fields.items() if loc[-1] in (name, f.alias)), None)
        return field.description if field is not None else None
    return None


def _plainer(model: type[BaseModel], loc: tuple[Any, ...], kind: str, msg: str, value: Any) -> str:
    """Pydantic's internals out of the message: no class names, no regular expressions, and a hint for a number
    YAML read where the key takes text."""
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        keys = _allowed_keys(model, (*loc, "_"))
        return "expected a mapping" + (f" of its keys ({', '.join(keys)})" if keys else "")
    if kind == "string_pattern_mismatch":
        description = _field_description(model, loc)
        return f"expected the form this key documents: {description.rstrip('.')}" if description else \
            "expected the form docs/configuration.md gives for this key"
    if kind in ("literal_error", "string_type") and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{msg} (quote it: YAML reads {value!r} as a number, not text)"
    return msg


def describe(model: type[BaseModel], exc: ValidationError, prefix: tuple[Any, ...] = (),
             yaml11_booleans: Mapping[tuple[Any, ...], str] | None = None) -> list[str]:
    """One line per problem: the key path, what was expected, what was found (once), secrets masked."""
    lines = []
    for err in exc.errors(include_url=False):
        local = tuple(err["loc"])
        loc = prefix + local
        kind = err["type"]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblems):
            lines += [f"{key_path(loc + tuple(field))}: {text}" for field, text in cause.problems]
            continue
        msg = _message(err["msg"])
        if kind == "missing":
            lines.append(f"{key_path(loc)}: required key is missing")
            continue
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, local)
            hint = did_you_mean(str(local[-1]), allowed)
            lines.append(f"{key_path(loc)}: unknown key{hint}; allowed keys here: {', '.join(allowed)}")
            continue
        value = err.get("input")
        msg = _plainer(model, local, kind, msg, value)
        what = "[secret]" if annotation_at(model, local) is SecretStr else found(value)
        line = f"{key_path(loc)}: {msg}" if "found" in msg else f"{key_path(loc)}: {msg}; found {what}"
        word = (yaml11_booleans or {}).get(loc)
        if word is not None and isinstance(value, bool):
            line += (f" (YAML 1.1 reads the bare word {word} as the boolean {found(value)}: write \"{word}\" "
                     "in quotes if you meant the text)")
        lines.append(line)
    return lines
