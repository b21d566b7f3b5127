"""The hourly cost model of a plan: at idle (minimum sizes) and at maximum size.

Reads only the recorded resources (like the policies), so it prices what will be created, not what
the config meant: node groups by their launch template's instance type and scaling bounds, SageMaker
variants by instance count and their autoscaling target, NAT gateways, interface endpoints per AZ,
the EKS control plane (standard or extended support, from the version calendar), KMS keys, Bedrock model
units and OpenSearch Serverless OCUs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from components.catalog import eks as eks_calendar
from components.catalog import instance_types, prices, sagemaker_instances
from components.catalog.bedrock_models import base_model_of
from components.catalog.eks import KUBERNETES_CALENDAR
from components.catalog.pricing import group_price, pool_price, pool_requirement
from policies.rules.base import count_text

#: pulumi-aws's endpoint configuration, and aws-native's for scale-to-zero endpoints (inference components).
ENDPOINT_CONFIGS = ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws-native:sagemaker:EndpointConfig")


def _deps(resources_by_urn: dict[str, dict], r: dict, typ: str) -> list[dict]:
    return [resources_by_urn[d] for d in r.get("dependencies", []) if d in resources_by_urn
            and resources_by_urn[d]["type"] == typ]


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) else default


@dataclass
class _Pricing:
    """What the pricers share: the plan's resources by URN, the day, and the items priced so far."""

    resources: list[dict[str, Any]]
    day: dt.date
    by_urn: dict[str, dict[str, Any]] = field(default_factory=dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, r: dict, idle: float, high: float, detail: str, source: str) -> None:
        self.items.append({"name": r["name"], "type": r["type"], "hourlyUsdIdle": round(idle, 4),
                           "hourlyUsdMax": round(high, 4), "detail": detail, "source": source})


def _eks_cluster(ctx: _Pricing, r: dict, inputs: dict) -> None:
    version = str(inputs.get("version") or "")
    window = KUBERNETES_CALENDAR.get(version)
    extended = window is not None and window.status(ctx.day) != "standard"
    p = prices.EKS_CONTROL_PLANE_EXTENDED if extended else prices.EKS_CONTROL_PLANE
    ctx.add(r, p.usd_per_hour, p.usd_per_hour, f"EKS control plane, Kubernetes {version or '?'}"
            + (f", extended support since {window.end_of_standard}" if extended and window else ""), p.source)


