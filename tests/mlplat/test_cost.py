"""Cost model arithmetic on a hand-built plan fragment."""

from __future__ import annotations

from mlplat.cost import estimate


def _r(typ: str, name: str, inputs: dict, deps: tuple[str, ...] = ()) -> dict:
    return {"urn": f"urn:{name}", "type": typ, "name": name, "custom": True, "dependencies": list(deps),
            "inputs": inputs}


FIXTURE = [
    _r("aws:eks/cluster:Cluster", "cluster", {}),
    _r("aws:ec2/natGateway:NatGateway", "nat", {}),
    _r("aws:ec2/vpcEndpoint:VpcEndpoint", "sts", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]}),
    _r("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"}),
    _r("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"instanceType": "p5.48xlarge"}),
    _r("aws:eks/nodeGroup:NodeGroup", "p5", {"scalingConfig": {"minSize": 1, "maxSize": 4}}, ("urn:lt",)),
    _r("aws:eks/nodeGroup:NodeGroup", "sys", {"instanceTypes": ["c5.2xlarge"], "scalingConfig": {"minSize": 2,
                                                                                                   "maxSize": 3}}),
    _r("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg",
       {"productionVariants": [{"instanceType": "ml.g5.2xlarge", "initialInstanceCount": 1}]}),
    _r("aws:sagemaker/endpoint:Endpoint", "ep", {}, ("urn:cfg",)),
    _r("aws:appautoscaling/target:Target", "scale", {"minCapacity": 1, "maxCapacity": 3}, ("urn:ep",)),
    _r("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "pt",
       {"modelUnits": 2, "commitmentDuration": "SixMonths", "tags": {"mlplat:base-model":
                                                                     "amazon.titan-image-generator-v2:0"}}),
    # A custom model's ARN names its base: Titan Text Lite, no commitment.
    _r("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "lite",
       {"modelUnits": 1, "modelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/"
                                     "amazon.titan-text-lite-v1:0:4k/abc123def456"}),
    # No published rate in the catalog: shown unpriced, never as free.
    _r("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "nova",
       {"modelUnits": 1, "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"}),
    # Waiting for its customization job: created by the first `up` after the job, priced now.
    {"urn": "urn:pets", "type": "mlplat:bedrock:ProvisionedThroughput", "name": "pets", "custom": False,
     "dependencies": [], "inputs": {}, "outputs": {"baseModel": "amazon.titan-image-generator-v2:0", "pending": {
         "customModel": "pets-r1", "modelUnits": 1, "commitment": "none"}}},
]


def test_idle_and_max_sums():
    cost = estimate(FIXTURE)
    items = {i["name"]: i for i in cost["items"]}
    assert items["p5"]["hourlyUsdIdle"] == 55.04 and items["p5"]["hourlyUsdMax"] == 220.16
    assert items["sys"]["hourlyUsdIdle"] == 0.68 and items["sys"]["hourlyUsdMax"] == 1.02
    assert items["sts"]["hourlyUsdIdle"] == 0.03
    assert "s3" not in items, "gateway endpoints are free"
    assert items["cfg"]["hourlyUsdIdle"] == 1.515 and items["cfg"]["hourlyUsdMax"] == 4.545
    # Provisioned Throughput per model unit-hour (Bedrock pricing): Titan Image G1 v2 $13.00 for six months,
    # $23.40 without commitment; Titan Text Lite $7.10 without commitment.
    assert items["pt"]["hourlyUsdIdle"] == items["pt"]["hourlyUsdMax"] == 26.0
    assert items["lite"]["hourlyUsdIdle"] == 7.1
    assert items["nova"]["hourlyUsdMax"] == 0 and items["nova"]["detail"].endswith("not priced")
    assert items["pets"]["hourlyUsdIdle"] == 23.4 and items["pets"]["detail"].startswith("pending: ")
    idle = 0.10 + 0.045 + 0.03 + 55.04 + 0.68 + 1.515 + 26.0 + 7.1 + 23.4
    high = 0.10 + 0.045 + 0.03 + 220.16 + 1.02 + 4.545 + 26.0 + 7.1 + 23.4
    assert cost["hourlyUsdIdle"] == round(idle, 2)
    assert cost["hourlyUsdMax"] == round(high, 2)
    assert cost["items"][0]["name"] == "p5", "largest first"
    assert all(i["source"].startswith("https://") for i in cost["items"])


def test_control_plane_priced_by_the_support_calendar():
    """$0.10/h in standard support, $0.60/h once the version is past it (EKS extended-support pricing)."""
    import datetime as dt

    def control_plane(version: str, day: dt.date) -> dict:
        cluster = [_r("aws:eks/cluster:Cluster", "cluster", {"version": version})]
        return estimate(cluster, today=day)["items"][0]

    assert control_plane("1.35", dt.date(2027, 3, 27))["hourlyUsdIdle"] == 0.10
    late = control_plane("1.35", dt.date(2027, 3, 28))
    assert late["hourlyUsdIdle"] == 0.60 and "extended support since 2027-03-27" in late["detail"]
    assert control_plane("1.33", dt.date(2026, 12, 4))["hourlyUsdMax"] == 0.60
    assert control_plane("1.36", dt.date(2026, 12, 4))["hourlyUsdMax"] == 0.10


def test_a_node_group_on_a_capacity_reservation_is_committed_spend():
    """Prod's p5 group targets a reservation (launch template capacityReservationTarget): 16 x p5.48xlarge at
    $55.04 is $880.64 an hour whether or not a node runs (hand-worked); the on-demand p4de group idles at $0."""
    from tests.helpers import plan_environment

    items = {i["name"]: i for i in plan_environment("prod").cost["items"]}
    assert items["mlplat-prod-gpu-p5"]["hourlyUsdIdle"] == items["mlplat-prod-gpu-p5"]["hourlyUsdMax"] == 880.64
    assert "capacity reservation cr-0123456789abcdef0" in items["mlplat-prod-gpu-p5"]["detail"]
    assert items["mlplat-prod-gpu-p4de"]["hourlyUsdIdle"] == 0
