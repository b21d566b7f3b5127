"""The RAG handlers' test doubles: an OpenSearch Serverless stand-in on 127.0.0.1, a SageMaker runtime
stand-in, AWS under moto, and S3 events (shared by the handler and lease tests)."""

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
from components.rag.handlers.aoss import OpenSearch
from mlruntime.embedding import LocalEmbedder
from tests.helpers import LocalServer

FACT = "The ledger code of project Aster is KX4411."
FILLER = " ".join(["Quarterly milestone review covered the roadmap and the stakeholder timeline."] * 6)
DOC = "\n\n".join([FILLER] * 6 + [FACT] + [FILLER] * 6)


class FakeOpenSearch(BaseHTTPRequestHandler):
    """OpenSearch Serverless as the handlers see it: SigV4 `aoss` checked, ids assigned by the collection,
    and near-real-time search: with `lag`, a search does not see what the last bulk request indexed (a vector
    collection makes new documents searchable after a refresh, not at once)."""

    indices: dict[str, dict[str, dict]] = {}
    signatures: list[str] = []
    lag = False
    unsearchable: set[str] = set()
    counter = 0
    bulk_sizes: list[int] = []

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
        if self.path.strip("/") in self.indices:
            return self._send(400, {"error": {"type": "resource_already_exists_exception"}})
        self.indices[self.path.strip("/")] = {}
        self._send(200, {"acknowledged": True})

    def do_POST(self) -> None:  # noqa: N802
        cls = type(self)
        data = self._body()
        if len(data) > 10 * 1024 * 1024:  # as OpenSearch answers a body past 10 MiB
            return self._send(413, {"Message": "Request size exceeded 10485760 bytes"})
        if self.path == "/_bulk":
            cls.bulk_sizes.append(len(data))
            lines = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
            items, fresh, i = [], set(), 0
            while i < len(lines):
                action = lines[i]
                if "delete" in action:
                    found = self.indices[action["delete"]["_index"]].pop(action["delete"]["_id"], None)
                    items.append({"delete": {"_id": action["delete"]["_id"], "status": 200 if found else 404}})
                    i += 1
                else:
                    cls.counter += 1
                    doc_id = f"auto-{cls.counter}"
                    self.indices[action["index"]["_index"]][doc_id] = lines[i + 1]
                    items.append({"index": {"_id": doc_id, "status": 201}})
                    fresh.add(doc_id)
                    i += 2
            cls.unsearchable = fresh if cls.lag else set()
            return self._send(200, {"errors": False, "items": items})
        index, query = self.path.strip("/").split("/")[0], json.loads(data)
        if index not in self.indices:
            return self._send(404, {"error": {"type": "index_not_found_exception"}})
        docs = {k: v for k, v in self.indices[index].items() if k not in cls.unsearchable}
        if "aggs" in query:
            keys = sorted({v["doc_id"] for v in docs.values()})
            return self._send(200, {"hits": {"hits": []},
                                    "aggregations": {"docs": {"buckets": [{"key": k} for k in keys]}}})
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
    FakeOpenSearch.indices, FakeOpenSearch.signatures, FakeOpenSearch.lag = {}, [], False
    FakeOpenSearch.unsearchable, FakeOpenSearch.bulk_sizes = set(), []
    server = LocalServer(FakeOpenSearch)
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="docs")
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="leases", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}])
        for key, value in {"INDEX": "rag", "DIMENSION": "1024", "EMBEDDINGS_ENDPOINT": "bge", "LLM_ENDPOINT": "mixtral",
                           "BUCKET": "docs", "KMS_KEY_ARN": kms, "AWS_DEFAULT_REGION": "us-east-1",
                           "LEASE_TABLE": "leases", "COLLECTION_ENDPOINT": server.url}.items():
            monkeypatch.setenv(key, value)
        session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
        search = OpenSearch(server.url, "us-east-1", session=session)
        yield {"s3": s3, "search": search, "sm": FakeRuntime()}
    server.close()


def _event(name: str, key: str = "documents/aster.txt") -> dict:
    return {"Records": [{"eventName": name, "s3": {"bucket": {"name": "docs"}, "object": {"key": key}}}]}


def _run(service, event: dict) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "runtime", lambda: service["sm"])
        mp.setattr(ingest_module, "OpenSearch", lambda *a, **k: service["search"])
        return ingest_module.handler(event)
