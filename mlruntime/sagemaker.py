"""Calling a SageMaker endpoint with a JSON body, the way every caller here does (boto3 only).

An endpoint that serves inference components (the scale-to-zero endpoints) refuses a call that does not name the
component: InvokeEndpoint's `InferenceComponentName` (header `X-Amzn-SageMaker-Inference-Component`; botocore
sagemaker-runtime model: "If the endpoint hosts one or more inference components, this parameter specifies the
name of inference component to invoke"). A `Target` carries both names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    endpoint: str
    #: The inference component to invoke, on an endpoint that serves them (None: a plain variant endpoint).
    component: str | None = None

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.component}" if self.component else self.endpoint


def invoke_json(client: Any, target: Target, payload: Any) -> Any:
    """POST `payload` as JSON to `target` through a `sagemaker-runtime` client; the decoded JSON answer."""
    kwargs: dict[str, Any] = {"EndpointName": target.endpoint, "ContentType": "application/json",
                              "Accept": "application/json", "Body": json.dumps(payload).encode()}
    if target.component:
        kwargs["InferenceComponentName"] = target.component
    response = client.invoke_endpoint(**kwargs)
    raw = response["Body"].read()
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.decode(errors="replace")
