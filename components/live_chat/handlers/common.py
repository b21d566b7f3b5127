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
#: AWAY: the customer's connection closed without the customer ending the chat (API Gateway's 10-minute idle
#: timeout or 2-hour ceiling, a network drop, a closed tab): the Talkdesk conversation stays open, agent frames
#: stay queued, and a reconnect resumes it; the keep-alive sweep ends it after RESUME_WINDOW_SECONDS.
STARTED, CONNECTED, AWAY, ENDED = "STARTED", "CONNECTED", "AWAY", "ENDED"
#: A GoneException this soon after `$connect` means "not established yet", not "gone": API Gateway completes
#: the connection only after the `$connect` integration returns.
CONNECT_GRACE_SECONDS = 10
RESUME_WINDOW_SECONDS = 15 * 60
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


_TABLES: dict[str, Any] = {}


def table():
    """The mapping table, created once per execution environment (a boto3 resource costs ~10 ms to build)."""
    name = env("CONVERSATIONS_TABLE")
    if name not in _TABLES:
        _TABLES[name] = boto3.resource("dynamodb").Table(name)
    return _TABLES[name]


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


# -- Delivery of agent messages to the customer ------------------------------------------------------
#: How long one invocation may hold a conversation's delivery lease (longer than a function's timeout).
LEASE_SECONDS = 30
MAX_DELIVERY_ROUNDS = 5


def _acquire(conversation_id: str, token: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        table().update_item(
            Key={"conversation_id": conversation_id},
            UpdateExpression="SET flush_owner = :t, flush_expires = :e",
            ConditionExpression="attribute_exists(conversation_id) AND "
                                "(attribute_not_exists(flush_owner) OR flush_expires < :now)",
            ExpressionAttributeValues={":t": token, ":e": now() + LEASE_SECONDS, ":now": now()})
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def _release(conversation_id: str, token: str) -> None:
    from botocore.exceptions import ClientError

    try:
        table().update_item(Key={"conversation_id": conversation_id},
                            UpdateExpression="REMOVE flush_owner, flush_expires",
                            ConditionExpression="flush_owner = :t", ExpressionAttributeValues={":t": token})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def end_conversation(conversation_id: str) -> None:
    table().update_item(Key={"conversation_id": conversation_id},
                        UpdateExpression="SET #s = :ended, expires_at = :e REMOVE connection_id, pending",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":ended": ENDED, ":e": now() + MAPPING_TTL_SECONDS})


def mark_away(conversation_id: str, connection_id: str) -> bool:
    """The customer's connection `connection_id` is gone but the conversation is not over (see AWAY).

    Conditional on the connection still being the conversation's: a reconnect may already have replaced it.
    """
    from botocore.exceptions import ClientError

    try:
        table().update_item(Key={"conversation_id": conversation_id},
                            UpdateExpression="SET #s = :away, away_since = :now REMOVE connection_id",
                            ConditionExpression="connection_id = :c AND #s = :connected",
                            ExpressionAttributeNames={"#s": "status"},
                            ExpressionAttributeValues={":away": AWAY, ":now": now(), ":c": connection_id,
                                                       ":connected": CONNECTED})
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False


def deliver_pending(conversation_id: str, connection_id: str, client: Any) -> str:
    """Push the conversation's queued agent frames to the customer, in order, each exactly once.

    A frame leaves the queue only after API Gateway accepted it. One invocation delivers at a time (a
    lease on the item); the holder re-reads the queue after releasing it, so a frame queued meanwhile is
    delivered by this round or the next event at the latest. Returns "delivered" (queue empty), "busy"
    (another invocation is delivering), "failed" (a push failed: the rest stays queued), "not_ready"
    (GoneException within CONNECT_GRACE_SECONDS of `$connect`: the connection is still being established;
    everything stays queued) or "away" (the connection is gone: the conversation waits for a reconnect with
    its queue, see AWAY).
    """
    import uuid

    from botocore.exceptions import ClientError

    token = str(uuid.uuid4())
    for _ in range(MAX_DELIVERY_ROUNDS):
        if not _acquire(conversation_id, token):
            return "busy"
        try:
            item = table().get_item(Key={"conversation_id": conversation_id}, ConsistentRead=True).get("Item") or {}
            pending = list(item.get("pending") or [])
            if not pending:
                return "delivered"
            if item.get("connection_id") != connection_id:
                return "away"  # the customer reconnected (or left) since the caller read the item
            for record in pending:
                try:
                    client.post_to_connection(ConnectionId=connection_id, Data=frame(
                        record.get("event_type", "message_created"), record.get("content", ""),
                        record.get("author_name", "")))
                except ClientError as exc:
                    if exc.response["Error"]["Code"] == "GoneException":
                        if now() - int(item.get("connected_at", 0)) < CONNECT_GRACE_SECONDS:
                            return "not_ready"
                        mark_away(conversation_id, connection_id)
                        return "away"
                    log("push_failed", 40, conversation_id=conversation_id, code=exc.response["Error"]["Code"])
                    return "failed"
                # Accepted by API Gateway: now, and only now, it leaves the queue (we hold the lease).
                table().update_item(Key={"conversation_id": conversation_id}, UpdateExpression="REMOVE pending[0]",
                                    ConditionExpression="flush_owner = :t", ExpressionAttributeValues={":t": token})
                if record.get("event_type") == "conversation_ended":
                    end_conversation(conversation_id)
                    return "delivered"
        finally:
            _release(conversation_id, token)
    return "delivered"
