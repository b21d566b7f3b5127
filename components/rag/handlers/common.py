"""Embeddings and generation through the stack's SageMaker endpoints, parents in S3, settings from the
environment."""

from __future__ import annotations

import math
import os
from typing import Any

import boto3

from mlruntime.sagemaker import Target, invoke_json

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


def target(prefix: str) -> Target:
    """The endpoint `<prefix>_ENDPOINT` and, on a scale-to-zero endpoint, its inference component
    `<prefix>_COMPONENT` (InvokeEndpoint refuses such an endpoint without it)."""
    return Target(setting(f"{prefix}_ENDPOINT"), os.environ.get(f"{prefix}_COMPONENT") or None)


def embed(client: Any, where: Target, texts: list[str]) -> list[list[float]]:
    """BGE embeddings (`{"text_inputs": [...], "mode": "embedding"}`), L2-normalised for inner product."""
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        batch = [t[:2000] for t in texts[start:start + BATCH]]
        body = invoke_json(client, where, {"text_inputs": batch, "mode": "embedding"})
        rows = body.get("embedding") if isinstance(body, dict) else None
        if not isinstance(rows, list) or len(rows) != len(batch):
            raise RuntimeError(f"{where} answered without one embedding per input: {str(body)[:200]}")
        for row in rows:
            norm = math.sqrt(sum(x * x for x in row)) or 1.0
            vectors.append([x / norm for x in row])
    return vectors


def parent_key(parent_id: str) -> str:
    """`doc.txt#p3` -> `parents/doc.txt/3.txt`: a document's parents share one prefix, replaced together."""
    doc_id, _, number = parent_id.rpartition("#p")
    return f"{PARENTS}{doc_id}/{number}.txt"
