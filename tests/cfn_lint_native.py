"""aws-native resources of a plan as a CloudFormation template, linted by cfn-lint.

aws-native resources are CloudFormation resources driven through Cloud Control: `aws-native:lex:Bot`
is `AWS::Lex::Bot` with the property names camelCased. cfn-lint ships the CloudFormation resource
schemas per region; the plan's inputs are converted back (names matched case-insensitively through
each schema, `$ref`s followed) and the template is linted: unknown properties, wrong types, enum
values, patterns, lengths and required properties are judged by a tool nobody here wrote.

Values a plan cannot know (`[unknown]`, `[secret]`) are left out: they cannot be judged offline.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cfnlint.api import ManualArgs, lint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

OPAQUE = ("[unknown]", "[secret]")


def cfn_type(native_type: str, region: str) -> str:
    """`aws-native:lex:BotAlias` -> `AWS::Lex::BotAlias` (spelled as the region's schemas spell it)."""
    _, module, typ = native_type.split(":")
    wanted = f"aws::{module}::{typ}".lower()
    found = [t for t in PROVIDER_SCHEMA_MANAGER.get_resource_types(region) if t.lower() == wanted]
    if not found:
        raise LookupError(f"{native_type}: no CloudFormation resource type {wanted} in {region}")
    return found[0]


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def to_cfn(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    """Inputs (camelCase) to CloudFormation properties, following the schema."""
    node = _resolve(node, root)
    if isinstance(value, dict):
        props = node.get("properties", {})
        names = {k.lower(): k for k in props}
        out = {}
        for key, item in value.items():
            if item in OPAQUE:
                continue
            name = names.get(key.lower(), key[:1].upper() + key[1:])
            out[name] = to_cfn(item, props.get(name, {}), root)
        return out
    if isinstance(value, list):
        return [to_cfn(item, node.get("items", {}), root) for item in value if item not in OPAQUE]
    return value


def template(plan: dict[str, Any], region: str) -> dict[str, Any]:
    resources = {}
    for r in plan["resources"]:
        if not r["type"].startswith("aws-native:") or r["type"].startswith("aws-native:index"):
            continue
        typ = cfn_type(r["type"], region)
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, typ).schema
        logical = re.sub(r"[^A-Za-z0-9]", "", r["name"].title())
        resources[logical] = {"Type": typ, "Properties": to_cfn(r["inputs"], schema, schema)}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def problems(plan: dict[str, Any], region: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """cfn-lint's errors and warnings on the plan's aws-native resources (`ignore`: rule ids)."""
    body = template(plan, region)
    if not body["Resources"]:
        return []
    matches = lint(json.dumps(body), config=ManualArgs(regions=[region], ignore_checks=list(ignore)))
    return [f"{m.rule.id} {'/'.join(str(p) for p in m.path)}: {m.message}" for m in matches]
