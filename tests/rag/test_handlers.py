"""The RAG service's Lambda handlers: ingestion into a fake OpenSearch Serverless (a local HTTP server that checks
the SigV4 `aoss` signature) and S3 (moto), idempotent re-ingestion, and the query contract and its bad input."""

from __future__ import annotations

import json

import pytest

from components.rag.handlers import ingest as ingest_module
from components.rag.handlers import query as query_module
from tests.rag.rag_support import DOC, FACT, FakeOpenSearch, _event, _run


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
