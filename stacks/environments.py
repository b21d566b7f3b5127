"""What each environment implies: config defaults where the stack file is silent, and policy settings.

One table, two consumers: `stacks/config.py` fills config defaults from it, and the policy pack's
per-environment config (`policies/config/<env>.json`, the file `pulumi preview --policy-pack-config`
reads) is generated from it (`make generate`; a test keeps the committed files in sync).

    python -m stacks.environments --write policies/config
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

Environment = Literal["dev", "staging", "prod"]


@dataclass(frozen=True)
class EnvironmentDefaults:
    """Values an environment implies where the stack file is silent, and the guardrails it is held to."""

    # -- config defaults ------------------------------------------------------------------------------
    nat_gateways: Literal["single", "perAz"]
    kms_deletion_window_days: int
    cluster_endpoint_public: bool
    protect_stateful: bool
    log_retention_days: int
    canvas_network_access: Literal["PublicInternetOnly", "VpcOnly"]
    #: The live-chat edge: a WAF on the callback API and reserved concurrency for its functions.
    harden_public_edge: bool
    #: S3 server access logs for every data bucket.
    access_logging: bool
    #: The Kubernetes provider drops objects of an unreachable cluster on refresh/destroy (pulumi-kubernetes
    #: `deleteUnreachable`): on where clusters come and go, off in prod, where an unreachable API (network, expired
    #: credentials) must fail loudly instead of emptying the state.
    kubernetes_delete_unreachable: bool
    # -- policy pack settings -------------------------------------------------------------------------
    #: GPU node groups at maximum size may cost at most this (USD/hour).
    max_hourly_gpu_usd: float
    #: GPU node groups must scale to zero (None: the rule is disabled).
    require_scale_to_zero: bool | None
    #: SageMaker domains must be VpcOnly.
    require_vpc_only: bool
    #: Committed Bedrock Provisioned Throughput is allowed.
    allow_commitment: bool
    #: Bedrock Provisioned Throughput, created or pending, may cost at most this (USD/hour; 0: none).
    max_throughput_usd: float = 0
    #: Instance types node groups and endpoints may use (None: any).
    allowed_instance_types: tuple[str, ...] | None = None
    #: SageMaker endpoints must scale to zero, or name why not (`scaleToZero.alwaysOnReason`).
    require_endpoint_scale_to_zero: bool = False

    def pack_config(self) -> dict[str, Any]:
        """The policy pack's config for this environment (policy name -> settings)."""
        config: dict[str, Any] = {
            "sagemaker-isolated-and-encrypted": {"requireVpcOnly": self.require_vpc_only},
            "gpu-hourly-budget": {"maxHourlyGpuUsd": self.max_hourly_gpu_usd},
            "gpu-scale-to-zero": {"enforcementLevel": "disabled"} if self.require_scale_to_zero is None
            else {"requireScaleToZero": self.require_scale_to_zero},
            "endpoints-scale-to-zero": {"requireEndpointScaleToZero": self.require_endpoint_scale_to_zero},
            "s3-access-logging": {"requireAccessLogging": self.access_logging},
            "public-edge-hardened": {"requireWaf": self.harden_public_edge,
                                     "requireReservedConcurrency": self.harden_public_edge},
        }
        if self.allowed_instance_types is not None:
            config["instance-types-allowed"] = {"allowedInstanceTypes": list(self.allowed_instance_types)}
        config["bedrock-commitment-prod-only"] = {"allowCommitment": self.allow_commitment}
        config["bedrock-throughput-budget"] = {"maxThroughputUsdPerHour": self.max_throughput_usd}
        return config


ENVIRONMENT_DEFAULTS: dict[str, EnvironmentDefaults] = {
    "dev": EnvironmentDefaults(
        nat_gateways="single", kms_deletion_window_days=7, cluster_endpoint_public=True, protect_stateful=False,
        log_retention_days=30, canvas_network_access="PublicInternetOnly", harden_public_edge=False,
        access_logging=False, kubernetes_delete_unreachable=True,
        max_hourly_gpu_usd=25, require_scale_to_zero=True, require_vpc_only=False,
        allow_commitment=False, require_endpoint_scale_to_zero=True,
        allowed_instance_types=("m5.large", "m5.xlarge", "c5.2xlarge", "g5.xlarge", "g5.2xlarge", "g5.12xlarge",
                                "ml.g5.2xlarge", "ml.g5.xlarge", "ml.m5.xlarge", "ml.c6i.xlarge"),
    ),
    "staging": EnvironmentDefaults(
        nat_gateways="single", kms_deletion_window_days=30, cluster_endpoint_public=False, protect_stateful=False,
        log_retention_days=90, canvas_network_access="VpcOnly", harden_public_edge=False, access_logging=False,
        kubernetes_delete_unreachable=True,
        max_hourly_gpu_usd=120, require_scale_to_zero=True, require_vpc_only=True,
        allow_commitment=False, max_throughput_usd=25,
    ),
    "prod": EnvironmentDefaults(
        nat_gateways="perAz", kms_deletion_window_days=30, cluster_endpoint_public=False, protect_stateful=True,
        log_retention_days=365, canvas_network_access="VpcOnly", harden_public_edge=True, access_logging=True,
        kubernetes_delete_unreachable=False,
        max_hourly_gpu_usd=1200, require_scale_to_zero=None, require_vpc_only=True,
        allow_commitment=True, max_throughput_usd=50,
    ),
}

#: (config key path, defaults field): where an environment default lands when the stack file is silent.
CONFIG_DEFAULTS: tuple[tuple[tuple[str, str], str], ...] = (
    (("network", "natGateways"), "nat_gateways"),
    (("gpuCluster", "endpointPublicAccess"), "cluster_endpoint_public"),
    (("gpuCluster", "logRetentionDays"), "log_retention_days"),
    (("canvas", "appNetworkAccessType"), "canvas_network_access"),
    (("canvas", "retainHomeEfs"), "protect_stateful"),
    (("liveChat", "callbackWaf"), "harden_public_edge"),
    (("liveChat", "reserveConcurrency"), "harden_public_edge"),
    (("storage", "accessLogging"), "access_logging"),
    (("gpuCluster", "deleteUnreachable"), "kubernetes_delete_unreachable"),
)


#: Defaults that are not a stack-file key but shape one: the KMS deletion window of the environment's key.
_DERIVED_SETTINGS = ("kms_deletion_window_days",)


def config_setting_names() -> list[str]:
    """The fields that are config defaults (the rest are policy settings), in declaration order."""
    used = {setting for _, setting in CONFIG_DEFAULTS} | set(_DERIVED_SETTINGS)
    return [f.name for f in fields(EnvironmentDefaults) if f.name in used]


def pack_config_text(environment: str) -> str:
    return json.dumps(ENVIRONMENT_DEFAULTS[environment].pack_config(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the policy pack config of every environment")
    parser.add_argument("--write", type=Path, required=True, metavar="DIR", help="e.g. policies/config")
    args = parser.parse_args(argv)
    for environment in ENVIRONMENT_DEFAULTS:
        (args.write / f"{environment}.json").write_text(pack_config_text(environment))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
