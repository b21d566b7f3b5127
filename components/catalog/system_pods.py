"""What runs on the system node group, with its CPU and memory requests, so the group can be sized from them.

Requests as the add-ons and charts ship them (read at the versions the catalog pins, 2026-11-29):
- aws-node 25m + aws-eks-nodeagent 25m: aws/amazon-vpc-cni-k8s v1.20.4 charts/aws-vpc-cni/values.yaml.
- kube-proxy 100m: EKS kube-proxy add-on manifest as dumped for v1.28 (v1.33 build not checked).
- coredns 2 x 100m/70Mi: kubernetes cluster/addons/dns/coredns (the EKS build not checked).
- eks-pod-identity-agent: no requests (its chart's `resources: {}`).
- EBS CSI controller 2 x 6 containers x 10m/40Mi, node 3 x 10m/40Mi: aws-ebs-csi-driver chart 2.44.0 values.yaml.
- CloudWatch agent 250m/128Mi, fluent-bit 50m/25Mi, operator 100m/64Mi: aws-observability/helm-charts
  amazon-cloudwatch-observability 4.1.0 values.yaml.
- FSx CSI (chart 1.11.0), cluster-autoscaler (chart 9.46.6): no requests. training-operator v1.9.4's manifests set
  none either; the platform requests 100m/128Mi for it (components/cluster_operators/training_operator.py).
- kube-prometheus-stack 72.6.2 ships none (alertmanager gets 200Mi from prometheus-operator v0.82.2): the
  platform sets the requests below (`MONITORING_REQUESTS`) so the monitoring stack is not BestEffort and the
  node group is sized for it.
- etcd 250m/256Mi and kuberay-operator 100m/512Mi: set by the platform.

Node capacity as nodeadm computes it on AL2023 (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go):
kube-reserved memory 255Mi + 11Mi per max pod, CPU 6 % of the first core, 1 % of the second, 0.5 % of the
next two, 0.25 % beyond; eviction threshold 100Mi. Max pods with the VPC CNI's defaults: ENIs x (IPs per ENI -
1) + 2 (aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Requests the platform gives the kube-prometheus-stack pods (chart keys in ClusterOperators._prometheus).
MONITORING_REQUESTS: dict[str, dict[str, str]] = {
    "prometheus": {"cpu": "200m", "memory": "1Gi"},
    "alertmanager": {"cpu": "20m", "memory": "200Mi"},
    "grafana": {"cpu": "50m", "memory": "256Mi"},
    "kube-state-metrics": {"cpu": "20m", "memory": "64Mi"},
    "prometheus-operator": {"cpu": "50m", "memory": "128Mi"},
    "prometheus-node-exporter": {"cpu": "10m", "memory": "32Mi"},
}

MAX_PODS: dict[str, int] = {"m5.large": 29, "m5.xlarge": 58, "c5.2xlarge": 58, "c5.4xlarge": 234}


@dataclass(frozen=True)
class SystemPod:
    name: str
    daemonset: bool
    replicas: int
    cpu_m: int
    memory_mi: int
    #: The operators flag that installs it (None: always there).
    flag: str | None = None


_MI = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2}


def cpu_m(quantity: str) -> int:
    """A Kubernetes CPU quantity ("250m", "2") in millicores."""
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def memory_mi(quantity: str) -> float:
    """A Kubernetes memory quantity ("200Mi", "6Gi", "512Ki", or bytes) in MiB."""
    unit = quantity[-2:]
    return float(quantity[:-2]) * _MI[unit] if unit in _MI else float(quantity) / 2**20


SYSTEM_PODS: tuple[SystemPod, ...] = (
    SystemPod("aws-node", True, 1, 50, 0),
    SystemPod("kube-proxy", True, 1, 100, 0),
    SystemPod("eks-pod-identity-agent", True, 1, 0, 0),
    SystemPod("coredns", False, 2, 100, 70),
    SystemPod("ebs-csi-controller", False, 2, 60, 240, "ebs_csi"),
    SystemPod("ebs-csi-node", True, 1, 30, 120, "ebs_csi"),
    SystemPod("cloudwatch-agent", True, 1, 250, 128, "cloudwatch_observability"),
    SystemPod("fluent-bit", True, 1, 50, 25, "cloudwatch_observability"),
    SystemPod("amazon-cloudwatch-observability-controller", False, 1, 100, 64, "cloudwatch_observability"),
    SystemPod("fsx-csi-controller", False, 2, 0, 0, "fsx_csi"),
    SystemPod("fsx-csi-node", True, 1, 0, 0, "fsx_csi"),
    SystemPod("cluster-autoscaler", False, 1, 0, 0, "cluster_autoscaler"),
    SystemPod("training-operator", False, 1, 100, 128, "training_operator"),
    SystemPod("etcd", False, 1, 250, 256, "etcd"),
    SystemPod("kuberay-operator", False, 1, 100, 512, "kuberay"),
    # Two replicas at 1 CPU / 1 GiB each (components/karpenter/component.py CONTROLLER_RESOURCES; the chart's
    # default replicas 2, values.yaml of chart 1.14.1).
    SystemPod("karpenter", False, 2, 1000, 1024, "karpenter"),
    *(SystemPod(name, name == "prometheus-node-exporter", 1, cpu_m(r["cpu"]), round(memory_mi(r["memory"])),
                "prometheus") for name, r in MONITORING_REQUESTS.items()),
)


@dataclass(frozen=True)
class Demand:
    cpu_m: int
    memory_mi: int
    pods: int


def demand(enabled: set[str], nodes: int) -> Demand:
    """Requests of every system pod the enabled operators bring, with one DaemonSet pod per node."""
    pods = [p for p in SYSTEM_PODS if p.flag is None or p.flag in enabled]
    count = [nodes if p.daemonset else p.replicas for p in pods]
    return Demand(sum(p.cpu_m * n for p, n in zip(pods, count, strict=True)),
                  sum(p.memory_mi * n for p, n in zip(pods, count, strict=True)), sum(count))


def allocatable(vcpus: int, memory_gib: int, max_pods: int) -> tuple[int, int]:
    """(millicores, MiB) the scheduler can place on one node, after nodeadm's kube-reserved and eviction."""
    steps = [(1, 0.06), (1, 0.01), (2, 0.005), (max(0, vcpus - 4), 0.0025)]
    reserved_cpu, left = 0.0, vcpus
    for cores, share in steps:
        used = min(cores, left)
        reserved_cpu += used * 1000 * share
        left -= used
    reserved_mi = 255 + 11 * max_pods + 100
    return vcpus * 1000 - round(reserved_cpu), memory_gib * 1024 - reserved_mi
