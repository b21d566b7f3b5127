"""Builds one environment from its validated config: decides which components exist and wires them.

Components are imported only when their capability is enabled, so a dev stack does not pay for
the provider modules it does not use. Only real data dependencies order the components; there is
no blanket `depends_on`, so independent capabilities deploy in parallel. Every component gets the
environment as one `Env` record and the network as one `NetworkRef`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import Env, NetworkRef
from components.encryption.args import EncryptionArgs
from components.encryption.component import PlatformKey
from components.network.component import Network
from components.storage.access_logs import access_log_bucket
from stacks.errors import ConfigError
from stacks.model import PlatformConfig


def build(cfg: PlatformConfig) -> dict[str, Any]:
    """Create the environment's resources; returns the stack outputs."""
    tags = cfg.tags.resolve(cfg.environment)
    provider = aws.Provider(
        "aws", region=cfg.region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags), profile=cfg.profile,
        allowed_account_ids=cfg.allowed_account_ids or None,
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=r.role_arn, session_name=r.session_name,
                                                 external_id=r.external_id) for r in cfg.assume_roles] or None)
    # Look-ups that can refuse the whole stack happen before anything is created.
    identity_store = _identity_center(cfg, provider)
    specs = resolve_specs(cfg)

    invoke_opts = pulumi.InvokeOutputOptions(provider=provider)
    identity = aws.get_caller_identity_output(opts=invoke_opts)
    partition = aws.get_partition_output(opts=invoke_opts)
    defaults = cfg.defaults
    env = Env(name=cfg.name_scope, region=cfg.region, account_id=identity.account_id,
              partition=partition.partition, protect=defaults.protect_stateful,
              log_retention_days=defaults.log_retention_days, tags=tags, providers={"aws": provider})
    key = PlatformKey(
        f"{cfg.resource_prefix}-data",
        EncryptionArgs(alias=f"ml-platform/{cfg.name_scope}", deletion_window_days=defaults.kms_deletion_window_days),
        env=env,
    )
    env = env.with_key(key.key_arn)
    if cfg.storage.access_logging:
        logs = access_log_bucket(f"{cfg.resource_prefix}-access-logs", env=env, source_prefix=f"{cfg.resource_prefix}-")
        env = replace(env, access_log_bucket=logs.bucket_name)
    network = Network(cfg.resource_prefix, cfg.network, env=env)
    if cfg.uses_aws_native:
        # aws-native resources (the Lex bot, inference components, their endpoint configurations) through an
        # explicit provider: the default one needs `aws-native:region` in the stack file and sets no tags
        # (the pack's `explicit-providers` policy refuses any resource that would fall back to it).
        import pulumi_aws_native as aws_native

        role = next((aws_native.ProviderAssumeRoleArgs(role_arn=r.role_arn, session_name=r.session_name,
                                                       external_id=r.external_id) for r in cfg.assume_roles), None)
        env = env.with_providers(aws_native=aws_native.Provider(
            "aws-native", region=cfg.region, default_tags=aws_native.ProviderDefaultTagsArgs(tags=dict(env.tags)),
            profile=cfg.profile, allowed_account_ids=cfg.allowed_account_ids or None, assume_role=role))

    outputs: dict[str, Any] = {
        "environment": cfg.environment,
        "region": cfg.region,
        "kmsKeyArn": key.key_arn,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "privateSubnetIds": network.private_subnet_ids,
        "publicSubnetIds": network.public_subnet_ids,
    }
    outputs.update(_gpu_cluster(cfg, env, network.ref))
    outputs.update(_canvas(cfg, env, network.ref, identity_store))
    outputs.update(_endpoints(cfg, env, network.ref, specs))
    outputs.update(_bedrock(cfg, env, network.ref))
    outputs.update(_live_chat(cfg, env))
    _kpi_reports(cfg, env)
    return outputs


def _gpu_cluster(cfg: PlatformConfig, env: Env, network: NetworkRef) -> dict[str, Any]:
    if not cfg.gpu_cluster.enabled:
        return {}
    from components.eks_gpu_cluster.component import GpuCluster

    cluster = GpuCluster(f"{cfg.resource_prefix}-gpu", cfg.gpu_cluster, env=env, network=network)
    _cluster_workloads(cfg, env, cluster, network)
    return {"clusterName": cluster.cluster_name, "kubeconfig": cluster.kubeconfig,
            "oidcProviderArn": cluster.oidc_provider_arn, "nodeGroupNames": cluster.node_group_names}


