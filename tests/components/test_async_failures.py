"""Asynchronous work has somewhere to fail to: the live chat's flush and sweep (async invocations of the WebSocket
function: `$connect`'s self-invocation, EventBridge) and the RAG service's asynchronous queries go, after their
retries, to an encrypted queue the function's role may send to (Lambda delivers on-failure destinations as the
function's execution role)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import plan_environment

CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"


@pytest.mark.parametrize(("stack", "function", "queue"), [
    ("prod", "mlplat-prod-chat-websocket", "mlplat-prod-chat-async-failures"),
    ("staging", "mlplat-staging-rag-query", "mlplat-staging-rag-ingest-dlq"),
])
def test_async_invocations_fail_to_a_queue_the_role_may_send_to(stack, function, queue):
    view = plan_environment(stack)
    fn = view.get("aws:lambda/function:Function", function)
    sqs = view.get("aws:sqs/queue:Queue", queue)
    (config,) = [c for c in view.of_type(CONFIG) if c["inputs"]["functionName"] == fn["outputs"]["name"]]
    assert config["inputs"]["destinationConfig"]["onFailure"]["destination"] == sqs["outputs"]["arn"]
    assert config["inputs"]["maximumRetryAttempts"] == 2 and sqs["inputs"]["kmsMasterKeyId"]
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", f"{function}-role")["inputs"]["policy"])
    sends = [s for s in policy["Statement"] if "sqs:SendMessage" in s["Action"]]
    assert any(s["Resource"] == sqs["outputs"]["arn"] for s in sends), policy
