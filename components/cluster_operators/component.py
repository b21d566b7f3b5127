"""`ClusterOperators`: what turns the bare GPU cluster into the FSDP training platform.

Charts and images are pinned in components/catalog/versions.py. AWS permissions go through EKS Pod
Identity (one least-privilege role per operator), never through the node role.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog.system_pods import MONITORING_REQUESTS
from components.catalog.versions import IMAGES
from components.cluster_operators.alarms import XID_RULES, node_alarms
from components.cluster_operators.args import OperatorsArgs
from components.cluster_operators.dashboard import gpu_dashboard
from components.context import Env
from components.eks_addons import resolved_addon_version
from components.eks_gpu_cluster.component import GpuCluster
from components.eks_gpu_cluster.iam import autoscaler_policy
from components.eks_gpu_cluster.node_config import NVIDIA_PLUGIN_LABEL
from components.helm import chart_release
from components.pod_identity import associate, pod_identity_role

GPU_TOLERATIONS = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"},
]
#: The system node group's label: operators that are not DaemonSets run there (never on GPU nodes).
SYSTEM_NODES = {"mlplat.io/node-group": "system"}
ETCD_PORT = 2379
ETCD_SERVICE = "etcd"


def fsx_csi_policy(region: str, account_id: str, partition: str) -> str:
    """The FSx CSI controller's permissions (aws-fsx-csi-driver docs), scoped to this account's file systems."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["iam:CreateServiceLinkedRole"],
                    "Resource": "*",
                    "Condition": {"StringLike": {"iam:AWSServiceName": ["fsx.amazonaws.com",
                                                                        "s3.data-source.lustre.fsx.amazonaws.com"]}},
                },
                {
                    "Effect": "Allow",
                    "Action": ["iam:AttachRolePolicy", "iam:PutRolePolicy"],
                    "Resource": f"arn:{partition}:iam::{account_id}:role/aws-service-role/"
                                "s3.data-source.lustre.fsx.amazonaws.com/*",
                },
                {"Effect": "Allow", "Action": ["fsx:DescribeFileSystems"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": ["fsx:CreateFileSystem", "fsx:DeleteFileSystem", "fsx:UpdateFileSystem",
                               "fsx:TagResource"],
                    "Resource": f"arn:{partition}:fsx:{region}:{account_id}:file-system/*",
                },
            ],
        }
    )


