"""`KarpenterProvisioner`: the Karpenter controller and one EC2NodeClass + NodePool per Karpenter GPU group.

What a real `pulumi up` needs, in order: the node role with an `EC2_LINUX` access entry (nodes join through it;
a separate role, since managed node groups create their own entry for the cluster's node role), the interruption
queue (encrypted with the environment key; EventBridge may send to it: key policy statement `EventBridgeQueues`)
and its five rules, the controller's Pod Identity role, the CRD chart, the controller chart on the system nodes,
then the node classes and pools, which need the CRDs and the controller's webhooks-free validation (CEL) to exist.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.context import Env, NetworkRef
from components.eks_gpu_cluster.args import GpuClusterArgs, GpuNodeGroupArgs
from components.eks_gpu_cluster.component import GpuCluster
from components.eks_gpu_cluster.component import node_role as ec2_node_role
from components.helm import chart_release
from components.karpenter.iam import INTERRUPTION_EVENTS, controller_policy, queue_policy
from components.karpenter.objects import (
    NODE_CLASS_API,
    NODE_OVERLAY_API,
    NODE_POOL_API,
    hugepages_overlay_spec,
    node_class_spec,
    node_pool_spec,
)
from components.pod_identity import associate, pod_identity_role

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
#: Controller requests (the getting-started install: 1 CPU, 1 GiB, limits equal); two replicas, one per node.
CONTROLLER_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


class KarpenterProvisioner(pulumi.ComponentResource):
    """Karpenter for the cluster's GPU groups whose provisioner is `karpenter`."""

    queue_name: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    #: Group name -> its NodePool.
    pools: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: GpuClusterArgs, *, env: Env, cluster: GpuCluster, network: NetworkRef,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:karpenter:KarpenterProvisioner", name, None, env.component_options(opts))
        self._name, self._env = name, env
        cluster_name = cluster.static_name
        child = pulumi.ResourceOptions(parent=self)

        node_role = ec2_node_role(f"{name}-node", env=env, addons=args.node_role_addons, parent=self)
        access = aws.eks.AccessEntry(f"{name}-node", cluster_name=cluster.cluster_name,
                                     principal_arn=node_role.arn, type="EC2_LINUX", opts=child)
        self.node_role_name = node_role.name

        queue = aws.sqs.Queue(f"{name}-interruptions", message_retention_seconds=300,
                              kms_master_key_id=env.key_arn, kms_data_key_reuse_period_seconds=300, opts=child)
        self.queue_name = queue.name
        rules = []
        for key, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{key}", event_pattern=pulumi.Output.json_dumps(pattern),
                                            description=f"Karpenter interruption handling: {key}", opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{key}", rule=rule.name, arn=queue.arn,
                                       target_id="KarpenterInterruptionQueueTarget", opts=child)
            rules.append(rule)
        queue_access = aws.sqs.QueuePolicy(
            f"{name}-interruptions", queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *[r.arn for r in rules]).apply(lambda a: queue_policy(a[0], a[1:])),
            opts=child)

        role = pod_identity_role(
            f"{name}-controller", env=env, cluster_name=cluster_name, parent=self,
            inline=pulumi.Output.all(env.partition, env.account_id, node_role.arn, queue.arn, env.key_arn).apply(
                lambda a: controller_policy(cluster=cluster_name, partition=a[0], region=env.region, account=a[1],
                                            node_role_arn=a[2], queue_arn=a[3], key_arn=a[4])))
        identity = associate(f"{name}-controller", role, cluster_name=cluster.cluster_name, namespace=NAMESPACE,
                             service_account=SERVICE_ACCOUNT, parent=self)

        crds = self._release("karpenter-crd", {}, depends_on=[cluster.system_node_group])
        controller = self._release("karpenter", {
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
            # On the system node group only; the chart's own affinity (karpenter.sh/nodepool DoesNotExist) also
            # keeps it off every node it launches.
            "nodeSelector": {"kubernetes.io/os": "linux", "mlplat.io/node-group": "system"},
            "controller": {"resources": CONTROLLER_RESOURCES},
            "settings": {
                "clusterName": cluster_name,
                "interruptionQueue": queue.name,
                # Capacity reservations and capacity blocks (capacity type `reserved`): beta and on by default
                # since v1.6, set explicitly because the pools rely on it (reference/settings.md, feature gates).
                # NodeOverlay (alpha, off by default: charts/karpenter/values.yaml v1.14.1) for the EFA pools' huge
                # pages (objects.hugepages_overlay_spec).
                # NodeRepair (alpha, off by default): the pools' autoRepair (nodeGroups[].autoRepair), as managed node
                # groups get it from EKS; Karpenter acts on the node conditions the node monitoring agent reports.
                "featureGates": {"reservedCapacity": True,
                                 "nodeOverlay": any(g.efa_enabled for g in args.karpenter_groups),
                                 "nodeRepair": any(g.auto_repair for g in args.karpenter_groups)},
            },
        }, skip_crds=True, depends_on=[crds, identity, access, queue_access, cluster.system_node_group])

        self.pools = {}
        for group in args.karpenter_groups:
            self.pools[group.name] = self._pool(group, cluster, network, node_role, controller)
        self.register_outputs({"interruptionQueue": self.queue_name, "nodeRoleName": self.node_role_name})

    def _release(self, key: str, values: dict[str, Any], *, skip_crds: bool = False,
                 depends_on: list[pulumi.Resource]) -> k8s.helm.v3.Release:
        return chart_release(self._name, key, NAMESPACE, values, skip_crds=skip_crds,
                             opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on))

    def _pool(self, group: GpuNodeGroupArgs, cluster: GpuCluster, network: NetworkRef, node_role: aws.iam.Role,
              controller: pulumi.Resource) -> k8s.apiextensions.CustomResource:
        name = f"{self._name}-{group.name}"
        after = pulumi.ResourceOptions(parent=self, depends_on=[controller])
        placement: Any = None
        if group.reservation_placement_group:
            placement = group.reservation_placement_group
        elif group.efa_enabled and not group.reserved:
            placement = aws.ec2.PlacementGroup(f"{name}-pg", strategy="cluster",
                                               opts=pulumi.ResourceOptions(parent=self)).name
        # Known on a first preview where it can be (the role's and placement group's generated names, the
        # discovery tag), so the policy pack reads the node class; Outputs sit only where the values go.
        discovery = dict(network.subnet_discovery) if network.subnet_discovery is not None else None
        spec = node_class_spec(group, cluster_name=cluster.static_name, node_role=node_role.name,
                               placement_group=placement, subnet_terms=[{"tags": discovery}] if discovery
                               else [{"id": network.subnet_in(group.availability_zone)}], tags=self._env.tags)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-class", api_version=NODE_CLASS_API, kind="EC2NodeClass",
            metadata={"name": group.name}, spec=spec, opts=after)
        if group.efa_enabled:
            k8s.apiextensions.CustomResource(
                f"{name}-hugepages", api_version=NODE_OVERLAY_API, kind="NodeOverlay",
                metadata={"name": f"{group.name}-hugepages"}, spec=hugepages_overlay_spec(group), opts=after)
        return k8s.apiextensions.CustomResource(
            f"{name}-pool", api_version=NODE_POOL_API, kind="NodePool", metadata={"name": group.name},
            spec=node_pool_spec(group), opts=pulumi.ResourceOptions(parent=self, depends_on=[controller, node_class]))
