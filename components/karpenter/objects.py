"""The Kubernetes objects of a Karpenter GPU pool, as plain dicts (free of Pulumi: tests, cost and the policy pack
read the same shapes the component applies).

One EC2NodeClass and one NodePool per GPU group, both named after the group. Field names and enums are those of
the karpenter.k8s.aws/v1 and karpenter.sh/v1 CRDs of the pinned chart (aws/karpenter-provider-aws v1.14.1,
pkg/apis/crds; docs: concepts/nodeclasses.md, concepts/nodepools.md, tasks/odcrs.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.catalog.eks import EFA_HUGEPAGES_QUANTITY
from components.catalog.instance_types import InstanceType
from components.catalog.tags import DISCOVERY_TAG, RESERVATION_PLACEMENT_TAG
from components.catalog.versions import KARPENTER_AMI_ALIAS
from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.eks_gpu_cluster.node_config import node_labels, node_taints

NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_POOL_API = "karpenter.sh/v1"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ZONE_LABEL = "topology.kubernetes.io/zone"
#: EKS tags the cluster security group it creates with the cluster's name (EKS user guide, security group
#: requirements: `aws:eks:cluster-name`).
CLUSTER_SG_TAG = "aws:eks:cluster-name"
_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def efa_network_interfaces(facts: InstanceType) -> list[dict[str, Any]]:
    """EC2NodeClass `networkInterfaces` giving every EFA-capable card one EFA device.

    Karpenter's interface types are `interface` (ENA) and `efa-only` (the CRD's enum; at most one EFA device per
    card, CEL rule), so card 0 carries the ENA primary at device 0 and an `efa-only` interface at device 1, and
    cards 1..N-1 one `efa-only` interface at device 0: the EKS user guide's layout ("EFA and EFA-only interfaces",
    P6-B200 example). Node-group launch templates put an `efa` interface (EFA with ENA) on card 0 instead; both
    give N = the catalog's maximum EFA interfaces devices, which is what the EFA device plugin advertises.
    """
    if not facts.efa_supported:
        return []
    interfaces = [{"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"},
                  {"networkCardIndex": 0, "deviceIndex": 1, "interfaceType": "efa-only"}]
    interfaces += [{"networkCardIndex": card, "deviceIndex": 0, "interfaceType": "efa-only"}
                   for card in range(1, facts.max_efa_interfaces)]
    return interfaces


def capacity_types(group: GpuNodeGroupArgs) -> list[str]:
    """`karpenter.sh/capacity-type` values: reserved only, unless the config allows the on-demand fallback."""
    if not group.reserved:
        return ["on-demand"]
    return ["reserved", "on-demand"] if group.pool.on_demand_fallback else ["reserved"]


def node_class_spec(group: GpuNodeGroupArgs, *, cluster_name: str, node_role: str,
                    subnet_terms: list[dict[str, Any]], placement_group: Any = None,
                    tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """EC2NodeClass spec. `subnet_terms`: subnetSelectorTerms (tags the network component writes, or ids of an
    existing network's subnets); `placement_group`: the cluster placement group's name, if any."""
    facts = group.facts
    security_groups: list[dict[str, Any]] = [{"tags": {CLUSTER_SG_TAG: cluster_name}}]
    if group.efa_enabled:
        security_groups.append({"tags": {DISCOVERY_TAG: f"{cluster_name}-efa"}})
    spec: dict[str, Any] = {
        "role": node_role,
        # Pinned: an unpinned alias (`@latest`) would drift every node to each new AMI release.
        "amiSelectorTerms": [{"alias": KARPENTER_AMI_ALIAS}],
        "subnetSelectorTerms": subnet_terms,
        "securityGroupSelectorTerms": security_groups,
        # IMDSv2 only, one hop: pods on the pod network cannot reach the node role's credentials.
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                            "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
            "volumeSize": f"{group.volume_size_gib}Gi", "volumeType": "gp3", "iops": 3000, "throughput": 250,
            "encrypted": True, "deleteOnTermination": True}}],
        # Karpenter tags what it launches with these (and its own); provider default tags never reach them.
        "tags": {**(tags or {}), "Name": f"{cluster_name}-{group.name}"},
    }
    if facts.has_instance_store:
        # Karpenter's AL2023 user data then RAID0s the NVMe instance store under the kubelet and containerd,
        # as the node groups' nodeadm config does, and counts it as ephemeral storage.
        spec["instanceStorePolicy"] = "RAID0"
    if group.efa_enabled:
        spec["networkInterfaces"] = efa_network_interfaces(facts)
    if group.capacity_reservation_id:
        # Capacity blocks are modelled as capacity reservations: selected the same way (tasks/odcrs.md).
        spec["capacityReservationSelectorTerms"] = [{"id": group.capacity_reservation_id}]
    if placement_group is not None:
        spec["placementGroupSelector"] = {"name": placement_group}
        if group.reservation_placement_group:
            spec["tags"][RESERVATION_PLACEMENT_TAG] = group.reservation_placement_group
    return spec


NODE_OVERLAY_API = "karpenter.sh/v1alpha1"


def hugepages_overlay_spec(group: GpuNodeGroupArgs) -> dict[str, Any]:
    """A NodeOverlay adding the huge pages an EFA node preallocates at boot (catalog/eks.py) to the capacity Karpenter
    simulates for the pool's nodes: Karpenter's instance types have none (karpenter-provider-aws types.go), and
    `resources.Fits` refuses a request the capacity lacks. Alpha: the controller needs the NodeOverlay gate."""
    return {"requirements": [{"key": "karpenter.sh/nodepool", "operator": "In", "values": [group.name]}],
            "capacity": {"hugepages-2Mi": EFA_HUGEPAGES_QUANTITY}, "weight": 10}


def node_pool_spec(group: GpuNodeGroupArgs) -> dict[str, Any]:
    """NodePool spec: one instance type in the group's AZ, tainted and labelled as its node group would be."""
    facts, pool = group.facts, group.pool
    requirements = [
        {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": [group.instance_type]},
        {"key": ZONE_LABEL, "operator": "In", "values": [group.availability_zone]},
        {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": capacity_types(group)},
    ]
    # maxSize nodes' worth of each resource: what the cost view and the GPU budget policy read back.
    limits: dict[str, Any] = {"cpu": group.max_size * facts.vcpus, "memory": f"{group.max_size * facts.memory_gib}Gi"}
    if facts.gpu_resource:
        limits[facts.gpu_resource] = group.max_size * facts.accelerators
    return {
        "template": {
            "metadata": {"labels": node_labels(group)},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": group.name},
                "requirements": requirements,
                "taints": [{"key": t["key"], "value": t["value"], "effect": _EFFECT[t["effect"]]}
                           for t in node_taints(group)],
                "expireAfter": pool.expire_after,
            },
        },
        "disruption": {
            "consolidationPolicy": pool.consolidation,
            "consolidateAfter": pool.consolidate_after,
            # Training pools never replace a drifted node (an AMI, tag or volume change in `pulumi up`): new nodes
            # come with the new template, and a drifted node goes when it is empty (consolidation WhenEmpty).
            "budgets": [{"nodes": pool.disruption_budget},
                        *([{"nodes": "0", "reasons": ["Drifted"]}] if pool.workload == "training" else [])],
        },
        "limits": limits,
    }

