"""`GpuCluster`: the EKS control plane, a system node group and one EFA node group per config entry.

The control plane uses plain `aws.eks.Cluster` (not `pulumi_eks.Cluster`): pulumi-eks is a remote
component whose children are invisible to unit tests and to the offline policy check, and its
EFA/AMI options cannot be combined with a custom launch template, which EFA interfaces need.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog import eks as eks_calendar
from components.catalog.eks import CONTROL_PLANE_LOG_TYPES, support_note
from components.catalog.tags import DISCOVERY_TAG, RESERVATION_PLACEMENT_TAG
from components.catalog.versions import EKS_ADDONS
from components.context import Env, NetworkRef
from components.eks_addons import resolved_addon_version
from components.eks_gpu_cluster import iam
from components.eks_gpu_cluster.access import kubeconfig
from components.eks_gpu_cluster.args import GpuClusterArgs, GpuNodeGroupArgs
from components.eks_gpu_cluster.node_config import (
    autoscaler_tags,
    efa_interfaces,
    instance_tags,
    node_group_prefix,
    node_labels,
    node_taints,
    user_data,
)
from components.iam_documents import service_trust


def metadata_options(hop_limit: int) -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only, tags not exposed; `hop_limit` 1 keeps the service from pods on the pod network."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=hop_limit,
        instance_metadata_tags="disabled")


def node_role(name: str, *, env: Env, addons: Sequence[str], parent: pulumi.Resource) -> aws.iam.Role:
    """A role EC2 nodes assume, with the base node policies and the eksctl-style add-on policies `addons` names
    (logical names `<name>` and `<name>-<policy name>`): the managed node groups' and Karpenter's nodes' alike."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(name, assume_role_policy=service_trust("ec2.amazonaws.com"), opts=child)
    extra = [iam.NODE_ADDON_POLICIES[a] for a in addons if a in iam.NODE_ADDON_POLICIES]
    for policy in [*iam.NODE_BASE_POLICIES, *extra]:
        aws.iam.RolePolicyAttachment(f"{name}-{policy.rsplit('/', 1)[-1]}", role=role.name,
                                     policy_arn=env.managed_policy(policy), opts=child)
    return role


