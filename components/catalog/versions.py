"""Every EKS add-on, Helm chart, manifest and container image version the platform deploys, pinned once.

Add-on versions live in `data/eks_addons.json` (source and date inside), regenerated from
`aws eks describe-addon-versions` by `scripts/refresh_catalog.py`; everything else is pinned here.
vpc-cni must be >= v1.18.5: earlier versions cannot attach `efa-only` interfaces.
"""

from __future__ import annotations

from components.catalog.data import load

#: Kubernetes versions the cluster component supports, newest last.
KUBERNETES_VERSIONS: tuple[str, ...] = ("1.32", "1.33")

#: EKS managed add-ons per Kubernetes version (`data/eks_addons.json`, with its source and date).
EKS_ADDONS: dict[str, dict[str, str]] = load("eks_addons")["kubernetesVersions"]

#: Minimum VPC CNI that supports `efa-only` network interfaces: "You must have VPC CNI version 1.18.5 or
#: later for EFA-only interfaces" (EKS user guide, "Run machine learning training on Amazon EKS with
#: Elastic Fabric Adapter", node-efa.html). terraform-aws-eks's variable text says 1.18.4: the guide wins.
VPC_CNI_MIN_FOR_EFA_ONLY = (1, 18, 5)


def addon_version(kubernetes_version: str, addon: str) -> str:
    return EKS_ADDONS[kubernetes_version][addon]


def parse_addon_version(version: str) -> tuple[int, int, int]:
    """`v1.19.2-eksbuild.1` -> (1, 19, 2)."""
    core = version.lstrip("v").split("-")[0]
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch


#: Helm charts: (repository, chart, version). Versions as used by terraform-aws-eks-blueprints
#: patterns and the charts' own release notes (checked 2026-11).
HELM_CHARTS: dict[str, tuple[str, str, str]] = {
    "nvidia-device-plugin": ("https://nvidia.github.io/k8s-device-plugin", "nvidia-device-plugin", "0.17.1"),
    "efa-device-plugin": ("https://aws.github.io/eks-charts", "aws-efa-k8s-device-plugin", "v0.5.7"),
    "dcgm-exporter": ("https://nvidia.github.io/dcgm-exporter/helm-charts", "dcgm-exporter", "4.1.1"),
    "kube-prometheus-stack": (
        "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "72.6.2"
    ),
    "fsx-csi-driver": ("https://kubernetes-sigs.github.io/aws-fsx-csi-driver", "aws-fsx-csi-driver", "1.11.0"),
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.46.6"),
}

#: Kubeflow Training Operator standalone overlay per selectable version (v1.7.0 as in the reference).
TRAINING_OPERATOR_VERSIONS: tuple[str, ...] = ("v1.7.0", "v1.8.1")
TRAINING_OPERATOR_KUSTOMIZE = "https://github.com/kubeflow/training-operator/tree/{version}/manifests/overlays/standalone"

#: Container images.
IMAGES: dict[str, str] = {
    "etcd": "quay.io/coreos/etcd:v3.5.21",
    "debug-tools": "public.ecr.aws/docker/library/ubuntu:24.04",
    "cluster-autoscaler-1.32": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.1",
    "cluster-autoscaler-1.33": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.0",
}


def helm_chart(key: str) -> tuple[str, str, str]:
    return HELM_CHARTS[key]
