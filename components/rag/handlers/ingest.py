"""S3 events under `documents/`: split the document into parents and children, embed the children through the
BGE endpoint, replace the document's children in the k-NN index and its parents under `parents/`. A removed
document loses both. A failure raises: Lambda retries the event twice, then sends it to the dead-letter queue."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

import boto3

from mlruntime.rag.split import split_document

from .aoss import OpenSearch
from .common import DOCUMENTS, PARENTS, embed, parent_key, runtime, setting, target


def _sizes() -> dict[str, int]:
    return {"parent_size": int(os.environ.get("PARENT_SIZE", "2000")),
            "child_size": int(os.environ.get("CHILD_SIZE", "400")),
            "child_overlap": int(os.environ.get("CHILD_OVERLAP", "50"))}


def _clear_parents(s3: Any, bucket: str, doc_id: str) -> None:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PARENTS}{doc_id}/")
    keys = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})


def ingest(bucket: str, key: str, removed: bool, *, s3: Any, search: OpenSearch, sm: Any) -> dict[str, Any]:
    doc_id = key.removeprefix(DOCUMENTS)
    index = setting("INDEX")
    search.ensure_index(index, int(setting("DIMENSION")))
    deleted = search.delete_document(index, doc_id)
    _clear_parents(s3, bucket, doc_id)
    if removed:
        return {"doc": doc_id, "deleted": deleted, "children": 0}
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
    parents, children = split_document(doc_id, text, **_sizes())
    vectors = embed(sm, target("EMBEDDINGS"), [c.text for c in children])
    for parent in parents:
        s3.put_object(Bucket=bucket, Key=parent_key(parent.id), Body=parent.text.encode(),
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=setting("KMS_KEY_ARN"))
    if children:
        search.index_children(index, [{"child_id": c.id, "parent_id": c.parent_id, "doc_id": doc_id,
                                       "text": c.text, "embedding": v} for c, v in zip(children, vectors, strict=True)])
    return {"doc": doc_id, "deleted": deleted, "parents": len(parents), "children": len(children)}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    s3, sm = boto3.client("s3"), runtime()
    search = OpenSearch(setting("COLLECTION_ENDPOINT"), os.environ.get("AWS_REGION", "us-east-1"))
    results = []
    for record in event.get("Records", []):
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith(DOCUMENTS) or key.endswith("/"):
            continue
        removed = record.get("eventName", "").startswith("ObjectRemoved")
        results.append(ingest(record["s3"]["bucket"]["name"], key, removed, s3=s3, search=search, sm=sm))
    print({"ingested": results}, flush=True)
    return {"ingested": results}
