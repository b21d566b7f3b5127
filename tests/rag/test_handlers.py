"""The RAG service's Lambda handlers: ingestion into a fake OpenSearch Serverless (a local HTTP server that checks
the SigV4 `aoss` signature) and S3 (moto), idempotent re-ingestion, and the query contract and its bad input."""

from __future__ import annotations

import hashlib
import io
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from moto import mock_aws

from components.rag.handlers import ingest as ingest_module
from components.rag.handlers import query as query_module
from components.rag.handlers.aoss import OpenSearch
from mlruntime.embedding import LocalEmbedder
from tests.helpers import LocalServer

FACT = "The ledger code of project Aster is KX4411."
FILLER = " ".join(["Quarterly milestone review covered the roadmap and the stakeholder timeline."] * 6)
DOC = "\n\n".join([FILLER] * 6 + [FACT] + [FILLER] * 6)


class FakeOpenSearch(BaseHTTPRequestHandler):
    indices: dict[str, dict[str, dict]] = {}
    signatures: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "")
        assert auth.startswith("AWS4-HMAC-SHA256 ") and "/us-east-1/aoss/aws4_request" in auth
        assert self.headers["x-amz-content-sha256"] == hashlib.sha256(data).hexdigest()
        self.signatures.append(auth)
        return data

    def _send(self, status: int, body: Any = None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_HEAD(self) -> None:  # noqa: N802
        self._body()
        self._send(200 if self.path.strip("/") in self.indices else 404)

    def do_PUT(self) -> None:  # noqa: N802
        body = json.loads(self._body())
        assert body["mappings"]["properties"]["embedding"]["dimension"] == 1024
        self.indices[self.path.strip("/")] = {}
        self._send(200, {"acknowledged": True})

    def do_POST(self) -> None:  # noqa: N802
        data = self._body()
        if self.path == "/_bulk":
            lines = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
            i = 0
            while i < len(lines):
                action = lines[i]
                if "delete" in action:
                    self.indices[action["delete"]["_index"]].pop(action["delete"]["_id"], None)
                    i += 1
                else:
                    docs = self.indices[action["index"]["_index"]]
                    docs[f"auto-{len(docs)}-{hashlib.md5(json.dumps(lines[i + 1]).encode()).hexdigest()[:6]}"] = \
                        lines[i + 1]
                    i += 2
            return self._send(200, {"errors": False, "items": []})
        index, query = self.path.strip("/").split("/")[0], json.loads(data)
        docs = self.indices[index]
        if "term" in query["query"]:
            hits = [{"_id": k} for k, v in docs.items() if v["doc_id"] == query["query"]["term"]["doc_id"]]
        else:
            vector = np.asarray(query["query"]["knn"]["embedding"]["vector"])
            scored = sorted(docs.items(), key=lambda kv: -float(np.dot(kv[1]["embedding"], vector)))
            hits = [{"_id": k, "_score": float(np.dot(v["embedding"], vector)), "_source": v}
                    for k, v in scored[: query["size"]]]
        self._send(200, {"hits": {"hits": hits}})


class FakeRuntime:
    """sagemaker-runtime: BGE answers with the local embedder, Mixtral copies the fact it is shown."""

    def __init__(self) -> None:
        self.embedder, self.prompts = LocalEmbedder(), []

    def invoke_endpoint(self, EndpointName: str, Body: bytes, **_: Any) -> dict:  # noqa: N803
        body = json.loads(Body)
        if EndpointName == "bge":
            out = {"embedding": self.embedder.embed(body["text_inputs"]).tolist()}
        else:
            self.prompts.append(body["inputs"])
            out = [{"generated_text": "KX4411" if "KX4411" in body["inputs"] else "I do not know."}]
        raw = json.dumps(out).encode()
        return {"Body": StreamingBody(io.BytesIO(raw), len(raw))}


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch):
    FakeOpenSearch.indices, FakeOpenSearch.signatures = {}, []
    server = LocalServer(FakeOpenSearch)
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="docs")
        for key, value in {"INDEX": "rag", "DIMENSION": "1024", "EMBEDDINGS_ENDPOINT": "bge", "LLM_ENDPOINT": "mixtral",
                           "BUCKET": "docs", "KMS_KEY_ARN": kms, "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(key, value)
        session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
        search = OpenSearch(server.url, "us-east-1", session=session)
        yield {"s3": s3, "search": search, "sm": FakeRuntime()}
    server.close()


def test_ingestion_is_idempotent_and_query_answers_from_parents(service):
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    first = ingest_module.ingest("docs", "documents/aster.txt", False, **service)
    again = ingest_module.ingest("docs", "documents/aster.txt", False, **service)
    assert again == {**first, "deleted": first["children"]} and first["children"] > 3
    assert len(FakeOpenSearch.indices["rag"]) == first["children"]
    parents = s3.list_objects_v2(Bucket="docs", Prefix="parents/aster.txt/")["Contents"]
    assert len(parents) == first["parents"]
    head = s3.head_object(Bucket="docs", Key=parents[0]["Key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    request, error = query_module.parse({"body": json.dumps({"question": "What is the ledger code of project Aster?",
                                                              "compression": "embeddings", "k": 2})})
    assert error is None
    result = query_module.answer(request, **service)
    assert result["answer"] == "KX4411" and result["retriever"] == "parent"
    assert result["sources"][0]["id"].startswith("aster.txt#p")
    assert any(FACT in p for s in result["sources"] for p in s["passages"])
    removed = ingest_module.ingest("docs", "documents/aster.txt", True, **service)
    assert removed["deleted"] == first["children"] and not FakeOpenSearch.indices["rag"]
    assert "Contents" not in s3.list_objects_v2(Bucket="docs", Prefix="parents/aster.txt/")


@pytest.mark.parametrize(("body", "error"), [
    ("not json", "body: expected a JSON object"),
    (json.dumps(["a"]), "body: expected a JSON object, found list"),
    (json.dumps({"question": "   "}), "question: expected a string of 1 to 2000 characters, found 3"),
    (json.dumps({"question": "x" * 2001}), "question: expected a string of 1 to 2000 characters, found 2001"),
    (json.dumps({"question": "q", "retriever": "hybrid"}), "retriever: expected one of plain, parent, found 'hybrid'"),
    (json.dumps({"question": "q", "compression": "zip"}), "compression: expected one of none, embeddings, "
                                                          "llm-extract, llm-filter, found 'zip'"),
    (json.dumps({"question": "q", "k": 50}), "k: expected an integer from 1 to 10, found 50"),
])
def test_query_bad_input_is_a_400_naming_the_key(body: str, error: str):
    response = query_module.handler({"body": body})
    assert response["statusCode"] == 400 and json.loads(response["body"]) == {"error": error}
