"""Least-privilege policies of the live-chat functions (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Which function may do what: table access, secrets, pushing frames to WebSocket connections.
NEEDS: dict[str, dict[str, Any]] = {
    # GetItem: the escalation's stored idempotency key (handlers/fulfillment.py _attempt_key).
    "fulfillment": {"table": ["dynamodb:GetItem", "dynamodb:PutItem"], "secrets": True, "manage_connections": False},
    "authorizer": {"table": ["dynamodb:GetItem"], "secrets": False, "manage_connections": False},
    # The websocket function also runs the flush `$connect` starts (it invokes itself, asynchronously) and the
    # keep-alive sweep (it scans the table and its connection index).
    "websocket": {"table": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan"],
                  "secrets": True, "manage_connections": True, "invoke_self": True},
    "callback": {"table": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "secrets": False,
                 "manage_connections": True},
}


@dataclass(frozen=True)
class ChatArns:
    """What a live-chat function's policy names."""

    log_group: str
    table: str
    secrets: list[str]
    key: str
    connections: str | None
    function: str | None = None
    #: The on-failure destination of the function's asynchronous invocations.
    failures: str | None = None


def function_policy(role: str, arns: ChatArns) -> str:
    needs = NEEDS[role]
    log_group_arn, table_arn, secret_arns, key_arn = arns.log_group, arns.table, arns.secrets, arns.key
    connections_arn, function_arn, failures_arn = arns.connections, arns.function, arns.failures
    statements: list[dict[str, Any]] = [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
        {"Sid": "Table", "Effect": "Allow", "Action": needs["table"],
         "Resource": [table_arn, f"{table_arn}/index/*"] if {"dynamodb:Query", "dynamodb:Scan"} & set(needs["table"])
         else table_arn},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
         "Resource": "*"},
    ]
    if needs["secrets"]:
        statements.append({"Sid": "Secrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                           "Resource": sorted(secret_arns)})
    if needs["manage_connections"] and connections_arn:
        statements.append({"Sid": "PushToCustomers", "Effect": "Allow", "Action": ["execute-api:ManageConnections"],
                           "Resource": connections_arn})
    if needs.get("invoke_self") and function_arn:
        statements.append({"Sid": "InvokeSelf", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                           "Resource": function_arn})
    if needs.get("invoke_self") and failures_arn:
        # Lambda sends a failed asynchronous event (flush, sweep) to the on-failure destination as the function's role.
        statements.append({"Sid": "AsyncFailures", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": failures_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
