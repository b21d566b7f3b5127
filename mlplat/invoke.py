"""`mlplat invoke`: call a deployed endpoint with the payload its model expects (boto3, no SageMaker SDK)."""

from __future__ import annotations

import json
from typing import Any

from mlplat.project import InputError


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


def invoke(*, region: str, prefix: str, kind: str, payload: dict[str, Any], endpoint_name: str | None = None,
           session: Any = None) -> tuple[str, Any]:
    """Returns (endpoint name, decoded response body)."""
    import boto3
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    session = session or boto3.session.Session(region_name=region)
    try:
        name = endpoint_name or find_endpoint(session.client("sagemaker", region_name=region), prefix)
        response = session.client("sagemaker-runtime", region_name=region).invoke_endpoint(
            EndpointName=name, ContentType="application/json", Accept="application/json",
            Body=json.dumps(payload).encode(),
        )
    except (NoCredentialsError, NoRegionError) as exc:
        raise InputError(f"no AWS credentials for {region}: {exc} (configure a profile or role first)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InputError(f"{error.get('Code', 'error')}: {error.get('Message', exc)}") from None
    raw = response["Body"].read()
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw.decode(errors="replace")
