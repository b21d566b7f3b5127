"""The user's contract: typed, validated stack configuration under the `ml-platform:` namespace.

Everything is validated here, once, before any resource is registered: structure and values by
pydantic, cross-references (AZs, node-group names, ...) by `_cross_checks`. Every problem becomes
one line naming the key path, what was expected and what was found; all are reported together.
Environments differ by values (the stack files and `ENVIRONMENT_DEFAULTS`), never by branches
inside components.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator

from components.base import StrictModel, Tags
from components.bedrock_args import BedrockArgs
from components.canvas.args import CanvasArgs
from components.eks_gpu_cluster.args import GpuClusterArgs
from components.jumpstart_endpoint.args import EndpointArgs
from components.kpi_report.args import KpiReportArgs
from components.live_chat.args import LiveChatArgs
from components.network import NetworkArgs
from components.training_job.args import TrainingJobArgs
from stacks.errors import NAMESPACE, ConfigError, annotation_at, describe, key_path

Environment = Literal["dev", "staging", "prod"]

#: Regions the platform is built and priced for (EKS, SageMaker, Bedrock available).
SUPPORTED_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2",
)


@dataclass(frozen=True)
class EnvironmentDefaults:
    """Values an environment implies where the stack file is silent."""

    nat_gateways: Literal["single", "perAz"]
    kms_deletion_window_days: int
    cluster_endpoint_public: bool
    protect_stateful: bool
    log_retention_days: int
    canvas_network_access: Literal["PublicInternetOnly", "VpcOnly"]


ENVIRONMENT_DEFAULTS: dict[str, EnvironmentDefaults] = {
    "dev": EnvironmentDefaults("single", 7, True, False, 30, "PublicInternetOnly"),
    "staging": EnvironmentDefaults("single", 30, False, False, 90, "VpcOnly"),
    "prod": EnvironmentDefaults("perAz", 30, False, True, 365, "VpcOnly"),
}


class PlatformConfig(StrictModel):
    """The whole stack configuration."""

    region: str = Field(alias="aws:region", description="AWS region of the stack (`aws:region`).")
    environment: Environment = Field(description="Which environment this stack is: dev, staging or prod.")
    tags: Tags = Field(description="Ownership tags applied to every taggable resource.")
    network: NetworkArgs = Field(description="The VPC: created, or an existing one.")
    gpu_cluster: GpuClusterArgs = Field(default_factory=GpuClusterArgs, description="EKS GPU cluster with EFA.")
    training_jobs: list[TrainingJobArgs] = Field(
        default_factory=list, description="FSDP PyTorchJobs run on the GPU cluster's node groups."
    )
    canvas: CanvasArgs = Field(
        default_factory=CanvasArgs, description="SageMaker Canvas domain behind IAM Identity Center."
    )
    endpoints: list[EndpointArgs] = Field(default_factory=list, description="SageMaker JumpStart endpoints.")
    bedrock: BedrockArgs = Field(
        default_factory=BedrockArgs, description="Bedrock fine-tuning, Provisioned Throughput, invocation logging."
    )
    live_chat: LiveChatArgs = Field(default_factory=LiveChatArgs, description="Lex + Talkdesk live-agent chat.")
    kpi_reports: list[KpiReportArgs] = Field(
        default_factory=list, description="DORA KPI reports summarized by a Bedrock model and emailed."
    )

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in SUPPORTED_REGIONS:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_REGIONS)}")
        return value

    @property
    def defaults(self) -> EnvironmentDefaults:
        return ENVIRONMENT_DEFAULTS[self.environment]

    @property
    def resource_prefix(self) -> str:
        return f"mlplat-{self.environment}"


def _apply_defaults(cfg: PlatformConfig) -> PlatformConfig:
    d = cfg.defaults
    network = cfg.network
    if network.nat_gateways is None:
        network = network.model_copy(update={"nat_gateways": d.nat_gateways})
    cluster = cfg.gpu_cluster
    cluster_updates: dict[str, Any] = {}
    if cluster.endpoint_public_access is None:
        cluster_updates["endpoint_public_access"] = d.cluster_endpoint_public
    if cluster.log_retention_days is None:
        cluster_updates["log_retention_days"] = d.log_retention_days
    canvas = cfg.canvas
    canvas_updates: dict[str, Any] = {}
    if canvas.app_network_access_type is None:
        canvas_updates["app_network_access_type"] = d.canvas_network_access
    if canvas.retain_home_efs is None:
        canvas_updates["retain_home_efs"] = d.protect_stateful
    return cfg.model_copy(update={"network": network, "gpu_cluster": cluster.model_copy(update=cluster_updates),
                                  "canvas": canvas.model_copy(update=canvas_updates)})


def _secret_fields_plaintext(cfg_raw: Mapping[str, Any], secret_keys: Collection[str]) -> list[str]:
    """Secret-typed fields must come from `secure:` values; a plaintext one would sit in the stack file."""
    problems = []

    def walk(value: Any, loc: tuple[Any, ...]) -> None:
        if annotation_at(PlatformConfig, loc) is SecretStr and value is not None:
            problems.append(
                f"{key_path(loc)}: expected a secret (pulumi config set --secret --path '{key_path(loc)}'); "
                "found a plaintext value"
            )
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*loc, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*loc, i))

    for key, value in cfg_raw.items():
        if f"{NAMESPACE}:{key}" not in secret_keys:
            walk(value, (key,))
    return problems


def parse(values: Mapping[str, Any], secret_keys: Collection[str] = ()) -> PlatformConfig:
    """Validate raw Pulumi config (`{"ml-platform:network": "<json>", "aws:region": "us-east-1", ...}`).

    Raises `ConfigError` with every problem found.
    """
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for full_key, value in values.items():
        namespace, _, key = full_key.partition(":")
        if full_key == "aws:region":
            raw["aws:region"] = value
            continue
        if namespace != NAMESPACE:
            continue
        if isinstance(value, str) and value[:1] in "{[":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append(f"{NAMESPACE}:{key}: expected valid structured (JSON/YAML) config; {exc.msg}")
                continue
        raw[key] = value
    problems += _secret_fields_plaintext({k: v for k, v in raw.items() if k != "aws:region"}, secret_keys)
    try:
        cfg = PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems + describe(PlatformConfig, exc)) from None
    from stacks.checks import cross_checks

    problems += [f"{key_path(loc)}: {msg}" for loc, msg in cross_checks(cfg)]
    if problems:
        raise ConfigError(problems)
    return _apply_defaults(cfg)


def load() -> PlatformConfig:
    """Read and validate the running stack's config (real engine or mock monitor alike)."""
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    return parse(values, secret_keys)
