"""The live-chat handlers in a test bed: moto (DynamoDB, Secrets Manager, API Gateway management), a fake
Talkdesk on 127.0.0.1, the handlers imported as Lambda imports them. Shared by the tests and the benchmark."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from tests.components.live_chat.fake_talkdesk import FakeTalkdesk
from tests.helpers import ROOT

HANDLERS = ROOT / "components" / "live_chat" / "handlers"
TABLE = "conversations"
WS = "https://abc123.execute-api.us-east-1.amazonaws.com/live"


ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "CONVERSATIONS_TABLE": TABLE,
               "TALKDESK_TOUCHPOINT_SECRET_ID": "dev/talkdesk/touchpoint/ids",
               "TALKDESK_CLIENT_SECRET_ID": "dev/talkdesk/client/keys", "WEBSOCKET_ENDPOINT": WS,
               "TALKDESK_RETRY_BASE_S": "0.001", "TALKDESK_DEADLINE_S": "2"}
MODULES = ("common", "talkdesk", "fulfillment", "authorizer", "customer_socket", "callback")


@contextmanager
def chat_environment(setenv: Any = None) -> Iterator[dict]:
    """Handlers imported as Lambda would (top-level modules), AWS mocked, Talkdesk faked on 127.0.0.1.

    `setenv(name, value)` sets the environment (pytest's monkeypatch.setenv; default: os.environ).
    """
    setenv = setenv or os.environ.__setitem__
    sys.path.insert(0, str(HANDLERS))
    for var, value in ENVIRONMENT.items():
        setenv(var, value)
    for name in MODULES:
        sys.modules.pop(name, None)
    try:
        with _mocked(setenv) as fake:
            yield fake
    finally:
        sys.path.remove(str(HANDLERS))
        for name in MODULES:
            sys.modules.pop(name, None)


@contextmanager
def _mocked(setenv: Any) -> Iterator[dict]:
    with mock_aws(), FakeTalkdesk() as fake:
        setenv("TALKDESK_AUTH_URL", f"{fake.base}/oauth/token")
        setenv("TALKDESK_API_URL", f"{fake.base}/digital-connect")
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
        # Lambda's asynchronous self-invocation (the flush `$connect` starts) is recorded, and run by `flush()`
        # when a test says so: after $connect returned, as Lambda would. No sleeping between attempts.
        flushes: list[dict] = []
        modules["websocket"].invoke_self = flushes.append
        modules["websocket"].SLEEP = lambda _s: None
        yield {"fake": fake, "flushes": flushes, **modules}


def lex(intent: str = "TalkToAgent", session: str = "s-1", attrs: dict | None = None, sentiment: str | None = None):
    event = {"sessionId": session, "inputTranscript": "I want a human, my card 4111 was charged twice",
             "sessionState": {"intent": {"name": intent, "state": "ReadyForFulfillment"},
                              "sessionAttributes": attrs or {}}, "interpretations": []}
    if sentiment:
        event["interpretations"] = [{"intent": {"name": intent}, "sentimentResponse": {"sentiment": sentiment}}]
    return event


def ws(route: str, connection: str, body: dict | str | None = None, conversation: str | None = None,
       code: int | None = None, reason: str = ""):
    """A WebSocket route event as API Gateway sends it (`code`: a `$disconnect`'s disconnectStatusCode)."""
    ctx = {"routeKey": route, "connectionId": connection, "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
           "stage": "live"}
    if conversation:
        ctx["authorizer"] = {"conversationId": conversation}
    if code is not None:
        ctx.update(disconnectStatusCode=code, disconnectReason=reason)
    return {"requestContext": ctx, "body": body if isinstance(body, str) or body is None else json.dumps(body)}


def run_flushes(chat) -> list[dict]:
    """Run the flushes `$connect` started (Lambda delivers an asynchronous invocation after $connect returns)."""
    results = [chat["websocket"].handler(payload) for payload in chat["flushes"]]
    chat["flushes"].clear()
    return results


def callback(**body) -> dict:
    return {"body": json.dumps(body)}


def frames(connection: str) -> list[dict]:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    data = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections[connection].data.decode()
    decoder, frames, i = json.JSONDecoder(), [], 0
    while i < len(data):
        obj, i = decoder.raw_decode(data, i)
        frames.append(obj)
    return frames


def start(chat, session: str = "s-1") -> str:
    result = chat["fulfillment"].handler(lex(session=session, sentiment="NEGATIVE"))
    return result["sessionState"]["sessionAttributes"]["talkdesk_conversation_id"]


def authorize(chat, conversation: str | None) -> str:
    event = {"methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/live/$connect",
             "queryStringParameters": {"conversationId": conversation} if conversation else {}}
    return chat["authorizer"].handler(event)["policyDocument"]["Statement"][0]["Effect"]




class FlakyPushes:
    """A management client over moto's whose first push of every `every`-th distinct frame is throttled
    (transient throttling: the frame's next attempt goes through). Deterministic and thread-safe."""

    def __init__(self, every: int = 3) -> None:
        import threading

        from botocore.exceptions import ClientError

        self.client = boto3.client("apigatewaymanagementapi", endpoint_url=WS)
        self.every, self.seen, self.throttled = every, set(), 0
        self._lock, self._error = threading.Lock(), ClientError

    def post_to_connection(self, **kwargs: Any) -> Any:
        frame_key = (kwargs["ConnectionId"], kwargs["Data"])
        with self._lock:
            first = frame_key not in self.seen
            self.seen.add(frame_key)
            fail = bool(self.every) and first and len(self.seen) % self.every == 0
            self.throttled += fail
        if fail:
            raise self._error({"Error": {"Code": "LimitExceededException", "Message": "Rate exceeded"}},
                              "PostToConnection")
        return self.client.post_to_connection(**kwargs)


def run_conversation(chat: dict, index: int, turns: int = 2) -> tuple[str, str, list[str], list[str]]:
    """One customer's whole chat: escalate, an agent message before connecting, `turns` exchanges, a last
    frame. Returns (conversation, connection, the agent texts in order, the customer texts in order)."""
    conversation = start(chat, f"session-{index}")
    connection = f"conn-{index}"
    agent, customer = [f"agent {index}.0 before connect"], []
    chat["callback"].handler(callback(event_type="message_created", conversation_id=conversation,
                                      content=agent[0], author_name="Sam", message_id=f"{index}-0"))
    assert chat["websocket"].handler(ws("$connect", connection, conversation=conversation))["statusCode"] == 200
    for turn in range(1, turns + 1):
        customer.append(f"customer {index}.{turn}")
        sent = chat["websocket"].handler(ws("onMessage", connection, {"action": "onMessage", "message": customer[-1]}))
        assert sent["statusCode"] == 200, sent
        agent.append(f"agent {index}.{turn}")
        body = {"event_type": "message_created", "conversation_id": conversation, "content": agent[-1],
                "author_name": "Sam", "message_id": f"{index}-{turn}"}
        answer = chat["callback"].handler(callback(**body))
        if answer["statusCode"] == 202:  # throttled: Talkdesk does not retry a 202; the next event delivers
            assert json.loads(answer["body"])["result"].startswith("queued")
    customer.append(f"customer {index} bye")
    assert chat["websocket"].handler(ws("onMessage", connection, {"action": "onMessage",
                                                                   "message": customer[-1]}))["statusCode"] == 200
    return conversation, connection, agent, customer
