"""The customer's WebSocket side, one function for four kinds of event:

- routes: `$connect` maps the conversation to the connection (a reconnect resumes it), `onMessage` forwards
  the customer's message to Talkdesk, `$disconnect` ends the conversation when the customer closed the chat
  and otherwise leaves it waiting for a reconnect (see common.AWAY);
- a flush (`{"flush": …}`), which `$connect` starts asynchronously: it delivers what the agent said before
  the customer connected, as soon as API Gateway has established the connection, so a silent customer
  still sees the greeting (the Lex Web UI sends nothing when its socket opens);
- the keep-alive sweep (an EventBridge schedule, every 5 minutes): to every open connection, what is queued for it
  (an agent message whose push failed with anything but Gone is delivered here at the latest: the callback answered
  202, so Talkdesk does not retry) or else a ping frame, so API Gateway's 10-minute idle timeout never closes a
  waiting customer's socket; then, independently, the end of conversations whose customer stayed away longer than
  the resume window. Connections are served concurrently and one failure never stops the others.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError
from common import (
    AWAY,
    CONNECTED,
    CONNECTION_INDEX,
    ENDED,
    MAPPING_TTL_SECONDS,
    RESUME_WINDOW_SECONDS,
    deliver_pending,
    end_conversation,
    frame,
    log,
    management_client,
    mark_away,
    now,
    response,
    table,
)
from talkdesk import TalkdeskError, client_from_env

MAX_MESSAGE_CHARS = 4000
NOT_DELIVERED = "Your message could not be delivered; please send it again."
MAYBE_DELIVERED = "Your message may not have reached the agent; if they do not answer it, please send it again."
#: Close codes that mean the customer ended the chat: 4000, which the Lex Web UI's "end chat" sends
#: (aws-lex-web-ui, talkdesk-live-chat-handlers.js: `close(4000, …)`), 1000 normal closure and 1005
#: (`close()` without a code).
#: 1001 "going away" is also what API Gateway sends at its idle timeout and 2-hour ceiling, and 1006 a
#: dropped network: those leave the conversation waiting for a reconnect.
CUSTOMER_CLOSED = {1000, 1005, 4000}
#: The flush's waits between attempts (seconds, scaled by FLUSH_BASE_S): about 6 s in all, inside
#: common.CONNECT_GRACE_SECONDS and the function's 10-second timeout.
FLUSH_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2)
PING = "ping"
SLEEP = time.sleep


def invoke_self(payload: dict[str, Any]) -> None:
    """Start this function again, asynchronously (Lambda `Invoke`, InvocationType Event), with `payload`."""
    boto3.client("lambda").invoke(FunctionName=os.environ["AWS_LAMBDA_FUNCTION_NAME"], InvocationType="Event",
                                  Payload=json.dumps(payload).encode())


def _connect(event: dict[str, Any]) -> dict[str, Any]:
    ctx = event["requestContext"]
    conversation_id = (ctx.get("authorizer") or {}).get("conversationId")
    if not conversation_id:
        return response(403, {"error": "not authorized"})
    try:
        item = table().update_item(
            Key={"conversation_id": conversation_id},
            UpdateExpression="SET connection_id = :c, #s = :s, expires_at = :e, connected_at = :now "
                             "REMOVE away_since",
            ConditionExpression="attribute_exists(conversation_id) AND #s <> :ended",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": ctx["connectionId"], ":s": CONNECTED, ":ended": ENDED,
                                       ":e": now() + MAPPING_TTL_SECONDS, ":now": now()},
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return response(403, {"error": "unknown or ended conversation"})
        raise
    # Nothing is pushed here: API Gateway establishes the connection only after $connect returns, so a
    # post_to_connection now fails. The flush, started now and running after this returns, delivers what is
    # queued as soon as the connection takes it (or the customer's first frame, or the next agent message).
    invoke_self({"flush": {"conversationId": conversation_id, "connectionId": ctx["connectionId"]}})
    log("connected", conversation_id=conversation_id, queued=len(item.get("pending") or []),
        resumed=item.get("status") == AWAY)
    return response(200)


def _flush(request: dict[str, Any]) -> dict[str, Any]:
    """Deliver the queue once the new connection takes pushes: retried while API Gateway says Gone in the
    grace window after `$connect` (common.deliver_pending's "not_ready")."""
    base = float(os.environ.get("FLUSH_BASE_S", "1"))
    outcome = "not_ready"
    for delay in FLUSH_DELAYS:
        SLEEP(delay * base)
        outcome = deliver_pending(request["conversationId"], request["connectionId"], management_client())
        if outcome != "not_ready":
            break
    log("flushed", conversation_id=request["conversationId"], outcome=outcome)
    return {"outcome": outcome}


#: Connections served at once by the sweep (each push is one HTTPS call of ~10-50 ms; the function has 60 s).
SWEEP_WORKERS = 16


def _keep_alive(item: dict[str, Any], client: Any) -> str:
    """One open conversation: deliver what is queued for it, else ping it. Returns what happened."""
    conversation_id, connection_id = item["conversation_id"], item["connection_id"]
    try:
        if item.get("pending"):
            outcome = deliver_pending(conversation_id, connection_id, client)
            return {"delivered": "delivered", "away": "away"}.get(outcome, "failed")
        client.post_to_connection(ConnectionId=connection_id, Data=frame(PING))
        return "pinged"
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "GoneException":
            return "away" if mark_away(conversation_id, connection_id) else "pinged"
        log("sweep_push_failed", 40, conversation_id=conversation_id, code=exc.response["Error"]["Code"])
        return "failed"
    except Exception as exc:  # noqa: BLE001 (one conversation's fault never stops the sweep)
        log("sweep_failed", 40, conversation_id=conversation_id, error=type(exc).__name__)
        return "failed"


def _sweep() -> dict[str, Any]:
    """Deliver or ping every open connection (concurrently), then end conversations whose customer did not come
    back; one failure never stops the rest."""
    from concurrent.futures import ThreadPoolExecutor

    client = management_client()
    # Only conversations with a connection are in the index.
    open_items = [i for i in _scan(IndexName=CONNECTION_INDEX) if i.get("status") == CONNECTED]
    counts = {"pinged": 0, "delivered": 0, "away": 0, "failed": 0, "ended": 0}
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS) as pool:
        for outcome in pool.map(lambda i: _keep_alive(i, client), open_items):
            counts[outcome] += 1
    deadline = now() - RESUME_WINDOW_SECONDS
    for item in _scan(FilterExpression="#s = :away AND away_since < :deadline",
                      ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues={":away": AWAY, ":deadline": deadline}):
        try:
            _end_talkdesk(item["conversation_id"])
            end_conversation(item["conversation_id"])
            counts["ended"] += 1
        except Exception as exc:  # noqa: BLE001
            log("sweep_end_failed", 40, conversation_id=item["conversation_id"], error=type(exc).__name__)
            counts["failed"] += 1
    log("swept", **counts)
    return counts