def _nat_gateway(ctx: _Pricing, r: dict, inputs: dict) -> None:
    p = prices.NAT_GATEWAY
    via_nat = not any(x["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint" and
                      (x.get("inputs") or {}).get("vpcEndpointType") == "Interface" for x in ctx.resources)
    ctx.add(r, p.usd_per_hour, p.usd_per_hour, "NAT gateway (data processing extra"
            + ("; also carries AWS API traffic: no interface endpoints)" if via_nat else ")"), p.source)


def _vpc_endpoint(ctx: _Pricing, r: dict, inputs: dict) -> None:
    if inputs.get("vpcEndpointType") != "Interface":
        return  # gateway endpoints (S3, DynamoDB) are free
    azs = len(inputs.get("subnetIds") or [])
    p = prices.INTERFACE_ENDPOINT_PER_AZ
    ctx.add(r, p.usd_per_hour * azs, p.usd_per_hour * azs, f"interface endpoint in {azs} AZs", p.source)


def _opensearch_collection(ctx: _Pricing, r: dict, inputs: dict) -> None:
    # Minimum OCUs while idle (OpenSearch Service guide, "Scaling"): 1 without standby replicas (0.5 indexing + 0.5
    # search), 2 with them. Collections sharing a KMS key share OCUs; each is priced alone.
    ocus = 1 if inputs.get("standbyReplicas") == "DISABLED" else 2
    p = prices.OPENSEARCH_SERVERLESS_OCU
    ctx.add(r, ocus * p.usd_per_hour, ocus * p.usd_per_hour,
            f"{ocus} OCU minimum ({'no ' if ocus == 1 else ''}standby replicas; more under load, estimate)", p.source)


def _lustre(ctx: _Pricing, r: dict, inputs: dict) -> None:
    capacity, tier = _num(inputs.get("storageCapacity")), int(_num(inputs.get("perUnitStorageThroughput"), 125))
    rate = prices.FSX_LUSTRE_PERSISTENT_2_GB_MONTH.get(tier, prices.FSX_LUSTRE_PERSISTENT_2_GB_MONTH[125])
    hourly = capacity * rate / prices.HOURS_PER_MONTH
    ctx.add(r, hourly, hourly, f"FSx for Lustre {int(capacity)} GiB at {tier} MB/s/TiB", prices.FSX_LUSTRE_SOURCE)


def _kms_key(ctx: _Pricing, r: dict, inputs: dict) -> None:
    ctx.add(r, prices.KMS_KEY.usd_per_hour, prices.KMS_KEY.usd_per_hour, "customer-managed KMS key",
            prices.KMS_KEY.source)


def _estimate_mark(facts: Any) -> str:
    return " (estimate)" if facts.price_is_estimate else ""


def _node_group(ctx: _Pricing, r: dict, inputs: dict) -> None:
    lts = _deps(ctx.by_urn, r, "aws:ec2/launchTemplate:LaunchTemplate")
    lt = lts[0]["inputs"] if lts else {}
    price = group_price(inputs, lt or None)  # the GPU budget policy's own reading
    if price is None:
        return
    facts = price.facts
    reservation = ((lt.get("capacityReservationSpecification") or {}).get("capacityReservationTarget")
                   or {}).get("capacityReservationId")
    block = inputs.get("capacityType") == "CAPACITY_BLOCK"
    if reservation or block:
        # Reserved capacity is billed whether instances run or not (EC2 On-Demand Capacity Reservations and Capacity
        # Blocks pricing): committed spend, assumed sized to the group's maximum.
        ctx.add(r, price.max_usd, price.max_usd,
                f"{'capacity block' if block else f'capacity reservation {reservation}'}: {int(price.max_size)} x "
                f"{facts.name} @ ${facts.hourly_usd:,.4f} billed whether used or not (committed; reservation assumed "
                f"sized to maxSize){_estimate_mark(facts)}", instance_types.PRICE_SOURCE)
        return
    ctx.add(r, price.idle_usd, price.max_usd, f"{int(price.min_size)}..{int(price.max_size)} x {facts.name} @ "
            f"${facts.hourly_usd:,.4f}{_estimate_mark(facts)}", instance_types.PRICE_SOURCE)


def _node_pool(ctx: _Pricing, r: dict, inputs: dict) -> None:
    price = pool_price(inputs)  # the GPU budget policy's own reading of the pool's limits
    if price is None:
        return
    facts = price.facts
    kinds = pool_requirement(inputs, "karpenter.sh/capacity-type")
    reserved = "; the reservation is billed whether used or not (committed; assumed sized to the pool's limit)" \
        if "reserved" in kinds else ""
    ctx.add(r, price.max_usd if reserved else 0.0, price.max_usd,
            f"Karpenter pool 0..{count_text(price.max_size)} x {facts.name} @ ${facts.hourly_usd:,.4f}, "
            f"{'/'.join(kinds) or 'any capacity'}{reserved}{_estimate_mark(facts)}", instance_types.PRICE_SOURCE)


def _shared_note(parent: dict, hourly: float) -> str:
    """A shared endpoint: what its models would cost on their own default instances."""
    members = parent.get("members")
    if not members:
        return ""
    dedicated = _num(parent.get("dedicatedHourlyUsd"))
    saving = dedicated - hourly
    return (f"; shared by {', '.join(members)}: one instance each of their default types would be "
            f"${dedicated:,.3f}/h, so sharing {'saves' if saving >= 0 else 'costs'} ${abs(saving):,.3f}/h per "
            "instance in use")


def _endpoint_config(ctx: _Pricing, r: dict, inputs: dict) -> None:
    target = ctx.targets.get(r["urn"])
    parent = (ctx.by_urn.get(r.get("parent") or "") or {}).get("outputs", {})
    for variant in inputs.get("productionVariants") or []:
        facts = sagemaker_instances.SAGEMAKER_INSTANCES.get(variant.get("instanceType") or "")
        if facts is None:
            continue
        count = _num(variant.get("initialInstanceCount"), 1)
        lo = _num(target.get("minCapacity"), count) if target else count
        hi = _num(target.get("maxCapacity"), count) if target else count
        managed = variant.get("managedInstanceScaling") or {}
        if managed.get("status") == "ENABLED":  # an inference-component endpoint: its instances scale
            lo, hi = _num(managed.get("minInstanceCount")), _num(managed.get("maxInstanceCount"), count)
        note = " (scales to zero)" if managed.get("status") == "ENABLED" and lo == 0 else ""
        spec = parent.get("specSource")
        # An AWS Marketplace model package adds the seller's software price per instance-hour, shown on its listing
        # (AWS Marketplace seller guide, "Machine learning product pricing"); the catalog does not have it.
        fee = "; plus the Marketplace listing's software fee per instance-hour (not included)" \
            if parent.get("marketplace") else ""
        ctx.add(r, lo * facts.hourly_usd, hi * facts.hourly_usd,
                f"{int(lo)}..{int(hi)} x {facts.name} @ ${facts.hourly_usd:,.3f}{note}"
                + (f"; model: {spec}" if spec else "") + _shared_note(parent, facts.hourly_usd) + fee,
                sagemaker_instances.PRICE_SOURCE)


def _throughput(ctx: _Pricing, r: dict, inputs: dict) -> None:
    commitment = inputs.get("commitmentDuration") or "none"
    base = (inputs.get("tags") or {}).get(prices.BASE_MODEL_TAG) or base_model_of(inputs.get("modelArn"))
    hourly, detail = prices.throughput_hourly(base, _num(inputs.get("modelUnits"), 1), commitment)
    ctx.add(r, hourly or 0.0, hourly or 0.0, detail + ("" if hourly is not None else ": not priced"),
            prices.PT_SOURCE)


def _pending_throughput(ctx: _Pricing, r: dict, inputs: dict) -> None:
    """A throughput waiting for its customization job: `pulumi up` creates it once the job completes."""
    pending = (r.get("outputs") or {}).get("pending")
    if not isinstance(pending, dict):
        return
    hourly, detail = prices.throughput_hourly(r["outputs"].get("baseModel"), _num(pending.get("modelUnits"), 1),
                                              pending.get("commitment") or "none")
    ctx.add(r, hourly or 0.0, hourly or 0.0, f"pending: {detail}; created by the first `pulumi up` after the "
            f"customization of {pending.get('customModel')} completes", prices.PT_SOURCE)


#: Resource type -> its pricer. Pay-per-request services (Lambda, API Gateway, DynamoDB on demand, S3) cost
#: nothing while idle and are not listed.
PRICERS: dict[str, Callable[[_Pricing, dict, dict], None]] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:opensearch/serverlessCollection:ServerlessCollection": _opensearch_collection,
    "aws:fsx/lustreFileSystem:LustreFileSystem": _lustre,
    "aws:kms/key:Key": _kms_key,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "kubernetes:karpenter.sh/v1:NodePool": _node_pool,
    **{t: _endpoint_config for t in ENDPOINT_CONFIGS},
    "aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput": _throughput,
    "mlplat:bedrock:ProvisionedThroughput": _pending_throughput,
}


def estimate(resources: list[dict[str, Any]], today: dt.date | None = None) -> dict[str, Any]:
    """`today`: the day whose support calendar prices the EKS control plane (default: today)."""
    ctx = _Pricing(resources, today or eks_calendar.today(), {r["urn"]: r for r in resources})
    for r in resources:
        if r["type"] == "aws:appautoscaling/target:Target":
            for endpoint in _deps(ctx.by_urn, r, "aws:sagemaker/endpoint:Endpoint"):
                for cfg in _deps(ctx.by_urn, endpoint, "aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
                    ctx.targets[cfg["urn"]] = r["inputs"]
    for r in resources:
        pricer = PRICERS.get(r["type"])
        if pricer is not None:
            pricer(ctx, r, r.get("inputs") or {})
    return {
        "hourlyUsdIdle": round(sum(i["hourlyUsdIdle"] for i in ctx.items), 2),
        "hourlyUsdMax": round(sum(i["hourlyUsdMax"] for i in ctx.items), 2),
        "items": sorted(ctx.items, key=lambda i: (-i["hourlyUsdMax"], i["name"])),
    }