def _cluster_workloads(cfg: PlatformConfig, env: Env, cluster: Any, network: NetworkRef) -> None:
    """Operators on the cluster, the shared file system, then the training jobs that need them."""
    from components.cluster_operators.component import ClusterOperators
    from components.training_job.component import FsdpTrainingJob
    from components.training_job.gate import JobLinks

    k8s_env = env.with_providers(kubernetes=cluster.k8s_provider)
    if cfg.gpu_cluster.uses_karpenter:
        from components.karpenter.component import KarpenterProvisioner

        KarpenterProvisioner(f"{cfg.resource_prefix}-karpenter", cfg.gpu_cluster, env=k8s_env, cluster=cluster,
                             network=network)
    operators = ClusterOperators(f"{cfg.resource_prefix}-ops", cfg.gpu_cluster.operators, env=k8s_env,
                                 cluster=cluster)
    claim = _shared_storage(cfg, k8s_env, cluster, network, operators)
    groups = {g.name: g for g in cfg.gpu_cluster.node_groups}
    if cfg.gpu_cluster.operators.training_operator.enabled:
        from components.training_job.preflight import NcclPreflight

        for group in cfg.gpu_cluster.node_groups:
            if group.preflight_image:
                NcclPreflight(f"{cfg.resource_prefix}-preflight-{group.name}", group, env=k8s_env,
                              operators=operators)
    rayjobs: dict[str, Any] = {}
    if cfg.ray_jobs:
        from components.ray_job.component import CurationRayJob

        for ray_job in cfg.ray_jobs:
            rayjobs[ray_job.run_name] = CurationRayJob(
                f"{cfg.resource_prefix}-ray-{ray_job.name}", ray_job, env=k8s_env,
                node_group=groups.get(ray_job.node_group or ""), operators=operators)
    for job in cfg.training_jobs:
        FsdpTrainingJob(f"{cfg.resource_prefix}-job-{job.name}", job, env=k8s_env, node_group=groups[job.node_group],
                        operators=operators, links=JobLinks(_upstream(cfg, job, rayjobs), claim))


def _shared_storage(cfg: PlatformConfig, env: Env, cluster: Any, network: NetworkRef, operators: Any) -> str | None:
    """FSx for Lustre for the training pods (gpuCluster.sharedStorage); its claim's name, or None."""
    shared = cfg.gpu_cluster.shared_storage
    if not shared.enabled:
        return None
    from components.shared_storage.component import Clients, SharedStorage

    az = shared.availability_zone or cfg.gpu_cluster.node_groups[0].availability_zone
    storage = SharedStorage(f"{cfg.resource_prefix}-shared", shared, env=env, network=network,
                            clients=Clients(az, cluster.cluster_security_group_id, operators.training_namespace),
                            opts=pulumi.ResourceOptions(depends_on=[operators]))
    return storage.claim_name


def _upstream(cfg: PlatformConfig, job: Any, rayjobs: dict[str, Any]) -> Any:
    """The RayJob of this stack whose output is the training job's input, if any: the job waits for it."""
    from components.training_job.gate import Upstream

    for ray in cfg.ray_jobs:
        if job.token_shards_uri and job.token_shards_uri.startswith(f"{ray.output_uri}{ray.run_name}/"):
            return Upstream(ray.run_name, ray.active_deadline_seconds, rayjobs.get(ray.run_name))
    return None


def _canvas(cfg: PlatformConfig, env: Env, network: NetworkRef, identity_store: str | None) -> dict[str, Any]:
    if identity_store is None:
        return {}
    from components.canvas.component import CanvasDomain

    canvas = CanvasDomain(f"{cfg.resource_prefix}-canvas", cfg.canvas, env=env, network=network,
                          identity_store_id=identity_store)
    return {"canvasDomainId": canvas.domain_id, "canvasSsoApplicationArn": canvas.sso_application_arn,
            "accessPortalUrl": canvas.portal_url, "canvasExecutionRoleArn": canvas.execution_role_arn,
            "canvasBucket": canvas.bucket_name, "canvasUserProfiles": canvas.user_profiles}


def _live_chat(cfg: PlatformConfig, env: Env) -> dict[str, Any]:
    if not cfg.live_chat.enabled:
        return {}
    from components.live_chat.component import LiveChat

    chat = LiveChat(f"{cfg.resource_prefix}-chat", cfg.live_chat, env=env)
    return dict(chat.outputs)


def _kpi_reports(cfg: PlatformConfig, env: Env) -> None:
    if not cfg.kpi_reports:
        return
    from components.kpi_report.component import KpiReport

    for report in cfg.kpi_reports:
        KpiReport(f"{cfg.resource_prefix}-kpi-{report.team}", report, env=env)


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
    """The JumpStart spec of every endpoint: pinned, or read from the public hub at deploy time.

    A spec read from the hub is held to the same rule as a pinned one (checked in the config): a gated
    model is deployed only with `acceptEula: true`, never with its EULA accepted silently.
    """
    from components.catalog.jumpstart import PINNED, resolve_live

    specs = {}
    problems = []
    for i, ep in enumerate(cfg.endpoints):
        pinned = PINNED.get(ep.model_id)
        if pinned is not None and ep.model_version in (None, pinned.version):
            specs[ep.name] = pinned
        else:
            specs[ep.name] = resolve_live(ep.model_id, ep.model_version, cfg.region)
        if (why := specs[ep.name].eula_problem(ep.accept_eula)) is not None:
            problems.append(f"ml-platform:endpoints[{i}].acceptEula: {why}")
    if problems:
        raise ConfigError(problems)
    return specs


