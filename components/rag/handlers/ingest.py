"""S3 events under `documents/`: bring the index to the document's current state.

S3 delivers event notifications at least once and not in order (Amazon S3 User Guide, "Amazon S3 Event
Notifications" and "Event message structure": `sequencer` orders events of one key only). So an event is only a
hint that a key may have changed: the function reconciles the key with what S3 holds *now* (HEAD), never with
what the event says. Present: split, embed and index it, unless the index already holds this version (ETag).
Absent: remove its children and parents. A late ObjectRemoved therefore cannot delete a document that exists
again, and a duplicated ObjectCreated changes nothing.

One reconciliation per key at a time: a lease item per document in DynamoDB. An event arriving while another
invocation holds the lease marks it dirty and returns; the holder reconciles again before it lets go, so the
last change is never lost and two runs never interleave their deletes and inserts.

Each document's manifest (`parents/<doc>/_manifest.json`: ETag and the ids OpenSearch gave its children) lets a
re-ingest delete the old children by id. A search for them could miss children indexed a moment ago (a vector
collection's search is near-real-time), which would leave duplicates.

Other events: `{"ensureIndex": true}` (the deployment's invocation: create the index, retrying while the data
access policy propagates) and `{"sync": true}` (`mlplat rag sync`: reconcile every document in the bucket and
every document in the index). A failure raises: Lambda retries the event twice, then sends it to the dead-letter
queue.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import uuid
from html.parser import HTMLParser
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mlruntime.rag.split import split_document

from .aoss import OpenSearch
from .common import DOCUMENTS, PARENTS, embed, parent_key, runtime, setting, target

MANIFEST = "_manifest.json"
#: What the service indexes: text it can read as such. Anything else (PDF, Office, images) is skipped and logged: a
#: PDF decoded as UTF-8 is noise that retrieval would then return. HTML is indexed as its visible text.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".csv", ".json", ".jsonl", ".html", ".htm")


class _Text(HTMLParser):
    """The visible text of an HTML page (script and style left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, _attrs: Any) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def document_text(doc_id: str, raw: bytes) -> str | None:
    """The text to index, or None for a file the service does not index (its type, or bytes that are not UTF-8)."""
    if not doc_id.lower().endswith(TEXT_SUFFIXES):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if doc_id.lower().endswith((".html", ".htm")):
        parser = _Text()
        parser.feed(text)
        return "\n".join(parser.parts)
    return text
#: Longer than the function's timeout (300 s): a lease outlives its holder only if the holder died.
LEASE_SECONDS = 330
MAX_ROUNDS = 5
SLEEP = time.sleep


def _sizes() -> dict[str, int]:
    return {"parent_size": int(os.environ.get("PARENT_SIZE", "2000")),
            "child_size": int(os.environ.get("CHILD_SIZE", "400")),
            "child_overlap": int(os.environ.get("CHILD_OVERLAP", "50"))}


def _manifest_key(doc_id: str) -> str:
    return f"{PARENTS}{doc_id}/{MANIFEST}"


def _manifest(s3: Any, bucket: str, doc_id: str) -> dict[str, Any]:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=_manifest_key(doc_id))["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return {}
        raise


def _clear_parents(s3: Any, bucket: str, doc_id: str) -> None:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PARENTS}{doc_id}/")
    keys = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})


