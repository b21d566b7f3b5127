"""Live-chat handlers against moto (DynamoDB, Secrets Manager, API Gateway management) and a fake Talkdesk."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.components.live_chat.chat_support import (
    HANDLERS,
    TABLE,
    WS,
    authorize,
    callback,
    chat_environment,
    frames,
    lex,
    start,
    ws,
)


@pytest.fixture
def chat(monkeypatch) -> Iterator[dict]:
    with chat_environment(monkeypatch.setenv) as env:
        yield env


def test_full_conversation(chat):
    fake = chat["fake"]
    result = chat["fulfillment"].handler(lex(sentiment="NEGATIVE"))
    state = result["sessionState"]
    conversation = state["sessionAttributes"]["talkdesk_conversation_id"]
    assert state["intent"]["state"] == "Fulfilled" and state["dialogAction"] == {"type": "Close"}
    started = fake.conversations[conversation]
    assert started["touchpoint_id"] == "tp-1"
    assert started["context_parameters"]["sentiment"] == "NEGATIVE"
    assert started["context_parameters"]["intent_history"] == "TalkToAgent"
    assert "4111" not in json.dumps(started), "the transcript is not sent to the agent context"

    assert authorize(chat, conversation) == "Allow"
    assert chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))["statusCode"] == 200
    sent = chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "Hello?",
                                                                 "conversationId": conversation}))
    assert sent["statusCode"] == 200 and fake.messages == [(conversation, "Hello?")]

    agent = chat["callback"].handler(callback(event_type="message_created", conversation_id=conversation,
                                               content="Hi, I am Sam", author_name="Sam"))
    assert agent["statusCode"] == 200
    ended = chat["callback"].handler(callback(event_type="conversation_ended", conversation_id=conversation,
                                               author_name="Sam"))
    assert ended["statusCode"] == 200
    assert frames("conn-1") == [
        {"event_type": "message_created", "content": "Hi, I am Sam", "author_name": "Sam"},
        {"event_type": "conversation_ended", "content": "", "author_name": "Sam"}]
    assert authorize(chat, conversation) == "Deny", "an ended conversation cannot be reconnected"
    assert fake.tokens_issued == 1, "the token is cached across calls"


def test_connect_refused_for_unknown_conversation(chat):
    assert authorize(chat, "not-a-conversation") == "Deny"
    assert authorize(chat, None) == "Deny"
    assert chat["websocket"].handler(ws("$connect", "c", conversation="nope"))["statusCode"] == 403


def test_message_for_another_customers_conversation_is_refused(chat):
    a, b = start(chat, "s-a"), start(chat, "s-b")
    chat["websocket"].handler(ws("$connect", "conn-a", conversation=a))
    chat["websocket"].handler(ws("$connect", "conn-b", conversation=b))
    hijack = chat["websocket"].handler(ws("onMessage", "conn-a", {"action": "onMessage", "message": "x",
                                                                   "conversationId": b}))
    assert hijack["statusCode"] == 403 and chat["fake"].messages == []


def test_token_cached_until_expiry(chat):
    fake = chat["fake"]
    fake.expires_in = 30  # shorter than the refresh margin: every call needs a new token
    start(chat, "s-1")
    start(chat, "s-2")
    assert fake.tokens_issued == 2
    fake.expires_in = 3600
    chat["talkdesk"].TalkdeskClient._token_cache.clear()
    start(chat, "s-3")
    start(chat, "s-4")
    assert fake.tokens_issued == 3


def test_retries_429_and_5xx_then_succeeds(chat):
    fake = chat["fake"]
    fake.fail("POST", "/digital-connect/conversations", 429, 503, 500)
    conversation = start(chat)
    assert conversation in fake.conversations
    starts = [r for r in fake.requests if r == ("POST", "/digital-connect/conversations")]
    assert len(starts) == 4


def test_talkdesk_down_gives_a_polite_answer(chat, monkeypatch):
    monkeypatch.setenv("TALKDESK_DEADLINE_S", "0.3")
    chat["fake"].fail("POST", "/digital-connect/conversations", *([503] * 1000))
    result = chat["fulfillment"].handler(lex())
    assert result["messages"][0]["content"] == chat["fulfillment"].NO_AGENT
    assert "talkdesk_conversation_id" not in result["sessionState"]["sessionAttributes"]
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert [i["conversation_id"]["S"] for i in items if not i["conversation_id"]["S"].startswith("attempt#")] == []


def test_non_escalation_intent_closes_with_guidance(chat):
    result = chat["fulfillment"].handler(lex("FallbackIntent", attrs={"intent_history": "Greeting"}))
    assert result["sessionState"]["sessionAttributes"]["intent_history"] == "Greeting,FallbackIntent"
    assert "talk to an agent" in result["messages"][0]["content"]
    assert chat["fake"].requests == []


def test_a_vanished_connection_leaves_the_conversation_waiting_with_its_frames(chat, monkeypatch):
    """Gone well after $connect: the customer is away (not the end): frames queue until a reconnect."""
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    table = boto3.resource("dynamodb").Table(TABLE)
    table.update_item(Key={"conversation_id": conversation}, UpdateExpression="SET connected_at = :t",
                      ExpressionAttributeValues={":t": 1})  # connected long ago

    class Gone:
        def post_to_connection(self, **_):
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")

    monkeypatch.setattr(chat["callback"], "management_client", lambda *a: Gone())
    first = chat["callback"].handler(callback(event_type="message_created", conversation_id=conversation,
                                               content="hello?"))
    assert first["statusCode"] == 202
    item = table.get_item(Key={"conversation_id": conversation})["Item"]
    assert item["status"] == "AWAY" and "connection_id" not in item and len(item["pending"]) == 1
    assert chat["fake"].ended == [], "the agent's conversation stays open"


def test_unknown_conversation_is_404(chat):
    result = chat["callback"].handler(callback(event_type="message_created", conversation_id="ghost", content="x"))
    assert result["statusCode"] == 404


@pytest.mark.parametrize("raw,status,needle", [
    ("{not json", 400, "JSON"),
    ('["a list"]', 400, "JSON object"),
    ('{"event_type": "typing", "conversation_id": "c"}', 400, "event_type must be one of"),
    ('{"event_type": "message_created", "conversation_id": "c"}', 400, "content is required"),
    ('{"event_type": "message_created", "conversation_id": 7, "content": "x"}', 400, "conversation_id"),
    (json.dumps({"event_type": "message_created", "conversation_id": "c", "content": "x" * 40_000}), 413, "larger"),
])
def test_malformed_and_oversized_callbacks(chat, raw, status, needle):
    result = chat["callback"].handler({"body": raw})
    assert result["statusCode"] == status and needle in json.loads(result["body"])["error"]


def test_oversized_and_malformed_customer_frames(chat):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    big = chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "x" * 5000}))
    assert big["statusCode"] == 413
    assert chat["websocket"].handler(ws("onMessage", "conn-1", "{oops"))["statusCode"] == 400
    assert chat["fake"].messages == []


def test_duplicate_callback_delivery_is_delivered_once(chat):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    body = {"event_type": "message_created", "conversation_id": conversation, "content": "once",
            "author_name": "Sam", "message_id": "m-1"}
    assert chat["callback"].handler(callback(**body))["statusCode"] == 200
    dup = chat["callback"].handler(callback(**body))
    assert dup["statusCode"] == 200 and json.loads(dup["body"])["result"] == "duplicate ignored"
    end = {"event_type": "conversation_ended", "conversation_id": conversation}
    assert chat["callback"].handler(callback(**end))["statusCode"] == 200
    assert json.loads(chat["callback"].handler(callback(**end))["body"])["result"] == "already ended"
    assert [f["content"] for f in frames("conn-1")] == ["once", ""]


class _Recorder:
    """A management client that records pushes and fails the first `failures` of them (throttled)."""

    def __init__(self, real, failures: int = 0, code: str = "LimitExceededException") -> None:
        self.real, self.failures, self.code, self.calls = real, failures, code, []

    def post_to_connection(self, **kwargs):
        self.calls.append(kwargs)
        if self.failures:
            self.failures -= 1
            raise ClientError({"Error": {"Code": self.code, "Message": "slow down"}}, "PostToConnection")
        return self.real.post_to_connection(**kwargs)


def _say(chat, conversation: str, content: str, **extra) -> dict:
    return chat["callback"].handler(callback(event_type="message_created", conversation_id=conversation,
                                              content=content, author_name="Sam", **extra))


def test_connect_never_posts_and_queued_messages_arrive_with_the_first_frame(chat, monkeypatch):
    """API Gateway establishes the connection only after $connect returns: a push there fails."""
    conversation = start(chat)
    assert _say(chat, conversation, "Are you there?")["statusCode"] == 202
    assert _say(chat, conversation, "I am here to help.")["statusCode"] == 202
    recorder = _Recorder(boto3.client("apigatewaymanagementapi", endpoint_url=WS))
    monkeypatch.setattr(chat["websocket"], "management_client", lambda *a: recorder)
    assert chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))["statusCode"] == 200
    assert recorder.calls == [], "$connect must not post"
    chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "hi"}))
    chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "hello?"}))
    assert [f["content"] for f in frames("conn-1")] == ["Are you there?", "I am here to help."], "in order, once"


def test_the_next_agent_message_delivers_what_was_queued_first(chat):
    conversation = start(chat)
    _say(chat, conversation, "one")
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    assert _say(chat, conversation, "two")["statusCode"] == 200
    assert [f["content"] for f in frames("conn-1")] == ["one", "two"]


def test_a_throttled_push_stays_queued_and_its_retry_completes_it(chat, monkeypatch):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    recorder = _Recorder(boto3.client("apigatewaymanagementapi", endpoint_url=WS), failures=1)
    monkeypatch.setattr(chat["callback"], "management_client", lambda *a: recorder)
    first = _say(chat, conversation, "hello", message_id="m-1")
    assert first["statusCode"] == 202, "not lost, not an error: queued for the next event"
    retry = _say(chat, conversation, "hello", message_id="m-1")
    assert retry["statusCode"] == 200 and json.loads(retry["body"])["result"] == "duplicate ignored"
    assert [f["content"] for f in frames("conn-1")] == ["hello"], "the retry delivered it, exactly once"
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"conversation_id": conversation})["Item"]
    assert not item.get("pending") and "flush_owner" not in item


def test_customer_leaving_ends_the_talkdesk_conversation(chat):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    assert chat["websocket"].handler(ws("$disconnect", "conn-1", code=1000))["statusCode"] == 200
    assert chat["fake"].ended == [conversation]
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"conversation_id": conversation})["Item"]
    assert item["status"] == "ENDED" and "connection_id" not in item


def test_logs_carry_no_secrets_or_message_bodies(chat, capsys):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "my secret PIN 9876"}))
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {line["event"] for line in lines} >= {"conversation_started", "connected", "message_forwarded"}
    for secret in ("9876", "csecret", "tok-1", "4111"):
        assert secret not in out


def test_handlers_use_only_boto3_and_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "common", "talkdesk"}
    for path in Path(HANDLERS).glob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                top = words[1].split(".")[0]
                assert top in allowed or top == "__future__", f"{path.name}: {line}"


def test_each_escalation_has_its_own_idempotency_key_and_a_retry_reuses_it(chat):
    """The key used to be session + min(history, 10): from the tenth turn on every escalation reused it."""
    fake = chat["fake"]
    history = ",".join(["FallbackIntent"] * 12)
    first = chat["fulfillment"].handler(lex(session="s-9", attrs={"intent_history": history}))
    attrs = first["sessionState"]["sessionAttributes"]
    retried = chat["fulfillment"].handler(lex(session="s-9", attrs={"intent_history": history}))
    assert retried["sessionState"]["sessionAttributes"]["talkdesk_conversation_id"] == \
        attrs["talkdesk_conversation_id"], "a retried code hook opens no second conversation"
    again = chat["fulfillment"].handler(lex(session="s-9", attrs=attrs))
    assert again["sessionState"]["sessionAttributes"]["talkdesk_conversation_id"] != \
        attrs["talkdesk_conversation_id"], "a later escalation of the same session starts a new conversation"
    assert len(fake.idempotency) == 2


def test_a_message_whose_answer_is_lost_is_not_sent_twice(chat):
    """Talkdesk documents no idempotency key for Send a Message: after a request that may have been acted on
    (a reset or timeout after sending, a 500) the message is not sent again; the customer is told."""
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    chat["fake"].lose_answers = 1
    sent = chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "refund please"}))
    assert sent["statusCode"] == 502
    assert [m for _, m in chat["fake"].messages] == ["refund please"], "delivered once, never twice"
    assert "may not have reached" in frames("conn-1")[-1]["content"]
    chat["fake"].fail("POST", f"/digital-connect/conversations/{conversation}/messages", 500)
    assert chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "x"}))[
        "statusCode"] == 502
    posts = [r for r in chat["fake"].requests if r[1].endswith("/messages")]
    assert len(posts) == 2, "a 500 may have been acted on: not retried"


def test_a_message_refused_with_429_or_503_is_sent_again(chat):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    chat["fake"].fail("POST", f"/digital-connect/conversations/{conversation}/messages", 429, 503)
    sent = chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "hello"}))
    assert sent["statusCode"] == 200 and [m for _, m in chat["fake"].messages] == ["hello"]


def test_a_long_non_ascii_message_is_accepted_and_delivered(chat):
    """4,000 CJK characters (24 KB JSON-escaped): under the handler's byte limit, delivered whole."""
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    answer = _say(chat, conversation, "退款已批准" * 800)
    assert answer["statusCode"] == 200, answer
    assert [len(f["content"]) for f in frames("conn-1")] == [4000]