def _endpoints(cfg: PlatformConfig, env: Env, network: NetworkRef, specs: dict[str, Any]) -> dict[str, Any]:
    if not cfg.endpoints:
        return {}
    from components.jumpstart_endpoint.component import Hosting, JumpStartEndpoint
    from components.storage.args import BucketArgs, LifecycleRule
    from components.storage.component import SecureBucket

    capture = None
    if any(ep.data_capture.enabled for ep in cfg.endpoints):
        capture = SecureBucket(
            f"{cfg.resource_prefix}-inference-capture",
            BucketArgs(lifecycle=(LifecycleRule(id="expire-captures", expire_days=90),)), env=env,
        )
    hosts = {}
    if cfg.shared_endpoints:
        from components.jumpstart_endpoint.shared import SharedEndpoint

        hosts = {shared.name: SharedEndpoint(
            f"{cfg.resource_prefix}-{shared.name}", shared,
            [(ep, specs[ep.name]) for ep in cfg.endpoints if ep.shared_endpoint == shared.name],
            env=env, network=network, member_prefix=cfg.resource_prefix).host for shared in cfg.shared_endpoints}
    endpoints = {
        ep.name: JumpStartEndpoint(f"{cfg.resource_prefix}-{ep.name}", ep, env=env, network=network,
                                   spec=specs[ep.name],
                                   hosting=Hosting(capture=capture, host=hosts.get(ep.shared_endpoint or "")))
        for ep in cfg.endpoints
    }
    components = {name: ep.inference_component_name for name, ep in endpoints.items()
                  if ep.inference_component_name is not None}
    return {"endpointNames": {name: ep.endpoint_name for name, ep in endpoints.items()},
            # Scale-to-zero endpoints serve through an inference component every InvokeEndpoint must name.
            **({"inferenceComponentNames": components} if components else {}),
            **_rag(cfg, env, network, endpoints)}


def _rag(cfg: PlatformConfig, env: Env, network: NetworkRef, endpoints: dict[str, Any]) -> dict[str, Any]:
    """The RAG service over two of the endpoints (the config checks that both exist)."""
    if not cfg.rag.enabled:
        return {}
    from components.catalog.jumpstart import EMBEDDING_DIMENSIONS
    from components.rag.component import RagEndpoints, RagService

    embedder = next(e for e in cfg.endpoints if e.name == cfg.rag.embeddings_endpoint)
    rag = RagService(f"{cfg.resource_prefix}-rag", cfg.rag, env=env, network=network, endpoints=RagEndpoints(
        endpoints[cfg.rag.llm_endpoint], endpoints[cfg.rag.embeddings_endpoint],
        EMBEDDING_DIMENSIONS[embedder.model_id]))
    return {"ragQueryUrl": rag.query_url, "ragBucket": rag.bucket_name, "ragIngestFunction": rag.ingest_function}


def _bedrock(cfg: PlatformConfig, env: Env, network: NetworkRef) -> dict[str, Any]:
    b = cfg.bedrock
    if not (b.fine_tuning or b.continued_pretraining or b.provisioned_throughput or b.invocation_logging.enabled):
        return {}
    from pathlib import Path

    from components.bedrock.component import BedrockFineTuning, InvocationLogging
    from components.bedrock.data import recommend_steps, validate_manifest
    from components.bedrock.pretraining import BedrockContinuedPretraining
    from components.bedrock.throughput import ProvisionedThroughput
    from components.catalog.bedrock_models import base_model_of

    prefix = cfg.resource_prefix
    jobs: dict[str, BedrockFineTuning | BedrockContinuedPretraining] = {}
    for ft in b.fine_tuning:
        images = ft.image_count or validate_manifest(Path(ft.local_manifest or ""), local_images=True).images
        steps = ft.hyperparameters.step_count or recommend_steps(images)
        jobs[ft.name] = BedrockFineTuning(f"{prefix}-{ft.name}", ft, env=env, step_count=steps,
                                          network=network if ft.vpc else None)
    for cpt in b.continued_pretraining:
        jobs[cpt.name] = BedrockContinuedPretraining(f"{prefix}-{cpt.name}", cpt, env=env,
                                                     network=network if cpt.vpc else None)
    throughputs = {}
    for pt in b.provisioned_throughput:
        model_name = jobs[pt.source].custom_model_name if pt.source else None
        bases = {e.name: e.base_model for e in (*b.fine_tuning, *b.continued_pretraining)}
        base = bases.get(pt.source or "") or base_model_of(pt.model_arn)
        throughputs[pt.name] = ProvisionedThroughput(f"{prefix}-{pt.name}", pt, custom_model_name=model_name,
                                                     base_model=base, opts=env.component_options(None))
    if b.invocation_logging.enabled:
        InvocationLogging(f"{prefix}-bedrock", b.invocation_logging, env=env)
    out: dict[str, Any] = {}
    if jobs:
        out["customModelNames"] = {n: j.custom_model_name for n, j in jobs.items()}
    if throughputs:
        out["provisionedModelArns"] = {n: t.provisioned_model_arn for n, t in throughputs.items()
                                       if t.provisioned_model_arn is not None}
    return out
