"""Inputs of the GPU cluster: what a user writes under `ml-platform:gpuCluster`."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from components.base import FieldProblems, LogRetentionDays, StrictModel, UniqueByName, one_of, problem
from components.catalog.instance_types import ACCELERATED_TYPES, INSTANCE_TYPES, SYSTEM_TYPES, lookup
from components.catalog.versions import KUBERNETES_VERSIONS
from components.cluster_operators.args import OperatorsArgs
from components.karpenter.args import KarpenterPoolArgs
from components.shared_storage.args import SharedStorageArgs
from components.training_job.args import IMAGE_RE

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
#: Who launches a GPU group's nodes: an EKS managed node group (scaled by cluster-autoscaler), or a Karpenter NodePool.
Provisioner = Literal["node-groups", "karpenter"]
NODE_ROLE_ADDONS = ("cloudWatch", "ebs", "fsx", "autoScaler")
LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"


class Taint(StrictModel):
    key: str = Field(pattern=LABEL_KEY, description="Taint key.")
    value: str = Field(default="", pattern=LABEL_VALUE, description="Taint value.")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(description="Taint effect.")


class SystemNodeGroupArgs(StrictModel):
    """The managed node group for cluster add-ons and operators (no GPUs)."""

    instance_type: Annotated[str, one_of(SYSTEM_TYPES)] = Field(
        default="c5.2xlarge", description="Instance type of system nodes."
    )
    min_size: int = Field(default=2, ge=1, le=100, description="Minimum nodes.")
    desired_size: int = Field(default=2, ge=1, le=100, description="Desired nodes.")
    max_size: int = Field(default=4, ge=1, le=100, description="Maximum nodes.")
    volume_size_gib: int = Field(
        default=100, alias="volumeSizeGiB", ge=20, le=16384, description="Root gp3 volume size in GiB."
    )

    @model_validator(mode="after")
    def _sizes(self) -> SystemNodeGroupArgs:
        _check_sizes(self.min_size, self.desired_size, self.max_size)
        return self


def _check_sizes(min_size: int, desired: int, max_size: int) -> None:
    if min_size > max_size:
        raise problem("minSize", f"expected at most maxSize ({max_size}); found {min_size}")
    if not min_size <= desired <= max_size:
        raise problem("desiredSize", f"expected a value within [minSize, maxSize] = [{min_size}, {max_size}]; "
                                     f"found {desired}")


class GpuNodeGroupArgs(StrictModel):
    """One GPU (or Trainium) node group, pinned to a single AZ for EFA."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$", description="Node group name (DNS label, max 31).")
    preflight_image: str | None = Field(
        default=None, description="An image with torch, NCCL and the aws-ofi-nccl plugin (your training image): adds a "
                                  "suspended NCCL all-reduce preflight job for this EFA group, to start before a "
                                  "long job.")
    auto_repair: bool = Field(default=True, description="EKS node auto repair: a node whose GPU, kernel, network "
                                                         "or storage conditions stay unhealthy is replaced or "
                                                         "rebooted (node health guide).")
    instance_type: Annotated[str, one_of(ACCELERATED_TYPES, "one of the supported accelerated types:")] = Field(
        description="Accelerated instance type, e.g. p5.48xlarge."
    )
    availability_zone: str = Field(description="The one AZ of the group (its private subnet is used).")
    min_size: int = Field(default=0, ge=0, le=1000, description="Minimum nodes (0 lets the group scale to zero).")
    desired_size: int = Field(default=0, ge=0, le=1000, description="Desired nodes at creation.")
    max_size: int = Field(ge=1, le=1000, description="Maximum nodes.")
    volume_size_gib: int = Field(
        default=500, alias="volumeSizeGiB", ge=20, le=16384, description="Root gp3 volume size in GiB."
    )
    capacity_reservation_id: str | None = Field(
        default=None, pattern=r"^cr-[0-9a-f]{17}$",
        description="On-demand capacity reservation or capacity block id (cr- and 17 hexadecimal digits)."
    )
    reservation_placement_group: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9._-]{1,255}$",
        description="The cluster placement group the capacity reservation was created in, if any: its instances must "
                    "be launched with that group named (EC2 user guide, capacity reservations in cluster placement "
                    "groups). The group lives in the reservation's AZ, which must be this group's availabilityZone."
    )
    capacity_type: Literal["ON_DEMAND", "CAPACITY_BLOCK"] = Field(
        default="ON_DEMAND", description="ON_DEMAND, or CAPACITY_BLOCK for an EC2 capacity block for ML."
    )
    efa: bool | None = Field(default=None, description="Attach EFA interfaces (default: true where the type has EFA).")
    ami_type: Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "AL2023_x86_64_NEURON"] | None = Field(
        default=None, description="EKS AMI type (default: AL2023 NVIDIA, or AL2023 Neuron for Trainium)."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Extra Kubernetes node labels.")
    taints: list[Taint] = Field(default_factory=list, description="Extra taints (the GPU taint is always added).")
    provisioner: Provisioner | None = Field(
        default=None, description="node-groups or karpenter for this group (default: gpuCluster.provisioner).")
    karpenter: KarpenterPoolArgs | None = Field(
        default=None, description="NodePool settings when Karpenter provisions this group (defaults otherwise).")

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for k, v in value.items():
            if not re.match(LABEL_KEY, k) or not re.match(LABEL_VALUE, v):
                raise ValueError(f"expected Kubernetes label keys/values; found {k}={v}")
        return value

    @field_validator("preflight_image")
    @classmethod
    def _preflight_image(cls, value: str | None) -> str | None:
        if value is not None and not IMAGE_RE.match(value):
            raise ValueError("expected an image reference with a registry and a pinned tag or digest")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GpuNodeGroupArgs:
        _check_sizes(self.min_size, self.desired_size, self.max_size)
        facts = lookup(self.instance_type)
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.efa and not facts.efa_supported:
            efa_types = [t.name for t in INSTANCE_TYPES.values() if t.efa_supported]
            problems.append((("efa",), f"{self.instance_type} has no EFA support: expected efa: false, or one of "
                                       f"{', '.join(efa_types)} as instanceType; found true"))
        if self.capacity_type == "CAPACITY_BLOCK" and not self.capacity_reservation_id:
            problems.append((("capacityReservationId",), "capacityType CAPACITY_BLOCK expects the capacity block's "
                                                         "cr- id; found none"))
        if self.preflight_image and not (self.efa is not False and facts.efa_supported):
            problems.append((("preflightImage",), "the NCCL preflight measures EFA: expected an EFA node group; "
                                                  f"found {self.instance_type} without EFA"))
        if self.reservation_placement_group and not self.capacity_reservation_id:
            problems.append((("reservationPlacementGroup",), "expected capacityReservationId too: only a reservation "
                                                             "created in a placement group names one; found none"))
        if facts.accelerator == "neuron" and self.ami_type not in (None, "AL2023_x86_64_NEURON"):
            problems.append((("amiType",), f"{self.instance_type} is a Trainium type: expected AL2023_x86_64_NEURON; "
                                           f"found {self.ami_type}"))
        pool = self.karpenter
        if pool and self.capacity_type == "CAPACITY_BLOCK" and pool.expire_after != "Never":
            problems.append((("karpenter", "expireAfter"), "a capacity block's nodes end with the block (Karpenter "
                                                           "drains them 10 minutes before EC2 reclaims them): "
                                                           f"expected Never; found {pool.expire_after}"))
        if pool and pool.on_demand_fallback and not self.capacity_reservation_id:
            problems.append((("karpenter", "onDemandFallback"), "falls back from a reservation to on-demand: "
                                                                "expected capacityReservationId too; found none"))
        if facts.accelerator == "nvidia" and self.ami_type == "AL2023_x86_64_NEURON":
            problems.append((("amiType",), f"{self.instance_type} has NVIDIA GPUs: expected an NVIDIA AMI type; "
                                           f"found {self.ami_type}"))
        if problems:
            raise FieldProblems(problems)
        return self

    @property
    def facts(self):
        return lookup(self.instance_type)

    @property
    def efa_enabled(self) -> bool:
        return self.facts.efa_supported if self.efa is None else self.efa

    @property
    def resolved_ami_type(self) -> str:
        if self.ami_type:
            return self.ami_type
        return "AL2023_x86_64_NEURON" if self.facts.accelerator == "neuron" else "AL2023_x86_64_NVIDIA"

    @property
    def pool(self) -> KarpenterPoolArgs:
        """The Karpenter settings (defaults where the group gives none)."""
        return self.karpenter or KarpenterPoolArgs()

    @property
    def reserved(self) -> bool:
        """Targets an ODCR or capacity block: a placement group would keep reserved instances from launching."""
        return self.capacity_reservation_id is not None


class GpuClusterArgs(StrictModel):
    """`ml-platform:gpuCluster`."""

    enabled: bool = Field(default=False, description="Create the EKS GPU cluster.")
    kubernetes_version: Literal[KUBERNETES_VERSIONS] = Field(  # type: ignore[valid-type]
        default=KUBERNETES_VERSIONS[-1], description="Kubernetes version of the control plane and nodes."
    )
    admin_role_arns: list[str] = Field(
        default_factory=list, description="IAM roles given cluster-admin through EKS access entries."
    )
    deployer_role_arn: str | None = Field(
        default=None,
        description="The IAM role every deployer (people and CI) assumes to reach the Kubernetes API: the kubeconfig "
                    "runs `aws eks get-token --role-arn <it>` and the role gets a cluster-admin access entry, so a "
                    "stack one person created can be previewed and updated by CI and by others. Unset: each "
                    "deployer's own credentials, which need an entry in adminRoleArns unless they created the cluster.",
    )
    endpoint_public_access: bool = Field(
        default=False, description="Expose the API endpoint publicly (per environment: on in dev only)."
    )
    public_access_cidrs: list[str] = Field(
        default_factory=list, description="CIDRs allowed to reach a public endpoint (required when it is public; "
                                          "never 0.0.0.0/0): your deployers' and engineers' egress ranges."
    )
    deployer_in_vpc: bool = Field(
        default=False, description="`pulumi up` runs inside the VPC (or a connected network): a private-only "
                                   "endpoint is then reachable, and the cluster security group admits HTTPS from "
                                   "the VPC CIDR and from deployerCidrs."
    )
    deployer_cidrs: list[str] = Field(
        default_factory=list, description="With deployerInVpc: the ranges of a connected network (VPN, Direct "
                                          "Connect, peered VPC) the deployer and kubectl come from; each gets HTTPS "
                                          "to the private endpoint."
    )
    upgrade_policy: Literal["STANDARD", "EXTENDED"] = Field(
        default="STANDARD", description="At the end of standard support: STANDARD lets EKS upgrade the control "
                                        "plane (no extended-support charge); EXTENDED keeps the version for 12 more "
                                        "months at $0.60/h instead of $0.10 (EKS upgradePolicy.supportType)."
    )
    system_node_group: SystemNodeGroupArgs = Field(
        default_factory=SystemNodeGroupArgs, description="Node group for add-ons and operators."
    )
    provisioner: Provisioner = Field(
        default="node-groups", description="Who launches GPU nodes: node-groups (EKS managed node groups and "
                                           "cluster-autoscaler) or karpenter (the Karpenter controller and one "
                                           "NodePool per group); a group's own provisioner overrides it.")
    node_groups: Annotated[list[GpuNodeGroupArgs], UniqueByName] = Field(
        default_factory=list, description="GPU node groups (with Karpenter: one NodePool each)."
    )
    node_role_addons: list[Literal[NODE_ROLE_ADDONS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="eksctl-style add-on policies on the node role (cloudWatch, ebs, fsx, autoScaler). None by "
                    "default: the operators get their permissions through EKS Pod Identity, and a policy on the "
                    "node role is one every pod on the node can use through the instance profile.",
    )
    log_retention_days: LogRetentionDays = Field(
        default=90, description="Retention of the control-plane log group (per environment: 30, 90, 365 days)."
    )
    delete_unreachable: bool = Field(
        default=False, description="When the cluster's API cannot be reached, `pulumi refresh`/`destroy` drop its "
                                   "Kubernetes objects from the state instead of failing (pulumi-kubernetes "
                                   "`deleteUnreachable`; per environment: on in dev and staging, off in prod)."
    )
    operators: OperatorsArgs = Field(default_factory=OperatorsArgs, description="Operators installed on the cluster.")
    shared_storage: SharedStorageArgs = Field(
        default_factory=SharedStorageArgs, description="FSx for Lustre for the training jobs (checkpoints, data)."
    )

    @property
    def imds_hop_limit(self) -> int:
        """Instance metadata hop limit of every node group: 1, so pods on the pod network cannot reach IMDS and
        borrow the node role (EKS best practices, IAM: `--http-put-response-hop-limit 1`).

        No add-on here needs IMDS from the pod network: the CloudWatch agent and Fluent Bit of
        amazon-cloudwatch-observability run on the host network (chart 6.4.0 templates: hostNetwork true), one hop;
        the EBS CSI node plugin falls back to Kubernetes metadata (aws-ebs-csi-driver docs/install.md,
        `node.metadataSources`); the FSx CSI driver is given its region (`controller.region`, `node.region`) and
        falls back to the Kubernetes API (pkg/cloud/metadata.go); cluster-autoscaler gets its region from the
        chart's awsRegion; all of them get credentials from Pod Identity (169.254.170.23, not IMDS).
        """
        return 1

    def provisioner_of(self, group: GpuNodeGroupArgs) -> str:
        return group.provisioner or self.provisioner

    @property
    def karpenter_groups(self) -> list[GpuNodeGroupArgs]:
        return [g for g in self.node_groups if self.provisioner_of(g) == "karpenter"]

    @property
    def uses_karpenter(self) -> bool:
        """The controller is installed: the cluster's default provisioner is Karpenter, or a group's is (a cluster
        moving over keeps its groups on node groups while the controller comes up: docs/karpenter.md)."""
        return self.provisioner == "karpenter" or bool(self.karpenter_groups)

    @property
    def managed_groups(self) -> list[GpuNodeGroupArgs]:
        return [g for g in self.node_groups if self.provisioner_of(g) == "node-groups"]

    @model_validator(mode="after")
    def _provisioners(self) -> GpuClusterArgs:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for i, group in enumerate(self.node_groups):
            loc = ("nodeGroups", i)
            if self.provisioner_of(group) == "node-groups":
                if group.karpenter is not None:
                    problems.append(((*loc, "karpenter"), "only a Karpenter NodePool reads it: expected provisioner: "
                                                          "karpenter (here or gpuCluster.provisioner), or no karpenter "
                                                          "block; found provisioner node-groups"))
                continue
            if group.resolved_ami_type.startswith("BOTTLEROCKET"):
                problems.append(((*loc, "amiType"), "Karpenter pools run the pinned AL2023 AMI release (NVIDIA or "
                                                    "Neuron variant by instance type): expected an AL2023 amiType; "
                                                    f"found {group.ami_type}"))
            for key, value in (("minSize", group.min_size), ("desiredSize", group.desired_size)):
                if value:
                    problems.append(((*loc, key), "Karpenter launches nodes for pending pods and keeps none idle: "
                                                  f"expected 0 (maxSize is the pool's limit); found {value}"))
        if problems:
            raise FieldProblems(problems)
        return self

    @field_validator("admin_role_arns", "deployer_role_arn")
    @classmethod
    def _arns(cls, value: list[str] | str | None) -> list[str] | str | None:
        arns = [value] if isinstance(value, str) else value or []
        bad = [a for a in arns if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$", a)]
        if bad:
            raise ValueError(f"expected IAM role ARNs (arn:aws:iam::<account>:role/<name>); found {', '.join(bad)}")
        return value

    @field_validator("public_access_cidrs", "deployer_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.IPv4Network(cidr)
            except ValueError:
                raise ValueError(f"expected IPv4 CIDRs; found {cidr!r}") from None
            if network.prefixlen == 0:
                raise ValueError(f"expected the deployers' own CIDRs, never the whole internet; found {cidr!r}")
        return value
