"""Can every pod the stack creates get a node, starting from zero nodes? The judge behaves like the systems that decide:

- **cluster-autoscaler** scales a managed node group from zero only if the node it imagines from the group fits the
  pod: kubernetes/autoscaler `cluster-autoscaler/cloudprovider/aws/aws_manager.go` `buildNodeFromTemplate`
  (cluster-autoscaler-1.36.1): capacity from the instance type (cpu, memory, pods, `nvidia.com/gpu` from its GPU
  count), plus the ASG's `k8s.io/cluster-autoscaler/node-template/resources/<name>` tags; labels and taints from the
  managed node group (EKS DescribeNodegroup) and the `.../label/<k>` and `.../taint/<k>` tags; allocatable equals
  capacity. Nothing else: huge pages exist only if tagged.
- **Karpenter** launches for a pod only an instance type whose computed allocatable fits it: karpenter-provider-aws
  `pkg/providers/instancetype/types.go` (v1.14.1) computes cpu, memory less the VM overhead (7.5%), pods, the
  accelerators and `vpc.amazonaws.com/efa`, then subtracts kube-reserved and the eviction threshold; huge pages only
  through a NodeOverlay (alpha gate, off). kubernetes-sigs/karpenter `pkg/utils/resources` `Fits` refuses a request
  the allocatable lacks.
- **the scheduler** (NodeResourcesFit, TaintToleration, NodeAffinity) then places the pod on the node that joined:
  allocatable after nodeadm's kube-reserved (`components/catalog/system_pods.allocatable`), the device plugins'
  resources, nodeSelector, required node affinity, and every NoSchedule/NoExecute taint tolerated.

Pure functions over plain resources (`Res`): the pack's stack policy and tests feed them; `mlplat plan` prints what the
policy says. Facts (instance capacities) come from `components/catalog/instance_types.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.catalog.eks import EFA_HUGEPAGES_2MI
from components.catalog.instance_types import INSTANCE_TYPES
from components.catalog.system_pods import allocatable as nodeadm_allocatable

UNKNOWN = object()
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ASG_TAG = "aws:autoscaling/tag:Tag"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_OVERLAY = "kubernetes:karpenter.sh/v1alpha1:NodeOverlay"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HUGEPAGE = 2.0**21
TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template/"
#: EKS managed node group taint effects as the API spells them.
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
#: Karpenter's default VM memory overhead (settings.vmMemoryOverheadPercent, types.go).
VM_MEMORY_OVERHEAD = 0.075
#: Pods a node runs when the plan does not say (kubelet's default maxPods).
DEFAULT_MAX_PODS = 110


@dataclass(frozen=True)
class Res:
    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()


_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "n": 1e-9, "u": 1e-6,
           "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def quantity(value: Any) -> float:
    """A Kubernetes quantity (`5120Mi`, `500m`, `8`, 8.0) as a number of base units (bytes, cores, devices)."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*", str(value))
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"not a quantity: {value!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def show(name: str, amount: float) -> str:
    if name == "cpu":
        return f"{round(amount * 1000)}m"
    if name == "memory" or name.startswith(("hugepages-", "ephemeral-storage")):
        return f"{round(amount / 2**20)}Mi"
    return f"{amount:g}"


@dataclass
class NodeSource:
    """One way a node can appear: a managed node group (scaled by cluster-autoscaler) or a Karpenter NodePool."""

    name: str
    kind: str
    instance: str
    labels: dict[str, str]
    taints: list[dict[str, str]]
    #: What the provisioner believes a new node offers (it decides whether to launch one).
    promised: dict[str, float]
    #: What the node offers the scheduler once it joined.
    real: dict[str, float] = field(default_factory=dict)


def _known(value: Any) -> bool:
    return value is not UNKNOWN and value is not None


def _instance_resources(instance: str) -> dict[str, float] | None:
    facts = INSTANCE_TYPES.get(instance)
    if facts is None:
        return None
    out = {"cpu": float(facts.vcpus), "memory": facts.memory_gib * 2.0**30, "pods": float(DEFAULT_MAX_PODS)}
    if facts.gpu_resource:
        out[facts.gpu_resource] = float(facts.accelerators)
    return out


