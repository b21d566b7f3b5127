"""REQUEST authorizer of the WebSocket `$connect` route: only a conversation the bot started may connect."""

from __future__ import annotations

from typing import Any

from common import ENDED, log, now, table


def _policy(effect: str, resource: str, conversation_id: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "principalId": conversation_id or "anonymous",
        "policyDocument": {"Version": "2012-10-17",
                           "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
    }
    if effect == "Allow":
        result["context"] = {"conversationId": conversation_id}
    return result


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    conversation_id = (event.get("queryStringParameters") or {}).get("conversationId")
    resource = event["methodArn"]
    if not conversation_id or len(conversation_id) > 128:
        log("connect_denied", reason="missing_or_invalid_conversation_id")
        return _policy("Deny", resource, None)
    item = table().get_item(Key={"conversation_id": conversation_id}).get("Item")
    if item is None or item.get("status") == ENDED or int(item.get("expires_at", 0)) < now():
        log("connect_denied", conversation_id=conversation_id, reason="unknown_or_ended")
        return _policy("Deny", resource, None)
    return _policy("Allow", resource, conversation_id)
