"""`JumpStartEndpoint`: execution role, network-isolated model, endpoint config, endpoint, autoscaling; or,
with `scaleToZero`, the model as an inference component that scales to zero (`scale_to_zero.py`).

A change of model or endpoint configuration replaces the endpoint (a new auto-named endpoint is
created, then the old one and its scaling target are deleted) instead of updating it in place:
SageMaker refuses `UpdateEndpoint` on a variant registered with Application Auto Scaling, so an
in-place update would fight the scaling target. Clients read the name from the stack output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.catalog.jumpstart import DLC_ACCOUNTS, JumpStartSpec
from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES, SageMakerInstance
from components.catalog.tags import ALWAYS_ON_TAG, NETWORK_ISOLATION_OFF_TAG
from components.context import Env, NetworkRef
from components.egress import https_to_vpc_and_s3
from components.iam_documents import Account, service_trust
from components.jumpstart_endpoint.args import EndpointArgs
from components.jumpstart_endpoint.scale_to_zero import (
    VARIANT,
    ZeroConfig,
    compute_requirements,
    inference_component,
    native_endpoint_config,
    target_tracking,
)
from components.jumpstart_endpoint.sharing import Copy
from components.storage.component import SecureBucket

#: Where an inference component's container logs go, one group per component, and the namespace of its utilization
#: metrics (invocation metrics stay in AWS/SageMaker with an InferenceComponentName dimension): SageMaker developer
#: guide, "Amazon SageMaker AI metrics in Amazon CloudWatch" (inference component metrics) and the log group used by
#: AWS's inference-component samples (`aws logs tail /aws/sagemaker/InferenceComponents/<name>`); the endpoint's
#: group stays allowed as well.
COMPONENT_LOG_GROUPS = "/aws/sagemaker/InferenceComponents/"
COMPONENT_METRICS = "/aws/sagemaker/InferenceComponents"


def execution_policy(spec: JumpStartSpec, acct: Account, *, key_arn: str, endpoint_prefix: str,
                     capture_bucket_arn: str | None, image: tuple[int, str | None] = (1, None),
                     component_prefix: str | None = None) -> dict[str, Any]:
    """Least privilege for the model container host (pure, unit-tested). `image`: the copy's GPUs and instance type,
    which choose the image; `component_prefix`: the names of the inference components the containers run as."""
    gpus, instance_type = image
    region, account_id, partition = acct.region, acct.account_id, acct.partition
    groups = f"arn:{partition}:logs:{region}:{account_id}:log-group:"
    namespaces = ["/aws/sagemaker/Endpoints", "AWS/SageMaker"]
    log_groups: str | list[str] = f"{groups}/aws/sagemaker/Endpoints/{endpoint_prefix}*"
    if component_prefix:
        log_groups = [log_groups, f"{groups}{COMPONENT_LOG_GROUPS}{component_prefix}*"]
        namespaces.append(COMPONENT_METRICS)
    statements: list[dict[str, Any]] = [
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": log_groups},
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": namespaces}}},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey",
                                                     "kms:CreateGrant"], "Resource": key_arn},
        {"Sid": "VpcDescribe", "Effect": "Allow",
         "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], "Resource": "*"},
        {"Sid": "VpcEnis", "Effect": "Allow",
         "Action": ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
         "Resource": [f"arn:{partition}:ec2:{region}:{account_id}:{kind}/*"
                      for kind in ("network-interface", "subnet", "security-group")]},
    ]
    if spec.image_repository:
        statements += [
            {"Sid": "EcrAuth", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {"Sid": "EcrPull", "Effect": "Allow",
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
             "Resource": f"arn:{partition}:ecr:{region}:{DLC_ACCOUNTS[region]}:repository/"
                         f"{spec.image_repository_name(gpus, instance_type)}"},
        ]
    if spec.artifact_key:
        bucket = spec.artifact_bucket(region)  # gated models live in jumpstart-private-cache-prod-<region>
        prefix = spec.artifact_key
        statements += [
            {"Sid": "ModelArtifacts", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}{'' if spec.artifact_compressed else '*'}"},
            {"Sid": "ModelArtifactsList", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": f"arn:{partition}:s3:::{bucket}",
             "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        ]
    if capture_bucket_arn:
        statements.append({"Sid": "DataCapture", "Effect": "Allow", "Action": ["s3:PutObject"],
                           "Resource": f"{capture_bucket_arn}/{endpoint_prefix}/*"})
    return {"Version": "2012-10-17", "Statement": statements}


def network_isolation(spec: JumpStartSpec) -> tuple[bool, dict[str, str] | None]:
    """(isolated, tags). On unless the spec itself turns it off (`InferenceEnableNetworkIsolation: false`: the
    container downloads at run time and fails isolated); then the tag says why, for the policy pack. Where the spec
    says nothing, the platform isolates (sagemaker-python-sdk would leave the SDK default, off)."""
    if spec.network_isolation is False:
        return False, {NETWORK_ISOLATION_OFF_TAG: f"JumpStart spec {spec.model_id} {spec.version} sets "
                                                  "InferenceEnableNetworkIsolation false"}
    return True, None


@dataclass(frozen=True)
class SharedHost:
    """What a model on the shared endpoint uses of it."""

    endpoint: aws.sagemaker.Endpoint
    role_arn: pulumi.Output[str]
    role_policy: aws.iam.RolePolicy
    security_group_id: pulumi.Output[str]
    instance: SageMakerInstance
    copies: dict[str, Copy]
    members: int


@dataclass(frozen=True)
class Hosting:
    """Where a model is served besides its own endpoint: the bucket data capture writes to (when
    `args.dataCapture` is enabled), or the shared endpoint it runs on as an inference component (`sharedEndpoint`)."""

    capture: SecureBucket | None = None
    host: SharedHost | None = None


class JumpStartEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EndpointArgs, *, env: Env, network: NetworkRef, spec: JumpStartSpec,
                 hosting: Hosting | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        """`spec`: the model's JumpStart spec (pinned or resolved from the hub); `hosting`: the capture bucket,
        or the shared endpoint the model joins."""
        super().__init__("mlplat:jumpstart_endpoint:JumpStartEndpoint", name, None,
                         env.component_options(opts, former_types=("mlplat:sagemaker:JumpStartEndpoint",)))
        child = pulumi.ResourceOptions(parent=self)
        hosting = hosting or Hosting()
        capture = hosting.capture
        if hosting.host is not None:
            self._on_shared_endpoint(name, args, spec, hosting.host, env, network)
            return
        instance_type = args.instance_type or spec.default_instance_type
        if (why := spec.instance_problem(instance_type)) is not None:
            raise ValueError(f"{name}: {why}")
        instance = SAGEMAKER_INSTANCES[instance_type]
        region, account_id, partition, kms_key_arn = env.region, env.account_id, env.partition, env.key_arn
        # Only an endpoint that captures may write to the capture bucket.
        capture_name, capture_arn = (capture.bucket_name, capture.bucket_arn) if capture is not None and \
            args.data_capture.enabled else (None, None)

        trust = pulumi.Output.from_input(account_id).apply(
            lambda acct: service_trust("sagemaker.amazonaws.com", account_id=acct))
        role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, opts=child)
        components = f"{name}-ic" if args.scale_to_zero.enabled else None  # inference_component's resource name
        policy = pulumi.Output.all(account_id, partition, kms_key_arn, capture_arn).apply(
            lambda a: json.dumps(execution_policy(spec, Account(region, a[0], a[1]), key_arn=a[2],
                                                  endpoint_prefix=name, capture_bucket_arn=a[3],
                                                  image=(instance.gpus, instance_type), component_prefix=components))
        )
        role_policy = aws.iam.RolePolicy(f"{name}-role", role=role.id, policy=policy, opts=child)
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description=f"SageMaker endpoint {name}: HTTPS to VPC endpoints and S3",
            egress=https_to_vpc_and_s3(env, network, self),
            opts=child,
        )
        isolated, isolation_tags = network_isolation(spec)
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role.arn,
            primary_container=self._container(args, spec, region, instance.gpus, instance_type),
            enable_network_isolation=isolated,
            tags=isolation_tags,
            vpc_config=aws.sagemaker.ModelVpcConfigArgs(subnets=network.private_subnet_ids, security_group_ids=[sg.id]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        to_zero = args.scale_to_zero
        timeouts = {"container_startup_health_check_timeout_in_seconds": spec.health_check_timeout_s,
                    "model_data_download_timeout_in_seconds": spec.download_timeout_s,
                    "volume_size_in_gb": None if instance.nvme else 100}
        capture_uri = pulumi.Output.concat("s3://", capture_name, f"/{name}") if capture_name is not None else None
        config_opts = pulumi.ResourceOptions(parent=self, depends_on=[role_policy])
        if to_zero.enabled:
            # An inference component has no Model of its own: the VPC and network isolation that the Model carries
            # for a variant endpoint are the endpoint configuration's here, which pulumi-aws's
            # EndpointConfiguration cannot hold (aws-native EndpointConfig: VpcConfig, EnableNetworkIsolation; the
            # SageMaker Python SDK's inference-component deploy passes both to the endpoint configuration).
            config_name = native_endpoint_config(self, name, ZeroConfig(
                role_arn=role.arn, key_arn=kms_key_arn, instance_type=instance_type, timeouts=timeouts,
                settings=to_zero, subnets=network.private_subnet_ids, security_groups=[sg.id],
                capture_uri=capture_uri, sampling_percentage=args.data_capture.sampling_percentage,
                network_isolation=isolated, tags=isolation_tags), config_opts)
        else:
            variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name=VARIANT, model_name=model.name, instance_type=instance_type,
                initial_instance_count=args.initial_instance_count, **timeouts)
            capture = None
            if capture_uri is not None:
                capture = aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                    enable_capture=True,
                    initial_sampling_percentage=args.data_capture.sampling_percentage,
                    destination_s3_uri=capture_uri,
                    kms_key_id=kms_key_arn,
                    capture_options=[
                        aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode=m)
                        for m in ("Input", "Output")
                    ],
                )
            config_name = aws.sagemaker.EndpointConfiguration(
                f"{name}-config", production_variants=[variant], kms_key_arn=kms_key_arn, data_capture_config=capture,
                tags={ALWAYS_ON_TAG: to_zero.always_on_reason} if to_zero.always_on_reason else None,
                opts=config_opts,
            ).name
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            endpoint_config_name=config_name,
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["endpointConfigName"]),
        )
        self.inference_component_name: pulumi.Output[str] | None = None
        if to_zero.enabled:
            ic = inference_component(self, name, endpoint=endpoint, model=model,
                                     requirements=compute_requirements(instance), settings=to_zero,
                                     startup=(spec.download_timeout_s, spec.health_check_timeout_s))
            self.inference_component_name = ic.inference_component_name
        if args.autoscaling is not None:
            scaling = args.autoscaling
            target = aws.appautoscaling.Target(
                f"{name}-scaling",
                service_namespace="sagemaker",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=pulumi.Output.concat("endpoint/", endpoint.name, f"/variant/{VARIANT}"),
                min_capacity=scaling.min_capacity,
                max_capacity=scaling.max_capacity,
                opts=child,
            )
            target_tracking(f"{name}-invocations", target, "SageMakerVariantInvocationsPerInstance",
                            float(scaling.target_invocations_per_instance),
                            (scaling.scale_in_cooldown, scaling.scale_out_cooldown), child)
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.role_arn = role.arn
        #: Where the model's spec comes from and when it was checked (shown by `mlplat plan --details` and cost).
        self.spec_source = spec.spec_source
        self.register_outputs({"endpointName": self.endpoint_name, "endpointArn": self.endpoint_arn,
                               "roleArn": self.role_arn, "inferenceComponentName": self.inference_component_name,
                               "specSource": self.spec_source, "marketplace": spec.marketplace})

    def _on_shared_endpoint(self, name: str, args: EndpointArgs, spec: JumpStartSpec, host: SharedHost, env: Env,
                            network: NetworkRef) -> None:
        """The model and its inference component on the shared endpoint (its role, security group, instances)."""
        copy = host.copies[args.name]
        isolated, isolation_tags = network_isolation(spec)
        model = aws.sagemaker.Model(
            f"{name}-model", execution_role_arn=host.role_arn,
            primary_container=self._container(args, spec, env.region, copy.accelerators, host.instance.name),
            enable_network_isolation=isolated, tags=isolation_tags,
            vpc_config=aws.sagemaker.ModelVpcConfigArgs(subnets=network.private_subnet_ids,
                                                        security_group_ids=[host.security_group_id]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[host.role_policy]))
        ic = inference_component(self, name, endpoint=host.endpoint, model=model,
                                 requirements=copy.requirements(host.instance, host.members),
                                 settings=args.scale_to_zero,
                                 startup=(spec.download_timeout_s, spec.health_check_timeout_s))
        self.inference_component_name = ic.inference_component_name
        self.endpoint_name, self.endpoint_arn, self.role_arn = host.endpoint.name, host.endpoint.arn, host.role_arn
        self.spec_source = spec.spec_source
        self.register_outputs({"endpointName": self.endpoint_name, "endpointArn": self.endpoint_arn,
                               "roleArn": self.role_arn, "inferenceComponentName": self.inference_component_name,
                               "specSource": self.spec_source})

    @staticmethod
    def _container(args: EndpointArgs, spec: JumpStartSpec, region: str, gpus: int,
                   instance_type: str) -> aws.sagemaker.ModelPrimaryContainerArgs:
        if spec.marketplace:
            return aws.sagemaker.ModelPrimaryContainerArgs(model_package_name=args.model_package_arn)
        env = spec.env_for(gpus, instance_type)
        image = spec.image_uri(region, gpus, instance_type)
        if spec.artifact_compressed:
            return aws.sagemaker.ModelPrimaryContainerArgs(
                image=image, model_data_url=spec.artifact_uri(region), environment=env
            )
        return aws.sagemaker.ModelPrimaryContainerArgs(
            image=image,
            environment=env,
            model_data_source=aws.sagemaker.ModelPrimaryContainerModelDataSourceArgs(
                s3_data_sources=[aws.sagemaker.ModelPrimaryContainerModelDataSourceS3DataSourceArgs(
                    s3_uri=spec.artifact_uri(region),
                    s3_data_type=spec.s3_data_type,
                    compression_type="None",
                    model_access_config=aws.sagemaker.ModelPrimaryContainerModelDataSourceS3DataSourceModelAccessConfigArgs(  # noqa: E501
                        accept_eula=True
                    )
                    if spec.gated
                    else None,
                )]
            ),
        )
