"""The pods the stack creates, the scheduler's fit, and the `pods-placeable-from-zero` policy.

Pod templates: PyTorchJob replicas, RayJob head and worker groups, Jobs, Deployments, StatefulSets and DaemonSets
(a DaemonSet only on the node sources it targets). A pod's requests are what the scheduler counts
(kubernetes `pkg/api/v1/resource` PodRequests): the sum over containers (a limit stands in for a missing request),
at least each init container's. The fit is NodeResourcesFit, TaintToleration and NodeAffinity (nodeSelector and
required terms) against each node source of `policies/rules/scheduling.py`, twice: the node the provisioner imagines
(does it launch one?) and the node that joins (does the pod then run?).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs
from pulumi_policy.proxy import _is_unknown

from policies.rules.base import Rule, _raw
from policies.rules.scheduling import UNKNOWN, NodeSource, Res, karpenter_sources, node_group_sources, quantity, show

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet")


@dataclass(frozen=True)
class Pod:
    where: str
    spec: Mapping[str, Any]
    daemonset: bool = False


def plain(value: Any) -> Any:
    """A policy value without `pulumi_policy`'s proxies; unknowns become `UNKNOWN`."""
    value = _raw(value)
    if _is_unknown(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def pods(resources: Iterable[Res]) -> list[Pod]:
    out = []
    for r in resources:
        if not r.type.startswith("kubernetes:"):
            continue
        kind, spec = r.type.rsplit(":", 1)[-1], r.props.get("spec")
        if not isinstance(spec, Mapping):
            continue
        if kind == "PyTorchJob":
            out += [Pod(f"{r.name} {replica}", s["template"]["spec"])
                    for replica, s in (spec.get("pytorchReplicaSpecs") or {}).items()]
        elif kind == "RayJob":
            cluster = spec.get("rayClusterSpec") or {}
            out.append(Pod(f"{r.name} head", cluster["headGroupSpec"]["template"]["spec"]))
            out += [Pod(f"{r.name} {g['groupName']}", g["template"]["spec"])
                    for g in cluster.get("workerGroupSpecs", [])]
        elif kind in WORKLOAD_KINDS:
            out.append(Pod(r.name, spec["template"]["spec"], daemonset=kind == "DaemonSet"))
    return [p for p in out if isinstance(p.spec, Mapping)]


def requests(spec: Mapping[str, Any]) -> dict[str, float] | None:
    """What the scheduler counts for the pod; None when a value is unknown during preview."""
    def of(container: Mapping[str, Any]) -> dict[str, float]:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        return {k: quantity(v) for k, v in merged.items()}

    try:
        total: dict[str, float] = {}
        for c in spec.get("containers") or []:
            for k, v in of(c).items():
                total[k] = total.get(k, 0.0) + v
        for c in spec.get("initContainers") or []:
            for k, v in of(c).items():
                total[k] = max(total.get(k, 0.0), v)
    except (ValueError, TypeError, AttributeError):
        return None
    return total


def _tolerated(taint: Mapping[str, str], tolerations: list[Mapping[str, Any]]) -> bool:
    if taint.get("effect") == "PreferNoSchedule":
        return True
    return any((t.get("key") in (None, "", taint["key"]) or (not t.get("key") and t.get("operator") == "Exists"))
               and t.get("effect") in (None, "", taint.get("effect"))
               and (t.get("operator") == "Exists" or t.get("value", "") == taint.get("value", "")) for t in tolerations)


def _term_matches(term: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for e in term.get("matchExpressions") or []:
        value, values, op = labels.get(e.get("key")), list(e.get("values") or []), e.get("operator")
        ok = {"In": value in values, "NotIn": value not in values, "Exists": value is not None,
              "DoesNotExist": value is None,
              "Gt": value is not None and value.isdigit() and values and int(value) > int(values[0]),
              "Lt": value is not None and value.isdigit() and values and int(value) < int(values[0])}.get(op, False)
        if not ok:
            return False
    return True


def refusal(pod: Pod, source: NodeSource, need: Mapping[str, float], *, launched: bool) -> str | None:
    """Why `source` cannot take `pod` (None: it can). `launched`: judge the joined node, else the imagined one."""
    spec = pod.spec
    wrong = {k: v for k, v in (spec.get("nodeSelector") or {}).items() if source.labels.get(k) != v}
    if wrong:
        return "labels " + ", ".join(f"{k}={v}" for k, v in wrong.items()) + " not on its nodes"
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if required and not any(_term_matches(t, source.labels) for t in required):
        return "no required node-affinity term matches its labels"
    untolerated = [t for t in source.taints if not _tolerated(t, spec.get("tolerations") or [])]
    if untolerated:
        return "taint " + ", ".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in untolerated) + \
            " not tolerated"
    offer = source.real if launched else source.promised
    short = [(k, v, offer.get(k, 0.0)) for k, v in sorted(need.items()) if v > offer.get(k, 0.0) + 1e-9]
    if short:
        what = "the node that joins offers" if launched else (
            "Karpenter's instance-type capacity offers" if source.kind.startswith("Karpenter")
            else "cluster-autoscaler's node template offers")
        return "; ".join(f"requests {k} {show(k, v)}, {what} {show(k, have) if have else 'none'}"
                         for k, v, have in short)
    return None


def judge(resources: list[Res]) -> list[tuple[Pod, list[str]]]:
    """Each pod no node source can take from zero, with why each source refuses (empty: every pod fits)."""
    sources = node_group_sources(resources) + karpenter_sources(resources)
    problems = []
    for pod in pods(resources):
        need = requests(pod.spec)
        if need is None or not sources:
            continue
        reasons, fits = [], False
        for source in sources:
            why = refusal(pod, source, need, launched=False) or refusal(pod, source, need, launched=True)
            if why is None:
                fits = True
                break
            reasons.append(f"{source.name} ({source.kind}, {source.instance}): {why}")
        if pod.daemonset:
            targeted = [s for s in sources if refusal(pod, s, {}, launched=True) is None]
            reasons = [f"{s.name} ({s.kind}, {s.instance}): {why}" for s in targeted
                       if (why := refusal(pod, s, need, launched=True))]
            fits = not reasons
        if not fits:
            problems.append((pod, reasons))
    return problems


#: Resources whose idle share is worth reporting (what a node is bought for).
ACCELERATORS = ("nvidia.com/gpu", "aws.amazon.com/neuron", "vpc.amazonaws.com/efa")


def utilization(resources: list[Res]) -> list[dict[str, Any]]:
    """Per pod and the first node source that takes it: how many fit on one node, and the accelerators a node then
    leaves unused (a job that leaves GPUs idle shows at plan time)."""
    sources = node_group_sources(resources) + karpenter_sources(resources)
    out = []
    for pod in pods(resources):
        need = requests(pod.spec)
        if need is None or pod.daemonset:
            continue
        source = next((s for s in sources if refusal(pod, s, need, launched=False) is None
                       and refusal(pod, s, need, launched=True) is None), None)
        if source is None:
            continue
        asked = {k: v for k, v in need.items() if v > 0 and source.real.get(k)}
        per_node = int(min((source.real[k] // v for k, v in asked.items()), default=0))
        idle = {k: source.real[k] - per_node * need.get(k, 0.0) for k in ACCELERATORS if source.real.get(k)}
        out.append({"pod": pod.where, "source": source.name, "instance": source.instance, "perNode": per_node,
                    "idle": {k: int(v) for k, v in idle.items() if v >= 1},
                    "of": {k: int(source.real[k]) for k in idle}})
    return out


def plan_resources(resources: Iterable[Mapping[str, Any]]) -> list[Res]:
    """A plan document's resources as the judge reads them (the engine's stack analysis sees outputs; the plan
    keeps the inputs, which a Kubernetes object's outputs echo)."""
    return [Res(r["urn"], r["type"], r["name"], r.get("inputs") or {}, tuple(r.get("dependencies") or []))
            for r in resources]


def _resources(args: StackValidationArgs) -> list[Res]:
    return [Res(r.urn, r.resource_type, r.name, plain(r.props) if isinstance(plain(r.props), Mapping) else {},
                tuple(d.urn for d in r.dependencies)) for r in args.resources
            if r.resource_type.startswith(("kubernetes:", "aws:eks/nodeGroup", "aws:autoscaling/tag",
                                           "aws:ec2/launchTemplate"))]


def _placeable(args: StackValidationArgs, report: ReportViolation) -> None:
    for pod, reasons in judge(_resources(args)):
        report(f"pod {pod.where} can never be placed starting from zero nodes: " + " | ".join(reasons))


PODS_PLACEABLE = Rule(
    "pods-placeable-from-zero",
    "Every pod the stack creates fits a node source as its provisioner imagines it from zero (cluster-autoscaler's "
    "node template, Karpenter's instance-type capacity) and as the node that joins offers it to the scheduler.",
    severity=Severity.HIGH,
    remediation="Offer what the pod requests (node-template tags, a NodeOverlay, the node's user data), or request "
                "only what the nodes have; labels, taints and affinity must match a node group or pool.",
    url="https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md",
).stack(_placeable)

PLACEMENT_POLICIES = [PODS_PLACEABLE]
