"""POST /query (API Gateway, IAM auth): embed the question, k-NN over the children, map them to their parents,
compress, and ask Mixtral with the answer prompt. Returns the answer and its sources.

Request: {"question": str (1-2000 characters), "retriever"?: "plain" | "parent", "compression"?: "none" |
"embeddings" | "llm-extract" | "llm-filter", "k"?: 1-10}. Response 200: {"answer", "retriever", "compression",
"sources": [{"id", "passages": [str]}]}; 400: {"error": "<key>: expected ..., found ..."}.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from mlruntime.rag.retrieval import (
    ANSWER_PROMPT,
    COMPRESSIONS,
    MAX_QUESTION_CHARS,
    RETRIEVERS,
    compress_embeddings,
    compress_llm,
    retrieve,
    tgi_generate,
)

from .aoss import OpenSearch
from .common import embed, parent_key, runtime, setting, target


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
               "k": body.get("k", int(os.environ.get("K", "4")))}
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
    vector = embed(sm, embedder, [question])[0]

    def parent(parent_id: str) -> str:
        return s3.get_object(Bucket=bucket, Key=parent_key(parent_id))["Body"].read().decode()

    found = retrieve(vector, retriever=request["retriever"], k=request["k"],
                     search=lambda v, k: search.knn(setting("INDEX"), list(v), k), parents=parent)
    generate = tgi_generate(sm, target("LLM"))
    if request["compression"] == "embeddings":
        found = compress_embeddings(found, vector, lambda texts: embed(sm, embedder, list(texts)))
    elif request["compression"] != "none":
        found = compress_llm(found, question, generate, request["compression"])
    text = generate(ANSWER_PROMPT.format(context=found.context(), question=question)).strip() if found.passages \
        else "I do not know: no indexed passage matches the question."
    sources: dict[str, list[str]] = {}
    for passage in found.passages:
        sources.setdefault(passage.source, []).append(passage.text)
    return {"answer": text, "retriever": request["retriever"], "compression": request["compression"],
            "sources": [{"id": source, "passages": passages} for source, passages in sources.items()]}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request, error = parse(event)
    if error:
        return _response(400, {"error": error})
    search = OpenSearch(setting("COLLECTION_ENDPOINT"), os.environ.get("AWS_REGION", "us-east-1"))
    return _response(200, answer(request, s3=boto3.client("s3"), search=search, sm=runtime()))