def test_a_later_visit_with_the_same_session_id_gets_a_new_conversation(chat):
    """The Lex Web UI's session id is the browser's Cognito identity: a new visit starts the escalation count again
    under the same id. Its escalation must not reattach to the old conversation, nor turn it STARTED again."""
    fulfillment = chat["fulfillment"]
    first = fulfillment.handler(lex(session="cognito-1"))["sessionState"]["sessionAttributes"]
    old = first["talkdesk_conversation_id"]
    boto3.resource("dynamodb").Table(TABLE).update_item(
        Key={"conversation_id": old}, UpdateExpression="SET #s = :e", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":e": "ENDED"})
    # The next day: the attempt of the first visit is long past its retry window.
    table = boto3.resource("dynamodb").Table(TABLE)
    for item in table.scan()["Items"]:
        if item["conversation_id"].startswith("attempt#"):
            table.update_item(Key={"conversation_id": item["conversation_id"]}, UpdateExpression="SET created_at = :t",
                              ExpressionAttributeValues={":t": item["created_at"] - fulfillment.ATTEMPT_SECONDS - 1})
    later = fulfillment.handler(lex(session="cognito-1"))["sessionState"]["sessionAttributes"]
    assert later["talkdesk_conversation_id"] != old
    assert table.get_item(Key={"conversation_id": old})["Item"]["status"] == "ENDED"
    assert len(chat["fake"].idempotency) == 2


