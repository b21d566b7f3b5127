"""A JumpStart model as an inference component on an endpoint that scales to zero instances.

As the SageMaker developer guide ("Scale an endpoint to zero instances") and AWS's launch post ("Unlock cost
savings with the new scale down to zero feature in SageMaker Inference", re:Invent 2024) set it up:

- the endpoint configuration's variant has no model: managed instance scaling (status ENABLED, min 0, max N),
  least-outstanding-requests routing, and the execution role moves to the endpoint configuration;
- the model runs as an inference component (aws-native `sagemaker.InferenceComponent`: pulumi-aws has no such
  resource) with its compute requirements, one copy at creation;
- Application Auto Scaling on `sagemaker:inference-component:DesiredCopyCount`, min 0: target tracking on
  `SageMakerInferenceComponentInvocationsPerCopy` scales copies in (to zero after about 15 idle minutes) and out;
- scale-out from zero: a CloudWatch alarm on `NoCapacityInvocationFailures` (AWS/SageMaker, per inference
  component) drives a step-scaling policy that adds one copy. The alarm fires on the first failed request
  (Maximum >= 1 over 60 s, as the launch post's): the guide's variant (Sum > 1) needs two failures in a minute.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native

from components.catalog.sagemaker_instances import SageMakerInstance
from components.jumpstart_endpoint.args import ScaleToZero
from components.jumpstart_endpoint.sharing import Copy

VARIANT = "AllTraffic"
ROUTING = "LEAST_OUTSTANDING_REQUESTS"
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def compute_requirements(instance: SageMakerInstance) -> dict[str, float | int]:
    """One copy per instance, sized to the instance less what SageMaker's agents keep: every GPU, all but one
    vCPU, all but 2 GiB of memory (SageMaker refuses a copy that does not fit the instance); `sharing.py` sizes
    a copy that holds a share of it the same way."""
    return Copy("", instance.gpus, 0).requirements(instance, members=1)


def target_tracking(name: str, target: aws.appautoscaling.Target, metric: str, value: float,
                    cooldowns: tuple[int, int], opts: pulumi.ResourceOptions) -> aws.appautoscaling.Policy:
    """A target-tracking policy on a predefined SageMaker metric; `cooldowns`: (scale in, scale out) seconds."""
    return aws.appautoscaling.Policy(
        name,
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(  # noqa: E501
            target_value=value,
            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(  # noqa: E501
                predefined_metric_type=metric),
            scale_in_cooldown=cooldowns[0],
            scale_out_cooldown=cooldowns[1],
        ),
        opts=opts,
    )


@dataclass(frozen=True)
class ZeroConfig:
    """What the endpoint configuration of a scale-to-zero endpoint holds besides its variant's scaling."""

    role_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    instance_type: str
    timeouts: dict[str, int | None]
    settings: ScaleToZero
    subnets: pulumi.Input[list[str]]
    security_groups: list[pulumi.Input[str]]
    capture_uri: pulumi.Input[str] | None = None
    sampling_percentage: int = 100
    #: False only where the model's spec turns isolation off (then `tags` says why).
    network_isolation: bool = True
    tags: dict[str, str] | None = None


