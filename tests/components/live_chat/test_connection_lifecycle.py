"""The customer's connection as API Gateway runs it: established only after `$connect` returns, closed after
10 idle minutes and at 2 hours, `$disconnect` carrying the close code. Against moto and the fake Talkdesk."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.components.live_chat.chat_support import (
    TABLE,
    WS,
    callback,
    chat_environment,
    frames,
    run_flushes,
    start,
    ws,
)


@pytest.fixture
def chat(monkeypatch) -> Iterator[dict]:
    with chat_environment(monkeypatch.setenv) as env:
        yield env


class Establishing:
    """API Gateway's management API for a connection still being established: the first `gone` pushes are
    refused with GoneException (as for a connection that does not exist yet), then pushes go through."""

    def __init__(self, gone: int) -> None:
        self.real, self.gone, self.refused = boto3.client("apigatewaymanagementapi", endpoint_url=WS), gone, 0

    def post_to_connection(self, **kwargs):
        if self.gone:
            self.gone -= 1
            self.refused += 1
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")
        return self.real.post_to_connection(**kwargs)


def _say(chat, conversation: str, content: str) -> dict:
    return chat["callback"].handler(callback(event_type="message_created", conversation_id=conversation,
                                              content=content, author_name="Sam"))


def _item(conversation: str) -> dict:
    return boto3.resource("dynamodb").Table(TABLE).get_item(Key={"conversation_id": conversation})["Item"]


def test_a_greeting_queued_before_connect_reaches_a_silent_customer(chat, monkeypatch):
    """The Lex Web UI sends nothing when its socket opens: the flush `$connect` starts delivers the greeting."""
    conversation = start(chat)
    assert _say(chat, conversation, "Hi, I am Sam. How can I help?")["statusCode"] == 202
    assert chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))["statusCode"] == 200
    assert chat["flushes"] == [{"flush": {"conversationId": conversation, "connectionId": "conn-1"}}]
    establishing = Establishing(gone=2)
    monkeypatch.setattr(chat["websocket"], "management_client", lambda *a: establishing)
    (result,) = run_flushes(chat)  # the customer never types
    assert result == {"outcome": "delivered"} and establishing.refused == 2
    assert [f["content"] for f in frames("conn-1")] == ["Hi, I am Sam. How can I help?"]
    assert _item(conversation)["status"] == "CONNECTED" and not _item(conversation).get("pending")


def test_a_push_in_the_connect_window_keeps_the_conversation(chat, monkeypatch):
    """A callback racing $connect gets Gone: the frame stays queued, the chat goes on, the flush delivers it."""
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    establishing = Establishing(gone=1)
    monkeypatch.setattr(chat["callback"], "management_client", lambda *a: establishing)
    answer = _say(chat, conversation, "One moment please")
    assert answer["statusCode"] == 202 and establishing.refused == 1
    assert _item(conversation)["status"] == "CONNECTED" and len(_item(conversation)["pending"]) == 1
    run_flushes(chat)
    assert [f["content"] for f in frames("conn-1")] == ["One moment please"]
    sent = chat["websocket"].handler(ws("onMessage", "conn-1", {"action": "onMessage", "message": "thanks"}))
    assert sent["statusCode"] == 200 and chat["fake"].messages[-1][1] == "thanks"


@pytest.mark.parametrize("code, reason", [(1001, "Going away"), (1006, "")])
def test_an_idle_or_dropped_connection_does_not_end_the_chat_and_a_reconnect_resumes_it(chat, code, reason):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    run_flushes(chat)
    assert chat["websocket"].handler(ws("$disconnect", "conn-1", code=code, reason=reason))["statusCode"] == 200
    assert chat["fake"].ended == [] and _item(conversation)["status"] == "AWAY"
    assert _say(chat, conversation, "Are you still there?")["statusCode"] == 202
    assert chat["websocket"].handler(ws("$connect", "conn-2", conversation=conversation))["statusCode"] == 200
    run_flushes(chat)
    assert [f["content"] for f in frames("conn-2")] == ["Are you still there?"]
    assert chat["fake"].ended == [] and _item(conversation)["status"] == "CONNECTED"


def test_a_late_disconnect_of_the_old_connection_leaves_the_new_one_alone(chat):
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    chat["websocket"].handler(ws("$connect", "conn-2", conversation=conversation))
    chat["websocket"].handler(ws("$disconnect", "conn-1", code=1001))
    assert _item(conversation)["connection_id"] == "conn-2" and _item(conversation)["status"] == "CONNECTED"


def test_the_sweep_pings_open_connections_and_ends_chats_left_longer_than_the_resume_window(chat):
    open_chat, left = start(chat, "s-1"), start(chat, "s-2")
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=open_chat))
    chat["websocket"].handler(ws("$connect", "conn-2", conversation=left))
    chat["websocket"].handler(ws("$disconnect", "conn-2", code=1001))
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    assert chat["websocket"].handler(scheduled) == {"pinged": 1, "delivered": 0, "away": 0, "failed": 0, "ended": 0}
    assert frames("conn-1") == [{"event_type": "ping", "content": "", "author_name": ""}]
    window = chat["websocket"].RESUME_WINDOW_SECONDS
    boto3.resource("dynamodb").Table(TABLE).update_item(
        Key={"conversation_id": left}, UpdateExpression="SET away_since = away_since - :w",
        ExpressionAttributeValues={":w": window + 1})
    assert chat["websocket"].handler(scheduled)["ended"] == 1
    assert chat["fake"].ended == [left] and _item(left)["status"] == "ENDED"
    assert _item(open_chat)["status"] == "CONNECTED"


def test_the_flush_is_an_asynchronous_invocation_of_the_same_function(monkeypatch):
    """The real `invoke_self`, checked against botocore's Lambda model (Stubber validates the parameters)."""
    import importlib
    import sys

    from tests.components.live_chat.chat_support import HANDLERS

    monkeypatch.syspath_prepend(str(HANDLERS))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mlplat-dev-chat-websocket")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("common", "talkdesk", "customer_socket"):
        sys.modules.pop(name, None)
    module = importlib.import_module("customer_socket")
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    payload = {"flush": {"conversationId": "c-1", "connectionId": "conn-1"}}
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202}, {
            "FunctionName": "mlplat-dev-chat-websocket", "InvocationType": "Event",
            "Payload": json.dumps(payload).encode()})
        monkeypatch.setattr(module.boto3, "client", lambda service, **_: client)
        module.invoke_self(payload)
        stub.assert_no_pending_responses()
    for name in ("common", "talkdesk", "customer_socket"):
        sys.modules.pop(name, None)


SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


class _Flaky:
    """API Gateway's management API refusing pushes with anything but Gone: throttled for the chosen connections."""

    def __init__(self, refuse: set[str]) -> None:
        self.real, self.refuse = boto3.client("apigatewaymanagementapi", endpoint_url=WS), refuse

    def post_to_connection(self, **kwargs):
        if kwargs["ConnectionId"] in self.refuse:
            raise ClientError({"Error": {"Code": "LimitExceededException", "Message": "Rate exceeded"}},
                              "PostToConnection")
        return self.real.post_to_connection(**kwargs)


def test_the_sweep_delivers_what_a_failed_push_left_to_a_silent_customer(chat, monkeypatch):
    """A push refused with LimitExceeded is answered 202 (Talkdesk does not retry) and the customer sends nothing:
    the next sweep delivers it instead of only pinging."""
    conversation = start(chat)
    chat["websocket"].handler(ws("$connect", "conn-1", conversation=conversation))
    monkeypatch.setattr(chat["callback"], "management_client", lambda *a: _Flaky({"conn-1"}))
    answer = chat["callback"].handler(callback(event_type="message_created", conversation_id=conversation,
                                               content="Your refund is approved.", author_name="Sam"))
    assert answer["statusCode"] == 202 and frames("conn-1") == []
    assert chat["websocket"].handler(SCHEDULED)["delivered"] == 1
    assert [f["content"] for f in frames("conn-1")] == ["Your refund is approved."]
    assert chat["websocket"].handler(SCHEDULED)["pinged"] == 1, "nothing left: a ping keeps the socket open"


def test_one_failing_connection_never_stops_the_sweep(chat, monkeypatch):
    """The first chat's pushes fail, the others are still pinged and an abandoned chat is still ended."""
    chats = [start(chat, f"s-{i}") for i in range(4)]
    for i, conversation in enumerate(chats):
        chat["websocket"].handler(ws("$connect", f"conn-{i}", conversation=conversation))
    chat["websocket"].handler(ws("$disconnect", "conn-3", code=1001))
    boto3.resource("dynamodb").Table(TABLE).update_item(
        Key={"conversation_id": chats[3]}, UpdateExpression="SET away_since = away_since - :w",
        ExpressionAttributeValues={":w": chat["websocket"].RESUME_WINDOW_SECONDS + 1})
    monkeypatch.setattr(chat["websocket"], "management_client", lambda *a: _Flaky({"conn-0"}))
    counts = chat["websocket"].handler(SCHEDULED)
    assert counts == {"pinged": 2, "delivered": 0, "away": 0, "failed": 1, "ended": 1}
    assert frames("conn-1") and frames("conn-2") and _item(chats[3])["status"] == "ENDED"
