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


def _ingest(service, key: str = "documents/aster.txt") -> dict:
    return ingest_module.ingest("docs", key, **service)


def test_ingestion_is_idempotent_and_query_answers_from_parents(service):
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    first = _ingest(service)
    assert first["result"] == "indexed" and first["children"] > 3
    assert _ingest(service) == {"doc": "aster.txt", "result": "unchanged", "children": first["children"]}
    assert len(FakeOpenSearch.indices["rag"]) == first["children"]
    parents = [o["Key"] for o in s3.list_objects_v2(Bucket="docs", Prefix="parents/aster.txt/")["Contents"]]
    assert len([k for k in parents if not k.endswith("_manifest.json")]) == first["parents"]
    head = s3.head_object(Bucket="docs", Key=parents[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    request, error = query_module.parse({"body": json.dumps({"question": "What is the ledger code of project Aster?",
                                                              "compression": "embeddings", "k": 2})})
    assert error is None
    result = query_module.answer(request, **service)
    assert result["answer"] == "KX4411" and result["retriever"] == "parent"
    assert result["sources"][0]["id"].startswith("aster.txt#p") and result["sources"][0]["doc"] == "aster.txt"
    assert any(FACT in p for s in result["sources"] for p in s["passages"])
    s3.delete_object(Bucket="docs", Key="documents/aster.txt")
    removed = _ingest(service)
    assert removed["result"] == "removed" and removed["deleted"] == first["children"]
    assert not FakeOpenSearch.indices["rag"]
    assert "Contents" not in s3.list_objects_v2(Bucket="docs", Prefix="parents/aster.txt/")


def _event(name: str, key: str = "documents/aster.txt") -> dict:
    return {"Records": [{"eventName": name, "s3": {"bucket": {"name": "docs"}, "object": {"key": key}}}]}


def _run(service, event: dict) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "runtime", lambda: service["sm"])
        mp.setattr(ingest_module, "OpenSearch", lambda *a, **k: service["search"])
        return ingest_module.handler(event)


def test_overlapping_duplicate_events_leave_one_copy_even_when_search_lags(service):
    """S3 delivers at least once: a second ObjectCreated arrives while the first is being processed, and the
    index's search does not yet see what was just indexed."""
    FakeOpenSearch.lag = True
    service["s3"].put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    real_embed, nested = ingest_module.embed, []

    def embed_and_meanwhile_redeliver(*args, **kwargs):
        if not nested:
            nested.append(_run(service, _event("ObjectCreated:Put")))  # the duplicate, mid-flight
        return real_embed(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "embed", embed_and_meanwhile_redeliver)
        first = _run(service, _event("ObjectCreated:Put"))
    assert nested[0]["ingested"][0]["result"] == "coalesced"
    children = first["ingested"][0]["children"]
    assert len(FakeOpenSearch.indices["rag"]) == children, "one copy of every child"
    service["s3"].put_object(Bucket="docs", Key="documents/aster.txt", Body=(DOC + "\n\nA new paragraph.").encode())
    again = _run(service, _event("ObjectCreated:Put"))["ingested"][0]
    assert again["result"] == "indexed"
    assert len(FakeOpenSearch.indices["rag"]) == again["children"], "old children removed by id, not by search"


def test_a_late_object_removed_does_not_delete_a_document_that_exists_again(service):
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    s3.delete_object(Bucket="docs", Key="documents/aster.txt")
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    # Delivered out of order: created, created (the re-upload), then the removal in between arrives last.
    for name in ("ObjectCreated:Put", "ObjectCreated:Put", "ObjectRemoved:Delete"):
        _run(service, _event(name))
    assert FakeOpenSearch.indices["rag"], "the document exists in S3, so it stays indexed"
    request, _ = query_module.parse({"body": json.dumps({"question": "What is the ledger code of project Aster?"})})
    assert query_module.answer(request, **service)["answer"] == "KX4411"


def test_sync_repairs_what_events_missed(service):
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    s3.put_object(Bucket="docs", Key="documents/gone.txt", Body=b"Short note about the gone project. " * 20)
    _ingest(service)
    _ingest(service, "documents/gone.txt")
    s3.delete_object(Bucket="docs", Key="documents/gone.txt")  # its ObjectRemoved was lost
    s3.put_object(Bucket="docs", Key="documents/new.txt", Body=b"The new project starts in May. " * 20)  # never seen
    result = _run(service, {"sync": True})
    assert result == {"documents": 3, "unchanged": 1, "removed": 1, "indexed": 1}
    assert {v["doc_id"] for v in FakeOpenSearch.indices["rag"].values()} == {"aster.txt", "new.txt"}


def test_the_index_is_created_at_deployment_retrying_while_the_data_policy_propagates(service, monkeypatch):
    calls = []

    def forbidden_twice(index, dimension):
        calls.append(index)
        if len(calls) <= 2:
            raise PermissionError("403")
        return True

    monkeypatch.setattr(service["search"], "ensure_index", forbidden_twice)
    monkeypatch.setattr(ingest_module, "SLEEP", lambda _s: None)
    assert _run(service, {"ensureIndex": True}) == {"index": "rag", "created": True, "attempts": 3}


def test_a_query_before_anything_was_indexed_says_so(service):
    request, _ = query_module.parse({"body": json.dumps({"question": "What is the ledger code?"})})
    result = query_module.answer(request, **service)
    assert result["answer"] == query_module.EMPTY_INDEX and result["sources"] == []


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


def test_an_async_query_returns_a_job_whose_answer_can_be_polled(service, monkeypatch):
    service["s3"].put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    _ingest(service)
    started = []
    monkeypatch.setattr(query_module, "invoke_self", lambda _context, payload: started.append(payload))
    monkeypatch.setattr(query_module, "runtime", lambda: service["sm"])
    monkeypatch.setattr(query_module, "OpenSearch", lambda *a, **k: service["search"])
    posted = query_module.handler({"httpMethod": "POST", "body": json.dumps(
        {"question": "What is the ledger code of project Aster?", "compression": "llm-extract", "async": True})})
    assert posted["statusCode"] == 202
    job_id = json.loads(posted["body"])["jobId"]

    def poll(job: str) -> dict:
        return query_module.handler({"httpMethod": "GET", "pathParameters": {"jobId": job}})

    assert poll(job_id)["statusCode"] == 202, "running until the asynchronous invocation has answered"
    (payload,) = started
    query_module.handler(payload)
    done = poll(job_id)
    assert done["statusCode"] == 200 and json.loads(done["body"])["answer"] == "KX4411"
    assert poll("0" * 32)["statusCode"] == 404 and poll("../etc")["statusCode"] == 404
    assert query_module.handler({"body": json.dumps({"question": "q", "async": "yes"})})["statusCode"] == 400


def test_bulk_batches_stay_under_the_request_limit_and_lose_no_row():
    """1,000 rows of ~23 KB (a 1024-d child with full float precision): about 22 MiB in one body."""
    from components.rag.handlers.aoss import BULK_MAX_BYTES, BULK_MAX_ROWS, bulk_batches

    rows = [{"child_id": f"c{i}", "embedding": [0.12345678901234567] * 1024} for i in range(1000)]
    batches = bulk_batches("rag", rows)
    assert sum(len(b.encode()) for b in batches) > 20 * 1024 * 1024
    assert all(len(b.encode()) <= BULK_MAX_BYTES and b.count("\n") <= 2 * BULK_MAX_ROWS for b in batches)
    assert [json.loads(line)["child_id"] for b in batches for line in b.splitlines()[1::2]] == [r["child_id"]
                                                                                               for r in rows]


def test_a_large_document_is_indexed_in_bulk_requests_under_the_size_limit(service):
    """A 330 KB text makes about a thousand 1024-d children, ~20 MiB as one bulk request: OpenSearch refuses a body
    past 10 MiB (413). Batched, every request stays under the limit, and the manifest lists every child."""
    text = " ".join(f"Sentence {i} of the long report mentions ledger code KX{i:05d} and nothing else." for i in
                    range(4500))
    assert len(text) > 330_000
    service["s3"].put_object(Bucket="docs", Key="documents/long.txt", Body=text.encode())
    result = _ingest(service, "documents/long.txt")
    assert result["result"] == "indexed" and result["children"] >= 900
    assert len(FakeOpenSearch.bulk_sizes) > 1 and max(FakeOpenSearch.bulk_sizes) <= 5 * 1024 * 1024
    manifest = json.loads(service["s3"].get_object(Bucket="docs", Key="parents/long.txt/_manifest.json")["Body"].read())
    assert len(manifest["children"]) == result["children"] == len(FakeOpenSearch.indices["rag"])


def test_only_text_is_indexed_and_other_files_are_skipped(service):
    """A PDF (or any binary) decoded as text would be noise retrieval returns: skipped and logged; HTML is indexed
    as its visible text; a text file that is not UTF-8 is skipped too."""
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/report.pdf", Body=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>")
    assert _ingest(service, "documents/report.pdf")["result"] == "skipped"
    s3.put_object(Bucket="docs", Key="documents/latin1.txt", Body="caf\xe9".encode("latin-1"))
    assert _ingest(service, "documents/latin1.txt")["result"] == "skipped"
    page = f"<html><head><style>p {{color: red}}</style></head><body><p>{DOC}</p><script>x()</script></body></html>"
    s3.put_object(Bucket="docs", Key="documents/aster.html", Body=page.encode())
    assert _ingest(service, "documents/aster.html")["result"] == "indexed"
    texts = [row["text"] for row in FakeOpenSearch.indices["rag"].values()]
    assert texts and not any("color: red" in t or "x()" in t or "%PDF" in t for t in texts)


