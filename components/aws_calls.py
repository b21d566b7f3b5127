"""Which AWS APIs a function's code calls, read from the code itself, so the network judge knows what must be reachable.

A handler module and the sibling modules it imports (`from .common import ...`) are scanned for the boto3 clients and
resources they create (`boto3.client("dynamodb")`, `boto3.resource("dynamodb")`): a literal service name is the only
way this code base makes them. What code cannot show (a SigV4 HTTP call to an OpenSearch Serverless collection, a
model container pulling its image) is declared by the component next to it. The names are VPC endpoint service names
(`com.amazonaws.<region>.<name>`, VPC PrivateLink "AWS services that integrate with AWS PrivateLink").
"""

from __future__ import annotations

import ast
from pathlib import Path

#: boto3 service name -> the endpoint service name its API answers on.
ENDPOINT_SERVICES = {
    "s3": "s3", "dynamodb": "dynamodb", "lambda": "lambda", "sagemaker-runtime": "sagemaker.runtime",
    "sagemaker": "sagemaker.api", "secretsmanager": "secretsmanager", "bedrock-runtime": "bedrock-runtime",
    "sts": "sts", "kms": "kms", "sqs": "sqs", "sns": "sns", "ses": "email", "logs": "logs",
    "apigatewaymanagementapi": "execute-api", "events": "events", "scheduler": "scheduler",
}
#: The tag that carries a function's calls to the policy pack (space-separated endpoint service names).
CALLS_TAG = "mlplat:aws-calls"


def _boto3_services(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("client",
                                                                                                          "resource")
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "boto3" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def _siblings(tree: ast.Module) -> set[str]:
    """Modules it may import from its own folder: relatively (`from .common import x`, `from . import aoss`) or by
    bare name, as Lambda handlers run from the bundle's root (`from common import x`); the caller keeps the ones
    that are files there."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level <= 1 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
    return names


def handler_calls(handlers: Path, module: str, *, declared: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Endpoint service names the handler `module` (in the `handlers` folder) and its sibling modules call."""
    seen: set[str] = set()
    services: set[str] = set(declared)
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or not (handlers / f"{name}.py").is_file():
            continue
        seen.add(name)
        tree = ast.parse((handlers / f"{name}.py").read_text(encoding="utf-8"))
        for service in _boto3_services(tree):
            if service not in ENDPOINT_SERVICES:
                raise ValueError(f"{handlers / name}.py creates a boto3 {service!r} client: add its endpoint service "
                                 "to components/aws_calls.py ENDPOINT_SERVICES")
            services.add(ENDPOINT_SERVICES[service])
        todo += sorted(_siblings(tree))
    return tuple(sorted(services))
