"""Builds one environment from its validated config: decides which components exist and wires them.

Components are imported only when their capability is enabled, so a dev stack does not pay for
the provider modules it does not use. Only real data dependencies order the components; there is
no blanket `depends_on`, so independent capabilities deploy in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.encryption import EncryptionArgs, PlatformKey
from components.network import Network
from stacks.config import PlatformConfig
from stacks.errors import ConfigError


@dataclass(frozen=True)
class Wiring:
    """What every capability is wired to: the environment's provider, key, network and identity."""

    cfg: PlatformConfig
    provider: aws.Provider
    opts: pulumi.ResourceOptions
    key_arn: pulumi.Output[str]
    network: Network
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]

    @property
    def prefix(self) -> str:
        return self.cfg.resource_prefix


def build(cfg: PlatformConfig) -> dict[str, Any]:
    """Create the environment's resources; returns the stack outputs."""
    provider = aws.Provider(
        "aws",
        region=cfg.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.tags.resolve(cfg.environment)),
    )
    # Look-ups that can refuse the whole stack happen before anything is created.
    identity_store = _identity_center(cfg, provider)
    specs = resolve_specs(cfg)

    aws_opts = pulumi.ResourceOptions(providers={"aws": provider})
    invoke_opts = pulumi.InvokeOutputOptions(provider=provider)
    identity = aws.get_caller_identity_output(opts=invoke_opts)
    partition = aws.get_partition_output(opts=invoke_opts)
    key = PlatformKey(
        f"{cfg.resource_prefix}-data",
        EncryptionArgs(alias=f"ml-platform/{cfg.environment}",
                       deletion_window_days=cfg.defaults.kms_deletion_window_days),
        account_id=identity.account_id,
        partition=partition.partition,
        region=cfg.region,
        protect=cfg.defaults.protect_stateful,
        opts=aws_opts,
    )
    network = Network(cfg.resource_prefix, cfg.network, region=cfg.region, kms_key_arn=key.key_arn,
                      account_id=identity.account_id, opts=aws_opts)
    w = Wiring(cfg, provider, aws_opts, key.key_arn, network, identity.account_id, partition.partition)

    outputs: dict[str, Any] = {
        "environment": cfg.environment,
        "region": cfg.region,
        "kmsKeyArn": key.key_arn,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "privateSubnetIds": network.private_subnet_ids,
        "publicSubnetIds": network.public_subnet_ids,
    }
    outputs.update(_gpu_cluster(w))
    outputs.update(_canvas(w, identity_store))
    outputs.update(_endpoints(w, specs))
    outputs.update(_bedrock(w))
    outputs.update(_live_chat(w))
    _kpi_reports(w)
    return outputs


def _gpu_cluster(w: Wiring) -> dict[str, Any]:
    cfg = w.cfg
    if not cfg.gpu_cluster.enabled:
        return {}
    from components.eks_gpu_cluster.component import GpuCluster

    cluster = GpuCluster(
        f"{w.prefix}-gpu",
        cfg.gpu_cluster,
        region=cfg.region,
        vpc_id=w.network.vpc_id,
        private_subnet_ids=w.network.private_subnet_ids,
        kms_key_arn=w.key_arn,
        partition=w.partition,
        endpoint_public_access=bool(cfg.gpu_cluster.endpoint_public_access),
        log_retention_days=cfg.gpu_cluster.log_retention_days or cfg.defaults.log_retention_days,
        network_ready=w.network.egress,
        protect=cfg.defaults.protect_stateful,
        opts=w.opts,
    )
    _cluster_workloads(w, cluster)
    return {"clusterName": cluster.cluster_name, "kubeconfig": cluster.kubeconfig,
            "oidcProviderArn": cluster.oidc_provider_arn, "nodeGroupNames": cluster.node_group_names}