def _kubelet_allocatable(instance: str, extended: Mapping[str, float]) -> dict[str, float]:
    facts = INSTANCE_TYPES[instance]
    cpu_m, memory_mi = nodeadm_allocatable(facts.vcpus, facts.memory_gib, DEFAULT_MAX_PODS)
    return {"cpu": cpu_m / 1000, "memory": memory_mi * 2.0**20, "pods": float(DEFAULT_MAX_PODS), **extended}


def _efa_count(template_props: Mapping[str, Any]) -> int:
    interfaces = template_props.get("networkInterfaces")
    return sum(1 for ni in interfaces if isinstance(ni, Mapping) and ni.get("interfaceType") in ("efa", "efa-only")) \
        if isinstance(interfaces, list) else 0


def _hugepages(user_data: Any, *, efa_driver: bool) -> dict[str, float]:
    """2 MiB huge pages a node preallocates at boot, which is all the kubelet reports: the EFA driver's (an EFA node
    of an AMI that installs it: catalog/eks.py), or what its user data sets (`vm.nr_hugepages`)."""
    import base64
    import contextlib

    text = user_data if isinstance(user_data, str) else ""
    with contextlib.suppress(ValueError):  # not base64: Karpenter's userData is plain text
        text = base64.b64decode(text, validate=True).decode("utf-8", "replace")
    match = re.search(r'vm\.nr_hugepages"?\s*=\s*"?(\d+)', text)
    pages = int(match.group(1)) if match else (EFA_HUGEPAGES_2MI if efa_driver else 0)
    return {"hugepages-2Mi": pages * HUGEPAGE} if pages else {}


def _with_hugepages(allocatable: dict[str, float], pages: Mapping[str, float]) -> dict[str, float]:
    """The kubelet takes preallocated huge pages out of the node's allocatable memory."""
    out = {**allocatable, **pages}
    out["memory"] = allocatable["memory"] - sum(pages.values())
    return out


