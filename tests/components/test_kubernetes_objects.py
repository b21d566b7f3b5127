"""Every Kubernetes object of the envs plans, judged by upstream schemas; every pod fits a node group."""

from __future__ import annotations

import pytest

from components.catalog.instance_types import lookup
from tests.kubernetes_schemas import validate_builtin, validate_karpenter, validate_pytorchjob, validate_rayjob

STACKS = ("dev", "staging", "prod")
PYTORCH_JOB = "kubernetes:kubeflow.org/v1:PyTorchJob"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
KARPENTER_KINDS = ("NodePool", "EC2NodeClass", "NodeOverlay")


def _kubernetes_version(view) -> str:
    (cluster,) = view.of_type("aws:eks/cluster:Cluster")
    return cluster["inputs"]["version"]


def _objects(view) -> list[tuple[str, dict]]:
    """(urn, the object as the provider sends it) for every custom Kubernetes resource but Helm releases."""
    out = []
    for r in view.resources:
        if not r["custom"] or not r["type"].startswith("kubernetes:") or r["type"].startswith(
                ("kubernetes:helm.sh", "pulumi:providers")):
            continue
        obj = {k: v for k, v in r["inputs"].items() if not k.startswith("__")}
        out.append((r["urn"], _known(obj)))
    return out


def _known(value):
    """Drop values the plan cannot show (secrets, values known only after deployment): judged at apply time."""
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items() if v not in ("[secret]", "[unknown]")}
    if isinstance(value, list):
        return [_known(v) for v in value if v not in ("[secret]", "[unknown]")]
    return value


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_object_passes_the_upstream_schema(envs, stack):
    view = envs[stack]
    version = _kubernetes_version(view)
    objects = _objects(view)
    assert {o["kind"] for _, o in objects} >= {"Namespace", "Deployment", "Service", "ConfigMap"}
    karpenter = [(urn, o) for urn, o in objects if o["kind"] in KARPENTER_KINDS]
    for (urn, _), problems in zip(karpenter, validate_karpenter([o for _, o in karpenter]), strict=True):
        assert problems == [], f"{urn}: {problems}"
    for urn, obj in objects:
        if obj["kind"] in KARPENTER_KINDS:
            continue
        judge = {"PyTorchJob": validate_pytorchjob, "RayJob": validate_rayjob}.get(obj["kind"], validate_builtin)
        problems = judge(obj, version)
        assert problems == [], f"{urn}: {problems}"


def test_the_judges_refuse_unknown_and_mistyped_fields(envs):
    """Unknown fields are errors: a structural CRD would prune them and the job would silently lose them."""
    view = envs["dev"]
    version = _kubernetes_version(view)
    job = next(o for _, o in _objects(view) if o["kind"] == "PyTorchJob")
    bad = {**job, "spec": {**job["spec"], "elasticPolicy": {**job["spec"]["elasticPolicy"], "rdzvTimeout": 900}}}
    (problem,) = validate_pytorchjob(bad, version)
    assert "elasticPolicy.rdzvTimeout: unknown field" in problem
    worker = job["spec"]["pytorchReplicaSpecs"]["Worker"]
    pod = {**worker["template"], "spec": {**worker["template"]["spec"], "nodeSelectors": {}}}
    bad_pod = {**job, "spec": {**job["spec"], "pytorchReplicaSpecs": {"Worker": {**worker, "template": pod}}}}
    assert any("nodeSelectors" in p for p in validate_pytorchjob(bad_pod, version))
    deployment = next(o for _, o in _objects(view) if o["kind"] == "Deployment")
    assert validate_builtin({**deployment, "spec": {**deployment["spec"], "replica": 1}}, version)


def _node_groups(view) -> list[dict]:
    """What the scheduler sees of each group: labels (kubelet's instance-type label too), taints, capacity."""
    tags_by_group: dict[str, dict[str, str]] = {}
    for tag in view.of_type("aws:autoscaling/tag:Tag"):
        group = tag["name"].rsplit("-ca-", 1)[0]
        tags_by_group.setdefault(group, {})[tag["inputs"]["tag"]["key"]] = tag["inputs"]["tag"]["value"]
    groups = []
    for ng in view.of_type("aws:eks/nodeGroup:NodeGroup"):
        lt = next(view.by_urn(d) for d in ng["dependencies"]
                  if view.by_urn(d)["type"] == "aws:ec2/launchTemplate:LaunchTemplate")
        instance = (ng["inputs"].get("instanceTypes") or [lt["inputs"].get("instanceType")])[0]
        tags = tags_by_group.get(ng["name"], {})
        capacity = {k.removeprefix(f"{TEMPLATE}/resources/"): v for k, v in tags.items()
                    if k.startswith(f"{TEMPLATE}/resources/")}
        groups.append({"name": ng["name"], "labels": {**ng["inputs"].get("labels", {}),
                                                      "node.kubernetes.io/instance-type": instance},
                       "taints": ng["inputs"].get("taints", []), "capacity": capacity, "instance": instance})
    return groups + _karpenter_pools(view)


