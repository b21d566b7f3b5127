"""Pure derivations for a GPU node group: EFA interfaces, user data, labels, taints, autoscaler tags.

Kept free of Pulumi so that tests and the policy pack can use the same functions.

EFA interface pattern (documented choice): one interface per EFA-capable network card, card
indexes 0..N-1 with N = the instance's *maximum EFA interfaces*. Card 0 carries the primary
interface, type `efa` (EFA with ENA, so it has the IP addresses pods need) at device index 0;
every other card carries an `efa-only` interface at device index 1.

How others do it: terraform-aws-eks v21 (`modules/eks-managed-node-group/main.tf`, defaults
`enable_efa_only = true`, `efa_indices = [0]`) and pulumi-eks (`nodejs/eks/nodes/instances.ts`)
use the same types and device indexes, but size N from the *network-card* count, which over-counts
where an instance has more cards than EFA devices (p6-b200: 9 cards, 8 EFA; eksctl #8685); eksctl
(`pkg/cfn/builder/network_interfaces.go`) puts a full `efa` interface on every card. The EKS user
guide's P6-B200 example ("EFA and EFA-only interfaces") instead uses an ENA primary at card 0
device 0 and `efa-only` at card 0 device 1 and at device 0 of the other cards. `efa-only` needs
VPC CNI 1.18.5 or later (EKS user guide, node-efa), checked against the pin in catalog/versions.py.
"""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Mapping
from typing import Any

from components.catalog.eks import EFA_HUGEPAGES_2MI, EFA_HUGEPAGES_QUANTITY
from components.catalog.instance_types import InstanceType
from components.eks_gpu_cluster.args import GPU_TAINT, GpuNodeGroupArgs

EFA_RESOURCE = "vpc.amazonaws.com/efa"
#: cluster-autoscaler's GPU label: a fresh GPU node reports no allocatable GPUs until the device plugin runs,
#: and without this label the autoscaler takes the pending pods as unschedulable and adds more nodes
#: (kubernetes/autoscaler, cluster-autoscaler/cloudprovider/aws/README.md, "Special note on GPU instances";
#: `GPULabel` in aws_cloud_provider.go). For scale-from-zero the ASG carries the node-template tag of it.
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"


def efa_interfaces(facts: InstanceType, security_group_ids: list) -> list[dict]:
    """Launch-template network interfaces (pulumi_aws input shape, snake_case keys)."""
    interfaces = []
    for card in range(facts.max_efa_interfaces):
        interfaces.append(
            {
                "network_card_index": card,
                "device_index": 0 if card == 0 else 1,
                "interface_type": "efa" if card == 0 else "efa-only",
                "delete_on_termination": "true",
                "associate_public_ip_address": "false",
                "security_groups": security_group_ids,
            }
        )
    return interfaces


#: Which NVIDIA device plugin a GPU node uses: `daemonset` (the platform's chart) or `ami` (Bottlerocket's own).
NVIDIA_PLUGIN_LABEL = "mlplat.io/nvidia-device-plugin"


def node_labels(group: GpuNodeGroupArgs) -> dict[str, str]:
    """Labels set through the node group. The kubelet itself sets `node.kubernetes.io/instance-type`
    (a label the EKS API does not let node groups set), which selectors use to pick the type."""
    facts = group.facts
    labels = {"mlplat.io/node-group": group.name}
    if facts.accelerator == "nvidia":
        labels["nvidia.com/gpu.present"] = "true"
        labels[ACCELERATOR_LABEL] = "nvidia-" + facts.accelerator_model.split()[0].lower()
        # Bottlerocket's NVIDIA variants run their own device plugin (settings.kubelet-device-plugins.nvidia);
        # the platform's DaemonSet selects only the nodes that need it, so no node has two.
        labels[NVIDIA_PLUGIN_LABEL] = "ami" if group.resolved_ami_type.startswith("BOTTLEROCKET") else "daemonset"
    if facts.accelerator == "neuron":
        labels["aws.amazon.com/neuron.present"] = "true"
    if group.efa_enabled:
        labels["vpc.amazonaws.com/efa.present"] = "true"
    labels.update(group.labels)
    return labels