def node_group_sources(resources: list[Res]) -> list[NodeSource]:
    by_urn = {r.urn: r for r in resources}
    tags: dict[str, list[Mapping[str, Any]]] = {}
    for tag in (r for r in resources if r.type == ASG_TAG):
        for dep in tag.dependencies:
            if isinstance(tag.props.get("tag"), Mapping):
                tags.setdefault(dep, []).append(tag.props["tag"])
    sources = []
    for group in (r for r in resources if r.type == NODE_GROUP):
        template = next((by_urn[d] for d in group.dependencies if d in by_urn and by_urn[d].type == LAUNCH_TEMPLATE),
                        None)
        types = group.props.get("instanceTypes")
        instance = (types[0] if isinstance(types, list) and types else None) or (
            template.props.get("instanceType") if template else None)
        base = _instance_resources(instance) if isinstance(instance, str) else None
        if base is None:
            continue
        labels = {k: v for k, v in (group.props.get("labels") or {}).items() if isinstance(v, str)}
        labels.update({"node.kubernetes.io/instance-type": instance, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64"})
        taints = [{"key": t.get("key"), "value": t.get("value") or "", "effect": EFFECTS.get(t.get("effect"), "")}
                  for t in group.props.get("taints") or [] if isinstance(t, Mapping)]
        promised = dict(base)
        for tag in tags.get(group.urn, []):
            key, value = str(tag.get("key", "")), tag.get("value")
            if not key.startswith(TEMPLATE_TAG) or not isinstance(value, str):
                continue
            kind, _, name = key[len(TEMPLATE_TAG):].partition("/")
            if kind == "resources":
                promised[name] = quantity(value)
            elif kind == "label":
                labels[name] = value
            elif kind == "taint":
                taint_value, _, effect = value.rpartition(":")
                if not any(t["key"] == name for t in taints):
                    taints.append({"key": name, "value": taint_value, "effect": effect})
        extended = {k: v for k, v in base.items() if "/" in k}
        efa = _efa_count(template.props) if template else 0
        if efa:
            extended["vpc.amazonaws.com/efa"] = float(efa)
        pages = _hugepages(template.props.get("userData") if template else None,
                           efa_driver=bool(efa) and str(group.props.get("amiType", "")).startswith("AL2023"))
        real = _with_hugepages(_kubelet_allocatable(instance, extended), pages)
        real["ephemeral-storage"] = promised.get("ephemeral-storage", 0.0)
        sources.append(NodeSource(group.name, "cluster-autoscaler node group", instance, labels, taints, promised,
                                  real))
    return sources


def _requirement(pool_props: Mapping[str, Any], key: str) -> list[str]:
    spec = ((pool_props.get("spec") or {}).get("template") or {}).get("spec") or {}
    return next((list(r.get("values") or []) for r in spec.get("requirements") or []
                 if isinstance(r, Mapping) and r.get("key") == key and r.get("operator") == "In"), [])


def _overlay_enabled(resources: list[Res]) -> bool:
    """Whether the Karpenter controller runs with the NodeOverlay feature gate (its chart values)."""
    for release in (r for r in resources if r.type == HELM_RELEASE
                    and str(r.props.get("chart", "")).rsplit("/", 1)[-1] == "karpenter"):
        gates = ((release.props.get("values") or {}).get("settings") or {}).get("featureGates") or {}
        if gates.get("nodeOverlay") is True:
            return True
    return False


def _overlays(resources: list[Res], pool: str) -> dict[str, float]:
    """Capacity the NodeOverlays selecting `pool` (by karpenter.sh/nodepool) add."""
    added: dict[str, float] = {}
    for overlay in (r for r in resources if r.type == NODE_OVERLAY):
        spec = overlay.props.get("spec") or {}
        selects = any(isinstance(q, Mapping) and q.get("key") == "karpenter.sh/nodepool" and q.get("operator") == "In"
                      and pool in (q.get("values") or []) for q in spec.get("requirements") or [])
        if selects:
            added.update({k: quantity(v) for k, v in (spec.get("capacity") or {}).items()})
    return added


def karpenter_sources(resources: list[Res]) -> list[NodeSource]:
    classes = {r.props.get("metadata", {}).get("name"): r for r in resources if r.type == NODE_CLASS}
    overlay_gate = _overlay_enabled(resources)
    sources = []
    for pool in (r for r in resources if r.type == NODE_POOL):
        template = (pool.props.get("spec") or {}).get("template") or {}
        spec = template.get("spec") or {}
        node_class = classes.get((spec.get("nodeClassRef") or {}).get("name"))
        for instance in _requirement(pool.props, "node.kubernetes.io/instance-type"):
            base = _instance_resources(instance)
            if base is None:
                continue
            # types.go: memory less the VM overhead, then kube-reserved and eviction (Overhead()).
            memory = base["memory"] * (1 - VM_MEMORY_OVERHEAD)
            cpu_m, memory_mi = nodeadm_allocatable(INSTANCE_TYPES[instance].vcpus, 0, DEFAULT_MAX_PODS)
            allocatable = {**base, "cpu": cpu_m / 1000, "memory": memory + memory_mi * 2.0**20}
            efa = _efa_count(node_class.props.get("spec") or {}) if node_class else 0
            if efa:
                allocatable["vpc.amazonaws.com/efa"] = float(efa)
            labels = {k: v for k, v in (template.get("metadata") or {}).get("labels", {}).items()}
            labels.update({r["key"]: r["values"][0] for r in spec.get("requirements") or []
                           if isinstance(r, Mapping) and r.get("operator") == "In" and len(r.get("values") or []) == 1})
            labels["node.kubernetes.io/instance-type"] = instance
            taints = [dict(t) for t in spec.get("taints") or [] if isinstance(t, Mapping)]
            class_spec = (node_class.props.get("spec") or {}) if node_class else {}
            al2023 = any(isinstance(t, Mapping) and str(t.get("alias", "")).startswith("al2023")
                         for t in class_spec.get("amiSelectorTerms") or [])
            real = _with_hugepages(allocatable, _hugepages(class_spec.get("userData"), efa_driver=bool(efa) and al2023))
            pool_name = (pool.props.get("metadata") or {}).get("name", pool.name)
            promised = {**allocatable, **(_overlays(resources, pool_name) if overlay_gate else {})}
            sources.append(NodeSource(pool.name, "Karpenter NodePool", instance, labels, taints, promised, real))
    return sources
