"""Generates the configuration reference (docs/configuration.md) from the config models themselves,
so the documentation cannot drift from what is validated."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from stacks.environments import CONFIG_DEFAULTS, ENVIRONMENT_DEFAULTS, config_setting_names
from stacks.model import PlatformConfig

#: Keys whose default depends on the environment (the table at the end of the reference).
PER_ENVIRONMENT = {"ml-platform:" + ".".join(path) for path, _ in CONFIG_DEFAULTS}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if annotation is SecretStr:
        return "secret string"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        return "`{}`" if isinstance(value, BaseModel) else f"`{value!r}`"
    if field.default is None:
        return "environment default" if "default:" in (field.description or "") else "unset"
    if field.default is PydanticUndefined:
        return ""
    return f"`{field.default!r}`"


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return []
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def rows(model: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = key if ":" in key else f"{prefix}{key}"
        desc = (field.description or "").replace("|", "\\|")
        default = "per environment" if path in PER_ENVIRONMENT else _default(field)
        out.append(f"| `{path}` | {_type_name(field.annotation)} | {default} | {desc} |")
        for sub in _models(field.annotation):
            suffix = "[]." if typing.get_origin(_strip(field.annotation)) is list else "."
            out += rows(sub, f"{path}{suffix}")
    return out


def _strip(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def markdown() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from `stacks/config.py` by `mlplat config-reference`; do not edit by hand.",
        "Keys live under the `ml-platform:` namespace of a stack file (`stacks/Pulumi.<stack>.yaml`),",
        "except the providers' `aws:region`, `aws:profile`, `aws:assumeRoles` and `aws:allowedAccountIds`.",
        "Unknown keys are rejected.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
        *rows(PlatformConfig, "ml-platform:"),
        "",
        "## Environment defaults",
        "",
        "| setting | " + " | ".join(ENVIRONMENT_DEFAULTS) + " |",
        "|---|" + "---|" * len(ENVIRONMENT_DEFAULTS),
    ]
    for f in config_setting_names():
        lines.append(f"| {f} | " + " | ".join(f"`{getattr(d, f)}`" for d in ENVIRONMENT_DEFAULTS.values()) + " |")
    return "\n".join(lines) + "\n"