def _karpenter_pools(view) -> list[dict]:
    """What Karpenter's nodes of each pool look like: the template's labels, the requirements' single values
    (Karpenter labels nodes with them), the taints, and the capacity Karpenter computes: the type's GPUs and one
    EFA device per `efa-only` interface of the EC2NodeClass (pkg/providers/instancetype/types.go, efas())."""
    classes = {c["inputs"]["metadata"]["name"]: c["inputs"]["spec"]
               for c in view.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")}
    pools = []
    for pool in view.of_type("kubernetes:karpenter.sh/v1:NodePool"):
        template = pool["inputs"]["spec"]["template"]
        single = {r["key"]: r["values"][0] for r in template["spec"]["requirements"]
                  if r["operator"] == "In" and len(r["values"]) == 1}
        instance = single["node.kubernetes.io/instance-type"]
        facts = lookup(instance)
        node_class = classes[template["spec"]["nodeClassRef"]["name"]]
        efa = sum(ni["interfaceType"] == "efa-only" for ni in node_class.get("networkInterfaces", []))
        capacity = {facts.gpu_resource: str(facts.accelerators)} if facts.gpu_resource else {}
        if efa:
            capacity["vpc.amazonaws.com/efa"] = str(efa)
        taints = [{**t, "effect": {v: k for k, v in _EFFECT.items()}[t["effect"]]} for t in template["spec"]["taints"]]
        pools.append({"name": pool["name"], "labels": {**template["metadata"]["labels"], **single},
                      "taints": taints, "capacity": capacity, "instance": instance})
    return pools


_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def _tolerated(taint: dict, tolerations: list[dict]) -> bool:
    effect = _EFFECT[taint["effect"]]
    return any(t.get("key") in (None, taint["key"]) and t.get("effect") in (None, effect)
               and (t.get("operator") == "Exists" or t.get("value") == taint.get("value")) for t in tolerations)


def _pods(view) -> list[tuple[str, dict]]:
    pods = []
    for urn, obj in _objects(view):
        if obj["kind"] == "PyTorchJob":
            pods += [(f"{urn} {replica}", spec["template"]["spec"])
                     for replica, spec in obj["spec"]["pytorchReplicaSpecs"].items()]
        elif obj["kind"] == "RayJob":
            cluster = obj["spec"]["rayClusterSpec"]
            pods.append((f"{urn} head", cluster["headGroupSpec"]["template"]["spec"]))
            pods += [(f"{urn} {g['groupName']}", g["template"]["spec"]) for g in cluster["workerGroupSpecs"]]
        elif obj["kind"] in ("Deployment", "DaemonSet", "Job"):
            pods.append((urn, obj["spec"]["template"]["spec"]))
    return pods


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_fits_a_node_group(envs, stack):
    view = envs[stack]
    groups = _node_groups(view)
    pods = _pods(view)
    assert pods
    for where, pod in pods:
        selector, tolerations = pod.get("nodeSelector", {}), pod.get("tolerations", [])
        fits = [g for g in groups if all(g["labels"].get(k) == v for k, v in selector.items())
                and all(_tolerated(t, tolerations) for t in g["taints"])]
        assert fits, f"{where}: no node group has labels {selector} and only taints it tolerates"
        for container in pod["containers"]:
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            extended = {k for k in (*requests, *limits) if "/" in k}
            for name in extended:
                assert str(requests.get(name)) == str(limits.get(name)), f"{where}: {name} requests != limits"
                for g in fits:
                    facts = lookup(g["instance"])
                    available = g["capacity"].get(name)
                    assert available is not None, f"{where}: {g['name']} ({facts.name}) advertises no {name}"
                    assert int(requests[name]) <= int(available), f"{where}: {name} {requests[name]} > {available}"
