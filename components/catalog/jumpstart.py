"""SageMaker JumpStart model specs, so endpoints deploy without the SageMaker SDK.

Pins are `SageMakerPublicHub` hub documents (`data/jumpstart_hub.json`, each at the spec version it
names), parsed by the same `spec_from_hub_document` that reads a live document at deploy time
(`resolve_live`, boto3, never offline). The parser reads the keys sagemaker-python-sdk reads
(`jumpstart/hub/interfaces.py` HubModelDocument, `jumpstart/types.py` JumpStartEnvironmentVariable):
environment defaults under `Default`, the prepacked artifact (`HostingPrepackedArtifactUri`) before
the plain one, the artifact bucket as published (gated models live in
`jumpstart-private-cache-prod-<region>`), and the `ModelDataDownloadTimeout` /
`ContainerStartupHealthCheckTimeout` the spec sets.

Images resolve per region the way JumpStart specs do: the repository and tag are kept and the
registry is the Deep Learning Containers account of the target region (`DLC_ACCOUNTS`). Marketplace
models (Upstage Solar) carry no image: their model package ARN is per region and comes from
configuration (subscribe first).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from components.catalog.data import load

#: Deep Learning Containers registry account per region (AWS DLC "available images" list).
DLC_ACCOUNTS: dict[str, str] = {
    "us-east-1": "763104351884", "us-east-2": "763104351884", "us-west-2": "763104351884",
    "eu-west-1": "763104351884", "eu-central-1": "763104351884", "ap-northeast-1": "763104351884",
    "ap-southeast-2": "763104351884", "ap-east-1": "871362719292", "me-south-1": "217643126080",
    "af-south-1": "626614931356", "eu-south-1": "692866216735",
}

Payload = Literal["tgi", "embedding", "openai-chat"]


@dataclass(frozen=True)
class ModelShape:
    """What a model needs to be served: its weights and the attention layout its server shards along."""

    params_b: float
    bytes_per_param: int
    heads: int
    kv_heads: int
    intermediate: int
    #: Room for the KV cache and activations on top of the weights (TGI allocates the KV cache from what is left).
    headroom: float = 0.2

    @property
    def gpu_memory_gib(self) -> float:
        return self.params_b * 1e9 * self.bytes_per_param * (1 + self.headroom) / 2**30

    def shard_counts(self, up_to: int) -> list[int]:
        """GPU counts the server can shard it over (each divides heads, KV heads and the intermediate size)."""
        return [n for n in range(1, up_to + 1)
                if self.heads % n == 0 and self.kv_heads % n == 0 and self.intermediate % n == 0]


#: Model shapes from the models' own config.json (Hugging Face, mistralai/Mixtral-8x7B-Instruct-v0.1: 32 attention
#: heads, 8 key-value heads, intermediate size 14,336; 46.7 B parameters in bf16, the model card).
MODEL_SHAPES: dict[str, ModelShape] = {
    "huggingface-llm-mixtral-8x7b-instruct": ModelShape(46.7, 2, 32, 8, 14336),
}


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
    #: The artifact bucket without its region suffix: jumpstart-cache-prod or jumpstart-private-cache-prod.
    artifact_bucket_prefix: str = "jumpstart-cache-prod"
    artifact_key: str | None = None
    artifact_compressed: bool = False           # True: a model.tar.gz (ModelDataUrl); False: S3 prefix
    environment: dict[str, str] = field(default_factory=dict)
    gpu_env: str | None = None                  # env var that follows the instance's GPU count
    gated: bool = False                         # needs accept_eula
    health_check_timeout_s: int | None = None   # None: SageMaker's default
    download_timeout_s: int | None = None
    marketplace: bool = False
    #: Image repository per instance type or family (`HostingInstanceTypeVariants`: "ml.c5.xlarge" or "c5").
    image_variants: dict[str, str] = field(default_factory=dict)
    #: Environment variables per instance type or family (the variants' `environment_variables`).
    env_variants: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The spec's `InferenceEnableNetworkIsolation` (None: it says nothing).
    network_isolation: bool | None = None
    s3_data_type: str = "S3Prefix"              # HostingArtifactS3DataType: S3Prefix or S3Object

    def instance_problem(self, instance_type: str | None) -> str | None:
        """Why `instance_type` (None: the spec's default) cannot host this model, or None when it can: the spec
        must list it and the catalog must have its price and GPU facts (`sagemaker_instances.py`)."""
        from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES

        instance = instance_type or self.default_instance_type
        if instance not in self.supported_instance_types:
            return f"{self.model_id} supports {', '.join(self.supported_instance_types)}; found {instance!r}"
        if instance not in SAGEMAKER_INSTANCES:
            return f"no price/GPU facts for {instance} in the catalog (components/catalog/sagemaker_instances.py)"
        return None

    def eula_problem(self, accept_eula: bool) -> str | None:
        """A gated model is deployed only with its EULA accepted explicitly, never silently."""
        if self.gated and not accept_eula:
            return (f"{self.model_id} {self.version} is gated: set acceptEula: true after reading its license; "
                    "found false")
        return None

    def repository_for(self, instance_type: str | None, gpus: int = 1) -> str | None:
        """The image repository for `instance_type`, as sagemaker-python-sdk picks it (JumpStartInstanceTypeVariants
        `_get_regional_property`): the variant of the exact type, else of its family (`ml.g5.2xlarge` -> `g5`);
        without one, the pin's CPU image on an instance without GPUs, else the document's `HostingEcrUri`."""
        if instance_type:
            for key in (instance_type, _family(instance_type)):
                if key in self.image_variants:
                    return self.image_variants[key]
        return self.cpu_image_repository if gpus == 0 and self.cpu_image_repository else self.image_repository

    def image_uri(self, region: str, gpus: int = 1, instance_type: str | None = None) -> str:
        if self.image_repository is None:
            raise ValueError(f"{self.model_id} is an AWS Marketplace model package: it has no image")
        repository = self.repository_for(instance_type, gpus)
        try:
            account = DLC_ACCOUNTS[region]
        except KeyError:
            raise ValueError(f"no Deep Learning Containers registry known for {region}; "
                             f"known: {', '.join(DLC_ACCOUNTS)}") from None
        return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}"

    def image_repository_name(self, gpus: int = 1, instance_type: str | None = None) -> str | None:
        repository = self.repository_for(instance_type, gpus)
        return repository.split(":")[0] if repository else None

    def artifact_bucket(self, region: str) -> str:
        return f"{self.artifact_bucket_prefix}-{region}"

    def artifact_uri(self, region: str) -> str | None:
        return f"s3://{self.artifact_bucket(region)}/{self.artifact_key}" if self.artifact_key else None

    def env_for(self, gpus: int, instance_type: str | None = None) -> dict[str, str]:
        """The container environment: the spec's defaults, then its family's and its type's variants (the SDK's
        `get_instance_specific_environment_variables` order), then the GPU count."""
        env = dict(self.environment)
        if instance_type:
            env.update(self.env_variants.get(_family(instance_type), {}))
            env.update(self.env_variants.get(instance_type, {}))
        if self.gpu_env:
            env[self.gpu_env] = str(gpus)
        return env


class SpecError(ValueError):
    """A hub document that is missing what a deployment needs."""


_REGION_SUFFIX = re.compile(r"-[a-z]{2}(-gov)?-[a-z]+-\d$")


def _repository(image_uri: str) -> str:
    """`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` -> `<repo>:<tag>`."""
    return image_uri.split("/", 1)[1] if "/" in image_uri else image_uri


def _family(instance_type: str) -> str:
    """`ml.g5.2xlarge` -> `g5` (sagemaker-python-sdk `get_instance_type_family`)."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "ml" else ""


