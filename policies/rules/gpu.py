"""GPU / EFA correctness: what silently costs bandwidth or leaves reserved capacity unused."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from components.catalog.instance_types import INSTANCE_TYPES
from components.catalog.pricing import (  # noqa: F401 (re-exported: the budget policies' reading)
    INSTANCE_TYPE_LABEL,
    GroupPrice,
    group_price,
    instance_type_of,
    pool_instance_type,
    pool_price,
    pool_requirement,
)
from components.catalog.tags import RESERVATION_PLACEMENT_TAG
from policies.rules.base import (
    DOCS,
    EKS_NODE_GROUP,
    HELM_RELEASE,
    LAUNCH_TEMPLATE,
    NODE_CLASS,
    NODE_POOL,
    PYTORCH_JOB,
    Rule,
    count_text,
    dependency,
    length,
    listify,
    number,
    of_type,
    peek,
)

EFA = "vpc.amazonaws.com/efa"
GPU = "nvidia.com/gpu"
ZONE_LABEL = "topology.kubernetes.io/zone"


def _efa_interfaces(lt_props) -> list[dict]:
    return [ni for ni in listify(lt_props.get("networkInterfaces")) if ni.get("interfaceType") in ("efa", "efa-only")]


def node_group_instance_type(group: PolicyResource) -> str | None:
    lt = dependency(group, LAUNCH_TEMPLATE)
    return instance_type_of(group.props, lt.props if lt is not None else None)


def _node_class_of(pool: PolicyResource, classes: list[PolicyResource]) -> PolicyResource | None:
    name = peek(pool.props, "spec", "template", "spec", "nodeClassRef", "name")
    return next((c for c in classes if peek(c.props, "metadata", "name") == name), None)


def _efa_complete(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LAUNCH_TEMPLATE:
        return
    interfaces = _efa_interfaces(args.props)
    facts = INSTANCE_TYPES.get(args.props.get("instanceType") or "")
    if not interfaces or facts is None:
        return
    cards = sorted(int(number(ni.get("networkCardIndex")) or 0) for ni in interfaces)
    if len(interfaces) != facts.max_efa_interfaces:
        report(f"{facts.name} supports {facts.max_efa_interfaces} EFA interfaces; the template has "
               f"{len(interfaces)}: {facts.max_efa_interfaces - len(interfaces)} cards' bandwidth unused")
    elif cards != list(range(facts.max_efa_interfaces)):
        report(f"EFA network card indexes must be 0..{facts.max_efa_interfaces - 1}; found {cards}")


EFA_COMPLETE = Rule(
    "efa-interfaces-complete",
    "An EFA launch template has one EFA interface per EFA-capable network card (catalog count), cards 0..N-1.",
    severity=Severity.HIGH,
    remediation="Derive interfaces from components/catalog/instance_types.py max_efa_interfaces.",
    url=f"{DOCS}/AWSEC2/latest/UserGuide/efa-acc-inst-types.html",
).resource(_efa_complete)


def _no_placement_with_reservation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == NODE_CLASS:
        placement = peek(args.props, "spec", "placementGroupSelector", "name")
        reserved = length(args.props, "spec", "capacityReservationSelectorTerms")
        declared = peek(args.props, "spec", "tags", RESERVATION_PLACEMENT_TAG)
        if placement and reserved and not (declared and declared == placement):
            report("EC2NodeClass selects capacity reservations and a placement group: reserved instances not "
                   "reserved into that placement group cannot launch; name the group the reservation was made in "
                   "with nodeGroups[].reservationPlacementGroup, or drop the placement group")
        return
    if args.resource_type != LAUNCH_TEMPLATE:
        return
    placement = peek(args.props, "placement", "groupName")
    reservation = peek(args.props, "capacityReservationSpecification", "capacityReservationTarget",
                       "capacityReservationId")
    declared = peek(args.props, "tags", RESERVATION_PLACEMENT_TAG)
    if placement and reservation and not (declared and declared == placement):
        report("launch template targets a capacity reservation and a placement group: reserved instances not "
               "reserved into that placement group cannot launch (eksctl #7949); name the group the reservation "
               "was made in with nodeGroups[].reservationPlacementGroup, or drop the placement group")


NO_PLACEMENT_WITH_RESERVATION = Rule(
    "no-placement-group-with-reservation",
    "Groups targeting an ODCR or capacity block have no placement group.",
    severity=Severity.HIGH,
    remediation="Drop the placement group for reserved node groups.",
    url=f"{DOCS}/AWSEC2/latest/UserGuide/cr-cpg.html",
).resource(_no_placement_with_reservation)


def _node_groups(args: StackValidationArgs, report: ReportViolation) -> None:
    for group in of_type(args.resources, EKS_NODE_GROUP):
        lt = dependency(group, LAUNCH_TEMPLATE)
        if lt is not None and _efa_interfaces(lt.props) and length(group.props, "subnetIds") != 1:
            report("EFA node group spans several subnets; EFA traffic needs one AZ / one subnet", group.urn)
        facts = INSTANCE_TYPES.get(node_group_instance_type(group) or "")
        if facts is not None and facts.accelerator == "nvidia":
            taints = listify(group.props.get("taints"))
            if not any(t.get("key") == GPU and t.get("effect") == "NO_SCHEDULE" for t in taints):
                report(f"GPU node group ({facts.name}) is not tainted {GPU}=true:NoSchedule", group.urn)


    classes = of_type(args.resources, NODE_CLASS)
    for pool in of_type(args.resources, NODE_POOL):
        facts = INSTANCE_TYPES.get(pool_instance_type(pool.props) or "")
        if facts is None or facts.accelerator == "none":
            continue
        taints = listify(peek(pool.props, "spec", "template", "spec", "taints"))
        if facts.accelerator == "nvidia" and not any(
                isinstance(t, Mapping) and t.get("key") == GPU and t.get("effect") == "NoSchedule" for t in taints):
            report(f"GPU NodePool ({facts.name}) does not taint its nodes {GPU}=true:NoSchedule", pool.urn)
        node_class = _node_class_of(pool, classes)
        interfaces = listify(peek(node_class.props, "spec", "networkInterfaces")) if node_class is not None else []
        efa = [ni for ni in interfaces if isinstance(ni, Mapping) and ni.get("interfaceType") == "efa-only"]
        if not efa:
            continue
        if len(efa) != facts.max_efa_interfaces:
            report(f"{facts.name} supports {facts.max_efa_interfaces} EFA interfaces; the pool's EC2NodeClass gives "
                   f"{len(efa)}: {facts.max_efa_interfaces - len(efa)} cards' bandwidth unused", pool.urn)
        if len(pool_requirement(pool.props, ZONE_LABEL)) != 1:
            report("EFA NodePool is not pinned to one availability zone (topology.kubernetes.io/zone In [one AZ]); "
                   "EFA traffic needs one AZ", pool.urn)


NODE_GROUPS = Rule(
    "gpu-node-groups-placed-and-tainted",
    "EFA node groups and Karpenter pools live in one AZ with every EFA interface; GPU nodes carry the GPU taint.",
    severity=Severity.HIGH,
    remediation="One private subnet per EFA group; taint nvidia.com/gpu=true:NoSchedule.",
    url=f"{DOCS}/eks/latest/userguide/node-efa.html",
).stack(_node_groups)


def _containers(job_props) -> list[tuple[str, dict, dict]]:
    """(replica type, pod spec, container) for every container of a PyTorchJob."""
    out = []
    specs = ((job_props.get("spec") or {}).get("pytorchReplicaSpecs") or {})
    for replica, spec in specs.items():
        pod = ((spec or {}).get("template") or {}).get("spec") or {}
        for c in listify(pod.get("containers")):
            out.append((replica, pod, c))
    return out


def _pytorchjob(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != PYTORCH_JOB:
        return
    for replica, pod, container in _containers(args.props):
        facts = INSTANCE_TYPES.get((pod.get("nodeSelector") or {}).get(INSTANCE_TYPE_LABEL) or "")
        res = container.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        for resource in (GPU, EFA):
            if count_text(requests.get(resource)) != count_text(limits.get(resource)):
                report(f"{replica}/{container.get('name')}: {resource} requests ({requests.get(resource)}) != "
                       f"limits ({limits.get(resource)})")
        if facts is None:
            continue
        if facts.accelerator == "nvidia" and count_text(limits.get(GPU)) != str(facts.accelerators):
            report(f"{replica}/{container.get('name')}: requests {limits.get(GPU)} GPUs; {facts.name} has "
                   f"{facts.accelerators}")
        if facts.efa_supported and count_text(limits.get(EFA)) != str(facts.max_efa_interfaces):
            report(f"{replica}/{container.get('name')}: requests {limits.get(EFA)} EFA devices; {facts.name} has "
                   f"{facts.max_efa_interfaces} (without them NCCL silently falls back to TCP)")


PYTORCHJOB_RESOURCES = Rule(
    "pytorchjob-requests-whole-node",
    "PyTorchJob workers request every GPU and EFA device of their node type, requests equal to limits.",
    severity=Severity.HIGH,
    remediation="Derive nvidia.com/gpu and vpc.amazonaws.com/efa from the instance catalog.",
    url=f"{DOCS}/eks/latest/userguide/node-efa.html",
).resource(_pytorchjob)


def _efa_plugin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != HELM_RELEASE or args.props.get("chart") != "aws-efa-k8s-device-plugin":
        return
    tolerations = listify((args.props.get("values") or {}).get("tolerations"))
    ok = any(t.get("key") == GPU and t.get("effect") in (None, "", "NoSchedule") for t in tolerations)
    if not ok:
        report("the EFA device plugin does not tolerate the GPU taint: it will not run on GPU nodes, which then "
               "advertise no vpc.amazonaws.com/efa")


EFA_PLUGIN = Rule(
    "efa-device-plugin-tolerates-gpu-taint",
    "The EFA device plugin DaemonSet tolerates nvidia.com/gpu (its chart has no default tolerations).",
    severity=Severity.HIGH,
    remediation="values.tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}].",
    url="https://github.com/aws/eks-charts/tree/master/stable/aws-efa-k8s-device-plugin",
).resource(_efa_plugin)

GPU_POLICIES = [EFA_COMPLETE, NO_PLACEMENT_WITH_RESERVATION, NODE_GROUPS, PYTORCHJOB_RESOURCES, EFA_PLUGIN]
