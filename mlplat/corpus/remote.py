"""Clients for the stack's deployed endpoints (BGE embeddings, TGI perplexity); tests replace `factory`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def factory(region: str | None) -> Callable[[], Any]:
    def make() -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session(region_name=region).client(
            "sagemaker-runtime", config=Config(retries={"max_attempts": 8, "mode": "adaptive"}))

    return make
