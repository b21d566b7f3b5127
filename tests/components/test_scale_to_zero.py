"""Dev's BGE endpoint scales to zero: inference component, scalable target (min 0), target tracking, and the
no-capacity alarm driving the wake-up step policy, wired to each other; checked against botocore's shapes."""

from __future__ import annotations

import pytest

from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES
from components.jumpstart_endpoint.scale_to_zero import compute_requirements
from mlplat.cost import estimate
from policies.rules.base import SM_ENDPOINT_CONFIG
from policies.rules.cost import ENDPOINT_SCALE_TO_ZERO
from stacks.config import parse
from stacks.errors import ConfigError
from tests.botocore_shapes import validate
from tests.helpers import config, values
from tests.policies.helpers import check_resource

IC = "aws-native:sagemaker:InferenceComponent"


@pytest.fixture(scope="module")
def dev(envs):
    return envs["dev"]


def test_endpoint_config_has_managed_instance_scaling_no_model_and_the_vpc(dev):
    """No Model hosts an inference component: the endpoint configuration carries the VPC, network isolation and the
    execution role (aws-native EndpointConfig; pulumi-aws's EndpointConfiguration has no VpcConfig)."""
    config_ = dev.get("aws-native:sagemaker:EndpointConfig", "mlplat-dev-bge-embeddings-config")
    inputs = config_["inputs"]
    (variant,) = inputs["productionVariants"]
    assert "modelName" not in variant
    assert variant["managedInstanceScaling"] == {"status": "ENABLED", "minInstanceCount": 0, "maxInstanceCount": 1}
    assert variant["routingConfig"] == {"routingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    role = dev.get("aws:iam/role:Role", "mlplat-dev-bge-embeddings-role")
    model = dev.get("aws:sagemaker/model:Model", "mlplat-dev-bge-embeddings-model")["inputs"]
    assert inputs["executionRoleArn"] == role["outputs"]["arn"]
    assert inputs["enableNetworkIsolation"] is True
    assert inputs["vpcConfig"] == {"subnets": model["vpcConfig"]["subnets"],
                                   "securityGroupIds": model["vpcConfig"]["securityGroupIds"]}
    key = dev.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert inputs["kmsKeyId"] == key["outputs"]["arn"]
    endpoint = dev.get("aws:sagemaker/endpoint:Endpoint", "mlplat-dev-bge-embeddings-endpoint")
    assert endpoint["inputs"]["endpointConfigName"] == config_["outputs"]["endpointConfigName"]
    params = {"EndpointConfigName": "x", "ExecutionRoleArn": role["outputs"]["arn"], "KmsKeyId": key["outputs"]["arn"],
              "EnableNetworkIsolation": True,
              "VpcConfig": {"Subnets": inputs["vpcConfig"]["subnets"],
                            "SecurityGroupIds": inputs["vpcConfig"]["securityGroupIds"]},
              "ProductionVariants": [{
                  "VariantName": variant["variantName"], "InstanceType": variant["instanceType"],
                  "InitialInstanceCount": variant["initialInstanceCount"],
                  "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1},
                  "RoutingConfig": {"RoutingStrategy": variant["routingConfig"]["routingStrategy"]}}]}
    assert validate("sagemaker", "CreateEndpointConfig", params) == []


def test_the_pack_refuses_a_component_endpoint_outside_the_vpc():
    from policies.rules.base import SM_ENDPOINT_CONFIG_NATIVE
    from policies.rules.security import SAGEMAKER
    from tests.policies.helpers import check_resource

    bare = {"kmsKeyId": "k", "productionVariants": []}
    found = check_resource(SAGEMAKER, SM_ENDPOINT_CONFIG_NATIVE, bare)
    assert any("not network-isolated" in m for m in found) and any("outside the VPC" in m for m in found)
    complete = dict(bare, enableNetworkIsolation=True, vpcConfig={"subnets": ["s"], "securityGroupIds": ["g"]})
    assert check_resource(SAGEMAKER, SM_ENDPOINT_CONFIG_NATIVE, complete) == []


def test_inference_component_target_policies_and_alarm_are_wired(dev):
    (ic,) = dev.of_type(IC)
    endpoint = dev.get("aws:sagemaker/endpoint:Endpoint", "mlplat-dev-bge-embeddings-endpoint")
    model = dev.get("aws:sagemaker/model:Model", "mlplat-dev-bge-embeddings-model")
    spec = ic["inputs"]["specification"]
    assert ic["inputs"]["endpointName"] == endpoint["outputs"]["name"]
    assert spec["modelName"] == model["outputs"]["name"] and ic["inputs"]["runtimeConfig"] == {"copyCount": 1}
    assert spec["computeResourceRequirements"] == {"numberOfCpuCoresRequired": 3, "minMemoryRequiredInMb": 6144}
    name = ic["outputs"]["inferenceComponentName"]
    target = dev.get("aws:appautoscaling/target:Target", "mlplat-dev-bge-embeddings-copies")["inputs"]
    assert target == {"serviceNamespace": "sagemaker", "scalableDimension": "sagemaker:inference-component:"
                      "DesiredCopyCount", "resourceId": f"inference-component/{name}", "minCapacity": 0,
                      "maxCapacity": 1}
    assert validate("application-autoscaling", "RegisterScalableTarget", {
        "ServiceNamespace": "sagemaker", "ResourceId": target["resourceId"],
        "ScalableDimension": target["scalableDimension"], "MinCapacity": 0, "MaxCapacity": 1}) == []
    tracking = dev.get("aws:appautoscaling/policy:Policy", "mlplat-dev-bge-embeddings-invocations")["inputs"]
    metric = tracking["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]
    wake = dev.get("aws:appautoscaling/policy:Policy", "mlplat-dev-bge-embeddings-wake")
    step = wake["inputs"]["stepScalingPolicyConfiguration"]
    for policy, kind, body in ((tracking, "TargetTrackingScaling", {"TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 10.0, "PredefinedMetricSpecification": {
                "PredefinedMetricType": metric["predefinedMetricType"]}}}),
            (wake["inputs"], "StepScaling", {"StepScalingPolicyConfiguration": {
                "AdjustmentType": step["adjustmentType"], "MetricAggregationType": step["metricAggregationType"],
                "Cooldown": step["cooldown"], "StepAdjustments": [{
                    "MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]}})):
        assert policy["resourceId"] == target["resourceId"] and policy["policyType"] == kind
        assert validate("application-autoscaling", "PutScalingPolicy", {
            "PolicyName": "p", "ServiceNamespace": "sagemaker", "ResourceId": target["resourceId"],
            "ScalableDimension": target["scalableDimension"], "PolicyType": kind, **body}) == []
    assert metric["predefinedMetricType"] == "SageMakerInferenceComponentInvocationsPerCopy"
    assert step["stepAdjustments"] == [{"metricIntervalLowerBound": "0", "scalingAdjustment": 1}]
    alarm = dev.get("aws:cloudwatch/metricAlarm:MetricAlarm", "mlplat-dev-bge-embeddings-no-capacity")["inputs"]
    assert alarm["alarmActions"] == [wake["outputs"]["arn"]]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
        "AWS/SageMaker", "NoCapacityInvocationFailures", {"InferenceComponentName": name})
    assert (alarm["statistic"], alarm["threshold"], alarm["comparisonOperator"]) == (
        "Maximum", 1, "GreaterThanOrEqualToThreshold")  # one failed request wakes it
    assert validate("cloudwatch", "PutMetricAlarm", {
        "AlarmName": "a", "Namespace": alarm["namespace"], "MetricName": alarm["metricName"],
        "Dimensions": [{"Name": "InferenceComponentName", "Value": name}], "Statistic": alarm["statistic"],
        "Period": alarm["period"], "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": 1.0,
        "ComparisonOperator": alarm["comparisonOperator"], "AlarmActions": alarm["alarmActions"]}) == []


def test_copies_fit_their_instance():
    for instance in SAGEMAKER_INSTANCES.values():
        need = compute_requirements(instance)
        assert need["number_of_cpu_cores_required"] <= instance.vcpus
        assert need["min_memory_required_in_mb"] < instance.memory_gib * 1024
        assert need.get("number_of_accelerator_devices_required", 0) == instance.gpus


def test_cost_of_a_scale_to_zero_endpoint_and_dev_at_idle(dev):
    items = {i["name"]: i for i in estimate(dev.resources)["items"]}
    bge = items["mlplat-dev-bge-embeddings-config"]
    price = SAGEMAKER_INSTANCES["ml.c6i.xlarge"].hourly_usd
    assert (bge["hourlyUsdIdle"], bge["hourlyUsdMax"]) == (0, round(price, 4))
    assert "scales to zero" in bge["detail"]
    # At idle: pennies, besides the throughput this dev stack opts into once its fine-tuning job completes.
    pending = items["mlplat-dev-pets-serving"]
    assert pending["hourlyUsdIdle"] == 23.4 and pending["detail"].startswith("pending: ")
    assert estimate(dev.resources)["hourlyUsdIdle"] - pending["hourlyUsdIdle"] <= 0.40
    assert not [i for i in items.values() if i["detail"].startswith("interface endpoint")]
    assert "also carries AWS API traffic" in items["mlplat-dev-nat-us-east-1a"]["detail"]


def test_dev_rule_asks_endpoints_to_scale_to_zero_or_say_why():
    always_on = {"productionVariants": [{"variantName": "AllTraffic", "instanceType": "ml.c6i.xlarge",
                                         "initialInstanceCount": 1}]}
    on = {"requireEndpointScaleToZero": True}
    (violation,) = check_resource(ENDPOINT_SCALE_TO_ZERO, SM_ENDPOINT_CONFIG, always_on, on)
    assert "keeps 1 x ml.c6i.xlarge running when idle" in violation
    reasoned = {**always_on, "tags": {"mlplat:always-on-reason": "latency-critical demo for the board"}}
    assert check_resource(ENDPOINT_SCALE_TO_ZERO, SM_ENDPOINT_CONFIG, reasoned, on) == []
    assert check_resource(ENDPOINT_SCALE_TO_ZERO, SM_ENDPOINT_CONFIG, always_on, {}) == []


def _endpoint_problems(endpoint: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(config(endpoints=[{"name": "bge", "modelId": "huggingface-sentencesimilarity-bge-large-en",
                                        **endpoint}])))
    return info.value.problems


def test_scale_to_zero_config_errors():
    (line,) = _endpoint_problems({"scaleToZero": {"enabled": True}, "autoscaling": {"maxCapacity": 2}})
    assert line.startswith("ml-platform:endpoints[0].autoscaling: expected autoscaling or scaleToZero, not both")
    (line,) = _endpoint_problems({"scaleToZero": {"enabled": True, "alwaysOnReason": "because it is important"}})
    assert line.startswith("ml-platform:endpoints[0].scaleToZero.alwaysOnReason: expected no reason")


def test_without_interface_endpoints_endpoint_egress_goes_through_the_nat(dev, envs):
    def https_out(view, name: str) -> list[list[str]]:
        sg = view.get("aws:ec2/securityGroup:SecurityGroup", name)["inputs"]
        return [rule.get("cidrBlocks", []) for rule in sg["egress"]]

    assert not [r for r in dev.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r["inputs"]["vpcEndpointType"] ==
                "Interface"]
    assert ["0.0.0.0/0"] in https_out(dev, "mlplat-dev-bge-embeddings-sg")
    staging = envs["staging"]
    assert ["0.0.0.0/0"] not in https_out(staging, "mlplat-staging-bge-embeddings-sg")
