"""Embeddings and generation through the stack's SageMaker endpoints, parents in S3, settings from the
environment."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import boto3

PARENTS = "parents/"
DOCUMENTS = "documents/"
BATCH = 16


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def runtime() -> Any:
    return boto3.client("sagemaker-runtime")


def embed(client: Any, endpoint: str, texts: list[str]) -> list[list[float]]:
    """BGE embeddings (`{"text_inputs": [...], "mode": "embedding"}`), L2-normalised for inner product."""
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        batch = [t[:2000] for t in texts[start:start + BATCH]]
        response = client.invoke_endpoint(EndpointName=endpoint, ContentType="application/json",
                                          Accept="application/json",
                                          Body=json.dumps({"text_inputs": batch, "mode": "embedding"}).encode())
        body = json.loads(response["Body"].read())
        rows = body.get("embedding") if isinstance(body, dict) else None
        if not isinstance(rows, list) or len(rows) != len(batch):
            raise RuntimeError(f"{endpoint} answered without one embedding per input: {str(body)[:200]}")
        for row in rows:
            norm = math.sqrt(sum(x * x for x in row)) or 1.0
            vectors.append([x / norm for x in row])
    return vectors


def parent_key(parent_id: str) -> str:
    """`doc.txt#p3` -> `parents/doc.txt/3.txt`: a document's parents share one prefix, replaced together."""
    doc_id, _, number = parent_id.rpartition("#p")
    return f"{PARENTS}{doc_id}/{number}.txt"
