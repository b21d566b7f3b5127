"""`pods-placeable-from-zero`: the judge of what cluster-autoscaler, Karpenter and the scheduler do with a pod when no
node exists yet. Fixtures where each reason to refuse appears once, then the shipped environments."""

from __future__ import annotations

import base64

import pytest

from policies.rules.placement import Pod, judge, refusal, requests
from policies.rules.scheduling import Res, karpenter_sources, node_group_sources, quantity
from tests.helpers import plan_environment

TAG = "k8s.io/cluster-autoscaler/node-template/"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def _group(name: str = "g5", instance: str = "g5.12xlarge", tags: dict[str, str] | None = None,
           user_data: str = "") -> list[Res]:
    lt = Res(f"urn:lt:{name}", "aws:ec2/launchTemplate:LaunchTemplate", f"{name}-lt",
             {"instanceType": instance, "userData": base64.b64encode(user_data.encode()).decode(),
              "networkInterfaces": [{"interfaceType": "efa"}]})
    group = Res(f"urn:ng:{name}", "aws:eks/nodeGroup:NodeGroup", name,
                {"labels": {"mlplat.io/node-group": name}, "taints": [GPU_TAINT],
                 "scalingConfig": {"minSize": 0, "maxSize": 2}}, (lt.urn,))
    tag_resources = [Res(f"urn:tag:{name}:{k}", "aws:autoscaling/tag:Tag", k, {"tag": {"key": TAG + k, "value": v}},
                         (group.urn,)) for k, v in (tags or {}).items()]
    return [lt, group, *tag_resources]


def _pool(name: str = "p4de", instance: str = "p4de.24xlarge") -> list[Res]:
    node_class = Res(f"urn:nc:{name}", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", f"{name}-class",
                     {"metadata": {"name": name}, "spec": {"networkInterfaces": [
                         {"networkCardIndex": i, "deviceIndex": 0, "interfaceType": "efa-only"} for i in range(4)]}})
    pool = Res(f"urn:np:{name}", "kubernetes:karpenter.sh/v1:NodePool", name, {"spec": {"template": {
        "metadata": {"labels": {"mlplat.io/node-group": name}},
        "spec": {"nodeClassRef": {"name": name}, "taints": [{"key": "nvidia.com/gpu", "value": "true",
                                                              "effect": "NoSchedule"}],
                 "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                   "values": [instance]}]}}}})
    return [node_class, pool]


def _job(name: str, group: str, resources: dict, **spec) -> Res:
    pod = {"nodeSelector": {"mlplat.io/node-group": group}, "tolerations": TOLERATE_GPU,
           "containers": [{"name": "c", "resources": {"requests": resources, "limits": resources}}], **spec}
    return Res(f"urn:job:{name}", "kubernetes:kubeflow.org/v1:PyTorchJob", name,
               {"spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 2, "template": {"spec": pod}}}}})


GROUP_TAGS = {"resources/nvidia.com/gpu": "4", "resources/vpc.amazonaws.com/efa": "1",
              "label/mlplat.io/node-group": "g5", "taint/nvidia.com/gpu": "true:NoSchedule"}


def _reasons(resources: list[Res]) -> dict[str, list[str]]:
    return {pod.where: reasons for pod, reasons in judge(resources)}


def test_each_reason_to_refuse_appears_once():
    nodes = _group(tags=GROUP_TAGS) + _pool()
    gpu = {"nvidia.com/gpu": "4", "vpc.amazonaws.com/efa": "1"}
    jobs = [
        _job("fits", "g5", gpu),
        _job("wrong-label", "g6", gpu),
        _job("affinity", "g5", gpu, affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In",
                                                         "values": ["us-east-1z"]}]}]}}}),
        _job("untolerated", "g5", gpu, tolerations=[]),
        _job("template-lacks", "g5", {**gpu, "hugepages-2Mi": "5120Mi"}),
        # 48 cores is a g5.12xlarge's capacity (the template), not what the kubelet leaves after kube-reserved.
        _job("node-lacks", "g5", {**gpu, "cpu": "48"}),
        _job("pool-lacks", "p4de", {"nvidia.com/gpu": "8", "hugepages-2Mi": "5120Mi"}),
        _job("pool-fits", "p4de", {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4"}),
    ]
    found = _reasons(nodes + jobs)
    assert set(found) == {"wrong-label Worker", "affinity Worker", "untolerated Worker", "template-lacks Worker",
                          "node-lacks Worker", "pool-lacks Worker"}
    g5 = {w: next(r for r in rs if r.startswith("g5 ")) for w, rs in found.items()}
    assert "labels mlplat.io/node-group=g6 not on its nodes" in g5["wrong-label Worker"]
    assert "no required node-affinity term matches" in g5["affinity Worker"]
    assert "taint nvidia.com/gpu=true:NoSchedule not tolerated" in g5["untolerated Worker"]
    assert "requests hugepages-2Mi 5120Mi, cluster-autoscaler's node template offers none" in g5[
        "template-lacks Worker"]
    assert "requests cpu 48000m, the node that joins offers 47810m" in g5["node-lacks Worker"]
    p4de = next(r for r in found["pool-lacks Worker"] if r.startswith("p4de "))
    assert "requests hugepages-2Mi 5120Mi, Karpenter's instance-type capacity offers none" in p4de


def test_what_each_provisioner_imagines():
    (g5,) = node_group_sources(_group(tags=GROUP_TAGS, user_data="sysctl -w vm.nr_hugepages=2560\n"))
    assert g5.promised["nvidia.com/gpu"] == 4 and g5.promised["vpc.amazonaws.com/efa"] == 1
    assert "hugepages-2Mi" not in g5.promised, "cluster-autoscaler knows only what the ASG tags say"
    assert g5.real["hugepages-2Mi"] == quantity("5120Mi"), "the joined node reports what its boot preallocated"
    assert g5.taints == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    (pool,) = karpenter_sources(_pool())
    assert pool.promised["vpc.amazonaws.com/efa"] == 4 and pool.promised["nvidia.com/gpu"] == 8
    assert pool.promised["memory"] < 1152 * 2**30 * 0.925, "less the VM overhead and kube-reserved"


def test_a_daemonset_is_judged_only_on_the_nodes_it_targets():
    big = Res("urn:ds", "kubernetes:apps/v1:DaemonSet", "agent", {"spec": {"template": {"spec": {
        "tolerations": TOLERATE_GPU, "nodeSelector": {"mlplat.io/node-group": "g5"},
        "containers": [{"name": "a", "resources": {"requests": {"memory": "400Gi"}}}]}}}})
    elsewhere = Res("urn:ds2", "kubernetes:apps/v1:DaemonSet", "neuron", {"spec": {"template": {"spec": {
        "nodeSelector": {"mlplat.io/node-group": "trn1"}, "containers": [{"name": "a"}]}}}})
    found = _reasons(_group(tags=GROUP_TAGS) + [big, elsewhere])
    assert list(found) == ["agent"] and "requests memory 409600Mi" in found["agent"][0]


def test_requests_count_limits_for_missing_requests_and_the_largest_init_container():
    spec = {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 8}}}, {"resources": {"requests": {"cpu": "1"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "3"}}}]}
    assert requests(spec) == {"nvidia.com/gpu": 8.0, "cpu": 3.0}
    assert refusal(Pod("x", {}), node_group_sources(_group(tags=GROUP_TAGS))[0], {}, launched=True) is not None


