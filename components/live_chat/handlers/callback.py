"""Talkdesk → customer: the REST callback (API Gateway proxy integration, API key required).

Body: {"event_type": "message_created" | "conversation_ended", "conversation_id": str,
       "content": str (required for message_created), "author_name": str, "message_id": str (optional)}
Every frame goes through the conversation's queue (`pending`), which only a successful push empties
(common.deliver_pending). Responses: 200 delivered, 202 queued (the customer has not connected yet,
or the push failed and is retried on the next event of the conversation), 400 invalid body, 404
unknown conversation, 410 conversation ended (the customer closed the chat, or did not come back within the
resume window), 413 too large, 429 too many frames waiting. A customer whose connection dropped (idle timeout,
network) is "away": frames queue (202) until the customer reconnects.
A repeated `message_id` is never queued twice; its call still completes a delivery the first one left.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from common import CONNECTED, ENDED, deliver_pending, log, management_client, response, table

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


def _enqueue(conversation_id: str, record: dict[str, Any], message_id: str | None) -> bool:
    """Append the frame to the conversation's queue; False when `message_id` was queued before (a retry).

    The id is recorded with the frame, atomically: a retry after a failed push finds its frame still
    queued, and its delivery attempt completes what the first call started.
    """
    values: dict[str, Any] = {":e": [], ":p": [record], ":max": MAX_PENDING}
    update = "SET pending = list_append(if_not_exists(pending, :e), :p)"
    condition = "attribute_exists(conversation_id) AND (attribute_not_exists(pending) OR size(pending) < :max)"
    if message_id:
        update += " ADD queued_ids :m"
        condition += " AND NOT contains(queued_ids, :id)"
        values.update({":m": {message_id}, ":id": message_id})
    try:
        table().update_item(Key={"conversation_id": conversation_id}, UpdateExpression=update,
                            ConditionExpression=condition, ExpressionAttributeValues=values)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    return False


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    body, error = _validate(event.get("body"))
    if error is not None:
        return error
    assert body is not None
    conversation_id, kind = body["conversation_id"], body["event_type"]
    item = table().get_item(Key={"conversation_id": conversation_id}, ConsistentRead=True).get("Item")
    if item is None:
        return response(404, {"error": "unknown conversation"})
    status = item.get("status")
    if status == ENDED:
        # An ended conversation acknowledges a repeated "ended"; anything else can no longer be delivered.
        return response(200, {"result": "already ended"}) if kind == "conversation_ended" else \
            response(410, {"error": "customer gone"})
    message_id = body.get("message_id")
    record = {"event_type": kind, "content": body.get("content", ""), "author_name": body.get("author_name", "Agent")}
    if not _enqueue(conversation_id, record, message_id):
        if not (message_id and message_id in (item.get("queued_ids") or set())):
            return response(429, {"error": "too many messages waiting for the customer"})
        duplicate = True
    else:
        duplicate = False
    connection_id = item.get("connection_id")
    if status != CONNECTED or not connection_id:
        return response(202, {"result": "queued until the customer connects"})
    outcome = deliver_pending(conversation_id, connection_id, management_client())
    if outcome == "away":
        log("customer_away", conversation_id=conversation_id)
        return response(202, {"result": "queued until the customer reconnects"})
    if outcome != "delivered":
        # Still queued, never lost: delivered on the next event of this conversation at the latest.
        log("queued", conversation_id=conversation_id, outcome=outcome)
        return response(202, {"result": "queued: delivery is retried on the next event"})
    log("delivered", conversation_id=conversation_id, event_type=kind)
    return response(200, {"result": "duplicate ignored" if duplicate else "delivered"})
