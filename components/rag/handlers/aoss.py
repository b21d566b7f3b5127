"""A minimal OpenSearch Serverless client: SigV4-signed JSON over HTTPS (service name `aoss`), nothing else.

OpenSearch Serverless signs with the service name `aoss` and needs `x-amz-content-sha256` (the payload hash);
`Content-Length` must not be signed (OpenSearch Service developer guide, "Signing requests").
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

FIELD = "embedding"


class IndexMissing(LookupError):
    """The k-NN index does not exist yet (nothing ingested and the deployment's index creation not run)."""


#: The largest bulk request sent (bytes). An OpenSearch request body past 10 MiB is refused ("Request size exceeded
#: 10485760 bytes", 413, on OpenSearch Service; AWS's migration assistant sends Serverless collections bulks of 10
#: MiB at most): half of that leaves room for the JSON around each row. A 1024-d child is about 23 KB as JSON.
BULK_MAX_BYTES = 5 * 1024 * 1024
#: And at most this many rows per request.
BULK_MAX_ROWS = 500


def bulk_batches(index: str, rows: list[dict[str, Any]]) -> list[str]:
    """NDJSON bodies of `index` actions, each under BULK_MAX_BYTES and BULK_MAX_ROWS (a row alone over the limit
    still goes alone: OpenSearch then says why)."""
    action = json.dumps({"index": {"_index": index}}) + "\n"
    batches, current, size = [], [], 0
    for row in rows:
        line = action + json.dumps(row) + "\n"
        if current and (size + len(line.encode()) > BULK_MAX_BYTES or len(current) >= BULK_MAX_ROWS):
            batches.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line.encode())
    if current:
        batches.append("".join(current))
    return batches


class OpenSearch:
    def __init__(self, endpoint: str, region: str, session: Any = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.session = session or boto3.session.Session()

    def request(self, method: str, path: str, body: Any = None, ndjson: bool = False) -> tuple[int, Any]:
        data = b"" if body is None else (body.encode() if ndjson else json.dumps(body).encode())
        headers = {"Content-Type": "application/x-ndjson" if ndjson else "application/json",
                   "x-amz-content-sha256": hashlib.sha256(data).hexdigest()}
        request = AWSRequest(method=method, url=f"{self.endpoint}{path}", data=data, headers=headers)
        SigV4Auth(self.session.get_credentials(), "aoss", self.region).add_auth(request)
        prepared = urllib.request.Request(request.url, data=data or None, method=method,
                                          headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(prepared, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def _ok(self, status: int, answer: Any, what: str) -> Any:
        if status >= 300:
            raise RuntimeError(f"OpenSearch {what} failed: HTTP {status} {str(answer)[:300]}")
        return answer

    def ensure_index(self, index: str, dimension: int) -> bool:
        """Creates the k-NN index (HNSW, faiss, inner product over normalised vectors) unless it exists.
        Raises PermissionError on 403 (a data access policy not yet enforced)."""
        status, _ = self.request("HEAD", f"/{index}")
        if status == 403:
            raise PermissionError(f"OpenSearch refused HEAD /{index} (403)")
        if status == 200:
            return False
        mappings = {"properties": {
            FIELD: {"type": "knn_vector", "dimension": dimension,
                    "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct"}},
            "doc_id": {"type": "keyword"}, "parent_id": {"type": "keyword"}, "child_id": {"type": "keyword"},
            "text": {"type": "text"}}}
        status, answer = self.request("PUT", f"/{index}", {"settings": {"index": {"knn": True}}, "mappings": mappings})
        if status == 403:
            raise PermissionError(f"OpenSearch refused PUT /{index} (403)")
        if status == 400 and "resource_already_exists" in str(answer):
            return False  # created by a concurrent invocation
        self._ok(status, answer, f"creating index {index}")
        return True

    def delete_ids(self, index: str, ids: list[str]) -> int:
        """Deletes children by id (a search right after indexing may not see them yet: ids always work)."""
        if not ids:
            return 0
        lines = "".join(json.dumps({"delete": {"_index": index, "_id": i}}) + "\n" for i in ids)
        answer = self._ok(*self.request("POST", "/_bulk", lines, ndjson=True), "deleting chunks by id")
        return sum(1 for item in answer.get("items", []) if item.get("delete", {}).get("status") == 200)

    def doc_ids(self, index: str) -> list[str]:
        """Every document id the index holds (a terms aggregation on `doc_id`)."""
        status, answer = self.request("POST", f"/{index}/_search", {
            "size": 0, "aggs": {"docs": {"terms": {"field": "doc_id", "size": 10000}}}})
        if status == 404:
            return []
        answer = self._ok(status, answer, "listing documents")
        return [b["key"] for b in answer["aggregations"]["docs"]["buckets"]]

    def delete_document(self, index: str, doc_id: str) -> int:
        """Removes every child of `doc_id` (found by a term query: vector collections assign document ids)."""
        answer = self._ok(*self.request("POST", f"/{index}/_search", {
            "size": 10000, "_source": False, "query": {"term": {"doc_id": doc_id}}}), "searching old chunks")
        ids = [hit["_id"] for hit in answer["hits"]["hits"]]
        if ids:
            lines = "".join(json.dumps({"delete": {"_index": index, "_id": i}}) + "\n" for i in ids)
            self._ok(*self.request("POST", "/_bulk", lines, ndjson=True), "deleting old chunks")
        return len(ids)

    def index_children(self, index: str, rows: list[dict[str, Any]]) -> list[str]:
        """Indexes the rows in bulk requests of at most BULK_MAX_BYTES; returns the ids OpenSearch gave them (vector
        collections assign document ids). If a batch fails, what the earlier batches indexed is deleted again, so
        a retry starts from a clean index (the manifest is written only after the last batch)."""
        ids: list[str] = []
        try:
            for batch in bulk_batches(index, rows):
                answer = self._ok(*self.request("POST", "/_bulk", batch, ndjson=True), "indexing chunks")
                if answer.get("errors"):
                    raise RuntimeError(f"OpenSearch refused some chunks: {str(answer)[:300]}")
                ids += [item["index"]["_id"] for item in answer.get("items", [])]
        except Exception:
            if ids:
                self.delete_ids(index, ids)
            raise
        return ids

    def knn(self, index: str, vector: list[float], k: int) -> list[tuple[dict[str, Any], float]]:
        status, answer = self.request("POST", f"/{index}/_search", {
            "size": k, "_source": ["child_id", "parent_id", "doc_id", "text"],
            "query": {"knn": {FIELD: {"vector": vector, "k": k}}}})
        if status == 404:
            raise IndexMissing(index)
        answer = self._ok(status, answer, "k-NN search")
        return [({"id": h["_source"]["child_id"], "parent_id": h["_source"]["parent_id"],
                  "text": h["_source"]["text"]}, float(h["_score"])) for h in answer["hits"]["hits"]]
