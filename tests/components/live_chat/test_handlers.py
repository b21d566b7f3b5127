"""Live-chat handlers against moto (DynamoDB, Secrets Manager, API Gateway management) and a fake Talkdesk."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.components.live_chat.fake_talkdesk import FakeTalkdesk
from tests.helpers import ROOT

HANDLERS = ROOT / "components" / "live_chat" / "handlers"
TABLE = "conversations"
WS = "https://abc123.execute-api.us-east-1.amazonaws.com/live"


@pytest.fixture
def chat(monkeypatch) -> Iterator[dict]:
    """Handlers imported as Lambda would (top-level modules), AWS mocked, Talkdesk faked on 127.0.0.1."""
    monkeypatch.syspath_prepend(str(HANDLERS))
    for var, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "CONVERSATIONS_TABLE": TABLE,
                       "TALKDESK_TOUCHPOINT_SECRET_ID": "dev/talkdesk/touchpoint/ids",
                       "TALKDESK_CLIENT_SECRET_ID": "dev/talkdesk/client/keys", "WEBSOCKET_ENDPOINT": WS,
                       "TALKDESK_RETRY_BASE_S": "0.001", "TALKDESK_DEADLINE_S": "2"}.items():
        monkeypatch.setenv(var, value)
    for name in ("common", "talkdesk", "fulfillment", "authorizer", "customer_socket", "callback"):
        sys.modules.pop(name, None)
    with mock_aws(), FakeTalkdesk() as fake:
        monkeypatch.setenv("TALKDESK_AUTH_URL", f"{fake.base}/oauth/token")
        monkeypatch.setenv("TALKDESK_API_URL", f"{fake.base}/digital-connect")
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "conversation_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "conversation_id", "AttributeType": "S"},
                                  {"AttributeName": "connection_id", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-connection",
                                     "KeySchema": [{"AttributeName": "connection_id", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}])
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="dev/talkdesk/touchpoint/ids", SecretString=json.dumps({"touchpoint_id": "tp-1"}))
        sm.create_secret(Name="dev/talkdesk/client/keys",
                         SecretString=json.dumps({"client_id": "cid", "client_secret": "csecret"}))
        modules = {n: importlib.import_module(n) for n in ("fulfillment", "authorizer", "callback")}
        modules["websocket"] = importlib.import_module("customer_socket")
        modules["talkdesk"] = importlib.import_module("talkdesk")
        modules["talkdesk"].TalkdeskClient._token_cache.clear()
        yield {"fake": fake, **modules}


def _lex(intent: str = "TalkToAgent", session: str = "s-1", attrs: dict | None = None, sentiment: str | None = None):
    event = {"sessionId": session, "inputTranscript": "I want a human, my card 4111 was charged twice",
             "sessionState": {"intent": {"name": intent, "state": "ReadyForFulfillment"},
                              "sessionAttributes": attrs or {}}, "interpretations": []}
    if sentiment:
        event["interpretations"] = [{"intent": {"name": intent}, "sentimentResponse": {"sentiment": sentiment}}]
    return event


def _ws(route: str, connection: str, body: dict | str | None = None, conversation: str | None = None):
    ctx = {"routeKey": route, "connectionId": connection, "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
           "stage": "live"}
    if conversation:
        ctx["authorizer"] = {"conversationId": conversation}
    return {"requestContext": ctx, "body": body if isinstance(body, str) or body is None else json.dumps(body)}


def _callback(**body) -> dict:
    return {"body": json.dumps(body)}


def _frames(connection: str) -> list[dict]:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    data = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections[connection].data.decode()
    decoder, frames, i = json.JSONDecoder(), [], 0
    while i < len(data):
        obj, i = decoder.raw_decode(data, i)
        frames.append(obj)
    return frames


def _start(chat, session: str = "s-1") -> str:
    result = chat["fulfillment"].handler(_lex(session=session, sentiment="NEGATIVE"))
    return result["sessionState"]["sessionAttributes"]["talkdesk_conversation_id"]


def _authorize(chat, conversation: str | None) -> str:
    event = {"methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/live/$connect",
             "queryStringParameters": {"conversationId": conversation} if conversation else {}}
    return chat["authorizer"].handler(event)["policyDocument"]["Statement"][0]["Effect"]


def test_full_conversation(chat):
    fake = chat["fake"]
    result = chat["fulfillment"].handler(_lex(sentiment="NEGATIVE"))
    state = result["sessionState"]
    conversation = state["sessionAttributes"]["talkdesk_conversation_id"]
    assert state["intent"]["state"] == "Fulfilled" and state["dialogAction"] == {"type": "Close"}
    started = fake.conversations[conversation]
    assert started["touchpoint_id"] == "tp-1"
    assert started["context_parameters"]["sentiment"] == "NEGATIVE"
    assert started["context_parameters"]["intent_history"] == "TalkToAgent"
    assert "4111" not in json.dumps(started), "the transcript is not sent to the agent context"

    assert _authorize(chat, conversation) == "Allow"
    assert chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))["statusCode"] == 200
    sent = chat["websocket"].handler(_ws("onMessage", "conn-1", {"action": "onMessage", "message": "Hello?",
                                                                 "conversationId": conversation}))
    assert sent["statusCode"] == 200 and fake.messages == [(conversation, "Hello?")]

    agent = chat["callback"].handler(_callback(event_type="message_created", conversation_id=conversation,
                                               content="Hi, I am Sam", author_name="Sam"))
    assert agent["statusCode"] == 200
    ended = chat["callback"].handler(_callback(event_type="conversation_ended", conversation_id=conversation,
                                               author_name="Sam"))
    assert ended["statusCode"] == 200
    assert _frames("conn-1") == [
        {"event_type": "message_created", "content": "Hi, I am Sam", "author_name": "Sam"},
        {"event_type": "conversation_ended", "content": "", "author_name": "Sam"}]
    assert _authorize(chat, conversation) == "Deny", "an ended conversation cannot be reconnected"
    assert fake.tokens_issued == 1, "the token is cached across calls"


def test_connect_refused_for_unknown_conversation(chat):
    assert _authorize(chat, "not-a-conversation") == "Deny"
    assert _authorize(chat, None) == "Deny"
    assert chat["websocket"].handler(_ws("$connect", "c", conversation="nope"))["statusCode"] == 403


def test_message_for_another_customers_conversation_is_refused(chat):
    a, b = _start(chat, "s-a"), _start(chat, "s-b")
    chat["websocket"].handler(_ws("$connect", "conn-a", conversation=a))
    chat["websocket"].handler(_ws("$connect", "conn-b", conversation=b))
    hijack = chat["websocket"].handler(_ws("onMessage", "conn-a", {"action": "onMessage", "message": "x",
                                                                   "conversationId": b}))
    assert hijack["statusCode"] == 403 and chat["fake"].messages == []


def test_token_cached_until_expiry(chat):
    fake = chat["fake"]
    fake.expires_in = 30  # shorter than the refresh margin: every call needs a new token
    _start(chat, "s-1")
    _start(chat, "s-2")
    assert fake.tokens_issued == 2
    fake.expires_in = 3600
    chat["talkdesk"].TalkdeskClient._token_cache.clear()
    _start(chat, "s-3")
    _start(chat, "s-4")
    assert fake.tokens_issued == 3


def test_retries_429_and_5xx_then_succeeds(chat):
    fake = chat["fake"]
    fake.fail("POST", "/digital-connect/conversations", 429, 503, 500)
    conversation = _start(chat)
    assert conversation in fake.conversations
    starts = [r for r in fake.requests if r == ("POST", "/digital-connect/conversations")]
    assert len(starts) == 4


def test_talkdesk_down_gives_a_polite_answer(chat, monkeypatch):
    monkeypatch.setenv("TALKDESK_DEADLINE_S", "0.3")
    chat["fake"].fail("POST", "/digital-connect/conversations", *([503] * 1000))
    result = chat["fulfillment"].handler(_lex())
    assert result["messages"][0]["content"] == chat["fulfillment"].NO_AGENT
    assert "talkdesk_conversation_id" not in result["sessionState"]["sessionAttributes"]
    assert boto3.client("dynamodb").scan(TableName=TABLE)["Count"] == 0


def test_non_escalation_intent_closes_with_guidance(chat):
    result = chat["fulfillment"].handler(_lex("FallbackIntent", attrs={"intent_history": "Greeting"}))
    assert result["sessionState"]["sessionAttributes"]["intent_history"] == "Greeting,FallbackIntent"
    assert "talk to an agent" in result["messages"][0]["content"]
    assert chat["fake"].requests == []


def test_stale_connection_is_removed_and_reported_gone(chat, monkeypatch):
    conversation = _start(chat)
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))

    class Gone:
        def post_to_connection(self, **_):
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")

    monkeypatch.setattr(chat["callback"], "management_client", lambda *a: Gone())
    first = chat["callback"].handler(_callback(event_type="message_created", conversation_id=conversation,
                                               content="hello?"))
    assert first["statusCode"] == 410
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"conversation_id": conversation})["Item"]
    assert item["status"] == "ENDED" and "connection_id" not in item
    again = chat["callback"].handler(_callback(event_type="message_created", conversation_id=conversation,
                                               content="hello?"))
    assert again["statusCode"] == 410


def test_unknown_conversation_is_404(chat):
    result = chat["callback"].handler(_callback(event_type="message_created", conversation_id="ghost", content="x"))
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
    conversation = _start(chat)
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))
    big = chat["websocket"].handler(_ws("onMessage", "conn-1", {"action": "onMessage", "message": "x" * 5000}))
    assert big["statusCode"] == 413
    assert chat["websocket"].handler(_ws("onMessage", "conn-1", "{oops"))["statusCode"] == 400
    assert chat["fake"].messages == []


def test_duplicate_callback_delivery_is_delivered_once(chat):
    conversation = _start(chat)
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))
    body = {"event_type": "message_created", "conversation_id": conversation, "content": "once",
            "author_name": "Sam", "message_id": "m-1"}
    assert chat["callback"].handler(_callback(**body))["statusCode"] == 200
    dup = chat["callback"].handler(_callback(**body))
    assert dup["statusCode"] == 200 and json.loads(dup["body"])["result"] == "duplicate ignored"
    end = {"event_type": "conversation_ended", "conversation_id": conversation}
    assert chat["callback"].handler(_callback(**end))["statusCode"] == 200
    assert json.loads(chat["callback"].handler(_callback(**end))["body"])["result"] == "already ended"
    assert [f["content"] for f in _frames("conn-1")] == ["once", ""]


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
    return chat["callback"].handler(_callback(event_type="message_created", conversation_id=conversation,
                                              content=content, author_name="Sam", **extra))


def test_connect_never_posts_and_queued_messages_arrive_with_the_first_frame(chat, monkeypatch):
    """API Gateway establishes the connection only after $connect returns: a push there fails."""
    conversation = _start(chat)
    assert _say(chat, conversation, "Are you there?")["statusCode"] == 202
    assert _say(chat, conversation, "I am here to help.")["statusCode"] == 202
    recorder = _Recorder(boto3.client("apigatewaymanagementapi", endpoint_url=WS))
    monkeypatch.setattr(chat["websocket"], "management_client", lambda *a: recorder)
    assert chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))["statusCode"] == 200
    assert recorder.calls == [], "$connect must not post"
    chat["websocket"].handler(_ws("onMessage", "conn-1", {"action": "onMessage", "message": "hi"}))
    chat["websocket"].handler(_ws("onMessage", "conn-1", {"action": "onMessage", "message": "hello?"}))
    assert [f["content"] for f in _frames("conn-1")] == ["Are you there?", "I am here to help."], "in order, once"


def test_the_next_agent_message_delivers_what_was_queued_first(chat):
    conversation = _start(chat)
    _say(chat, conversation, "one")
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))
    assert _say(chat, conversation, "two")["statusCode"] == 200
    assert [f["content"] for f in _frames("conn-1")] == ["one", "two"]


def test_a_throttled_push_stays_queued_and_its_retry_completes_it(chat, monkeypatch):
    conversation = _start(chat)
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))
    recorder = _Recorder(boto3.client("apigatewaymanagementapi", endpoint_url=WS), failures=1)
    monkeypatch.setattr(chat["callback"], "management_client", lambda *a: recorder)
    first = _say(chat, conversation, "hello", message_id="m-1")
    assert first["statusCode"] == 202, "not lost, not an error: queued for the next event"
    retry = _say(chat, conversation, "hello", message_id="m-1")
    assert retry["statusCode"] == 200 and json.loads(retry["body"])["result"] == "duplicate ignored"
    assert [f["content"] for f in _frames("conn-1")] == ["hello"], "the retry delivered it, exactly once"
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"conversation_id": conversation})["Item"]
    assert not item.get("pending") and "flush_owner" not in item


def test_customer_leaving_ends_the_talkdesk_conversation(chat):
    conversation = _start(chat)
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))
    assert chat["websocket"].handler(_ws("$disconnect", "conn-1"))["statusCode"] == 200
    assert chat["fake"].ended == [conversation]
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"conversation_id": conversation})["Item"]
    assert item["status"] == "ENDED" and "connection_id" not in item


def test_logs_carry_no_secrets_or_message_bodies(chat, capsys):
    conversation = _start(chat)
    chat["websocket"].handler(_ws("$connect", "conn-1", conversation=conversation))
    chat["websocket"].handler(_ws("onMessage", "conn-1", {"action": "onMessage", "message": "my secret PIN 9876"}))
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
    first = chat["fulfillment"].handler(_lex(session="s-9", attrs={"intent_history": history}))
    attrs = first["sessionState"]["sessionAttributes"]
    retried = chat["fulfillment"].handler(_lex(session="s-9", attrs={"intent_history": history}))
    assert retried["sessionState"]["sessionAttributes"]["talkdesk_conversation_id"] == \
        attrs["talkdesk_conversation_id"], "a retried code hook opens no second conversation"
    again = chat["fulfillment"].handler(_lex(session="s-9", attrs=attrs))
    assert again["sessionState"]["sessionAttributes"]["talkdesk_conversation_id"] != \
        attrs["talkdesk_conversation_id"], "a later escalation of the same session starts a new conversation"
    assert len(fake.idempotency) == 2