def _variants(model_id: str, version: str, document: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict]]:
    """(image repository, environment) per instance type or family from `HostingInstanceTypeVariants`.

    A hub document's variants carry `properties` (`image_uri`, `environment_variables`); an image may name one of
    the document's `Aliases` as `$name`, expanded here (the SDK returns hub variants' values as they are, with the
    comment that hub aliases come regionalised; the documents it tests with still use `$gpu_ecr_uri_1`).
    """
    variants = document.get("HostingInstanceTypeVariants") or {}
    aliases = variants.get("Aliases") or {}
    images: dict[str, str] = {}
    envs: dict[str, dict[str, str]] = {}
    for key, variant in (variants.get("Variants") or {}).items():
        properties = (variant or {}).get("properties") or (variant or {}).get("Properties") or {}
        image = properties.get("image_uri") or properties.get("ImageUri")
        if isinstance(image, str) and image.startswith("$"):
            if image[1:] not in aliases:
                raise SpecError(f"hub content {model_id}@{version}: variant {key} names alias {image}, which "
                                f"Aliases does not define")
            image = aliases[image[1:]]
        if image:
            images[key] = _repository(str(image))
        env = properties.get("environment_variables") or properties.get("EnvironmentVariables")
        if env:
            envs[key] = {str(k): str(v) for k, v in env.items()}
    return images, envs


def payload_kind(document: dict[str, Any], repository: str) -> Payload:
    """The request format the model takes, from its own example requests: the document's `DefaultPayloads` (alias ->
    {ContentType, PromptKey, Body, ...}, as sagemaker-python-sdk's JumpStartSerializablePayload reads them from hub
    content) name the prompt's key (`inputs`: a TGI text-generation request, `text_inputs`: the sentence-similarity
    embedding request, `messages`: a chat completion). A document without them falls back to the serving image
    (TGI's repository names it)."""
    for payload in (document.get("DefaultPayloads") or {}).values():
        body = payload.get("Body") if isinstance(payload, dict) else None
        keys = {str(payload.get("PromptKey", "")).split(".")[0].split("[")[0]} | (set(body) if isinstance(body, dict)
                                                                                  else set())
        if "messages" in keys:
            return "openai-chat"
        if "text_inputs" in keys:
            return "embedding"
        if "inputs" in keys:
            return "tgi"
    return "tgi" if "tgi" in repository else "embedding"


