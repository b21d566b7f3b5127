"""GPU/EFA rules against hand-built resources, with the catalog as the source of truth."""

from __future__ import annotations

from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.eks_gpu_cluster.node_config import efa_interfaces
from policies.rules import base as t
from policies.rules.gpu import (
    EFA_COMPLETE,
    EFA_PLUGIN,
    NO_PLACEMENT_WITH_RESERVATION,
    NODE_GROUPS,
    PYTORCHJOB_RESOURCES,
)
from tests.policies.helpers import UNDECIDED, UNKNOWN, check_resource, check_stack, res


def _interfaces(instance: str) -> list[dict]:
    facts = GpuNodeGroupArgs(name="g", instance_type=instance, availability_zone="us-east-1a", max_size=1).facts
    return [{"networkCardIndex": i["network_card_index"], "interfaceType": i["interface_type"]}
            for i in efa_interfaces(facts, ["sg"])]


def test_efa_complete_for_the_components_own_interfaces():
    for instance in ("p5.48xlarge", "p4de.24xlarge", "p5en.48xlarge", "p6-b200.48xlarge"):
        lt = {"instanceType": instance, "networkInterfaces": _interfaces(instance)}
        assert check_resource(EFA_COMPLETE, t.LAUNCH_TEMPLATE, lt) == [], instance


def test_efa_too_few_interfaces_and_wrong_indexes():
    few = {"instanceType": "p5.48xlarge", "networkInterfaces": _interfaces("p5.48xlarge")[:4]}
    (msg,) = check_resource(EFA_COMPLETE, t.LAUNCH_TEMPLATE, few)
    assert "supports 32 EFA interfaces; the template has 4" in msg
    shifted = [dict(i, networkCardIndex=i["networkCardIndex"] + 1) for i in _interfaces("p4de.24xlarge")]
    (msg,) = check_resource(EFA_COMPLETE, t.LAUNCH_TEMPLATE, {"instanceType": "p4de.24xlarge",
                                                              "networkInterfaces": shifted})
    assert "must be 0..3; found [1, 2, 3, 4]" in msg
    assert check_resource(EFA_COMPLETE, t.LAUNCH_TEMPLATE, {"instanceType": "p5.48xlarge",
                                                            "networkInterfaces": UNKNOWN}) == UNDECIDED


def test_placement_group_with_reservation():
    reserved = {"capacityReservationSpecification": {"capacityReservationTarget": {"capacityReservationId": "cr-1"}}}
    assert check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE, reserved) == []
    assert check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE, {"placement": {"groupName": "pg"}}) == []
    both = dict(reserved, placement={"groupName": "pg"})
    assert len(check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE, both)) == 1
    # A placement group whose name is not known yet is still a placement group.
    assert check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE, {"placement": UNKNOWN}) == []
    assert len(check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE,
                              dict(reserved, placement={"groupName": UNKNOWN}))) == 1
    # The group the reservation was made in, declared on the template, is the one it must launch in.
    declared = dict(both, tags={"mlplat:reservation-placement-group": "pg"})
    assert check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE, declared) == []
    other = dict(both, tags={"mlplat:reservation-placement-group": "another"})
    assert len(check_resource(NO_PLACEMENT_WITH_RESERVATION, t.LAUNCH_TEMPLATE, other)) == 1


GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]


def _group(lt_props, group_props, name="ng"):
    lt = res(t.LAUNCH_TEMPLATE, lt_props, f"{name}-lt")
    return [lt, res(t.EKS_NODE_GROUP, group_props, name, [lt])]


def test_node_groups_single_subnet_and_tainted_pass():
    lt = {"instanceType": "p5.48xlarge", "networkInterfaces": _interfaces("p5.48xlarge")}
    assert check_stack(NODE_GROUPS, _group(lt, {"subnetIds": ["s1"], "taints": GPU_TAINT})) == []


def test_node_groups_multi_subnet_efa_and_untainted_gpu_fail():
    lt = {"instanceType": "p5.48xlarge", "networkInterfaces": _interfaces("p5.48xlarge")}
    found = check_stack(NODE_GROUPS, _group(lt, {"subnetIds": ["s1", "s2"], "taints": []}))
    assert [urn for _, urn in found] == ["ng", "ng"]
    assert "one subnet" in found[0][0] and "not tainted" in found[1][0]
    plain = check_stack(NODE_GROUPS, _group({"instanceType": "g5.xlarge"}, {"subnetIds": ["a", "b"]}))
    assert [m for m, _ in plain] == ["GPU node group (g5.xlarge) is not tainted nvidia.com/gpu=true:NoSchedule"]
    assert check_stack(NODE_GROUPS, _group({"instanceType": "p5.48xlarge"}, {"taints": UNKNOWN})) == UNDECIDED


def _job(gpus, efa, instance="p5.48xlarge", limits=None):
    requests = {"nvidia.com/gpu": gpus, "vpc.amazonaws.com/efa": efa}
    container = {"name": "pytorch", "resources": {"requests": requests, "limits": limits or dict(requests)}}
    pod = {"nodeSelector": {"node.kubernetes.io/instance-type": instance}, "containers": [container]}
    return {"spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 2, "template": {"spec": pod}}}}}


def test_pytorchjob_whole_node_requests():
    assert check_resource(PYTORCHJOB_RESOURCES, t.PYTORCH_JOB, _job(8, 32)) == []
    assert check_resource(PYTORCHJOB_RESOURCES, t.PYTORCH_JOB, _job(8, 4, "p4de.24xlarge")) == []
    (msg,) = check_resource(PYTORCHJOB_RESOURCES, t.PYTORCH_JOB, _job(8, 4))
    assert "requests 4 EFA devices; p5.48xlarge has 32" in msg
    mismatch = check_resource(PYTORCHJOB_RESOURCES, t.PYTORCH_JOB,
                              _job(8, 32, limits={"nvidia.com/gpu": 8, "vpc.amazonaws.com/efa": 16}))
    assert any("requests (32) != limits (16)" in m for m in mismatch)
    assert check_resource(PYTORCHJOB_RESOURCES, t.PYTORCH_JOB, {"spec": UNKNOWN}) == UNDECIDED


def test_efa_plugin_tolerates_gpu_taint():
    ok = {"chart": "aws-efa-k8s-device-plugin",
          "values": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}
    assert check_resource(EFA_PLUGIN, t.HELM_RELEASE, ok) == []
    assert len(check_resource(EFA_PLUGIN, t.HELM_RELEASE, {"chart": "aws-efa-k8s-device-plugin", "values": {}})) == 1
    assert check_resource(EFA_PLUGIN, t.HELM_RELEASE, {"chart": "nvidia-device-plugin", "values": {}}) == []
    assert check_resource(EFA_PLUGIN, t.HELM_RELEASE, {"chart": "aws-efa-k8s-device-plugin",
                                                       "values": UNKNOWN}) == UNDECIDED
