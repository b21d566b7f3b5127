"""`mlplat invoke` and the RAG handlers against a stand-in for SageMaker that behaves as AWS does for an endpoint
serving an inference component: a call without the component's header is refused, the first call with it finds
no capacity (scaled to zero), the next one is served. Traffic only to 127.0.0.1."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import boto3
import pytest
from botocore.exceptions import ClientError

from mlplat.invoke import ColdStart, invoke
from mlplat.project import InputError
from mlruntime.sagemaker import Target, invoke_json
from tests.helpers import LocalServer

ENDPOINT, COMPONENT = "mlplat-dev-bge-embeddings-endpoint-0a1b2c3", "mlplat-dev-bge-embeddings-ic-9f8e7d6c"
HEADER_REQUIRED = ("Inference Component Name header is required for endpoints to which you plan to deploy inference "
                   "components. Please include Inference Component Name header or consider using SageMaker models.")
NO_CAPACITY = ("Inference Component has no capacity to process this request. ApplicationAutoScaling may be "
               "in-progress (if configured) or try to increase the capacity by invoking "
               "UpdateInferenceComponentRuntimeConfig API.")
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


class _SageMaker(BaseHTTPRequestHandler):
    """SageMaker (JSON 1.1, X-Amz-Target) and SageMaker Runtime (REST-JSON) on one port."""

    calls: list[tuple[str, str | None]] = []
    cold = 1
    components: tuple[str, ...] = (COMPONENT,)

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict, error: str | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1" if error is None else "application/json")
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:  # noqa: N802
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        if target == "SageMaker.ListEndpoints":
            self._send(200, {"Endpoints": [{"EndpointName": ENDPOINT, "EndpointArn": f"{ARN}:endpoint/{ENDPOINT}",
                                            "CreationTime": 1.7e9, "LastModifiedTime": 1.7e9,
                                            "EndpointStatus": "InService"}]})
        elif target == "SageMaker.ListInferenceComponents":
            found = request.get("EndpointNameEquals") == ENDPOINT
            self._send(200, {"InferenceComponents": [{
                "InferenceComponentName": c, "InferenceComponentArn": f"{ARN}:inference-component/{c}",
                "EndpointName": ENDPOINT, "EndpointArn": f"{ARN}:endpoint/{ENDPOINT}", "VariantName": "AllTraffic",
                "InferenceComponentStatus": "InService", "CreationTime": 1.7e9, "LastModifiedTime": 1.7e9}
                for c in type(self).components]
                if found else []})
        elif self.path == f"/endpoints/{ENDPOINT}/invocations":
            component = self.headers.get("X-Amzn-SageMaker-Inference-Component")
            type(self).calls.append((self.path, component))
            if component != COMPONENT:
                self._send(400, {"message": HEADER_REQUIRED}, "ValidationError")
            elif type(self).cold:
                type(self).cold -= 1
                self._send(400, {"message": NO_CAPACITY}, "ValidationError")
            else:
                self._send(200, {"embedding": [[0.6, 0.8] for _ in request["text_inputs"]]})
        else:
            self._send(404, {"message": f"no route {target or self.path}"}, "UnknownOperationException")


@pytest.fixture
def stand_in():
    _SageMaker.calls, _SageMaker.cold, _SageMaker.components = [], 1, (COMPONENT,)
    server = LocalServer(_SageMaker)
    yield server
    server.close()


class _Session:
    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, name: str, region_name: str = "us-east-1"):
        return boto3.client(name, region_name=region_name, endpoint_url=self.url, aws_access_key_id="x",
                            aws_secret_access_key="y")


def test_a_call_without_the_component_is_refused_as_aws_refuses_it(stand_in):
    runtime = _Session(stand_in.url).client("sagemaker-runtime")
    with pytest.raises(ClientError, match="Inference Component Name header is required"):
        invoke_json(runtime, Target(ENDPOINT), {"text_inputs": ["x"], "mode": "embedding"})


def test_invoke_finds_the_component_and_waits_out_the_cold_start(stand_in):
    waits, lines = [], []
    name, body = invoke(region="us-east-1", prefix="mlplat-dev-bge-embeddings",
                        payload={"text_inputs": ["what is EFA?"], "mode": "embedding"},
                        session=_Session(stand_in.url), cold=ColdStart(on_cold=lines.append, sleep=waits.append))
    assert (name, body) == (ENDPOINT, {"embedding": [[0.6, 0.8]]})
    assert [c for _, c in _SageMaker.calls] == [COMPONENT, COMPONENT], "named every time; no capacity once"
    assert waits == [10.0] and "scaling from zero" in lines[0]


def test_on_a_shared_endpoint_invoke_picks_the_models_own_component(stand_in):
    """Several models on one endpoint: the endpoint lists every model's component; the CLI asks for its model's."""
    _SageMaker.components, _SageMaker.cold = ("mlplat-dev-mixtral-8x7b-ic-1a2b3c4d", COMPONENT), 0
    payload = {"text_inputs": ["what is EFA?"], "mode": "embedding"}
    with pytest.raises(InputError, match="serves several inference components"):
        invoke(region="us-east-1", prefix="mlplat-dev-bge-embeddings", payload=payload,
               session=_Session(stand_in.url))
    name, body = invoke(region="us-east-1", prefix="mlplat-dev-bge-embeddings", payload=payload,
                        component="mlplat-dev-bge-embeddings-ic*", session=_Session(stand_in.url))
    assert body == {"embedding": [[0.6, 0.8]]} and _SageMaker.calls[-1][1] == COMPONENT


def test_rag_handlers_name_the_component_from_their_environment(stand_in, monkeypatch):
    from components.rag.handlers.common import embed, target

    monkeypatch.setenv("EMBEDDINGS_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("EMBEDDINGS_COMPONENT", COMPONENT)
    _SageMaker.cold = 0
    vectors = embed(_Session(stand_in.url).client("sagemaker-runtime"), target("EMBEDDINGS"), ["a", "b"])
    assert len(vectors) == 2 and _SageMaker.calls[-1][1] == COMPONENT