def native_endpoint_config(parent: pulumi.Resource, name: str, cfg: ZeroConfig,
                           opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The endpoint configuration (aws-native EndpointConfig, `AWS::SageMaker::EndpointConfig`): a variant with no
    model, managed instance scaling from 0 and least-outstanding-requests routing; the execution role, the VPC and
    network isolation for the components it will host; the environment key. Returns its (generated) name."""
    capture = None
    if cfg.capture_uri is not None:
        capture = aws_native.sagemaker.EndpointConfigDataCaptureConfigArgs(
            enable_capture=True, initial_sampling_percentage=cfg.sampling_percentage,
            destination_s3_uri=cfg.capture_uri, kms_key_id=cfg.key_arn,
            capture_options=[aws_native.sagemaker.EndpointConfigCaptureOptionArgs(capture_mode=m)
                             for m in ("Input", "Output")])
    variant = aws_native.sagemaker.EndpointConfigProductionVariantArgs(
        variant_name=VARIANT, instance_type=cfg.instance_type, initial_instance_count=1,
        managed_instance_scaling=aws_native.sagemaker.EndpointConfigManagedInstanceScalingArgs(
            status="ENABLED", min_instance_count=0, max_instance_count=cfg.settings.max_instances),
        routing_config=aws_native.sagemaker.EndpointConfigRoutingConfigArgs(routing_strategy=ROUTING),
        **{k: v for k, v in cfg.timeouts.items() if v is not None})
    config = aws_native.sagemaker.EndpointConfig(
        f"{name}-config", production_variants=[variant], execution_role_arn=cfg.role_arn, kms_key_id=cfg.key_arn,
        vpc_config=aws_native.sagemaker.EndpointConfigVpcConfigArgs(subnets=cfg.subnets,
                                                                   security_group_ids=cfg.security_groups),
        enable_network_isolation=cfg.network_isolation, data_capture_config=capture,
        tags=[aws_native.TagArgs(key=k, value=v) for k, v in (cfg.tags or {}).items()] or None, opts=opts)
    return config.endpoint_config_name


def inference_component(parent: pulumi.Resource, name: str, *, endpoint: aws.sagemaker.Endpoint,
                        model: aws.sagemaker.Model, requirements: dict[str, float | int], settings: ScaleToZero,
                        startup: tuple[int | None, int | None]) -> aws_native.sagemaker.InferenceComponent:
    """The component, its scalable target (min 0), the target-tracking and the wake-up step policy, and the
    alarm that drives the latter. `requirements`: a copy's compute (`compute_requirements` for a whole instance);
    `startup`: (model download, container health check) timeouts in seconds."""
    child = pulumi.ResourceOptions(parent=parent)
    ic = aws_native.sagemaker.InferenceComponent(
        f"{name}-ic",
        endpoint_name=endpoint.name,
        variant_name=VARIANT,
        specification=aws_native.sagemaker.InferenceComponentSpecificationArgs(
            model_name=model.name,
            compute_resource_requirements=aws_native.sagemaker.InferenceComponentComputeResourceRequirementsArgs(
                **requirements),
            # The endpoint caches the model artifacts and the container image "in each instance that it provisions for
            # the inference component. That way, the inference component deploys faster during the auto scaling
            # process" (botocore sagemaker `InferenceComponentDataCacheConfig.EnableCaching`): without it every
            # copy downloads both again.
            data_cache_config=aws_native.sagemaker.InferenceComponentDataCacheConfigArgs(enable_caching=True),
            startup_parameters=aws_native.sagemaker.InferenceComponentStartupParametersArgs(
                model_data_download_timeout_in_seconds=startup[0],
                container_startup_health_check_timeout_in_seconds=startup[1]) if any(startup) else None,
        ),
        runtime_config=aws_native.sagemaker.InferenceComponentRuntimeConfigArgs(copy_count=1),
        # A new endpoint (its configuration is create-only, so any change replaces it under a new name) needs new
        # components: UpdateInferenceComponent takes no EndpointName or VariantName (botocore), and the
        # CloudFormation schema marks neither create-only, so the provider would try an in-place update.
        opts=pulumi.ResourceOptions(parent=parent, replace_on_changes=["endpointName", "variantName"]),
    )
    target = aws.appautoscaling.Target(
        f"{name}-copies",
        service_namespace="sagemaker",
        scalable_dimension=COPY_DIMENSION,
        resource_id=pulumi.Output.concat("inference-component/", ic.inference_component_name),
        min_capacity=0,
        max_capacity=settings.max_instances,
        opts=child,
    )
    target_tracking(f"{name}-invocations", target, "SageMakerInferenceComponentInvocationsPerCopy",
                    float(settings.target_invocations_per_copy), (300, 300), child)
    wake = aws.appautoscaling.Policy(
        f"{name}-wake",
        policy_type="StepScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
            adjustment_type="ChangeInCapacity",
            metric_aggregation_type="Maximum",
            cooldown=60,
            step_adjustments=[aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs(
                metric_interval_lower_bound="0", scaling_adjustment=1)],
        ),
        opts=child,
    )
    aws.cloudwatch.MetricAlarm(
        f"{name}-no-capacity",
        alarm_description=f"{name}: a request found no model copy; wake the inference component",
        namespace="AWS/SageMaker",
        metric_name=NO_CAPACITY_METRIC,
        dimensions={"InferenceComponentName": ic.inference_component_name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="missing",
        alarm_actions=[wake.arn],
        opts=child,
    )
    return ic