def _head(s3: Any, bucket: str, key: str) -> str | None:
    """The object's ETag now, or None when it does not exist."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ETag"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def reconcile(bucket: str, doc_id: str, *, s3: Any, search: OpenSearch, sm: Any) -> dict[str, Any]:
    """Make the index and the parents match `documents/<doc_id>` as S3 holds it now."""
    index = setting("INDEX")
    manifest = _manifest(s3, bucket, doc_id)
    etag = _head(s3, bucket, f"{DOCUMENTS}{doc_id}")
    if etag is not None and manifest.get("etag") == etag:
        return {"doc": doc_id, "result": "unchanged", "children": len(manifest.get("children", []))}
    if etag is None:
        deleted = search.delete_ids(index, manifest.get("children", [])) + search.delete_document(index, doc_id)
        _clear_parents(s3, bucket, doc_id)
        return {"doc": doc_id, "result": "removed", "deleted": deleted, "children": 0}
    try:
        obj = s3.get_object(Bucket=bucket, Key=f"{DOCUMENTS}{doc_id}", IfMatch=etag)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("PreconditionFailed", "412", "NoSuchKey"):
            return {"doc": doc_id, "result": "changed", "children": 0}  # changed meanwhile: the caller goes again
        raise
    text = document_text(doc_id, obj["Body"].read())
    if text is None:
        deleted = search.delete_ids(index, manifest.get("children", [])) + search.delete_document(index, doc_id)
        _clear_parents(s3, bucket, doc_id)
        print(json.dumps({"event": "skipped", "doc": doc_id, "why": f"not indexed: only UTF-8 text files "
                                                                     f"({', '.join(TEXT_SUFFIXES)})"}))
        return {"doc": doc_id, "result": "skipped", "deleted": deleted, "children": 0}
    parents, children = split_document(doc_id, text, **_sizes())
    vectors = embed(sm, target("EMBEDDINGS"), [c.text for c in children])
    deleted = search.delete_ids(index, manifest.get("children", [])) + search.delete_document(index, doc_id)
    _clear_parents(s3, bucket, doc_id)
    for parent in parents:
        s3.put_object(Bucket=bucket, Key=parent_key(parent.id), Body=parent.text.encode(),
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=setting("KMS_KEY_ARN"))
    ids = search.index_children(index, [{"child_id": c.id, "parent_id": c.parent_id, "doc_id": doc_id,
                                         "text": c.text, "embedding": v}
                                        for c, v in zip(children, vectors, strict=True)]) if children else []
    s3.put_object(Bucket=bucket, Key=_manifest_key(doc_id), Body=json.dumps({"etag": etag, "children": ids}).encode(),
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=setting("KMS_KEY_ARN"))
    return {"doc": doc_id, "result": "indexed", "deleted": deleted, "parents": len(parents),
            "children": len(children)}


# -- one reconciliation per document at a time ----------------------------------------------------------
def _leases() -> Any:
    return boto3.resource("dynamodb").Table(setting("LEASE_TABLE"))


def _conditional(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False


def serialized(doc_id: str, work: Any) -> dict[str, Any]:
    """Run `work()` holding the document's lease, again while other events marked it dirty meanwhile."""
    table, token = _leases(), str(uuid.uuid4())
    for _ in range(MAX_ROUNDS):
        now = int(time.time())
        if _conditional(table.put_item, Item={"doc_id": doc_id, "owner": token, "dirty": False,
                                              "expires_at": now + LEASE_SECONDS},
                        ConditionExpression="attribute_not_exists(doc_id) OR expires_at < :now",
                        ExpressionAttributeValues={":now": now}):
            break
        # Held: leave the work to the holder, which reconciles again before it releases the lease.
        if _conditional(table.update_item, Key={"doc_id": doc_id}, UpdateExpression="SET dirty = :t",
                        ConditionExpression="attribute_exists(doc_id) AND expires_at >= :now",
                        ExpressionAttributeValues={":t": True, ":now": now}):
            return {"doc": doc_id, "result": "coalesced"}
    else:
        raise RuntimeError(f"could not take or mark the lease of {doc_id}")
    result: dict[str, Any] = {}
    for _ in range(MAX_ROUNDS):
        try:
            result = work()
        except Exception:
            # Failed (the embedder scaling from zero, a throttle): give the document back at once, so its retry
            # (the queue's, or the next event) reconciles it instead of coalescing into a holder that is gone.
            _conditional(table.delete_item, Key={"doc_id": doc_id}, ConditionExpression="#o = :t",
                         ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":t": token})
            raise
        if result.get("result") == "changed":
            continue
        if _conditional(table.delete_item, Key={"doc_id": doc_id},
                        ConditionExpression="#o = :t AND dirty = :f", ExpressionAttributeNames={"#o": "owner"},
                        ExpressionAttributeValues={":t": token, ":f": False}):
            return result
        if not _conditional(table.update_item, Key={"doc_id": doc_id},
                            UpdateExpression="SET dirty = :f, expires_at = :e", ConditionExpression="#o = :t",
                            ExpressionAttributeNames={"#o": "owner"},
                            ExpressionAttributeValues={":f": False, ":t": token,
                                                       ":e": int(time.time()) + LEASE_SECONDS}):
            return result  # our lease expired and another invocation owns the document now
    raise RuntimeError(f"{doc_id} kept changing: still dirty after {MAX_ROUNDS} rounds")


def ingest(bucket: str, key: str, *, s3: Any, search: OpenSearch, sm: Any) -> dict[str, Any]:
    doc_id = key.removeprefix(DOCUMENTS)
    search.ensure_index(setting("INDEX"), int(setting("DIMENSION")))
    return serialized(doc_id, lambda: reconcile(bucket, doc_id, s3=s3, search=search, sm=sm))


