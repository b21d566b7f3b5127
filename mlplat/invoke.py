"""`mlplat invoke`: call a deployed endpoint with the payload its model expects (boto3, no SageMaker SDK)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlplat.project import InputError
from mlruntime.sagemaker import Target, invoke_json


def build_payload(kind: str, message: str, *, system: str | None = None, max_tokens: int = 512,
                  temperature: float = 0.2) -> dict[str, Any]:
    if kind == "embedding":
        return {"text_inputs": [message], "mode": "embedding"}
    if kind == "openai-chat":
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": message}]
        return {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
    prompt = f"<s>[INST] {system + chr(10) + chr(10) if system else ''}{message} [/INST]"
    return {"inputs": prompt, "parameters": {"max_new_tokens": max_tokens, "temperature": temperature,
                                             "do_sample": temperature > 0, "return_full_text": False}}


def render_answer(kind: str, body: Any) -> str:
    if kind == "embedding":
        vectors = body.get("embedding") if isinstance(body, dict) else body
        if isinstance(vectors, list) and vectors and isinstance(vectors[0], list):
            return f"{len(vectors)} embedding(s) of dimension {len(vectors[0])}: {vectors[0][:4]}..."
        return json.dumps(body)[:500]
    if kind == "openai-chat" and isinstance(body, dict) and body.get("choices"):
        return str(body["choices"][0]["message"]["content"])
    if isinstance(body, list) and body and isinstance(body[0], dict) and "generated_text" in body[0]:
        return str(body[0]["generated_text"])
    return json.dumps(body)


def find_endpoint(sagemaker: Any, prefix: str) -> str:
    """The in-service endpoint whose generated name starts with `<prefix>-endpoint-`."""
    response = sagemaker.list_endpoints(NameContains=f"{prefix}-endpoint", StatusEquals="InService", MaxResults=10)
    names = [e["EndpointName"] for e in response.get("Endpoints", [])
             if e["EndpointName"].startswith(f"{prefix}-endpoint")]
    if not names:
        raise InputError(f"no in-service endpoint named {prefix}-endpoint-* in this account/region; deploy the stack "
                         "first or pass --endpoint-name")
    if len(names) > 1:
        raise InputError(f"several endpoints match {prefix}-endpoint-*: {', '.join(names)}; pass --endpoint-name")
    return names[0]


def find_inference_component(sagemaker: Any, endpoint: str, prefix: str | None = None) -> str | None:
    """The in-service inference component an endpoint serves (ListInferenceComponents, EndpointNameEquals), or None
    for an endpoint without any. Scale-to-zero endpoints serve through one, and InvokeEndpoint refuses a call that
    does not name it ("Inference Component Name header is required ..."). `prefix`: on a shared endpoint, the name
    prefix of the model's own component (`<stack prefix>-<endpoint>-ic`)."""
    response = sagemaker.list_inference_components(EndpointNameEquals=endpoint, StatusEquals="InService",
                                                   MaxResults=10)
    names = [c["InferenceComponentName"] for c in response.get("InferenceComponents", [])
             if prefix is None or c["InferenceComponentName"].startswith(prefix)]
    if len(names) > 1:
        raise InputError(f"{endpoint} serves several inference components ({', '.join(names)}); pass "
                         "--inference-component")
    return names[0] if names else None


#: What InvokeEndpoint answers while a scale-to-zero endpoint has no model copy (HTTP 400, ValidationError):
#: "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress ..."
#: (AWS's scale-to-zero launch post and its notebook quote it).
NO_CAPACITY = "has no capacity to process this request"


def is_cold(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationError" and NO_CAPACITY in str(error.get("Message", ""))


def backoff(attempt: int) -> float:
    """Seconds before retry `attempt` (0-based): 10, 20, 40, then every 60."""
    return float(min(60, 10 * 2 ** attempt))


@dataclass
class ColdStart:
    """How to wait for a scale-to-zero endpoint: who hears each wait, how to sleep, and for how long at most
    (default: the catalog's limit)."""

    on_cold: Callable[[str], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    limit_s: float | None = None


def invoke(*, region: str, prefix: str, payload: dict[str, Any], endpoint_name: str | None = None,
           component: str | None = None, session: Any = None, cold: ColdStart | None = None) -> tuple[str, Any]:
    """Returns (endpoint name, decoded response body). `component`: the inference component to call (default: the
    stack output, else the one the endpoint serves, found with ListInferenceComponents; `<prefix>*`: the one whose
    name starts with the prefix, on an endpoint that serves several). A scale-to-zero endpoint
    without a model copy is retried with backoff until `cold.limit_s` has been waited."""
    import boto3
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    from components.catalog.durations import SCALE_FROM_ZERO_LIMIT_S, SCALE_FROM_ZERO_TYPICAL_S

    cold = cold or ColdStart()
    limit = SCALE_FROM_ZERO_LIMIT_S if cold.limit_s is None else cold.limit_s
    session = session or boto3.session.Session(region_name=region)
    waited, attempt = 0.0, 0
    try:
        control = session.client("sagemaker", region_name=region)
        name = endpoint_name or find_endpoint(control, prefix)
        if component is None or component.endswith("*"):  # found by the endpoint's components (and a name prefix)
            component = find_inference_component(control, name, component[:-1] if component else None)
        target = Target(name, component)
        runtime = session.client("sagemaker-runtime", region_name=region)
        while True:
            try:
                body = invoke_json(runtime, target, payload)
                break
            except ClientError as exc:
                if not is_cold(exc) or waited >= limit:
                    if is_cold(exc):
                        raise InputError(f"{name} is still scaling from zero after {waited:.0f} s (limit {limit:.0f}"
                                         " s); try again in a few minutes") from None
                    raise
                pause = min(backoff(attempt), limit - waited)
                if cold.on_cold:
                    cold.on_cold(f"{name} is scaling from zero (no model copy yet; typically about "
                            f"{SCALE_FROM_ZERO_TYPICAL_S // 60} minutes): retrying in {pause:.0f} s "
                            f"({waited:.0f} s waited, giving up after {limit:.0f} s)")
                cold.sleep(pause)
                waited += pause
                attempt += 1
    except (NoCredentialsError, NoRegionError) as exc:
        raise InputError(f"no AWS credentials for {region}: {exc} (configure a profile or role first)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InputError(f"{error.get('Code', 'error')}: {error.get('Message', exc)}") from None
    return name, body
