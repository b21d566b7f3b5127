"""Pinned SageMaker JumpStart model specs, so endpoints deploy without the SageMaker SDK.

Each entry names the spec version it was taken from (the JumpStart spec
`s3://jumpstart-cache-prod-<region>/<spec_key>` / `DescribeHubContent` on `SageMakerPublicHub`;
Mixtral decoded from generative-ai-cdk-constructs' generated catalog, see REFERENCE.md).
Images resolve per region the way JumpStart specs do: a regional alias maps to the Deep Learning
Containers registry of that region (`DLC_ACCOUNTS`). Marketplace models (Upstage Solar) carry no
image: their model package ARN is per region and comes from configuration (subscribe first).

`resolve_live` (boto3, deploy time only) reads a spec that is not pinned from the public hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

#: Deep Learning Containers registry account per region (AWS DLC "available images" list).
DLC_ACCOUNTS: dict[str, str] = {
    "us-east-1": "763104351884", "us-east-2": "763104351884", "us-west-2": "763104351884",
    "eu-west-1": "763104351884", "eu-central-1": "763104351884", "ap-northeast-1": "763104351884",
    "ap-southeast-2": "763104351884", "ap-east-1": "871362719292", "me-south-1": "217643126080",
    "af-south-1": "626614931356", "eu-south-1": "692866216735",
}

Payload = Literal["tgi", "embedding", "openai-chat"]


@dataclass(frozen=True)
class JumpStartSpec:
    model_id: str
    version: str
    spec_source: str
    default_instance_type: str
    supported_instance_types: tuple[str, ...]
    payload: Payload
    image_repository: str | None = None        # e.g. "huggingface-pytorch-tgi-inference:2.1.1-..."
    cpu_image_repository: str | None = None    # the spec's CPU variant, for instances without GPUs
    artifact_key: str | None = None             # key in jumpstart-cache-prod-<region>
    artifact_compressed: bool = False           # True: a model.tar.gz (ModelDataUrl); False: S3 prefix
    environment: dict[str, str] = field(default_factory=dict)
    gpu_env: str | None = None                  # env var that follows the instance's GPU count
    gated: bool = False                         # needs accept_eula
    health_check_timeout_s: int = 600
    download_timeout_s: int = 600
    marketplace: bool = False

    def image_uri(self, region: str, gpus: int = 1) -> str:
        if self.image_repository is None:
            raise ValueError(f"{self.model_id} is an AWS Marketplace model package: it has no image")
        repository = self.cpu_image_repository if gpus == 0 and self.cpu_image_repository else self.image_repository
        try:
            account = DLC_ACCOUNTS[region]
        except KeyError:
            raise ValueError(f"no Deep Learning Containers registry known for {region}; "
                             f"known: {', '.join(DLC_ACCOUNTS)}") from None
        return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}"

    def image_repository_name(self, gpus: int = 1) -> str | None:
        repository = self.cpu_image_repository if gpus == 0 and self.cpu_image_repository else self.image_repository
        return repository.split(":")[0] if repository else None

    def artifact_uri(self, region: str) -> str | None:
        return f"s3://jumpstart-cache-prod-{region}/{self.artifact_key}" if self.artifact_key else None

    def env_for(self, gpus: int) -> dict[str, str]:
        env = dict(self.environment)
        if self.gpu_env:
            env[self.gpu_env] = str(gpus)
        return env


_HF_SERVER_ENV = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
    "ENDPOINT_SERVER_TIMEOUT": "3600",
    "MODEL_CACHE_ROOT": "/opt/ml/model",
    "SAGEMAKER_ENV": "1",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
}

PINNED: dict[str, JumpStartSpec] = {
    s.model_id: s
    for s in (
        JumpStartSpec(
            model_id="huggingface-llm-mixtral-8x7b-instruct",
            version="1.3.2",
            spec_source="JumpStart spec huggingface-llm-mixtral-8x7b-instruct v1.3.2",
            default_instance_type="ml.g5.48xlarge",
            supported_instance_types=("ml.g5.48xlarge", "ml.p4d.24xlarge"),
            payload="tgi",
            image_repository="huggingface-pytorch-tgi-inference:2.1.1-tgi1.4.0-gpu-py310-cu121-ubuntu20.04",
            artifact_key="huggingface-llm/huggingface-llm-mixtral-8x7b-instruct/artifacts/inference-prepack/v1.0.0/",
            environment={
                "HF_MODEL_ID": "/opt/ml/model",
                "MAX_INPUT_LENGTH": "32785",
                "MAX_TOTAL_TOKENS": "32786",
                "MAX_BATCH_PREFILL_TOKENS": "32785",
                **_HF_SERVER_ENV,
            },
            gpu_env="SM_NUM_GPUS",
            health_check_timeout_s=3600,
            download_timeout_s=3600,
        ),
        JumpStartSpec(
            model_id="huggingface-sentencesimilarity-bge-large-en",
            version="1.1.0",
            spec_source="JumpStart spec huggingface-sentencesimilarity-bge-large-en v1.1.0",
            default_instance_type="ml.g5.2xlarge",
            supported_instance_types=("ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g4dn.xlarge",
                                      "ml.p3.2xlarge", "ml.c5.2xlarge", "ml.m5.xlarge"),
            payload="embedding",
            image_repository="huggingface-pytorch-inference:1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
            cpu_image_repository="huggingface-pytorch-inference:1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04",
            artifact_key="huggingface-infer/prepack/v1.0.0/infer-prepack-huggingface-sentencesimilarity-bge-large-en"
                         ".tar.gz",
            artifact_compressed=True,
            environment={**_HF_SERVER_ENV, "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
            health_check_timeout_s=600,
            download_timeout_s=600,
        ),
        JumpStartSpec(
            model_id="upstage-solar-mini-chat",
            version="marketplace",
            spec_source="AWS Marketplace listing: Upstage Solar Mini Chat (model package)",
            default_instance_type="ml.g5.12xlarge",
            supported_instance_types=("ml.g5.12xlarge", "ml.g5.24xlarge", "ml.g5.48xlarge", "ml.p4d.24xlarge"),
            payload="openai-chat",
            marketplace=True,
            health_check_timeout_s=1200,
            download_timeout_s=1200,
        ),
        JumpStartSpec(
            model_id="upstage-solar-mini-chat-quant",
            version="marketplace",
            spec_source="AWS Marketplace listing: Upstage Solar Mini Chat - Quant (model package)",
            default_instance_type="ml.g5.2xlarge",
            supported_instance_types=("ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.12xlarge"),
            payload="openai-chat",
            marketplace=True,
            health_check_timeout_s=1200,
            download_timeout_s=1200,
        ),
    )
}


def lookup(model_id: str) -> JumpStartSpec:
    try:
        return PINNED[model_id]
    except KeyError:
        raise ValueError(f"unknown JumpStart model id offline; pinned ids: {', '.join(sorted(PINNED))}") from None


class SpecError(ValueError):
    """A live spec that is missing what a deployment needs."""


def spec_from_hub_document(model_id: str, version: str, document: dict[str, Any]) -> JumpStartSpec:
    """Validate a `SageMakerPublicHub` HubContentDocument and turn it into a spec."""
    missing = [k for k in ("HostingEcrUri", "HostingArtifactUri", "DefaultInferenceInstanceType")
               if not document.get(k)]
    if missing:
        raise SpecError(f"hub content {model_id}@{version} lacks {', '.join(missing)}")
    image = str(document["HostingEcrUri"])
    repository = image.split("/", 1)[1] if "/" in image else image
    artifact = str(document["HostingArtifactUri"])
    bucket_key = artifact.removeprefix("s3://").split("/", 1)
    env = {str(e["Name"]): str(e["DefaultValue"]) for e in document.get("InferenceEnvironmentVariables", [])
           if e.get("Scope", "container") == "container"}
    return JumpStartSpec(
        model_id=model_id,
        version=version,
        spec_source=f"SageMakerPublicHub {model_id}@{version} (live)",
        default_instance_type=str(document["DefaultInferenceInstanceType"]),
        supported_instance_types=tuple(document.get("SupportedInferenceInstanceTypes")
                                       or [document["DefaultInferenceInstanceType"]]),
        payload="tgi" if "tgi" in repository else "embedding",
        image_repository=repository,
        artifact_key=bucket_key[1] if len(bucket_key) == 2 else None,
        artifact_compressed=artifact.endswith(".tar.gz"),
        environment=env,
        gpu_env="SM_NUM_GPUS" if "SM_NUM_GPUS" in env else None,
        gated=bool(document.get("GatedBucket")),
    )


def resolve_live(model_id: str, version: str | None, region: str, client: Any = None,
                 cache: dict[tuple[str, str | None, str], JumpStartSpec] | None = None) -> JumpStartSpec:
    """Read a spec from SageMaker's public hub (deploy time only; never offline)."""
    key = (model_id, version, region)
    if cache is not None and key in cache:
        return cache[key]
    if client is None:
        import boto3

        client = boto3.client("sagemaker", region_name=region)
    kwargs = {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": model_id}
    if version:
        kwargs["HubContentVersion"] = version
    response = client.describe_hub_content(**kwargs)
    spec = spec_from_hub_document(model_id, response["HubContentVersion"], json.loads(response["HubContentDocument"]))
    if cache is not None:
        cache[key] = spec
    return spec
