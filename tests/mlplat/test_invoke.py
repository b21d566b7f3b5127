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
    s.sm_stub.add_response("list_inference_components", {"InferenceComponents": []},
                           {"EndpointNameEquals": "mlplat-prod-solar-endpoint-abc1234", "StatusEquals": "InService",
                            "MaxResults": 10})
    s.rt_stub.add_response("invoke_endpoint", _body({"choices": [{"message": {"content": "Hello!"}}]}),
                           {"EndpointName": "mlplat-prod-solar-endpoint-abc1234", "ContentType": "application/json",
                            "Accept": "application/json", "Body": json.dumps(payload).encode()})
    with s.sm_stub, s.rt_stub:
        name, body = invoke(region="us-east-1", prefix="mlplat-prod-solar", payload=payload,
                            session=s)
    assert name == "mlplat-prod-solar-endpoint-abc1234"
    assert render_answer("openai-chat", body) == "Hello!"


def test_missing_endpoint_is_a_clear_error():
    s = _Session()
    s.sm_stub.add_response("list_endpoints", {"Endpoints": []})
    with s.sm_stub, pytest.raises(InputError, match="no in-service endpoint named mlplat-dev-bge-endpoint-"):
        invoke(region="us-east-1", prefix="mlplat-dev-bge", payload={}, session=s)


def test_service_error_is_reported_without_traceback():
    s = _Session()
    s.sm_stub.add_response("list_inference_components", {"InferenceComponents": []})
    s.rt_stub.add_client_error("invoke_endpoint", service_error_code="ValidationException",
                               service_message="Endpoint x of account 1 not found.")
    refused = "ValidationException: Endpoint x of account 1 not found."
    with s.sm_stub, s.rt_stub, pytest.raises(InputError, match=refused):
        invoke(region="us-east-1", prefix="p", payload={}, endpoint_name="x", session=s)


def test_render_embedding_and_tgi():
    assert render_answer("embedding", {"embedding": [[0.1] * 1024]}).startswith("1 embedding(s) of dimension 1024")
    assert render_answer("tgi", [{"generated_text": "ok"}]) == "ok"


NO_CAPACITY = ("Inference Component has no capacity to process this request. ApplicationAutoScaling may be "
               "in-progress (if configured) or try to increase the capacity by invoking "
               "UpdateInferenceComponentRuntimeConfig API.")


def test_cold_endpoint_is_retried_with_backoff_until_it_answers():
    from mlplat.invoke import ColdStart

    s = _Session()
    for _ in range(3):
        s.rt_stub.add_client_error("invoke_endpoint", service_error_code="ValidationError",
                                   service_message=NO_CAPACITY, http_status_code=400)
    s.rt_stub.add_response("invoke_endpoint", _body({"embedding": [[0.1, 0.2]]}))
    waits, lines = [], []
    with s.rt_stub:
        name, body = invoke(region="us-east-1", prefix="p", payload={"text_inputs": ["x"]},
                            endpoint_name="bge", component="bge-ic", session=s,
                            cold=ColdStart(on_cold=lines.append, sleep=waits.append))
        s.rt_stub.assert_no_pending_responses()
    assert (name, body) == ("bge", {"embedding": [[0.1, 0.2]]})
    assert waits == [10.0, 20.0, 40.0]
    assert lines[0] == ("bge is scaling from zero (no model copy yet; typically about 5 minutes): retrying in 10 s "
                        "(0 s waited, giving up after 600 s)")


def test_cold_endpoint_gives_up_at_the_limit_and_other_errors_are_not_retried():
    from mlplat.invoke import ColdStart

    s = _Session()
    for _ in range(4):
        s.rt_stub.add_client_error("invoke_endpoint", service_error_code="ValidationError",
                                   service_message=NO_CAPACITY, http_status_code=400)
    waits: list[float] = []
    with s.rt_stub, pytest.raises(InputError, match=r"bge is still scaling from zero after 55 s \(limit 55 s\)"):
        invoke(region="us-east-1", prefix="p", payload={}, endpoint_name="bge", component="bge-ic", session=s,
               cold=ColdStart(sleep=waits.append, limit_s=55))
    assert waits == [10.0, 20.0, 25.0]  # the backoff's 40 s is cut to what is left of the limit
    s = _Session()
    s.rt_stub.add_client_error("invoke_endpoint", service_error_code="ValidationError",
                               service_message="Endpoint bge of account 1 not found.", http_status_code=400)
    waits.clear()
    with s.rt_stub, pytest.raises(InputError, match="ValidationError: Endpoint bge of account 1 not found"):
        invoke(region="us-east-1", prefix="p", payload={}, endpoint_name="bge", component="bge-ic", session=s,
               cold=ColdStart(sleep=waits.append))
    assert waits == []
