"""Lex V2 fulfillment code hook: starts a Talkdesk conversation when the customer asks for an agent.

The Lex Web UI switches to live chat when the session attribute `talkdesk_conversation_id` appears.
A Talkdesk failure closes the intent with a polite message instead of raising.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from common import MAPPING_TTL_SECONDS, STARTED, env, log, now, secret_json, table
from talkdesk import TalkdeskError, client_from_env

ESCALATION_INTENT = "TalkToAgent"
CONNECTING = "Connecting you to an agent. Please stay on this chat."
NO_AGENT = "Sorry, no agent is available right now. Please try again later."
FALLBACK = "Sorry, I did not get that. You can say 'talk to an agent' to chat with a person."
MAX_HISTORY = 10
#: Session attribute counting the session's successful escalations (it keys the idempotency of the next).
ESCALATIONS = "talkdesk_escalations"


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
    # One key per escalation attempt: the session plus how many escalations it already made. Lex retries a
    # code hook with the same session attributes, so a retry reuses the key (no second conversation),
    # while the next escalation of the same session gets a new one.
    escalations = int(attributes.get(ESCALATIONS, "0") or 0)
    idempotency_key = hashlib.sha256(f"{event.get('sessionId')}|{escalations}".encode()).hexdigest()[:32]
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
    table().put_item(Item={"conversation_id": conversation_id, "status": STARTED, "created_at": now(),
                           "expires_at": now() + MAPPING_TTL_SECONDS,
                           "lex_session_id": str(event.get("sessionId", ""))})
    attributes["talkdesk_conversation_id"] = conversation_id
    attributes[ESCALATIONS] = str(escalations + 1)
    log("conversation_started", conversation_id=conversation_id)
    return _close(event, "Fulfilled", CONNECTING, attributes)