@pytest.mark.parametrize("stack", ("dev", "staging", "prod"))
def test_every_pod_of_the_environments_is_placeable_from_zero(stack):
    found = [v for v in plan_environment(stack).plan["policy"]["violations"]
             if v["policy"] == "pods-placeable-from-zero"]
    assert found == []


def _overlay(pool: str = "p4de") -> Res:
    return Res("urn:ov", "kubernetes:karpenter.sh/v1alpha1:NodeOverlay", f"{pool}-hugepages", {"spec": {
        "requirements": [{"key": "karpenter.sh/nodepool", "operator": "In", "values": [pool]}],
        "capacity": {"hugepages-2Mi": "10256Mi"}}})


def _karpenter_release(node_overlay: bool) -> Res:
    return Res("urn:rel", "kubernetes:helm.sh/v3:Release", "karpenter", {
        "chart": "oci://public.ecr.aws/karpenter/karpenter",
        "values": {"settings": {"featureGates": {"nodeOverlay": node_overlay}}}})


def test_a_node_overlay_counts_only_with_its_feature_gate_and_the_node_must_really_have_the_pages():
    """Karpenter adds a NodeOverlay's capacity only when the controller runs with the NodeOverlay gate; the node that
    joins has huge pages only if its AMI's EFA driver (al2023 alias) or its user data preallocated them."""
    job = _job("efa", "p4de", {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4", "hugepages-2Mi": "5120Mi"})
    al2023 = _pool()
    al2023[0].props["spec"]["amiSelectorTerms"] = [{"alias": "al2023@v20260714"}]
    gate_off = _reasons([*al2023, _overlay(), _karpenter_release(False), job])
    assert "Karpenter's instance-type capacity offers none" in gate_off["efa Worker"][0]
    assert _reasons([*al2023, _overlay(), _karpenter_release(True), job]) == {}
    other_ami = _reasons([*_pool(), _overlay(), _karpenter_release(True), job])
    assert "requests hugepages-2Mi 5120Mi, the node that joins offers none" in other_ami["efa Worker"][0]


def test_an_efa_node_group_gets_the_driver_s_huge_pages_and_gives_up_that_memory():
    resources = _group(tags={**GROUP_TAGS, "resources/hugepages-2Mi": "10256Mi"})
    resources[1].props["amiType"] = "AL2023_x86_64_NVIDIA"
    (g5,) = node_group_sources(resources)
    assert g5.real["hugepages-2Mi"] == 5128 * 2**21 == g5.promised["hugepages-2Mi"]
    (plain,) = node_group_sources(_group(tags=GROUP_TAGS))
    assert plain.real["memory"] - g5.real["memory"] == 5128 * 2**21
    job = _job("efa", "g5", {"nvidia.com/gpu": "4", "vpc.amazonaws.com/efa": "1", "hugepages-2Mi": "5120Mi"})
    assert _reasons([*resources, job]) == {}


def test_the_plan_says_how_many_pods_fit_a_node_and_what_they_leave_idle():
    from policies.rules.placement import utilization

    nodes = _group(tags=GROUP_TAGS)
    half = _job("half", "g5", {"nvidia.com/gpu": "2"})
    three = _job("three", "g5", {"nvidia.com/gpu": "3", "vpc.amazonaws.com/efa": "1"})
    report = {u["pod"]: u for u in utilization([*nodes, half, three])}
    assert report["half Worker"]["perNode"] == 2 and report["half Worker"]["idle"] == {"vpc.amazonaws.com/efa": 1}
    assert report["three Worker"]["perNode"] == 1 and report["three Worker"]["idle"] == {"nvidia.com/gpu": 1}
    assert report["three Worker"]["of"] == {"nvidia.com/gpu": 4, "vpc.amazonaws.com/efa": 1}