def _canvas(w: Wiring, identity_store: str | None) -> dict[str, Any]:
    if identity_store is None:
        return {}
    from components.canvas.component import CanvasDomain

    cfg = w.cfg
    canvas = CanvasDomain(
        f"{w.prefix}-canvas",
        cfg.canvas,
        region=cfg.region,
        identity_store_id=identity_store,
        account_id=w.account_id,
        partition=w.partition,
        kms_key_arn=w.key_arn,
        vpc_id=w.network.vpc_id,
        subnet_ids=list(w.network.private_subnet_ids.values()),
        app_network_access_type=cfg.canvas.app_network_access_type or cfg.defaults.canvas_network_access,
        retain_home_efs=bool(cfg.canvas.retain_home_efs),
        opts=w.opts,
    )
    return {"canvasDomainId": canvas.domain_id, "canvasSsoApplicationArn": canvas.sso_application_arn,
            "accessPortalUrl": canvas.portal_url, "canvasExecutionRoleArn": canvas.execution_role_arn,
            "canvasBucket": canvas.bucket_name, "canvasUserProfiles": canvas.user_profiles}


def _live_chat(w: Wiring) -> dict[str, Any]:
    cfg = w.cfg
    if not cfg.live_chat.enabled:
        return {}
    import pulumi_aws_native as aws_native

    from components.live_chat.component import LiveChat

    native = aws_native.Provider("aws-native", region=cfg.region, default_tags=aws_native.ProviderDefaultTagsArgs(
        tags=cfg.tags.resolve(cfg.environment)))
    chat = LiveChat(
        f"{w.prefix}-chat", cfg.live_chat, environment=cfg.environment, region=cfg.region,
        account_id=w.account_id, partition=w.partition, kms_key_arn=w.key_arn,
        log_retention_days=cfg.defaults.log_retention_days, protect=cfg.defaults.protect_stateful,
        native_provider=native, opts=w.opts,
    )
    return dict(chat.outputs)


def _kpi_reports(w: Wiring) -> None:
    if not w.cfg.kpi_reports:
        return
    from components.kpi_report.component import KpiReport

    for report in w.cfg.kpi_reports:
        KpiReport(f"{w.prefix}-kpi-{report.team}", report, region=w.cfg.region, account_id=w.account_id,
                  partition=w.partition, kms_key_arn=w.key_arn, log_retention_days=w.cfg.defaults.log_retention_days,
                  protect=w.cfg.defaults.protect_stateful, opts=w.opts)


def _cluster_workloads(w: Wiring, cluster: Any) -> None:
    """Operators on the cluster, then the training jobs that need them."""
    from components.cluster_operators.component import ClusterOperators
    from components.training_job.component import FsdpTrainingJob

    cfg, prefix = w.cfg, w.prefix
    k8s_opts = pulumi.ResourceOptions(providers={"aws": w.provider, "kubernetes": cluster.k8s_provider})
    operators = ClusterOperators(
        f"{prefix}-ops",
        cfg.gpu_cluster.operators,
        kubernetes_version=cfg.gpu_cluster.kubernetes_version,
        region=cfg.region,
        cluster_name=cluster.cluster_name,
        cluster_arn=cluster.cluster_arn,
        account_id=w.account_id,
        partition=w.partition,
        kms_key_arn=w.key_arn,
        static_cluster_name=cluster.static_name,
        nodes_ready=[cluster.system_node_group],
        opts=k8s_opts,
    )
    groups = {g.name: g for g in cfg.gpu_cluster.node_groups}
    for job in cfg.training_jobs:
        FsdpTrainingJob(
            f"{prefix}-job-{job.name}",
            job,
            node_group=groups[job.node_group],
            namespace=operators.training_namespace,
            depends_on=[r for r in (operators.training_operator,) if r is not None],
            opts=k8s_opts,
        )


def _identity_center(cfg: PlatformConfig, provider: aws.Provider) -> str | None:
    """The identity store of the region's Identity Center instance, looked up before anything is created.

    Enabling an organization instance has no API, and ListInstances only returns the instance of
    the region it is called in, so an empty answer also means "the instance lives in another region".
    """
    if not cfg.canvas.enabled:
        return None
    result = aws.ssoadmin.get_instances(opts=pulumi.InvokeOptions(provider=provider))
    if not result.identity_store_ids:
        raise ConfigError([
            f"ml-platform:canvas.enabled: no IAM Identity Center instance in {cfg.region}. Enable it in the IAM "
            f"Identity Center console (with AWS Organizations) in {cfg.region} first; an instance in another "
            "region cannot back this domain"
        ])
    return result.identity_store_ids[0]


