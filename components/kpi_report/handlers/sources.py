"""Where deployment and incident records come from: an OpenSearch/Elasticsearch query over HTTP
(endpoint and credentials from Secrets Manager) or a JSON/CSV export in S3."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import random
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

QUERY_TEMPLATE = Path(__file__).with_name("opensearch-query.json")


class SourceError(Exception):
    """The records could not be fetched (after retries)."""


def render_query(start: str, end: str) -> dict[str, Any]:
    return json.loads(QUERY_TEMPLATE.read_text().replace("{{start}}", start).replace("{{end}}", end))


def _split(docs: list[Any]) -> tuple[list[Any], list[Any]]:
    deployments = [d for d in docs if isinstance(d, dict) and d.get("kind") == "deployment"]
    incidents = [d for d in docs if isinstance(d, dict) and d.get("kind") == "incident"]
    return deployments, incidents


def from_opensearch(endpoint: str, index: str, credentials: dict[str, str], start: str, end: str,
                    timeout_s: float = 10.0) -> tuple[list[Any], list[Any]]:
    auth = base64.b64encode(f"{credentials['username']}:{credentials['password']}".encode()).decode()
    req = urllib.request.Request(f"{endpoint.rstrip('/')}/{index}/_search", method="POST",
                                 data=json.dumps(render_query(start, end)).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310
        body = json.loads(resp.read())
    return _split([hit.get("_source") for hit in body.get("hits", {}).get("hits", [])])


def from_s3(bucket: str, key: str) -> tuple[list[Any], list[Any]]:
    raw = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    if key.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(raw)))
        for row in rows:
            if row.get("commit_times"):
                row["commit_times"] = [c for c in row["commit_times"].split(";") if c]
            row["caused_incident"] = str(row.get("caused_incident", "")).lower() == "true"
        return _split(rows)
    data = json.loads(raw)
    if isinstance(data, dict):
        return list(data.get("deployments", [])), list(data.get("incidents", []))
    return _split(data)


def fetch(start: str, end: str, attempts: int = 3, sleep=time.sleep) -> tuple[list[Any], list[Any]]:
    """Records for [start, end) from the configured source, retried with backoff and jitter."""
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            if os.environ["SOURCE_TYPE"] == "opensearch":
                secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SOURCE_SECRET_ID"])
                return from_opensearch(os.environ["SOURCE_ENDPOINT"], os.environ["SOURCE_INDEX"],
                                       json.loads(secret["SecretString"]), start, end)
            return from_s3(os.environ["SOURCE_BUCKET"], os.environ["SOURCE_KEY"])
        except Exception as exc:  # noqa: BLE001 - any failure (network, auth, format) is retried, then reported
            last = exc
            if attempt + 1 < attempts:
                sleep(random.uniform(0, float(os.environ.get("RETRY_BASE_S", "1")) * 2 ** attempt))
    raise SourceError(f"{type(last).__name__}: {last}")