def node_taints(group: GpuNodeGroupArgs) -> list[dict[str, str]]:
    taints = [dict(GPU_TAINT)] if group.facts.accelerator == "nvidia" else [
        {"key": "aws.amazon.com/neuron", "value": "true", "effect": "NO_SCHEDULE"}
    ]
    for t in group.taints:
        entry = {"key": t.key, "value": t.value, "effect": t.effect}
        if entry not in taints:
            taints.append(entry)
    return taints


_K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def autoscaler_tags(group: GpuNodeGroupArgs) -> dict[str, str]:
    """ASG tags cluster-autoscaler reads to build a node template when the group is at zero."""
    prefix = "k8s.io/cluster-autoscaler/node-template"
    facts = group.facts
    tags = {}
    if facts.gpu_resource:
        tags[f"{prefix}/resources/{facts.gpu_resource}"] = str(facts.accelerators)
    if group.efa_enabled:
        tags[f"{prefix}/resources/{EFA_RESOURCE}"] = str(facts.max_efa_interfaces)
        # What the node preallocates at boot (catalog/eks.py): without it the template offers no huge pages and
        # cluster-autoscaler never scales the group up for an EFA pod (scheduler NodeResourcesFit: "Insufficient").
        tags[f"{prefix}/resources/hugepages-2Mi"] = EFA_HUGEPAGES_QUANTITY
    tags[f"{prefix}/resources/ephemeral-storage"] = f"{group.volume_size_gib}G"
    template_labels = {"node.kubernetes.io/instance-type": group.instance_type, **node_labels(group)}
    for k, v in template_labels.items():
        tags[f"{prefix}/label/{k}"] = v
    for t in node_taints(group):
        tags[f"{prefix}/taint/{t['key']}"] = f"{t['value']}:{_K8S_EFFECT[t['effect']]}"
    return tags


def instance_tags(name: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """Launch-template tag specifications: the environment's tags on what EC2 launches from the template. The
    provider's default_tags reach the template itself, not its instances, volumes or interfaces
    (terraform-provider-aws #19387)."""
    return [{"resource_type": kind, "tags": {**tags, "Name": name}}
            for kind in ("instance", "volume", "network-interface")]


def user_data(group: GpuNodeGroupArgs) -> str | None:
    """Base64 user data that RAID0s the NVMe instance store (nodeadm or Bottlerocket) and, on Bottlerocket EFA nodes,
    preallocates the huge pages the EKS EFA guide promises (the AL2023 AMI's EFA driver does it itself), or None."""
    bottlerocket_efa = group.resolved_ami_type.startswith("BOTTLEROCKET") and group.efa_enabled
    if not group.facts.has_instance_store and not bottlerocket_efa:
        return None
    if group.resolved_ami_type.startswith("BOTTLEROCKET"):
        text = textwrap.dedent(
            """\
            [settings.bootstrap-commands.k8s-ephemeral-storage]
            commands = [["apiclient", "ephemeral-storage", "init"],
                        ["apiclient", "ephemeral-storage", "bind", "--dirs",
                         "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"]]
            mode = "always"
            essential = true
            """
        ) if group.facts.has_instance_store else ""
        if bottlerocket_efa:
            text += f'[settings.kernel.sysctl]\n"vm.nr_hugepages" = "{EFA_HUGEPAGES_2MI}"\n'
    else:
        text = textwrap.dedent(
            """\
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="MLPLATBOUNDARY"

            --MLPLATBOUNDARY
            Content-Type: application/node.eks.aws

            ---
            apiVersion: node.eks.aws/v1alpha1
            kind: NodeConfig
            spec:
              instance:
                localStorage:
                  strategy: RAID0

            --MLPLATBOUNDARY--
            """
        )
    return base64.b64encode(text.encode()).decode()


#: EKS node group names are at most 63 characters; the provider appends a 26-character unique suffix to a
#: prefix (terraform-plugin-sdk `id.PrefixedUniqueId`), so a prefix keeps at most 37.
NODE_GROUP_PREFIX_MAX = 63 - 26


def node_group_prefix(name: str) -> str:
    """`<name>-`, shortened to fit: the generated name stays readable and within EKS's limit."""
    return name[: NODE_GROUP_PREFIX_MAX - 1].rstrip("-") + "-"
