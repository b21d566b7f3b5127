"""Which version of an EKS managed add-on a cluster gets.

A version pinned in the catalog and confirmed against `describe-addon-versions` is used as is. One that is not
confirmed (catalog/versions.py UNCONFIRMED_ADDONS) may not exist for the cluster's Kubernetes version, and a version
that does not exist fails `pulumi up` (CreateAddon: InvalidParameterException). Those are resolved at deploy time with
the provider's look-up (`aws.eks.getAddonVersion`: the add-on's default version for that Kubernetes version, as
terraform-provider-aws `data_source_addon_version.go` reads it from DescribeAddonVersions); the offline engine
answers the look-up with the pin. vpc-cni keeps its floor: efa-only interfaces need v1.18.5 or later.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.catalog.versions import UNCONFIRMED_ADDONS, VPC_CNI_MIN_FOR_EFA_ONLY, addon_version, parse_addon_version


def _at_least_floor(addon: str, version: str) -> str:
    if addon == "vpc-cni" and parse_addon_version(version) < VPC_CNI_MIN_FOR_EFA_ONLY:
        floor = ".".join(map(str, VPC_CNI_MIN_FOR_EFA_ONLY))
        raise ValueError(f"vpc-cni {version} is the default for this cluster, below v{floor}, the first that attaches "
                         "efa-only interfaces: pin a newer vpc-cni in components/catalog/data/eks_addons.json")
    return version


def resolved_addon_version(kubernetes_version: str, addon: str, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The pinned version, or (unconfirmed pin) the API's default for the cluster's Kubernetes version."""
    if (kubernetes_version, addon) not in UNCONFIRMED_ADDONS:
        return addon_version(kubernetes_version, addon)
    found = aws.eks.get_addon_version_output(addon_name=addon, kubernetes_version=kubernetes_version,
                                             opts=pulumi.InvokeOutputOptions(parent=parent))
    return found.version.apply(lambda v: _at_least_floor(addon, v))