def resolve_specs(cfg: PlatformConfig) -> dict[str, Any]:
    """The JumpStart spec of every endpoint: pinned, or read from the public hub at deploy time."""
    from components.catalog.jumpstart import PINNED, resolve_live

    specs = {}
    for ep in cfg.endpoints:
        pinned = PINNED.get(ep.model_id)
        if pinned is not None and ep.model_version in (None, pinned.version):
            specs[ep.name] = pinned
        else:
            specs[ep.name] = resolve_live(ep.model_id, ep.model_version, cfg.region)
    return specs


def _endpoints(w: Wiring, specs: dict[str, Any]) -> dict[str, Any]:
    cfg = w.cfg
    if not cfg.endpoints:
        return {}
    from components.jumpstart_endpoint.component import JumpStartEndpoint
    from components.storage import BucketOptions, LifecycleRule, SecureBucket

    capture = None
    if any(ep.data_capture.enabled for ep in cfg.endpoints):
        bucket = SecureBucket(
            f"{cfg.resource_prefix}-inference-capture",
            BucketOptions(kms_key_arn=w.key_arn, lifecycle=(LifecycleRule("expire-captures", expire_days=90),),
                          protect=cfg.defaults.protect_stateful),
            opts=w.opts,
        )
        capture = (bucket.bucket_name, bucket.bucket_arn)
    endpoints = {
        ep.name: JumpStartEndpoint(
            f"{cfg.resource_prefix}-{ep.name}",
            ep,
            specs[ep.name],
            region=cfg.region,
            account_id=w.account_id,
            partition=w.partition,
            kms_key_arn=w.key_arn,
            vpc_id=w.network.vpc_id,
            vpc_cidr=w.network.vpc_cidr,
            subnet_ids=list(w.network.private_subnet_ids.values()),
            capture_bucket=capture,
            opts=w.opts,
        )
        for ep in cfg.endpoints
    }
    return {"endpointNames": {name: ep.endpoint_name for name, ep in endpoints.items()}}


def _bedrock(w: Wiring) -> dict[str, Any]:
    cfg, network = w.cfg, w.network
    b = cfg.bedrock
    if not (b.fine_tuning or b.provisioned_throughput or b.invocation_logging.enabled):
        return {}
    from pathlib import Path

    from components.bedrock_customization import BedrockFineTuning, InvocationLogging
    from components.bedrock_data import recommend_steps, validate_manifest
    from components.bedrock_throughput import ProvisionedThroughput

    prefix = w.prefix
    jobs: dict[str, BedrockFineTuning] = {}
    for ft in b.fine_tuning:
        images = ft.image_count or validate_manifest(Path(ft.local_manifest or "")).images
        steps = ft.hyperparameters.step_count or recommend_steps(images)
        vpc = (network.vpc_id, list(network.private_subnet_ids.values()), network.vpc_cidr) if ft.vpc else None
        jobs[ft.name] = BedrockFineTuning(
            f"{prefix}-{ft.name}", ft, step_count=steps, region=cfg.region, account_id=w.account_id,
            partition=w.partition, kms_key_arn=w.key_arn, vpc=vpc, protect=cfg.defaults.protect_stateful,
            opts=w.opts,
        )
    throughputs = {}
    for pt in b.provisioned_throughput:
        model_name = jobs[pt.from_fine_tuning].custom_model_name if pt.from_fine_tuning else None
        throughputs[pt.name] = ProvisionedThroughput(
            f"{prefix}-{pt.name}", pt, custom_model_name=model_name, opts=w.opts
        )
    if b.invocation_logging.enabled:
        InvocationLogging(f"{prefix}-bedrock", b.invocation_logging, region=cfg.region, account_id=w.account_id,
                          partition=w.partition, kms_key_arn=w.key_arn, opts=w.opts)
    out: dict[str, Any] = {}
    if jobs:
        out["customModelNames"] = {n: j.custom_model_name for n, j in jobs.items()}
    if throughputs:
        out["provisionedModelArns"] = {n: t.provisioned_model_arn for n, t in throughputs.items()
                                       if t.provisioned_model_arn is not None}
    return out