def ebs_kms_policy(key_arn: str) -> str:
    """Lets the EBS CSI driver create volumes encrypted with the environment key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                               "kms:DescribeKey"],
                    "Resource": key_arn,
                },
            ],
        }
    )


class ClusterOperators(pulumi.ComponentResource):
    """Operators of the GPU cluster; each one switchable through `OperatorsArgs`."""

    training_namespace: str
    #: The etcd rendezvous service (`host:port`) training jobs use.
    etcd_endpoint: str
    etcd_host: str
    etcd_port: int
    training_operator: pulumi.Resource | None
    kuberay: pulumi.Resource | None

    def __init__(self, name: str, args: OperatorsArgs, *, env: Env, cluster: GpuCluster,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`cluster`: the GPU cluster the operators run on (its name, ARN, version and system nodes)."""
        super().__init__("mlplat:cluster_operators:ClusterOperators", name, None,
                         env.component_options(opts, former_types=("mlplat:eks:ClusterOperators",)))
        self._name, self._args, self._env = name, args, env
        self._cluster_name = self.cluster_name = cluster.cluster_name
        self.cluster_arn = cluster.cluster_arn
        #: The cluster's name as the program chose it (a plain string): what trust policies are built from.
        self.static_cluster_name = self._static_cluster_name = cluster.static_name
        self._account_id, self._partition = env.account_id, env.partition
        nodes_ready = self._nodes_ready = [cluster.system_node_group]
        kubernetes_version, region, static_cluster_name = cluster.kubernetes_version, env.region, cluster.static_name
        account_id, partition, kms_key_arn = env.account_id, env.partition, env.key_arn
        self.training_namespace = args.training_namespace
        self.etcd_host, self.etcd_port = ETCD_SERVICE, ETCD_PORT
        self.etcd_endpoint = f"{ETCD_SERVICE}:{ETCD_PORT}"
        self.training_operator = None
        self.namespace: k8s.core.v1.Namespace | None = None
        self._releases: dict[str, Any] = {}

        needs_training_ns = args.training_operator.enabled or args.etcd or args.debug_tools
        ns = self.namespace = self._namespace(args.training_namespace) if needs_training_ns else None
        if args.nvidia_device_plugin:
            self._release("nvidia-device-plugin", "nvidia-device-plugin", {
                "tolerations": GPU_TOLERATIONS[:1],
                # Not on Bottlerocket nodes: their AMI runs its own plugin (two would both advertise the GPUs).
                "nodeSelector": {"nvidia.com/gpu.present": "true", NVIDIA_PLUGIN_LABEL: "daemonset"},
            }, create_namespace=True)
        if args.neuron_device_plugin and cluster.has_neuron_groups:
            # The chart's device plugin tolerates aws.amazon.com/neuron and selects Neuron instance types itself
            # (neuronInstances); the node problem detector it also ships is left out.
            self._release("neuron-device-plugin", "kube-system", {"npd": {"enabled": False}})
        if args.efa_device_plugin:
            self._release("efa-device-plugin", "kube-system", {
                "tolerations": GPU_TOLERATIONS,
                "nodeSelector": {"vpc.amazonaws.com/efa.present": "true"},
            })
        if args.training_operator.enabled:
            from components.cluster_operators.training_operator import TrainingOperator

            self.training_operator = TrainingOperator(
                f"{name}-training-operator", node_selector=SYSTEM_NODES, opts=self._opts(depends_on=nodes_ready))
        if args.etcd and ns is not None:
            self._etcd(ns)
        if args.prometheus.enabled:
            self._prometheus()
        if args.gpu_metrics == "dcgm-exporter":
            self._release("dcgm-exporter", args.monitoring_namespace, {
                "tolerations": GPU_TOLERATIONS[:1],
                "nodeSelector": {"nvidia.com/gpu.present": "true"},
                "serviceMonitor": {"enabled": args.prometheus.enabled, "interval": "15s"},
            }, create_namespace=True, after=["kube-prometheus-stack"])
        self.alerts_topic_arn: pulumi.Output[str] | None = None
        if args.cloudwatch_observability:
            self.alerts_topic_arn = node_alarms(name, self.cluster_name, env=env, emails=args.alert_emails,
                                                parent=self).arn
            role = self._pod_identity_role("cloudwatch", managed=["CloudWatchAgentServerPolicy"])
            self._addon("amazon-cloudwatch-observability", kubernetes_version, role, "amazon-cloudwatch",
                        "cloudwatch-agent", configuration={
                            "agent": {"config": {"logs": {"metrics_collected": {"kubernetes": {
                                "enhanced_container_insights": True,
                                # Only one DCGM host engine per node: the add-on's, or dcgm-exporter's.
                                "accelerated_compute_metrics": args.gpu_metrics == "cloudwatch"}}}}},
                            "containerLogs": {"enabled": True},
                        })
        if args.ebs_csi:
            role = self._pod_identity_role(
                "ebs-csi", managed=["service-role/AmazonEBSCSIDriverPolicy"],
                inline=pulumi.Output.from_input(kms_key_arn).apply(ebs_kms_policy),
            )
            self._addon("aws-ebs-csi-driver", kubernetes_version, role, "kube-system", "ebs-csi-controller-sa")
        if args.fsx_csi:
            role = self._pod_identity_role(
                "fsx-csi",
                inline=pulumi.Output.all(account_id, partition).apply(lambda a: fsx_csi_policy(region, a[0], a[1])),
            )
            self._association("fsx-csi", role, "kube-system", "fsx-csi-controller-sa")
            # The region given, so neither plugin needs the instance metadata service (hop limit 1 keeps pods off it).
            self._release("fsx-csi-driver", "kube-system", {
                "controller": {"serviceAccount": {"create": True, "name": "fsx-csi-controller-sa"}, "region": region},
                "node": {"tolerations": [{"operator": "Exists"}], "region": region},
            })
        if args.cluster_autoscaler:
            role = self._pod_identity_role("cluster-autoscaler", inline=env.arn(
                "eks", f"nodegroup/{static_cluster_name}/*/*").apply(
                lambda arn: autoscaler_policy(static_cluster_name, arn)))
            self._association("cluster-autoscaler", role, "kube-system", "cluster-autoscaler")
            image = IMAGES[f"cluster-autoscaler-{kubernetes_version}"]
            repo, tag = image.rsplit(":", 1)
            self._release("cluster-autoscaler", "kube-system", {
                "autoDiscovery": {"clusterName": static_cluster_name},
                "awsRegion": region,
                "image": {"repository": repo, "tag": tag},
                "rbac": {"serviceAccount": {"create": True, "name": "cluster-autoscaler"}},
                "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-system-pods": False,
                              "expander": "least-waste", "scale-down-unneeded-time": "10m"},
            })
        if args.debug_tools and ns is not None:
            self._debug_daemonsets(ns)
        self.kuberay = self._release("kuberay-operator", "kuberay-system", {
            "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
        }, create_namespace=True) if args.kuberay else None
        self.register_outputs({"trainingNamespace": self.training_namespace, "etcdEndpoint": self.etcd_endpoint})

    # -- helpers ---------------------------------------------------------------------------------
    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _namespace(self, namespace: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{self._name}-{namespace}", metadata={"name": namespace}, opts=self._opts()
        )

    def _release(self, key: str, namespace: str, values: dict, *, create_namespace: bool = False,
                 after: list[str] | None = None) -> k8s.helm.v3.Release:
        depends = list(self._nodes_ready) + [self._releases[a] for a in after or [] if a in self._releases]
        release = chart_release(self._name, key, namespace, values, create_namespace=create_namespace,
                                opts=self._opts(depends_on=depends))
        self._releases[key] = release
        return release

    def _pod_identity_role(self, key: str, managed: list[str] | None = None,
                           inline: pulumi.Input[str] | None = None) -> aws.iam.Role:
        return pod_identity_role(f"{self._name}-{key}", env=self._env, cluster_name=self._static_cluster_name,
                                 parent=self, inline=inline, managed=managed or ())

    def _association(self, key: str, role: aws.iam.Role, namespace: str, service_account: str) -> None:
        associate(f"{self._name}-{key}", role, cluster_name=self._cluster_name, namespace=namespace,
                  service_account=service_account, parent=self)

    def _addon(self, addon: str, kubernetes_version: str, role: aws.iam.Role, namespace: str,
               service_account: str, configuration: dict | None = None) -> None:
        aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=self._cluster_name,
            addon_name=addon,
            addon_version=resolved_addon_version(kubernetes_version, addon, self),
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=service_account)
            ],
            configuration_values=json.dumps(configuration) if configuration else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=self._opts(depends_on=self._nodes_ready),
        )

    def _etcd(self, ns: k8s.core.v1.Namespace) -> None:
        """etcd for torch elastic's `etcd` rendezvous (aws-do-eks etcd-deployment.yaml).

        torchelastic's etcd backend speaks the etcd v2 API (python-etcd), hence `--enable-v2`, which
        etcd 3.5 still has (3.6 removed it): keep the image on 3.5.x.
        """
        labels = {"app.kubernetes.io/name": "etcd", "app.kubernetes.io/part-of": "ml-platform"}
        namespace = ns.metadata.name
        k8s.apps.v1.Deployment(
            f"{self._name}-etcd",
            metadata={"name": "etcd", "namespace": namespace, "labels": labels},
            spec={
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": SYSTEM_NODES,
                        "containers": [{
                            "name": "etcd",
                            "image": IMAGES["etcd"],
                            "command": ["/usr/local/bin/etcd"],
                            "args": ["--data-dir", "/var/lib/etcd", "--enable-v2",
                                     "--listen-client-urls", f"http://0.0.0.0:{ETCD_PORT}",
                                     "--advertise-client-urls", f"http://0.0.0.0:{ETCD_PORT}",
                                     "--initial-cluster-state", "new"],
                            "ports": [{"name": "client", "containerPort": ETCD_PORT, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                          "limits": {"memory": "1Gi"}},
                            "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                                "runAsUser": 1000},
                            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/etcd"}],
                        }],
                        "volumes": [{"name": "data", "emptyDir": {}}],
                    },
                },
            },
            opts=self._opts(depends_on=self._nodes_ready),
        )
        k8s.core.v1.Service(
            f"{self._name}-etcd",
            metadata={"name": ETCD_SERVICE, "namespace": namespace, "labels": labels},
            spec={"selector": labels,
                  "ports": [{"name": "etcd-client-port", "port": ETCD_PORT, "targetPort": ETCD_PORT,
                             "protocol": "TCP"}]},
            opts=self._opts(),
        )

    def _prometheus(self) -> None:
        args = self._args
        grafana: dict[str, Any] = {
            "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1",
                                       "searchNamespace": "ALL"}},
        }
        if args.prometheus.grafana_admin_password is not None:
            grafana["adminPassword"] = pulumi.Output.secret(args.prometheus.grafana_admin_password.get_secret_value())
        # The chart ships no requests: give each pod its own (catalog/system_pods.py sizes the system nodes
        # from them) so the monitoring stack is not BestEffort.
        req = {k: {"requests": v} for k, v in MONITORING_REQUESTS.items()}
        self._release("kube-prometheus-stack", args.monitoring_namespace, {
            "grafana": {**grafana, "resources": req["grafana"]},
            "prometheus": {"prometheusSpec": {"retention": args.prometheus.retention,
                                              "serviceMonitorSelectorNilUsesHelmValues": False,
                                              "podMonitorSelectorNilUsesHelmValues": False,
                                              "resources": req["prometheus"]}},
            "alertmanager": {"alertmanagerSpec": {"resources": req["alertmanager"]}},
            # GPU XID errors from dcgm-exporter, alerted where they are collected (cluster_operators/alarms.py).
            "additionalPrometheusRulesMap": {"gpu-health": XID_RULES} if args.gpu_metrics == "dcgm-exporter" else {},
            "prometheusOperator": {"resources": req["prometheus-operator"]},
            "kube-state-metrics": {"resources": req["kube-state-metrics"]},
            "prometheus-node-exporter": {"resources": req["prometheus-node-exporter"]},
        }, create_namespace=True)
        k8s.core.v1.ConfigMap(
            f"{self._name}-gpu-dashboard",
            metadata={"name": "gpu-dcgm-dashboard", "namespace": args.monitoring_namespace,
                      "labels": {"grafana_dashboard": "1"}},
            data={"gpu-dcgm.json": gpu_dashboard()},
            opts=self._opts(depends_on=[self._releases["kube-prometheus-stack"]]),
        )

    def _debug_daemonsets(self, ns: k8s.core.v1.Namespace) -> None:
        for tool in ("htop", "nvtop"):
            labels = {"app.kubernetes.io/name": tool}
            k8s.apps.v1.DaemonSet(
                f"{self._name}-{tool}",
                metadata={"name": tool, "namespace": ns.metadata.name, "labels": labels},
                spec={
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "hostPID": True,
                            "nodeSelector": {"nvidia.com/gpu.present": "true"},
                            "tolerations": GPU_TOLERATIONS,
                            "containers": [{
                                "name": tool,
                                "image": IMAGES["debug-tools"],
                                "command": ["bash", "-c",
                                            f"apt-get update && apt-get install -y {tool} && sleep infinity"],
                                "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
                            }],
                        },
                    },
                },
                opts=self._opts(depends_on=self._nodes_ready),
            )