class GpuCluster(pulumi.ComponentResource):
    """EKS cluster for distributed training on EFA-capable GPU instances."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    efa_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    node_group_names: dict[str, pulumi.Output[str]]
    static_name: str
    kubernetes_version: str
    #: Trainium groups exist (they need the Neuron device plugin).
    has_neuron_groups: bool
    system_node_group: aws.eks.NodeGroup
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: GpuClusterArgs, *, env: Env, network: NetworkRef,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:eks_gpu_cluster:GpuCluster", name, None,
                         env.component_options(opts, former_types=("mlplat:eks:GpuCluster",)))
        self._network_ready = list(network.ready)
        self._name = name
        self._args = args
        self._env = env
        self.kubernetes_version = args.kubernetes_version
        self.has_neuron_groups = any(g.facts.accelerator == "neuron" for g in args.node_groups)
        region, partition, kms_key_arn = env.region, env.partition, env.key_arn
        endpoint_public_access = args.endpoint_public_access
        private_subnet_ids = network.private_subnets
        cluster_name = self.static_name = name

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=kms_key_arn,
            opts=self._opts(),
        )
        cluster_role = aws.iam.Role(
            f"{name}-cluster", assume_role_policy=service_trust("eks.amazonaws.com"), opts=self._opts()
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-cluster-policy",
                role=cluster_role.name,
                policy_arn=self._managed("AmazonEKSClusterPolicy"),
                opts=self._opts(),
            ),
            aws.iam.RolePolicy(
                f"{name}-cluster-kms",
                role=cluster_role.id,
                policy=pulumi.Output.from_input(kms_key_arn).apply(iam.cluster_kms_policy),
                opts=self._opts(),
            ),
        ]
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(private_subnet_ids.values()),
                endpoint_private_access=True,
                endpoint_public_access=endpoint_public_access,
                public_access_cidrs=args.public_access_cidrs if endpoint_public_access else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=kms_key_arn)
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.upgrade_policy),
            bootstrap_self_managed_addons=False,
            opts=self._opts(depends_on=[log_group, *attachments], protect=env.protect),
        )
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.oidc_issuer = cluster.identities[0].oidcs[0].issuer
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=self.oidc_issuer, client_id_lists=["sts.amazonaws.com"], opts=self._opts()
        )
        self.oidc_provider_arn = oidc.arn
        admins = [(f"{name}-admin-{i}", arn) for i, arn in enumerate(args.admin_role_arns)]
        if args.deployer_role_arn and args.deployer_role_arn not in args.admin_role_arns:
            admins.append((f"{name}-deployer", args.deployer_role_arn))
        access: list[pulumi.Resource] = []
        for logical, role_arn in admins:
            entry = aws.eks.AccessEntry(
                logical, cluster_name=cluster.name, principal_arn=role_arn, type="STANDARD", opts=self._opts(),
            )
            access.append(aws.eks.AccessPolicyAssociation(
                logical,
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=pulumi.Output.concat(
                    "arn:", partition, ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
                ),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=self._opts(),
            ))

        vpc_cni = self._addon(cluster, "vpc-cni", depends_on=[])
        self._addon(cluster, "kube-proxy", depends_on=[])
        self._addon(cluster, "eks-pod-identity-agent", depends_on=[])

        self.efa_security_group_id = self._efa_security_group(network.vpc_id)
        if args.deployer_in_vpc:
            # The deployer (and kubectl) reach the private endpoint from inside the VPC or a connected network:
            # HTTPS to the control plane from the VPC CIDR and from each declared range.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-vpc", security_group_id=self.cluster_security_group_id,
                cidr_ipv4=network.vpc_cidr, ip_protocol="tcp", from_port=443, to_port=443,
                description="Kubernetes API from inside the VPC (deployerInVpc)", opts=self._opts())
            for cidr in args.deployer_cidrs:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-api-from-{cidr.replace('/', '-')}", security_group_id=self.cluster_security_group_id,
                    cidr_ipv4=cidr, ip_protocol="tcp", from_port=443, to_port=443,
                    description="Kubernetes API from a connected network (deployerCidrs)", opts=self._opts())
        node_role = self._node_role()
        self.node_role_arn = node_role.arn
        system = self._system_node_group(cluster, node_role, private_subnet_ids, vpc_cni)
        self.system_node_group = system
        self._addon(cluster, "coredns", depends_on=[system])
        if "eks-node-monitoring-agent" in EKS_ADDONS[args.kubernetes_version]:
            # Reports GPU (XID, DCGM), kernel, network and storage faults as node conditions that node auto repair
            # acts on (EKS user guide, node health); without it repair sees only the kubelet's conditions.
            self._addon(cluster, "eks-node-monitoring-agent", depends_on=[system])
        note = support_note(args.kubernetes_version, eks_calendar.today())
        if note:
            pulumi.log.warn(f"{name}: {note}", resource=self)
        self.node_group_names = {}
        for group in args.managed_groups:
            ng = self._gpu_node_group(group, cluster, node_role, network.subnet_in(group.availability_zone), vpc_cni)
            self.node_group_names[group.name] = ng.node_group_name

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda a: json.dumps(kubeconfig(a[0], a[1], a[2], region, args.deployer_role_arn))
            )
        )
        # Server-side apply lets the operators and jobs share objects with other field managers.
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True,
            delete_unreachable=args.delete_unreachable,
            # The deployer role's access entry first: its token is refused until the entry and policy exist.
            opts=self._opts(depends_on=access)
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "clusterArn": self.cluster_arn,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc_provider_arn,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "efaSecurityGroupId": self.efa_security_group_id,
                "nodeRoleArn": self.node_role_arn,
                "nodeGroupNames": self.node_group_names,
            }
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _managed(self, path: str) -> pulumi.Output[str]:
        return self._env.managed_policy(path)

    def _addon(self, cluster: aws.eks.Cluster, addon: str, depends_on: list) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=resolved_addon_version(self._args.kubernetes_version, addon, self),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=self._opts(depends_on=depends_on),
        )

    def _efa_security_group(self, vpc_id: pulumi.Input[str]) -> pulumi.Output[str]:
        """All traffic between EFA interfaces, both directions (eksctl EFAIngressSelf / EFAEgressSelf)."""
        sg = aws.ec2.SecurityGroup(
            f"{self._name}-efa",
            vpc_id=vpc_id,
            description="EFA traffic between GPU nodes (self-referencing)",
            # Karpenter's EFA pools select this group by the tag (EC2NodeClass securityGroupSelectorTerms).
            tags={"Name": f"{self._name}-efa", DISCOVERY_TAG: f"{self._name}-efa"},
            opts=self._opts(),
        )
        for direction, rule, peer in (("ingress", aws.vpc.SecurityGroupIngressRule, "from"),
                                      ("egress", aws.vpc.SecurityGroupEgressRule, "to")):
            rule(f"{self._name}-efa-{direction}-self", security_group_id=sg.id, referenced_security_group_id=sg.id,
                 ip_protocol="-1", description=f"EFA: all traffic {peer} members", opts=self._opts())
        return sg.id

    def _node_role(self) -> aws.iam.Role:
        name = self._name
        role = node_role(f"{name}-node", env=self._env, addons=self._args.node_role_addons, parent=self)
        if "autoScaler" in self._args.node_role_addons:
            aws.iam.RolePolicy(
                f"{name}-node-autoscaler",
                role=role.id,
                policy=self._env.arn("eks", f"nodegroup/{self.static_name}/*/*").apply(
                    lambda arn: iam.autoscaler_policy(self.static_name, arn)),
                opts=self._opts(),
            )
        return role

    def _system_node_group(
        self,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        subnets: dict[str, pulumi.Input[str]],
        vpc_cni: aws.eks.Addon,
    ) -> aws.eks.NodeGroup:
        name, sys_args = self._name, self._args.system_node_group
        lt = aws.ec2.LaunchTemplate(
            f"{name}-system",
            metadata_options=metadata_options(self._args.imds_hop_limit),
            block_device_mappings=[_root_volume(sys_args.volume_size_gib)],
            vpc_security_group_ids=[cluster.vpc_config.cluster_security_group_id],
            tag_specifications=instance_tags(f"{name}-system", self._env.tags),
            update_default_version=True,
            opts=self._opts(),
        )
        return aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=list(subnets.values()),
            instance_types=[sys_args.instance_type],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=sys_args.min_size, desired_size=sys_args.desired_size, max_size=sys_args.max_size
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, version=lt.latest_version.apply(str)),
            labels={"mlplat.io/node-group": "system"},
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            opts=self._opts(depends_on=[vpc_cni, *self._network_ready], ignore_changes=["scalingConfig.desiredSize"]),
        )

    def _gpu_node_group(
        self,
        group: GpuNodeGroupArgs,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        subnet_id: pulumi.Input[str],
        vpc_cni: aws.eks.Addon,
    ) -> aws.eks.NodeGroup:
        name = f"{self._name}-{group.name}"
        facts = group.facts
        security_groups = [cluster.vpc_config.cluster_security_group_id, self.efa_security_group_id]
        placement = None
        if group.reservation_placement_group:
            # A reservation made in a cluster placement group launches only with that group named.
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=group.reservation_placement_group)
        elif group.efa_enabled and not group.reserved:
            pg = aws.ec2.PlacementGroup(f"{name}-pg", strategy="cluster", opts=self._opts())
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=pg.name)
        lt = aws.ec2.LaunchTemplate(
            name,
            instance_type=group.instance_type,
            metadata_options=metadata_options(self._args.imds_hop_limit),
            block_device_mappings=[_root_volume(group.volume_size_gib)],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(**ni) for ni in efa_interfaces(facts, security_groups)
            ]
            if group.efa_enabled
            else None,
            vpc_security_group_ids=None if group.efa_enabled else [cluster.vpc_config.cluster_security_group_id],
            placement=placement,
            capacity_reservation_specification=aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
                capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                    capacity_reservation_id=group.capacity_reservation_id
                )
            )
            if group.reserved
            else None,
            instance_market_options=aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block")
            if group.capacity_type == "CAPACITY_BLOCK"
            else None,
            user_data=user_data(group),
            tag_specifications=instance_tags(name, self._env.tags),
            tags={RESERVATION_PLACEMENT_TAG: group.reservation_placement_group}
            if group.reservation_placement_group else None,
            update_default_version=True,
            opts=self._opts(),
        )
        ng = aws.eks.NodeGroup(
            name,
            cluster_name=cluster.name,
            # A generated name: subnets, capacity type, AMI type, node role and launch template force a new node
            # group (terraform-provider-aws node_group.go, ForceNew), and Pulumi creates the replacement first; a
            # fixed name would collide with the group being replaced (ResourceInUseException).
            node_group_name_prefix=node_group_prefix(name),
            node_role_arn=node_role.arn,
            subnet_ids=[subnet_id],
            ami_type=group.resolved_ami_type,
            capacity_type=group.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, version=lt.latest_version.apply(str)),
            labels=node_labels(group),
            taints=[aws.eks.NodeGroupTaintArgs(**t) for t in node_taints(group)],
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            # EKS replaces or reboots a node whose conditions stay unhealthy (GPU faults after 10 minutes).
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=group.auto_repair),
            opts=self._opts(depends_on=[vpc_cni, *self._network_ready], ignore_changes=["scalingConfig.desiredSize"]),
        )
        asg_name = ng.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for key, value in sorted(autoscaler_tags(group).items()):
            # Named after the tag key so that adding a label does not rename the others.
            aws.autoscaling.Tag(
                f"{name}-ca-{hashlib.sha256(key.encode()).hexdigest()[:8]}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=self._opts(),
            )
        return ng


def _root_volume(size_gib: int) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name="/dev/xvda",
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gib, volume_type="gp3", iops=3000, throughput=250, encrypted="true",
            delete_on_termination="true",
        ),
    )