def sync(bucket: str, *, s3: Any, search: OpenSearch, sm: Any) -> dict[str, Any]:
    """Reconcile every document the bucket holds and every document the index holds (LangChain's indexing API
    calls this a full cleanup): returns how many were indexed, removed and left unchanged."""
    docs = sync_documents(bucket, s3=s3, search=search)
    counts: dict[str, int] = {}
    for doc_id in docs:
        result = serialized(doc_id, lambda d=doc_id: reconcile(bucket, d, s3=s3, search=search, sm=sm))["result"]
        counts[result] = counts.get(result, 0) + 1
    return {"documents": len(docs), **counts}


def sync_documents(bucket: str, *, s3: Any, search: OpenSearch) -> list[str]:
    """Every document a sync reconciles: the bucket's, the index's and those with parents left (`mlplat rag sync`
    asks for this list first, then reconciles each document in an invocation of its own)."""
    search.ensure_index(setting("INDEX"), int(setting("DIMENSION")))
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DOCUMENTS)
    docs = {o["Key"].removeprefix(DOCUMENTS) for page in pages for o in page.get("Contents", [])
            if not o["Key"].endswith("/")}
    docs |= set(search.doc_ids(setting("INDEX")))
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PARENTS)
    docs |= {o["Key"].removeprefix(PARENTS).removesuffix(f"/{MANIFEST}") for page in pages
             for o in page.get("Contents", []) if o["Key"].endswith(f"/{MANIFEST}")}
    return sorted(docs)


def ensure_index(search: OpenSearch, attempts: int = 30) -> dict[str, Any]:
    """Create the index at deployment. A new data access policy takes about a minute to be enforced (OpenSearch
    Serverless developer guide, "Data access control"): 403s are retried with backoff, about 90 s in all, as
    generative-ai-cdk-constructs' VectorIndex custom resource does (30 attempts, waits capped at 3 s)."""
    for attempt in range(attempts):
        try:
            created = search.ensure_index(setting("INDEX"), int(setting("DIMENSION")))
            return {"index": setting("INDEX"), "created": created, "attempts": attempt + 1}
        except PermissionError:
            SLEEP(min(3.0, 2 ** attempt * 0.25))
    raise RuntimeError(f"index {setting('INDEX')}: still forbidden after {attempts} attempts: check the data "
                       "access policy names this function's role")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    s3, sm = boto3.client("s3"), runtime()
    search = OpenSearch(setting("COLLECTION_ENDPOINT"), os.environ.get("AWS_REGION", "us-east-1"))
    if event.get("ensureIndex"):
        return ensure_index(search)
    request = event.get("sync")
    if request == "list":
        return {"documents": sync_documents(setting("BUCKET"), s3=s3, search=search)}
    if isinstance(request, dict) and isinstance(request.get("doc"), str):
        return ingest(setting("BUCKET"), f"{DOCUMENTS}{request['doc']}", s3=s3, search=search, sm=sm)
    if request:
        result = sync(setting("BUCKET"), s3=s3, search=search, sm=sm)
        print(json.dumps({"synced": result}), flush=True)
        return result
    records = event.get("Records", [])
    if records and records[0].get("eventSource") == "aws:sqs":
        return _from_queue(records, s3=s3, search=search, sm=sm)
    results = _s3_records(records, s3=s3, search=search, sm=sm)
    print(json.dumps({"ingested": results}), flush=True)
    return {"ingested": results}


def _s3_records(records: list[dict[str, Any]], **clients: Any) -> list[dict[str, Any]]:
    results = []
    for record in records:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith(DOCUMENTS) or key.endswith("/"):
            continue
        # The event name is not trusted: ObjectCreated and ObjectRemoved alike reconcile to S3's current state.
        results.append(ingest(record["s3"]["bucket"]["name"], key, **clients))
    return results


def _from_queue(messages: list[dict[str, Any]], **clients: Any) -> dict[str, Any]:
    """S3 events delivered through the ingest queue: a message whose document fails (the embedder still scaling
    from zero, a throttle) goes back to the queue alone and is retried after the visibility timeout (Lambda's
    ReportBatchItemFailures); S3's test event on notification set-up carries no records."""
    results, failures = [], []
    for message in messages:
        try:
            results += _s3_records(json.loads(message["body"]).get("Records", []), **clients)
        except Exception as exc:  # noqa: BLE001 (reported per message; the queue retries it)
            print(json.dumps({"event": "ingest_failed", "message": message.get("messageId"),
                              "error": type(exc).__name__, "detail": str(exc)[:300]}), flush=True)
            failures.append({"itemIdentifier": message["messageId"]})
    print(json.dumps({"ingested": results, "failed": len(failures)}), flush=True)
    return {"ingested": results, "batchItemFailures": failures}
