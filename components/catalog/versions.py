"""Every EKS add-on, Helm chart, manifest and container image version the platform deploys, pinned once.

Add-on versions live in `data/eks_addons.json` (source and date inside), regenerated from
`aws eks describe-addon-versions` by `scripts/refresh_catalog.py`; everything else is pinned here.
vpc-cni must be >= v1.18.5: earlier versions cannot attach `efa-only` interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog.data import load

#: Kubernetes versions the cluster component supports, newest last (the default). 1.35 and 1.36 are in standard
#: support on 2026-12-04 (catalog/eks.py KUBERNETES_CALENDAR); 1.33 stays for clusters created on it, in extended
#: support. 1.34 is not pinned yet (no sourced add-on versions): EKS upgrades one minor version at a time, so a
#: 1.33 cluster needs 1.34 pinned (scripts/refresh_catalog.py) before it can reach 1.35.
KUBERNETES_VERSIONS: tuple[str, ...] = ("1.33", "1.35", "1.36")

#: EKS managed add-ons per Kubernetes version (`data/eks_addons.json`, with its source and date).
EKS_ADDONS: dict[str, dict[str, str]] = load("eks_addons")["kubernetesVersions"]

#: Minimum VPC CNI that supports `efa-only` network interfaces: "You must have VPC CNI version 1.18.5 or
#: later for EFA-only interfaces" (EKS user guide, "Run machine learning training on Amazon EKS with
#: Elastic Fabric Adapter", node-efa.html). terraform-aws-eks's variable text says 1.18.4: the guide wins.
VPC_CNI_MIN_FOR_EFA_ONLY = (1, 18, 5)


def addon_version(kubernetes_version: str, addon: str) -> str:
    return EKS_ADDONS[kubernetes_version][addon]


#: (Kubernetes version, add-on) pins no API answer confirmed yet (`data/eks_addons.json` "unconfirmed": seen on public
#: deployments, not read from describe-addon-versions): the cluster resolves them at deploy time instead
#: (components/eks_addons.py), and the pin is only the offline plan's value. refresh_catalog.py confirms them all.
UNCONFIRMED_ADDONS: frozenset[tuple[str, str]] = frozenset(
    (version, addon) for version, addons in load("eks_addons").get("unconfirmed", {}).items() for addon in addons)


def parse_addon_version(version: str) -> tuple[int, int, int]:
    """`v1.19.2-eksbuild.1` -> (1, 19, 2)."""
    core = version.lstrip("v").split("-")[0]
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch


#: Helm charts: (repository, chart, version). Versions as used by terraform-aws-eks-blueprints
#: patterns and the charts' own release notes (checked 2026-11).
HELM_CHARTS: dict[str, tuple[str, str, str]] = {
    "nvidia-device-plugin": ("https://nvidia.github.io/k8s-device-plugin", "nvidia-device-plugin", "0.17.1"),
    "efa-device-plugin": ("https://aws.github.io/eks-charts", "aws-efa-k8s-device-plugin", "v0.5.30"),
    "dcgm-exporter": ("https://nvidia.github.io/dcgm-exporter/helm-charts", "dcgm-exporter", "4.1.1"),
    "kube-prometheus-stack": (
        "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "72.6.2"
    ),
    "fsx-csi-driver": ("https://kubernetes-sigs.github.io/aws-fsx-csi-driver", "aws-fsx-csi-driver", "1.11.0"),
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.46.6"),
    # aws-neuron/neuron-helm-charts, charts/neuron-helm-chart (chart 1.0.0: device plugin image 2.22.4.0,
    # tolerates aws.amazon.com/neuron, node affinity on neuronInstances incl. trn1.32xlarge, trn1n.32xlarge);
    # install command from the Neuron docs ("Neuron Helm chart", k8s-neuron-helm-chart.html).
    "neuron-device-plugin": ("oci://public.ecr.aws/neuron", "neuron-helm-chart", "1.0.0"),
    # ray-project/kuberay-helm index.yaml lists kuberay-operator 1.4.2 (2025-07-16); the chart ships the RayJob,
    # RayCluster and RayService CRDs in crds/ and reads resources / nodeSelector / tolerations
    # (ray-project/kuberay helm-chart/kuberay-operator, tag v1.4.2). Later tags (v1.5.x-v1.7.0) exist in git but
    # their published index entries were not checked.
    "kuberay-operator": ("https://ray-project.github.io/kuberay-helm/", "kuberay-operator", "1.4.2"),
    # aws/karpenter-provider-aws: release v1.14.1 (2026-08-20; charts/karpenter/Chart.yaml version 1.14.1 at the
    # docs commit for that patch release), installed as the docs install it (getting-started step08, OCI chart).
    # Kubernetes 1.36 needs Karpenter >= 1.13 (docs/upgrading/compatibility.md). The CRDs come from the separate
    # karpenter-crd chart, which the upgrade guide recommends because Helm never upgrades a chart's crds/.
    "karpenter-crd": ("oci://public.ecr.aws/karpenter", "karpenter-crd", "1.14.1"),
    "karpenter": ("oci://public.ecr.aws/karpenter", "karpenter", "1.14.1"),
}
#: The EKS-optimized AL2023 release Karpenter pools run (EC2NodeClass amiSelectorTerms alias; Karpenter picks the
#: NVIDIA or Neuron variant by instance type). awslabs/amazon-eks-ami CHANGELOG "AMI Release v20260714": AL2023
#: x86_64 NVIDIA AMIs (amazon-eks-node-al2023-x86_64-nvidia-<k8s>-v20260714) for Kubernetes 1.30-1.36.
KARPENTER_AMI_ALIAS = "al2023@v20260714"
#: The Ray release the corpus curation runs on: RayJob `rayVersion` and the `ray` extra's pin match it.
RAY_VERSION = "2.60.0"

@dataclass(frozen=True)
class TrainingOperatorRelease:
    version: str
    commit: str
    image: str


#: The Kubeflow Training Operator, v1 line (kubeflow.org/v1 PyTorchJob; the repository is now kubeflow/trainer and
#: keeps v1 on its release-1.9 branch). v1.9.4 is the newest v1 release: tag v1.9.4 = commit 4445c12a (2026-08-18),
#: Kubernetes dependencies 1.36, CI on 1.34-1.36. `manifests/overlays/standalone` at that tag renders (kustomize
#: 5.5): Namespace kubeflow, six CRDs, ServiceAccount/ClusterRole/ClusterRoleBinding training-operator, the empty
#: webhook Secret the operator fills itself (open-policy-agent/cert-controller), Service (8080 metrics, 443 -> 9443
#: webhook), Deployment (image below) and ValidatingWebhookConfiguration validator.training-operator.kubeflow.org.
#: components/cluster_operators/training_operator.py builds those objects for PyTorchJob only; the CRD is generated
#: from the operator's SDK of the same version (scripts/generate_pytorchjob_crd.py). The kustomize URL the platform
#: used (`.../tree/<ref>/...`) cannot be fetched at all (kustomize #4149, pulumi-kubernetes #3358).
TRAINING_OPERATOR = TrainingOperatorRelease(
    version="v1.9.4", commit="4445c12aa62e4345b0c2c6ac9b215a70eca46ed7",
    image="ghcr.io/kubeflow/training-v1/training-operator:v1-93c5489",
)
TRAINING_OPERATOR_VERSIONS: tuple[str, ...] = (TRAINING_OPERATOR.version,)

#: Container images.
IMAGES: dict[str, str] = {
    "etcd": "quay.io/coreos/etcd:v3.5.21",
    "debug-tools": "public.ecr.aws/docker/library/ubuntu:24.04",
    # The Kubernetes project's kubectl image (distroless), for the training gate (training_job/gate.py).
    "kubectl": "registry.k8s.io/kubectl:v1.36.0",
    "cluster-autoscaler-1.33": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.0",
    # kubernetes/autoscaler tags cluster-autoscaler-1.35.2 and -1.36.1 (2026-07-22).
    "cluster-autoscaler-1.35": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2",
    "cluster-autoscaler-1.36": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1",
}


#: aws-efa-k8s-device-plugin chart v0.5.30 deploys plugin image v0.5.20 (its appVersion). The chart
#: schedules the DaemonSet only on the instance types of its node affinity (`supportedInstanceLabels`);
#: these are the catalog's EFA types found in that list (aws/eks-charts, stable/aws-efa-k8s-device-plugin/
#: values.yaml at chart v0.5.30, 2026-07-21). The old pin v0.5.7 (image v0.5.4) lacked p6-b200.48xlarge,
#: which joined the list in chart v0.5.9, and plugin images before v0.5.10 miscount p6-b200 devices
#: (sagemaker-hyperpod-cli #282; v0.5.10 first shipped in chart v0.5.18).
#: The metrics dcgm-exporter publishes by default, per pinned chart version: `etc/default-counters.csv`
#: of NVIDIA/dcgm-exporter at the chart's tag (chart 4.1.1: tag 4.2.3-4.1.1, image 4.2.3-4.1.1-ubuntu22.04).
#: The Grafana dashboard may only query these.
DCGM_DEFAULT_COUNTERS: dict[str, frozenset[str]] = {
    "4.1.1": frozenset({
        "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_ENC_UTIL", "DCGM_FI_DEV_DEC_UTIL",
        "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
        "DCGM_FI_DEV_VGPU_LICENSE_STATUS", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_DRIVER_VERSION",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE",
        "DCGM_FI_PROF_PCIE_TX_BYTES", "DCGM_FI_PROF_PCIE_RX_BYTES",
    }),
}

#: Chart version -> (plugin image, the catalog's instance types its node affinity lists), as verified.
EFA_DEVICE_PLUGIN_CHARTS: dict[str, tuple[str, frozenset[str]]] = {
    "v0.5.30": ("v0.5.20", frozenset({
        "p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge", "p6-b200.48xlarge",
        "g5.12xlarge", "g5.48xlarge", "g6e.12xlarge", "g6e.48xlarge", "trn1.32xlarge", "trn1n.32xlarge",
    })),
}
EFA_DEVICE_PLUGIN_MIN_IMAGE = (0, 5, 10)


def helm_chart(key: str) -> tuple[str, str, str]:
    return HELM_CHARTS[key]

#: Every Lambda function's runtime and architecture (components/lambda_function.py). python3.12 is supported
#: until 2028-10 (AWS Lambda developer guide, "Lambda runtimes"); its boto3 is all the handlers import.
LAMBDA_RUNTIME = "python3.12"
LAMBDA_ARCHITECTURE = "arm64"
