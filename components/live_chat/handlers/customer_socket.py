"""WebSocket routes: `$connect` maps the conversation to the connection, `onMessage` forwards the
customer's message to Talkdesk, `$disconnect` removes the mapping and ends the conversation."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from common import (
    CONNECTED,
    CONNECTION_INDEX,
    ENDED,
    MAPPING_TTL_SECONDS,
    deliver_pending,
    frame,
    log,
    management_client,
    now,
    response,
    table,
)
from talkdesk import TalkdeskError, client_from_env

MAX_MESSAGE_CHARS = 4000


def _connect(event: dict[str, Any]) -> dict[str, Any]:
    ctx = event["requestContext"]
    conversation_id = (ctx.get("authorizer") or {}).get("conversationId")
    if not conversation_id:
        return response(403, {"error": "not authorized"})
    try:
        item = table().update_item(
            Key={"conversation_id": conversation_id},
            UpdateExpression="SET connection_id = :c, #s = :s, expires_at = :e",
            ConditionExpression="attribute_exists(conversation_id) AND #s <> :ended",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": ctx["connectionId"], ":s": CONNECTED, ":ended": ENDED,
                                       ":e": now() + MAPPING_TTL_SECONDS},
            ReturnValues="ALL_NEW",
        ).get("Attributes", {})
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return response(403, {"error": "unknown or ended conversation"})
        raise
    # Nothing is pushed here: API Gateway establishes the connection only after $connect returns, so a
    # post_to_connection now fails. Agent frames queued before the customer connected stay queued and are
    # delivered, in order, by the customer's first frame or the next agent message.
    log("connected", conversation_id=conversation_id, queued=len(item.get("pending") or []))
    return response(200)


def _owned_conversation(connection_id: str) -> dict[str, Any] | None:
    items = table().query(IndexName=CONNECTION_INDEX,
                          KeyConditionExpression="connection_id = :c",
                          ExpressionAttributeValues={":c": connection_id}).get("Items", [])
    return items[0] if items else None


def _message(event: dict[str, Any]) -> dict[str, Any]:
    connection_id = event["requestContext"]["connectionId"]
    try:
        body = json.loads(event.get("body") or "")
    except json.JSONDecodeError:
        return response(400, {"error": "body must be JSON"})
    message, claimed = body.get("message"), body.get("conversationId")
    if not isinstance(message, str) or not message.strip():
        return response(400, {"error": "message must be a non-empty string"})
    if len(message) > MAX_MESSAGE_CHARS:
        return response(413, {"error": f"message longer than {MAX_MESSAGE_CHARS} characters"})
    item = _owned_conversation(connection_id)
    # The connection decides the conversation: a frame naming someone else's conversation is refused.
    if item is None or item.get("status") != CONNECTED or (claimed and claimed != item["conversation_id"]):
        log("message_refused", connection_id=connection_id)
        return response(403, {"error": "this connection has no such conversation"})
    # The customer's frame is the first moment the connection surely exists: deliver what the agent said.
    if deliver_pending(item["conversation_id"], connection_id, management_client(event)) == "gone":
        return response(410, {"error": "connection gone"})
    try:
        client_from_env().send_message(item["conversation_id"], message)
    except TalkdeskError as exc:
        log("talkdesk_send_failed", 40, conversation_id=item["conversation_id"], status=exc.status)
        management_client(event).post_to_connection(
            ConnectionId=connection_id,
            Data=frame("message_created", "Your message could not be delivered; please send it again.", "System"))
        return response(502, {"error": "message not delivered"})
    log("message_forwarded", conversation_id=item["conversation_id"], chars=len(message))
    return response(200)


def _disconnect(event: dict[str, Any]) -> dict[str, Any]:
    item = _owned_conversation(event["requestContext"]["connectionId"])
    if item is None:
        return response(200)
    conversation_id = item["conversation_id"]
    table().update_item(Key={"conversation_id": conversation_id},
                        UpdateExpression="SET #s = :ended REMOVE connection_id",
                        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":ended": ENDED})
    if item.get("status") == CONNECTED:
        try:
            client_from_env().end_conversation(conversation_id)
        except TalkdeskError as exc:
            log("talkdesk_end_failed", 40, conversation_id=conversation_id, status=exc.status)
    log("disconnected", conversation_id=conversation_id)
    return response(200)


ROUTES = {"$connect": _connect, "onMessage": _message, "$disconnect": _disconnect}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    route = event["requestContext"]["routeKey"]
    if route not in ROUTES:
        return response(400, {"error": f"unknown route {route}"})
    return ROUTES[route](event)