def _scan(**kwargs: Any):
    while True:
        page = table().scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _end_talkdesk(conversation_id: str) -> None:
    try:
        client_from_env().end_conversation(conversation_id)
    except TalkdeskError as exc:
        log("talkdesk_end_failed", 40, conversation_id=conversation_id, status=exc.status)


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
    if deliver_pending(item["conversation_id"], connection_id, management_client(event)) == "away":
        return response(410, {"error": "connection gone"})
    try:
        client_from_env().send_message(item["conversation_id"], message)
    except TalkdeskError as exc:
        log("talkdesk_send_failed", 40, conversation_id=item["conversation_id"], status=exc.status,
            maybe_delivered=exc.maybe_delivered)
        notice = (MAYBE_DELIVERED if exc.maybe_delivered else NOT_DELIVERED)
        management_client(event).post_to_connection(ConnectionId=connection_id,
                                                     Data=frame("message_created", notice, "System"))
        return response(502, {"error": "message not delivered"})
    log("message_forwarded", conversation_id=item["conversation_id"], chars=len(message))
    return response(200)


def _disconnect(event: dict[str, Any]) -> dict[str, Any]:
    ctx = event["requestContext"]
    item = _owned_conversation(ctx["connectionId"])
    if item is None:
        return response(200)
    conversation_id, code = item["conversation_id"], ctx.get("disconnectStatusCode")
    if code not in CUSTOMER_CLOSED:
        # Idle timeout, the 2-hour ceiling, a dropped network: the conversation waits for a reconnect.
        mark_away(conversation_id, ctx["connectionId"])
        log("away", conversation_id=conversation_id, code=code, reason=ctx.get("disconnectReason"))
        return response(200)
    table().update_item(Key={"conversation_id": conversation_id},
                        UpdateExpression="SET #s = :ended REMOVE connection_id",
                        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":ended": ENDED})
    if item.get("status") == CONNECTED:
        _end_talkdesk(conversation_id)
    log("disconnected", conversation_id=conversation_id, code=code)
    return response(200)


ROUTES = {"$connect": _connect, "onMessage": _message, "$disconnect": _disconnect}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    if "flush" in event:
        return _flush(event["flush"])
    if event.get("source") == "aws.events":
        return _sweep()
    route = event["requestContext"]["routeKey"]
    if route not in ROUTES:
        return response(400, {"error": f"unknown route {route}"})
    return ROUTES[route](event)
