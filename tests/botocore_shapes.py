"""Validate generated API parameters against botocore's service models (required, types, enums)."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.validate import ParamValidator

_SESSION = botocore.session.get_session()


def _enum_errors(shape, value: Any, path: str) -> list[str]:
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                errors += _enum_errors(shape.members[k], v, f"{path}.{k}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            errors += _enum_errors(shape.member, v, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            errors += _enum_errors(shape.value, v, f"{path}.{k}")
    elif getattr(shape, "enum", None) and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {shape.name}'s {len(shape.enum)} values")
    return errors


def validate(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every problem botocore (plus an enum check, which botocore skips) finds in `params`."""
    op = _SESSION.get_service_model(service).operation_model(operation)
    report = ParamValidator().validate(params, op.input_shape)
    errors = [line for line in report.generate_report().splitlines() if line.strip()] if report.has_errors() else []
    return errors + _enum_errors(op.input_shape, params, operation)


def enum_values(service: str, shape: str) -> list[str]:
    return list(_SESSION.get_service_model(service).shape_for(shape).enum)
