"""Shared runtime helpers: structured logs without secrets or message bodies, config, the mapping table."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

import boto3

#: Fields never written to logs, whatever a caller passes.
_REDACTED = {"message", "content", "body", "token", "access_token", "client_secret", "authorization", "email"}

#: Conversations and their mappings expire after a day (DynamoDB TTL on `expires_at`).
MAPPING_TTL_SECONDS = 24 * 3600
STARTED, CONNECTED, ENDED = "STARTED", "CONNECTED", "ENDED"
CONNECTION_INDEX = "by-connection"


def log(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One JSON line on stdout (Lambda ships it to the function's log group)."""
    record = {"level": logging.getLevelName(level), "event": event,
              **{k: ("[redacted]" if k in _REDACTED else v) for k, v in fields.items()}}
    print(json.dumps(record, default=str), file=sys.stdout, flush=True)


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


_SECRETS: dict[str, dict[str, Any]] = {}


def secret_json(secret_id: str) -> dict[str, Any]:
    """A JSON secret, cached for the life of the execution environment."""
    if secret_id not in _SECRETS:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        _SECRETS[secret_id] = json.loads(value)
    return _SECRETS[secret_id]


def table():
    return boto3.resource("dynamodb").Table(env("CONVERSATIONS_TABLE"))


def now() -> int:
    return int(time.time())


def response(status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body if body is not None else {})}


def management_client(event: dict[str, Any] | None = None):
    """The API Gateway management API of the WebSocket stage (from WEBSOCKET_ENDPOINT or the event)."""
    endpoint = os.environ.get("WEBSOCKET_ENDPOINT")
    if not endpoint and event is not None:
        ctx = event["requestContext"]
        endpoint = f"https://{ctx['domainName']}/{ctx['stage']}"
    if not endpoint:
        raise RuntimeError("WEBSOCKET_ENDPOINT is not set and the event carries no WebSocket context")
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)


def frame(event_type: str, content: str = "", author_name: str = "") -> bytes:
    """A frame the Lex Web UI understands."""
    return json.dumps({"event_type": event_type, "content": content, "author_name": author_name}).encode()
