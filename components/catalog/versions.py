"""Every EKS add-on, Helm chart, manifest and container image version the platform deploys, pinned once.

Add-on versions come from `aws eks describe-addon-versions --kubernetes-version <v>` (the default
version EKS reports for each add-on, checked 2026-11); upgrade them here, in one place.
vpc-cni must be >= v1.18.4: earlier versions cannot attach `efa-only` interfaces.
"""

from __future__ import annotations

#: Kubernetes versions the cluster component supports, newest last.
KUBERNETES_VERSIONS: tuple[str, ...] = ("1.32", "1.33")

#: EKS managed add-ons per Kubernetes version.
EKS_ADDONS: dict[str, dict[str, str]] = {
    "1.32": {
        "vpc-cni": "v1.19.2-eksbuild.1",
        "coredns": "v1.11.4-eksbuild.2",
        "kube-proxy": "v1.32.0-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.4-eksbuild.1",
        "aws-ebs-csi-driver": "v1.38.1-eksbuild.2",
        "amazon-cloudwatch-observability": "v3.1.0-eksbuild.1",
    },
    "1.33": {
        "vpc-cni": "v1.19.5-eksbuild.1",
        "coredns": "v1.12.1-eksbuild.2",
        "kube-proxy": "v1.33.0-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.7-eksbuild.2",
        "aws-ebs-csi-driver": "v1.44.0-eksbuild.1",
        "amazon-cloudwatch-observability": "v4.1.0-eksbuild.1",
    },
}

#: Minimum VPC CNI that supports `efa-only` network interfaces (REFERENCE.md, EC2 user guide).
VPC_CNI_MIN_FOR_EFA_ONLY = (1, 18, 4)


def addon_version(kubernetes_version: str, addon: str) -> str:
    return EKS_ADDONS[kubernetes_version][addon]


def parse_addon_version(version: str) -> tuple[int, int, int]:
    """`v1.19.2-eksbuild.1` -> (1, 19, 2)."""
    core = version.lstrip("v").split("-")[0]
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch
