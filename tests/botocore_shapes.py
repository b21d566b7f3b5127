"""Validate generated API parameters against botocore's service models (required, types, enums)."""

from __future__ import annotations

import re
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


def _pattern_errors(shape, value: Any, path: str) -> list[str]:
    """String values that do not match their shape's `pattern` (the service checks it; botocore does not)."""
    if shape.type_name == "structure" and isinstance(value, dict):
        return [e for k, v in value.items() if k in shape.members
                for e in _pattern_errors(shape.members[k], v, f"{path}.{k}")]
    if shape.type_name == "list" and isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _pattern_errors(shape.member, v, f"{path}[{i}]")]
    pattern = shape.metadata.get("pattern") if shape.type_name == "string" else None
    if pattern and isinstance(value, str) and not re.fullmatch(pattern, value):
        return [f"{path}: {value!r} does not match {shape.name}'s pattern {pattern}"]
    return []


def validate(service: str, operation: str, params: dict[str, Any], *, patterns: bool = False) -> list[str]:
    """Every problem botocore (plus an enum check, which botocore skips) finds in `params`; with `patterns`, also
    every string that does not match its shape's pattern (Python's `re` reads the service models' patterns)."""
    op = _SESSION.get_service_model(service).operation_model(operation)
    report = ParamValidator().validate(params, op.input_shape)
    errors = [line for line in report.generate_report().splitlines() if line.strip()] if report.has_errors() else []
    errors += _pattern_errors(op.input_shape, params, operation) if patterns else []
    return errors + _enum_errors(op.input_shape, params, operation)


def enum_values(service: str, shape: str) -> list[str]:
    return list(_SESSION.get_service_model(service).shape_for(shape).enum)
