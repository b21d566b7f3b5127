"""The query API (API Gateway REST, IAM auth) in front of retrieval, compression and the answer.

POST /query: embed the question, k-NN over the children, map them to their parents, compress, and ask Mixtral
with the answer prompt. Request: {"question": str (1-2000 characters), "retriever"?: "plain" | "parent",
"compression"?: "none" | "embeddings" | "llm-extract" | "llm-filter", "k"?: 1-10, "async"?: bool}.
Response 200: {"answer", "retriever", "compression", "sources": [{"id", "doc", "passages": [str]}]};
400: {"error": "<key>: expected ..., found ..."}.

REST integrations end at 29 s. The synchronous path is bounded below that (retrieval.worst_case_seconds: the
LLM compression calls run concurrently, every generation has a token budget). A caller who wants more time
asks `"async": true`: 202 {"jobId", "status": "running"}; the function runs the query in an asynchronous
invocation of itself and stores the answer (S3 `jobs/<id>.json`, KMS); GET /query/jobs/{jobId} answers 202
while it runs, then 200 with the answer (or {"status": "failed", "error"}), 404 for an unknown id.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

import boto3

from mlruntime.rag.retrieval import (
    ANSWER_MAX_TOKENS,
    ANSWER_PROMPT,
    BGE_QUERY_INSTRUCTION,
    COMPRESSION_MAX_TOKENS,
    COMPRESSIONS,
    MAX_QUESTION_CHARS,
    RETRIEVERS,
    compress_embeddings,
    compress_llm,
    retrieve,
    tgi_generate,
)

from .aoss import IndexMissing, OpenSearch
from .common import embed, parent_key, runtime, setting, target

JOBS = "jobs/"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
EMPTY_INDEX = ("Nothing has been indexed yet: upload documents under documents/ in the service's bucket (or run "
               "`mlplat rag sync <stack>`), then ask again.")


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def parse(event: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(request, None) or (None, the error naming the key)."""
    try:
        body = json.loads(event.get("body") or "")
    except (json.JSONDecodeError, TypeError):
        return None, "body: expected a JSON object"
    if not isinstance(body, dict):
        return None, f"body: expected a JSON object, found {type(body).__name__}"
    question = body.get("question")
    if not isinstance(question, str) or not question.strip() or len(question) > MAX_QUESTION_CHARS:
        size = len(question) if isinstance(question, str) else type(question).__name__
        return None, f"question: expected a string of 1 to {MAX_QUESTION_CHARS} characters, found {size}"
    request = {"question": question.strip(), "retriever": body.get("retriever", os.environ.get("RETRIEVER", "parent")),
               "compression": body.get("compression", os.environ.get("COMPRESSION", "embeddings")),
               "k": body.get("k", int(os.environ.get("K", "4"))), "async": body.get("async", False)}
    if not isinstance(request["async"], bool):
        return None, f"async: expected true or false, found {request['async']!r}"
    if request["retriever"] not in RETRIEVERS:
        return None, f"retriever: expected one of {', '.join(RETRIEVERS)}, found {request['retriever']!r}"
    if request["compression"] not in COMPRESSIONS:
        return None, f"compression: expected one of {', '.join(COMPRESSIONS)}, found {request['compression']!r}"
    if isinstance(request["k"], bool) or not isinstance(request["k"], int) or not 1 <= request["k"] <= 10:
        return None, f"k: expected an integer from 1 to 10, found {request['k']!r}"
    return request, None


