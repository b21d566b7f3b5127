"""The hourly cost model of a plan: at idle (minimum sizes) and at maximum size.

Reads only the recorded resources (like the policies), so it prices what will be created, not what
the config meant: node groups by their launch template's instance type and scaling bounds, SageMaker
variants by instance count and their autoscaling target, NAT gateways, interface endpoints per AZ,
the EKS control plane (standard or extended support, from the version calendar), KMS keys, Bedrock model
units and OpenSearch Serverless OCUs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from components.catalog import instance_types, prices, sagemaker_instances
from components.catalog.eks import KUBERNETES_CALENDAR
from policies.rules.base import count_text
from policies.rules.gpu import group_price, pool_price, pool_requirement

#: pulumi-aws's endpoint configuration, and aws-native's for scale-to-zero endpoints (inference components).
ENDPOINT_CONFIGS = ("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws-native:sagemaker:EndpointConfig")


def _deps(resources_by_urn: dict[str, dict], r: dict, typ: str) -> list[dict]:
    return [resources_by_urn[d] for d in r.get("dependencies", []) if d in resources_by_urn
            and resources_by_urn[d]["type"] == typ]


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) else default


def estimate(resources: list[dict[str, Any]], today: dt.date | None = None) -> dict[str, Any]:
    """`today`: the day whose support calendar prices the EKS control plane (default: today)."""
    day = today or dt.date.today()
    by_urn = {r["urn"]: r for r in resources}
    items: list[dict[str, Any]] = []

    def add(r: dict, idle: float, high: float, detail: str, source: str) -> None:
        items.append({"name": r["name"], "type": r["type"], "hourlyUsdIdle": round(idle, 4),
                      "hourlyUsdMax": round(high, 4), "detail": detail, "source": source})

    targets: dict[str, dict] = {}
    for r in resources:
        if r["type"] == "aws:appautoscaling/target:Target":
            for endpoint in _deps(by_urn, r, "aws:sagemaker/endpoint:Endpoint"):
                for cfg in _deps(by_urn, endpoint, "aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
                    targets[cfg["urn"]] = r["inputs"]
    for r in resources:
        typ, inputs = r["type"], r.get("inputs") or {}
        if typ == "aws:eks/cluster:Cluster":
            version = str(inputs.get("version") or "")
            window = KUBERNETES_CALENDAR.get(version)
            extended = window is not None and window.status(day) != "standard"
            p = prices.EKS_CONTROL_PLANE_EXTENDED if extended else prices.EKS_CONTROL_PLANE
            add(r, p.usd_per_hour, p.usd_per_hour, f"EKS control plane, Kubernetes {version or '?'}"
                + (f", extended support since {window.end_of_standard}" if extended and window else ""), p.source)
        elif typ == "aws:ec2/natGateway:NatGateway":
            p = prices.NAT_GATEWAY
            via_nat = not any(x["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint" and
                              (x.get("inputs") or {}).get("vpcEndpointType") == "Interface" for x in resources)
            add(r, p.usd_per_hour, p.usd_per_hour, "NAT gateway (data processing extra"
                + ("; also carries AWS API traffic: no interface endpoints)" if via_nat else ")"), p.source)
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
            azs = len(inputs.get("subnetIds") or [])
            p = prices.INTERFACE_ENDPOINT_PER_AZ
            add(r, p.usd_per_hour * azs, p.usd_per_hour * azs, f"interface endpoint in {azs} AZs", p.source)
        elif typ == "aws:opensearch/serverlessCollection:ServerlessCollection":
            # Minimum OCUs while idle (OpenSearch Service guide, "Scaling"): 1 without standby replicas (0.5
            # indexing + 0.5 search), 2 with them. Collections sharing a KMS key share OCUs; each is priced alone.
            ocus = 1 if inputs.get("standbyReplicas") == "DISABLED" else 2
            p = prices.OPENSEARCH_SERVERLESS_OCU
            add(r, ocus * p.usd_per_hour, ocus * p.usd_per_hour,
                f"{ocus} OCU minimum ({'no ' if ocus == 1 else ''}standby replicas; more under load, estimate)",
                p.source)
        elif typ == "aws:fsx/lustreFileSystem:LustreFileSystem":
            capacity, tier = _num(inputs.get("storageCapacity")), int(_num(inputs.get("perUnitStorageThroughput"), 125))
            rate = prices.FSX_LUSTRE_PERSISTENT_2_GB_MONTH.get(tier, prices.FSX_LUSTRE_PERSISTENT_2_GB_MONTH[125])
            hourly = capacity * rate / prices.HOURS_PER_MONTH
            add(r, hourly, hourly, f"FSx for Lustre {int(capacity)} GiB at {tier} MB/s/TiB", prices.FSX_LUSTRE_SOURCE)
        elif typ == "aws:kms/key:Key":
            p = prices.KMS_KEY
            add(r, p.usd_per_hour, p.usd_per_hour, "customer-managed KMS key", p.source)
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            lts = _deps(by_urn, r, "aws:ec2/launchTemplate:LaunchTemplate")
            price = group_price(inputs, lts[0]["inputs"] if lts else None)  # the GPU budget policy's own reading
            if price is None:
                continue
            facts = price.facts
            lt = lts[0]["inputs"] if lts else {}
            reservation = ((lt.get("capacityReservationSpecification") or {}).get("capacityReservationTarget")
                           or {}).get("capacityReservationId")
            block = inputs.get("capacityType") == "CAPACITY_BLOCK"
            if reservation or block:
                # Reserved capacity is billed whether instances run or not (EC2 On-Demand Capacity Reservations and
                # Capacity Blocks pricing): committed spend, assumed sized to the group's maximum.
                add(r, price.max_usd, price.max_usd,
                    f"{'capacity block' if block else f'capacity reservation {reservation}'}: "
                    f"{int(price.max_size)} x {facts.name} @ ${facts.hourly_usd:,.4f} billed whether used or not "
                    "(committed; reservation assumed sized to maxSize)"
                    + (" (estimate)" if facts.price_is_estimate else ""), instance_types.PRICE_SOURCE)
                continue
            add(r, price.idle_usd, price.max_usd,
                f"{int(price.min_size)}..{int(price.max_size)} x {facts.name} @ ${facts.hourly_usd:,.4f}"
                + (" (estimate)" if facts.price_is_estimate else ""), instance_types.PRICE_SOURCE)
        elif typ == "kubernetes:karpenter.sh/v1:NodePool":
            price = pool_price(inputs)  # the GPU budget policy's own reading of the pool's limits
            if price is None:
                continue
            facts = price.facts
            kinds = pool_requirement(inputs, "karpenter.sh/capacity-type")
            reserved = "; the reservation is billed whether used or not (committed; assumed sized to the pool's " \
                "limit)" if "reserved" in kinds else ""
            add(r, price.max_usd if reserved else 0.0, price.max_usd,
                f"Karpenter pool 0..{count_text(price.max_size)} x {facts.name} @ ${facts.hourly_usd:,.4f}, "
                f"{'/'.join(kinds) or 'any capacity'}{reserved}"
                + (" (estimate)" if facts.price_is_estimate else ""), instance_types.PRICE_SOURCE)
        elif typ in ENDPOINT_CONFIGS:
            target = targets.get(r["urn"])
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
                parent = (by_urn.get(r.get("parent") or "") or {}).get("outputs", {})
                spec, members = parent.get("specSource"), parent.get("members")
                shared = ""
                if members:  # a shared endpoint: what its models would cost on their own default instances
                    dedicated = _num(parent.get("dedicatedHourlyUsd"))
                    saving = dedicated - facts.hourly_usd
                    shared = (f"; shared by {', '.join(members)}: one instance each of their default types would "
                              f"be ${dedicated:,.3f}/h, so sharing {'saves' if saving >= 0 else 'costs'} "
                              f"${abs(saving):,.3f}/h per instance in use")
                add(r, lo * facts.hourly_usd, hi * facts.hourly_usd,
                    f"{int(lo)}..{int(hi)} x {facts.name} @ ${facts.hourly_usd:,.3f}{note}"
                    + (f"; model: {spec}" if spec else "") + shared, sagemaker_instances.PRICE_SOURCE)
        elif typ == "aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput":
            commitment = inputs.get("commitmentDuration") or "none"
            p = prices.BEDROCK_PT_TITAN_IMAGE.get(commitment, prices.BEDROCK_PT_TITAN_IMAGE["none"])
            units = _num(inputs.get("modelUnits"), 1)
            add(r, units * p.usd_per_hour, units * p.usd_per_hour,
                f"{int(units)} model unit(s), commitment {commitment} (estimate)", p.source)
    return {
        "hourlyUsdIdle": round(sum(i["hourlyUsdIdle"] for i in items), 2),
        "hourlyUsdMax": round(sum(i["hourlyUsdMax"] for i in items), 2),
        "items": sorted(items, key=lambda i: (-i["hourlyUsdMax"], i["name"])),
    }
