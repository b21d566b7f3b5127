"""Talkdesk → customer: the REST callback (API Gateway proxy integration, API key required).

Body: {"event_type": "message_created" | "conversation_ended", "conversation_id": str,
       "content": str (required for message_created), "author_name": str, "message_id": str (optional)}
Responses: 200 delivered, 202 queued until the customer connects, 400 invalid body, 404 unknown
conversation, 410 customer gone (mapping removed), 413 too large. A repeated `message_id` is
acknowledged without a second delivery.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from common import CONNECTED, ENDED, MAPPING_TTL_SECONDS, STARTED, frame, log, management_client, now, response, table

MAX_BODY_BYTES = 32 * 1024
MAX_PENDING = 50
EVENT_TYPES = ("message_created", "conversation_ended")


def _validate(raw: str | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if raw is None:
        return None, response(400, {"error": "missing body"})
    if len(raw.encode()) > MAX_BODY_BYTES:
        return None, response(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return None, response(400, {"error": "body must be JSON"})
    if not isinstance(body, dict):
        return None, response(400, {"error": "body must be a JSON object"})
    problems = []
    if body.get("event_type") not in EVENT_TYPES:
        problems.append(f"event_type must be one of {', '.join(EVENT_TYPES)}")
    if not isinstance(body.get("conversation_id"), str) or not body.get("conversation_id"):
        problems.append("conversation_id must be a non-empty string")
    if body.get("event_type") == "message_created" and (not isinstance(body.get("content"), str)
                                                         or not body["content"]):
        problems.append("content is required for message_created")
    for field in ("author_name", "message_id"):
        if field in body and not isinstance(body[field], str):
            problems.append(f"{field} must be a string")
    if problems:
        return None, response(400, {"error": "; ".join(problems)})
    return body, None


def _first_delivery(conversation_id: str, message_id: str | None) -> bool:
    """Record `message_id` once; False for a repeated delivery."""
    if not message_id:
        return True
    try:
        table().update_item(
            Key={"conversation_id": conversation_id}, UpdateExpression="ADD delivered :m",
            ConditionExpression="NOT contains(delivered, :id)",
            ExpressionAttributeValues={":m": {message_id}, ":id": message_id})
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    body, error = _validate(event.get("body"))
    if error is not None:
        return error
    assert body is not None
    conversation_id, kind = body["conversation_id"], body["event_type"]
    item = table().get_item(Key={"conversation_id": conversation_id}).get("Item")
    if item is None:
        return response(404, {"error": "unknown conversation"})
    status = item.get("status")
    if status == ENDED:
        # An ended conversation acknowledges a repeated "ended"; anything else can no longer be delivered.
        return response(200, {"result": "already ended"}) if kind == "conversation_ended" else \
            response(410, {"error": "customer gone"})
    if not _first_delivery(conversation_id, body.get("message_id")):
        return response(200, {"result": "duplicate ignored"})
    author, content = body.get("author_name", "Agent"), body.get("content", "")
    if status == STARTED and kind == "message_created":
        pending = list(item.get("pending") or [])
        if len(pending) >= MAX_PENDING:
            return response(429, {"error": "too many messages waiting for the customer"})
        table().update_item(Key={"conversation_id": conversation_id},
                            UpdateExpression="SET pending = list_append(if_not_exists(pending, :e), :p)",
                            ExpressionAttributeValues={":e": [], ":p": [{"content": content, "author_name": author}]})
        return response(202, {"result": "queued until the customer connects"})
    connection_id = item.get("connection_id")
    if status == CONNECTED and connection_id:
        try:
            management_client().post_to_connection(ConnectionId=connection_id, Data=frame(kind, content, author))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "GoneException":
                raise
            _end(conversation_id)
            log("customer_gone", conversation_id=conversation_id)
            return response(410, {"error": "customer gone"})
    if kind == "conversation_ended":
        _end(conversation_id)
    log("delivered", conversation_id=conversation_id, event_type=kind)
    return response(200, {"result": "delivered"})


def _end(conversation_id: str) -> None:
    table().update_item(Key={"conversation_id": conversation_id},
                        UpdateExpression="SET #s = :ended, expires_at = :e REMOVE connection_id, pending",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":ended": ENDED, ":e": now() + MAPPING_TTL_SECONDS})
