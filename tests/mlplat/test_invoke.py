"""`mlplat invoke` against stubbed SageMaker clients: payload per model, endpoint discovery, errors."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.stub import Stubber

from mlplat.invoke import build_payload, invoke, render_answer
from mlplat.project import InputError


class _Session:
    """A boto3 session whose clients are stubbed."""

    def __init__(self) -> None:
        self.sm = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        self.rt = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x",
                               aws_secret_access_key="y")
        self.sm_stub, self.rt_stub = Stubber(self.sm), Stubber(self.rt)

    def client(self, name: str, region_name: str):
        return self.sm if name == "sagemaker" else self.rt


def _body(obj) -> dict:
    from botocore.response import StreamingBody

    raw = json.dumps(obj).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


def test_payload_shapes():
    chat = build_payload("openai-chat", "hi", system="be brief")
    assert chat["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert build_payload("embedding", "text") == {"text_inputs": ["text"], "mode": "embedding"}
    tgi = build_payload("tgi", "hello", max_tokens=64)
    assert tgi["inputs"] == "<s>[INST] hello [/INST]" and tgi["parameters"]["max_new_tokens"] == 64


def test_invoke_finds_the_endpoint_by_prefix_and_renders_chat():
    s = _Session()
    endpoint = {"EndpointName": "mlplat-prod-solar-endpoint-abc1234",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/x", "CreationTime": "2026-01-01",
                "LastModifiedTime": "2026-01-01", "EndpointStatus": "InService"}
    s.sm_stub.add_response("list_endpoints", {"Endpoints": [endpoint]},
                           {"NameContains": "mlplat-prod-solar-endpoint", "StatusEquals": "InService",
                            "MaxResults": 10})
    payload = build_payload("openai-chat", "hi")
    s.rt_stub.add_response("invoke_endpoint", _body({"choices": [{"message": {"content": "Hello!"}}]}),
                           {"EndpointName": "mlplat-prod-solar-endpoint-abc1234", "ContentType": "application/json",
                            "Accept": "application/json", "Body": json.dumps(payload).encode()})
    with s.sm_stub, s.rt_stub:
        name, body = invoke(region="us-east-1", prefix="mlplat-prod-solar", kind="openai-chat", payload=payload,
                            session=s)
    assert name == "mlplat-prod-solar-endpoint-abc1234"
    assert render_answer("openai-chat", body) == "Hello!"


def test_missing_endpoint_is_a_clear_error():
    s = _Session()
    s.sm_stub.add_response("list_endpoints", {"Endpoints": []})
    with s.sm_stub, pytest.raises(InputError, match="no in-service endpoint named mlplat-dev-bge-endpoint-"):
        invoke(region="us-east-1", prefix="mlplat-dev-bge", kind="embedding", payload={}, session=s)


def test_service_error_is_reported_without_traceback():
    s = _Session()
    s.rt_stub.add_client_error("invoke_endpoint", service_error_code="ValidationException",
                               service_message="Endpoint x of account 1 not found.")
    with s.rt_stub, pytest.raises(InputError, match="ValidationException: Endpoint x of account 1 not found."):
        invoke(region="us-east-1", prefix="p", kind="tgi", payload={}, endpoint_name="x", session=s)


def test_render_embedding_and_tgi():
    assert render_answer("embedding", {"embedding": [[0.1] * 1024]}).startswith("1 embedding(s) of dimension 1024")
    assert render_answer("tgi", [{"generated_text": "ok"}]) == "ok"