def answer(request: dict[str, Any], *, s3: Any, search: OpenSearch, sm: Any) -> dict[str, Any]:
    embedder, bucket = target("EMBEDDINGS"), setting("BUCKET")
    question = request["question"]
    vector = embed(sm, embedder, [BGE_QUERY_INSTRUCTION + question])[0]  # queries carry BGE's instruction

    def parent(parent_id: str) -> str:
        return s3.get_object(Bucket=bucket, Key=parent_key(parent_id))["Body"].read().decode()

    shape = {"retriever": request["retriever"], "compression": request["compression"]}
    try:
        found = retrieve(vector, retriever=request["retriever"], k=request["k"],
                         search=lambda v, k: search.knn(setting("INDEX"), list(v), k), parents=parent)
    except IndexMissing:
        return {"answer": EMPTY_INDEX, **shape, "sources": []}
    llm = target("LLM")
    if request["compression"] == "embeddings":
        found = compress_embeddings(found, vector, lambda texts: embed(sm, embedder, list(texts)))
    elif request["compression"] != "none":
        found = compress_llm(found, question, tgi_generate(sm, llm, COMPRESSION_MAX_TOKENS), request["compression"])
    generate = tgi_generate(sm, llm, ANSWER_MAX_TOKENS)
    text = generate(ANSWER_PROMPT.format(context=found.context(), question=question)).strip() if found.passages \
        else "I do not know: no indexed passage matches the question."
    sources: dict[str, list[str]] = {}
    for passage in found.cited(text):  # the passages the answer used, none for "I do not know"
        sources.setdefault(passage.source, []).append(passage.text)
    if found.kept_words is not None:
        total = found.kept_words + (found.removed_words or 0)
        shape["compressionRatio"] = {"keptWords": found.kept_words, "removedWords": found.removed_words,
                                     "removedFraction": round((found.removed_words or 0) / total, 3) if total else 0.0}
    return {"answer": text, **shape,
            "sources": [{"id": source, "doc": source.split("#", 1)[0], "passages": passages}
                        for source, passages in sources.items()]}


def _job_key(job_id: str) -> str:
    return f"{JOBS}{job_id}.json"


def _put_job(s3: Any, job_id: str, body: dict[str, Any]) -> None:
    s3.put_object(Bucket=setting("BUCKET"), Key=_job_key(job_id), Body=json.dumps(body).encode(),
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=setting("KMS_KEY_ARN"))


def invoke_self(context: Any, payload: dict[str, Any]) -> None:
    """This function again, asynchronously (Lambda Invoke, InvocationType Event)."""
    boto3.client("lambda").invoke(FunctionName=context.invoked_function_arn, InvocationType="Event",
                                  Payload=json.dumps(payload).encode())


def _poll(s3: Any, job_id: str | None) -> dict[str, Any]:
    if not job_id or not JOB_ID.match(job_id):
        return _response(404, {"error": f"jobId: expected a job id, found {job_id!r}"})
    try:
        job = json.loads(s3.get_object(Bucket=setting("BUCKET"), Key=_job_key(job_id))["Body"].read())
    except s3.exceptions.NoSuchKey:
        return _response(404, {"error": f"jobId: no job {job_id}"})
    return _response(202 if job.get("status") == "running" else 200, {"jobId": job_id, **job})


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    s3 = boto3.client("s3")
    if "job" in event:  # the asynchronous invocation of an async query
        job = event["job"]
        search = OpenSearch(setting("COLLECTION_ENDPOINT"), os.environ.get("AWS_REGION", "us-east-1"))
        try:
            _put_job(s3, job["id"], {"status": "done", **answer(job["request"], s3=s3, search=search, sm=runtime())})
        except Exception as exc:  # noqa: BLE001 - the poller is told; Lambda's retry would only repeat it
            _put_job(s3, job["id"], {"status": "failed", "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        return {"job": job["id"]}
    if event.get("httpMethod") == "GET":
        return _poll(s3, (event.get("pathParameters") or {}).get("jobId"))
    request, error = parse(event)
    if error:
        return _response(400, {"error": error})
    if request.pop("async"):
        job_id = uuid.uuid4().hex
        _put_job(s3, job_id, {"status": "running"})
        invoke_self(context, {"job": {"id": job_id, "request": request}})
        return _response(202, {"jobId": job_id, "status": "running"})
    search = OpenSearch(setting("COLLECTION_ENDPOINT"), os.environ.get("AWS_REGION", "us-east-1"))
    return _response(200, answer(request, s3=s3, search=search, sm=runtime()))