def spec_from_hub_document(model_id: str, version: str, document: dict[str, Any], *, cpu_image: str | None = None,
                           source: str | None = None) -> JumpStartSpec:
    """Validate a `SageMakerPublicHub` HubContentDocument and turn it into a spec."""
    artifact = document.get("HostingPrepackedArtifactUri") or document.get("HostingArtifactUri")
    missing = [k for k in ("HostingEcrUri", "DefaultInferenceInstanceType") if not document.get(k)]
    missing += [] if artifact else ["HostingPrepackedArtifactUri or HostingArtifactUri"]
    if missing:
        raise SpecError(f"hub content {model_id}@{version} lacks {', '.join(missing)}")
    repository = _repository(str(document["HostingEcrUri"]))
    bucket, _, key = str(artifact).removeprefix("s3://").partition("/")
    variables = [e for e in document.get("InferenceEnvironmentVariables", [])
                 if e.get("Scope", "container") == "container"]
    undefined = [str(e.get("Name")) for e in variables if "Default" not in e]
    if undefined:  # the SDK's JumpStartEnvironmentVariable.from_json requires `Default` too
        raise SpecError(f"hub content {model_id}@{version}: environment variable(s) {', '.join(undefined)} have no "
                        "Default")
    env = {str(e["Name"]): str(e["Default"]) for e in variables}
    default = str(document["DefaultInferenceInstanceType"])
    images, envs = _variants(model_id, version, document)
    data_type = document.get("HostingArtifactS3DataType") or "S3Prefix"
    compression = document.get("HostingArtifactCompressionType")
    if data_type not in ("S3Prefix", "S3Object") or compression not in (None, "None", "Gzip"):
        raise SpecError(f"hub content {model_id}@{version}: HostingArtifactS3DataType {data_type!r} / "
                        f"HostingArtifactCompressionType {compression!r}: expected S3Prefix or S3Object / None or Gzip")
    isolation = document.get("InferenceEnableNetworkIsolation")
    return JumpStartSpec(
        model_id=model_id,
        version=version,
        spec_source=source or f"SageMakerPublicHub {model_id}@{version} (live)",
        default_instance_type=default,
        supported_instance_types=tuple(document.get("SupportedInferenceInstanceTypes") or [default]),
        payload=payload_kind(document, repository),
        image_repository=repository,
        cpu_image_repository=_repository(cpu_image) if cpu_image else None,
        artifact_bucket_prefix=_REGION_SUFFIX.sub("", bucket),
        artifact_key=key or None,
        # The document's own data type and compression when it gives them (what SageMaker reads); else the
        # artifact's shape: a .tar.gz is a compressed object, anything else an uncompressed prefix.
        artifact_compressed=compression == "Gzip" if compression else str(artifact).endswith(".tar.gz"),
        s3_data_type=data_type if document.get("HostingArtifactS3DataType") else (
            "S3Object" if str(artifact).endswith(".tar.gz") else "S3Prefix"),
        image_variants=images,
        env_variants=envs,
        network_isolation=isolation if isinstance(isolation, bool) else None,
        environment=env,
        gpu_env="SM_NUM_GPUS" if "SM_NUM_GPUS" in env else None,
        gated=bool(document.get("GatedBucket")) or "private-cache" in bucket,
        health_check_timeout_s=document.get("ContainerStartupHealthCheckTimeout"),
        download_timeout_s=document.get("ModelDataDownloadTimeout"),
    )


def _hub_pins() -> dict[str, JumpStartSpec]:
    data = load("jumpstart_hub")
    return {model_id: spec_from_hub_document(model_id, entry["version"], entry["document"],
                                             cpu_image=entry.get("cpuImage"),
                                             source=f"JumpStart spec {model_id} v{entry['version']} "
                                                    f"(data/jumpstart_hub.json, checked {data['checked']})")
            for model_id, entry in data["models"].items()}


#: AWS Marketplace model packages: no hub document; instance types from the listing.
MARKETPLACE: dict[str, JumpStartSpec] = {
    s.model_id: s
    for s in (
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

PINNED: dict[str, JumpStartSpec] = {**_hub_pins(), **MARKETPLACE}

HOW_TO_PIN = ("To pin another: python scripts/refresh_catalog.py --add MODEL_ID [--document FILE] --write "
              "(docs/adding-a-model.md)")


def lookup(model_id: str) -> JumpStartSpec:
    try:
        return PINNED[model_id]
    except KeyError:
        raise ValueError(f"unknown JumpStart model id offline; pinned ids: {', '.join(sorted(PINNED))}. {HOW_TO_PIN}"
                         ) from None


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


#: Output dimension of the embedding models the RAG service indexes with (BAAI/bge-large-en model card: BERT
#: large, hidden size 1024, the sentence embedding is the [CLS] vector).
EMBEDDING_DIMENSIONS: dict[str, int] = {"huggingface-sentencesimilarity-bge-large-en": 1024}