def test_a_sync_lists_the_documents_then_reconciles_each_in_its_own_invocation(service):
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    listed = _run(service, {"sync": "list"})
    assert listed == {"documents": ["aster.txt"]}
    assert _run(service, {"sync": {"doc": "aster.txt"}})["result"] == "indexed"
    assert _run(service, {"sync": {"doc": "aster.txt"}})["result"] == "unchanged"


def _queued(key: str, message_id: str = "m-1") -> dict:
    body = json.dumps({"Records": _event("ObjectCreated:Put", key)["Records"]})
    return {"Records": [{"eventSource": "aws:sqs", "messageId": message_id, "body": body}]}


def test_an_upload_while_the_embedder_is_cold_waits_in_the_queue_and_is_indexed_later(service):
    """The embedder scales from zero in minutes: its first answers are errors. The S3 event arrives through the
    ingest queue; the failed message is reported back (ReportBatchItemFailures) and retried, not dead-lettered."""
    service["s3"].put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    cold = {"on": True}
    real = service["sm"].invoke_endpoint

    def scaling_from_zero(**kwargs):
        if cold["on"]:
            raise RuntimeError("ValidationError: no capacity: the endpoint is scaling from zero")
        return real(**kwargs)

    service["sm"].invoke_endpoint = scaling_from_zero
    first = _run(service, _queued("documents/aster.txt"))
    assert first["batchItemFailures"] == [{"itemIdentifier": "m-1"}] and first["ingested"] == []
    cold["on"] = False
    later = _run(service, _queued("documents/aster.txt"))
    assert later["batchItemFailures"] == [] and later["ingested"][0]["result"] == "indexed"
    assert _run(service, {"Records": [{"eventSource": "aws:sqs", "messageId": "t",
                                       "body": json.dumps({"Event": "s3:TestEvent"})}]})["batchItemFailures"] == []