def test_a_second_deliverer_on_the_same_conversation_is_turned_away_while_the_first_holds_the_lease(chat):
    """Two deliveries race on one conversation: the second starts from inside the first's push (the worst moment:
    the frame is accepted by API Gateway but not yet removed from the queue). The lease answers it busy, and the
    customer gets the frame once."""
    common = sys.modules["common"]
    conversation = start(chat)
    assert _say(chat, conversation, "only once")["statusCode"] == 202  # queued: nobody connected yet
    real = boto3.client("apigatewaymanagementapi", endpoint_url=WS)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    inner: list[str] = []

    class Reentrant:
        def post_to_connection(self, **kwargs):
            if not inner:
                inner.append(common.deliver_pending(conversation, "conn-1", self))
            return real.post_to_connection(**kwargs)

    assert common.deliver_pending(conversation, "conn-1", Reentrant()) == "delivered"
    assert inner == ["busy"]
    assert [f["content"] for f in frames("conn-1")] == ["only once"]


def test_a_gone_connection_is_still_being_established_only_within_the_grace_after_connect(chat, monkeypatch):
    """GoneException within CONNECT_GRACE_SECONDS of $connect: API Gateway has not finished the connection, keep
    the queue ("not_ready"); from the grace on, the customer is gone ("away"). Releasing a lease that is no longer
    held (it expired and moved on) is not an error."""
    common = sys.modules["common"]
    conversation = start(chat)
    assert _say(chat, conversation, "queued")["statusCode"] == 202
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    item = common.table().get_item(Key={"conversation_id": conversation})["Item"]
    connected = int(item["connected_at"])
    gone = _Recorder(None, failures=99, code="GoneException")
    monkeypatch.setattr(common, "now", lambda: connected + common.CONNECT_GRACE_SECONDS - 1)
    assert common.deliver_pending(conversation, "conn-1", gone) == "not_ready"
    monkeypatch.setattr(common, "now", lambda: connected + common.CONNECT_GRACE_SECONDS)
    assert common.deliver_pending(conversation, "conn-1", gone) == "away"
    common._release(conversation, "a-token-that-holds-nothing")  # no exception
