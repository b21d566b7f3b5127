"""`ml-platform:gpuCluster.operators`: every operator switchable, versions pinned in catalog/versions.py."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from components.base import StrictModel
from components.catalog.versions import TRAINING_OPERATOR_VERSIONS


class TrainingOperatorArgs(StrictModel):
    enabled: bool = Field(default=True, description="Install the Kubeflow Training Operator (PyTorchJob CRD).")
    version: Literal[TRAINING_OPERATOR_VERSIONS] = Field(  # type: ignore[valid-type]
        default=TRAINING_OPERATOR_VERSIONS[-1],
        description="The operator release whose objects are installed (the newest v1 release; kubeflow.org/v1 "
                    "PyTorchJob). Its objects ship with the platform: nothing is fetched at deploy time.",
    )


class PrometheusArgs(StrictModel):
    enabled: bool = Field(default=True, description="Install kube-prometheus-stack with the GPU dashboard.")
    grafana_admin_password: SecretStr | None = Field(
        default=None,
        description="Grafana admin password (set with --secret); unset: the chart generates one into its Secret.",
    )
    retention: str = Field(default="15d", pattern=r"^\d+[hdwy]$", description="Prometheus retention, e.g. 15d.")


class OperatorsArgs(StrictModel):
    nvidia_device_plugin: bool = Field(default=True, description="NVIDIA device plugin (nvidia.com/gpu).")
    efa_device_plugin: bool = Field(default=True, description="AWS EFA device plugin (vpc.amazonaws.com/efa).")
    training_operator: TrainingOperatorArgs = Field(
        default_factory=TrainingOperatorArgs, description="Kubeflow Training Operator."
    )
    etcd: bool = Field(default=True, description="etcd rendezvous server (Service etcd:2379) for elastic jobs.")
    gpu_metrics: Literal["dcgm-exporter", "cloudwatch", "none"] = Field(
        default="dcgm-exporter",
        description="Who collects GPU metrics: dcgm-exporter (Prometheus, the Grafana GPU dashboard) or the CloudWatch "
                    "add-on's accelerated-compute metrics. One per cluster: both run a DCGM host engine on every GPU "
                    "node, and two cannot share the GPU profiling module (NVIDIA/dcgm-exporter#7).",
    )
    neuron_device_plugin: bool = Field(
        default=True, description="AWS Neuron device plugin (aws.amazon.com/neuron), installed when the cluster has "
                                  "Trainium node groups.",
    )
    prometheus: PrometheusArgs = Field(default_factory=PrometheusArgs, description="kube-prometheus-stack.")
    cloudwatch_observability: bool = Field(
        default=True, description="EKS add-on amazon-cloudwatch-observability (Container Insights; GPU metrics when "
                                  "gpuMetrics is cloudwatch)."
    )
    ebs_csi: bool = Field(default=True, description="EKS add-on aws-ebs-csi-driver.")
    fsx_csi: bool = Field(default=True, description="FSx for Lustre CSI driver.")
    cluster_autoscaler: bool = Field(default=True, description="cluster-autoscaler (scales GPU groups from zero).")
    alert_emails: list[str] = Field(
        default_factory=list, description="Addresses subscribed to the cluster's alert topic (nodes NotReady); each "
                                          "confirms by email. GPU XID errors alert through Alertmanager.")
    debug_tools: bool = Field(default=False, description="htop / nvtop DaemonSets on GPU nodes.")
    kuberay: bool = Field(default=False, description="KubeRay operator (RayJob CRD): corpus curation on Ray "
                                                      "(rayJobs[]).")
    training_namespace: str = Field(
        default="training", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Namespace of etcd and the training jobs.",
    )
    monitoring_namespace: str = Field(
        default="monitoring", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Namespace of Prometheus, Grafana and the DCGM exporter.",
    )

