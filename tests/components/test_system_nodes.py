"""The system node group is sized from the operators' requests: the catalog's demand, nodeadm's allocatable,
the monitoring stack's requests in its chart values, and the config check."""

from __future__ import annotations

import pytest

from components.catalog import system_pods
from components.catalog.system_pods import MONITORING_REQUESTS, allocatable, demand
from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import CLUSTER, config, values

DEV_FLAGS = {"ebs_csi", "cloudwatch_observability", "fsx_csi", "cluster_autoscaler", "training_operator", "etcd",
             "prometheus"}


def test_allocatable_follows_nodeadms_reservations():
    # kube-reserved CPU 70m / 80m / 90m and memory 255Mi + 11Mi per pod, plus 100Mi eviction (nodeadm).
    assert allocatable(2, 8, 29) == (1930, 8192 - 574 - 100)
    assert allocatable(4, 16, 58) == (3920, 16384 - 893 - 100)
    assert allocatable(8, 16, 58) == (7910, 16384 - 893 - 100)


def test_demand_counts_daemonsets_per_node_and_only_enabled_operators():
    one, two = demand(DEV_FLAGS, 1), demand(DEV_FLAGS, 2)
    daemonsets = [p for p in system_pods.SYSTEM_PODS if p.daemonset and (p.flag is None or p.flag in DEV_FLAGS)]
    assert two.pods - one.pods == len(daemonsets) and two.cpu_m - one.cpu_m == sum(p.cpu_m for p in daemonsets)
    assert demand(DEV_FLAGS | {"kuberay"}, 1).memory_mi == one.memory_mi + 512
    assert (one.cpu_m, one.memory_mi, one.pods) == (1600, 3045, 23)


def test_monitoring_requests_reach_the_chart(envs):
    release = envs["dev"].get("kubernetes:helm.sh/v3:Release", "mlplat-dev-ops-kube-prometheus-stack")["inputs"]
    chart = release["values"]
    assert chart["prometheus"]["prometheusSpec"]["resources"] == {"requests": MONITORING_REQUESTS["prometheus"]}
    assert chart["alertmanager"]["alertmanagerSpec"]["resources"]["requests"] == MONITORING_REQUESTS["alertmanager"]
    for key in ("grafana", "kube-state-metrics", "prometheus-node-exporter"):
        assert chart[key]["resources"] == {"requests": MONITORING_REQUESTS[key]}
    assert chart["prometheusOperator"]["resources"] == {"requests": MONITORING_REQUESTS["prometheus-operator"]}


def test_a_system_group_too_small_for_the_operators_is_refused(monkeypatch: pytest.MonkeyPatch):
    cluster = {**CLUSTER, "systemNodeGroup": {"instanceType": "m5.large", "minSize": 1, "desiredSize": 1,
                                              "maxSize": 2}}
    assert parse(values(config(gpuCluster=cluster))).gpu_cluster.system_node_group.instance_type == "m5.large"
    monkeypatch.setitem(system_pods.MAX_PODS, "m5.large", 20)
    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster=cluster)))
    (line,) = info.value.problems
    assert line == ("ml-platform:gpuCluster.systemNodeGroup.instanceType: expected minSize x m5.large to hold the "
                    "operators' requests (1600m CPU, 3045Mi, 23 pods); 1 node(s) offer 1930m, 7617Mi, 20 pods: "
                    "choose a larger type or raise minSize")
