"""Many conversations at once, with throttled pushes and a failing Talkdesk: nothing lost, doubled or crossed."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.components.live_chat.chat_support import FlakyPushes, chat_environment, frames, run_conversation

CONVERSATIONS, THREADS = 24, 8


@pytest.fixture
def chat(monkeypatch) -> Iterator[dict]:
    with chat_environment(monkeypatch.setenv) as env:
        yield env


@pytest.mark.load
def test_concurrent_conversations_deliver_every_message_once_in_order(chat, monkeypatch):
    pushes = FlakyPushes(every=3)
    for module in ("callback", "websocket"):
        monkeypatch.setattr(chat[module], "management_client", lambda *a: pushes)
    fake = chat["fake"]
    fake.fail("POST", "/digital-connect/conversations", 429, 503, 429, 503)  # (a prefix: messages too)
    # Customer messages: only refusals that say "not acted on" are retried (a 500/502/504 or a lost answer is
    # not, since Talkdesk cannot deduplicate a message: test_handlers covers those).
    fake.fail("POST", "/digital-connect/conversations/", 503, 429, 503)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda i: run_conversation(chat, i), range(CONVERSATIONS)))

    assert pushes.throttled > 0, "the run must include throttled pushes"
    assert len({conversation for conversation, *_ in results}) == CONVERSATIONS
    for conversation, connection, agent, customer in results:
        delivered = [f["content"] for f in frames(connection)]
        assert delivered == agent, f"{conversation}: agent frames must arrive once and in order"
        to_agent = [text for conv, text in fake.messages if conv == conversation]
        assert to_agent == customer, f"{conversation}: customer messages must reach its own conversation"
