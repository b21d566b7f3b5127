"""Lex V2 fulfillment code hook: starts a Talkdesk conversation when the customer asks for an agent.

The Lex Web UI switches to live chat when the session attribute `talkdesk_conversation_id` appears.
A Talkdesk failure closes the intent with a polite message instead of raising.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from botocore.exceptions import ClientError
from common import MAPPING_TTL_SECONDS, STARTED, env, log, now, secret_json, table
from talkdesk import TalkdeskError, client_from_env

ESCALATION_INTENT = "TalkToAgent"
CONNECTING = "Connecting you to an agent. Please stay on this chat."
NO_AGENT = "Sorry, no agent is available right now. Please try again later."
FALLBACK = "Sorry, I did not get that. You can say 'talk to an agent' to chat with a person."
MAX_HISTORY = 10
#: Session attribute counting the session's successful escalations (it names the attempt of the next).
ESCALATIONS = "talkdesk_escalations"
#: How long the retries of one escalation reuse its idempotency key (Lex retries a code hook within seconds). The Lex
#: Web UI's session id is the browser's Cognito identity (aws-lex-web-ui lib/lex/client.js), so a later visit starts
#: the counter again with the same session id: after this, an escalation gets a key of its own.
ATTEMPT_SECONDS = 600


def _attempt_key(session_id: str, escalations: int) -> str:
    """One idempotency key per escalation: a random one, stored for ATTEMPT_SECONDS under the attempt (session and
    count), so a retried code hook finds it again and a later visit with the same session id never does."""
    attempt = "attempt#" + hashlib.sha256(f"{session_id}|{escalations}".encode()).hexdigest()[:32]
    fresh = now() - ATTEMPT_SECONDS
    item = table().get_item(Key={"conversation_id": attempt}, ConsistentRead=True).get("Item")
    if item and int(item.get("created_at", 0)) > fresh:
        return str(item["key"])
    key = uuid.uuid4().hex
    try:
        table().put_item(Item={"conversation_id": attempt, "key": key, "created_at": now(),
                               "expires_at": now() + ATTEMPT_SECONDS},
                         ConditionExpression="attribute_not_exists(conversation_id) OR created_at <= :fresh",
                         ExpressionAttributeValues={":fresh": fresh})
    except ClientError as exc:  # a concurrent retry stored its key first: use that one
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return str(table().get_item(Key={"conversation_id": attempt}, ConsistentRead=True)["Item"]["key"])
    return key


def _close(event: dict[str, Any], state: str, message: str, attributes: dict[str, str]) -> dict[str, Any]:
    intent = dict(event["sessionState"]["intent"])
    intent["state"] = state
    return {
        "sessionState": {"sessionAttributes": attributes, "dialogAction": {"type": "Close"}, "intent": intent},
        "messages": [{"contentType": "PlainText", "content": message}],
    }


def _context(event: dict[str, Any], history: list[str]) -> dict[str, str]:
    """What helps the agent: intents so far and the customer's sentiment; never the transcript."""
    context = {"lex_session_id": str(event.get("sessionId", "")), "intent_history": ",".join(history)}
    interpretations = event.get("interpretations") or []
    sentiment = (interpretations[0].get("sentimentResponse") or {}).get("sentiment") if interpretations else None
    if sentiment:
        context["sentiment"] = sentiment
    return context


def handler(event: dict[str, Any], _context_obj: Any = None) -> dict[str, Any]:
    intent = event["sessionState"]["intent"]["name"]
    attributes = dict(event["sessionState"].get("sessionAttributes") or {})
    history = [h for h in attributes.get("intent_history", "").split(",") if h][-(MAX_HISTORY - 1):] + [intent]
    attributes["intent_history"] = ",".join(history)
    if intent != ESCALATION_INTENT:
        return _close(event, "Fulfilled", FALLBACK, attributes)
    # One key per escalation: Lex retries a code hook with the same session attributes, so a retry finds the
    # attempt's key (no second conversation); the next escalation, or a later visit, gets a new one.
    escalations = int(attributes.get(ESCALATIONS, "0") or 0)
    idempotency_key = _attempt_key(str(event.get("sessionId")), escalations)
    try:
        touchpoint = secret_json(env("TALKDESK_TOUCHPOINT_SECRET_ID"))["touchpoint_id"]
        conversation_id = client_from_env().start_conversation(
            touchpoint, subject="Live chat from the virtual assistant",
            contact={"name": attributes.get("customer_name", "Chat customer"),
                     "email": attributes.get("customer_email", "unknown@example.invalid")},
            context=_context(event, history), idempotency_key=idempotency_key,
        )
    except (TalkdeskError, KeyError, json.JSONDecodeError, RuntimeError) as exc:
        log("talkdesk_start_failed", 40, reason=type(exc).__name__, status=getattr(exc, "status", None))
        return _close(event, "Fulfilled", NO_AGENT, attributes)
    try:
        # Never turns an ENDED conversation back into STARTED (a key Talkdesk answered with an old conversation).
        table().put_item(Item={"conversation_id": conversation_id, "status": STARTED, "created_at": now(),
                               "expires_at": now() + MAPPING_TTL_SECONDS,
                               "lex_session_id": str(event.get("sessionId", ""))},
                         ConditionExpression="attribute_not_exists(conversation_id) OR #s <> :ended",
                         ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":ended": "ENDED"})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        log("conversation_already_ended", 40, conversation_id=conversation_id)
        return _close(event, "Fulfilled", NO_AGENT, attributes)
    attributes["talkdesk_conversation_id"] = conversation_id
    attributes[ESCALATIONS] = str(escalations + 1)
    log("conversation_started", conversation_id=conversation_id)
    return _close(event, "Fulfilled", CONNECTING, attributes)
