"""IAM roles for Kubernetes service accounts through EKS Pod Identity: one way for every component.

The role trusts `pods.eks.amazonaws.com` for this account and this cluster only (confused-deputy
conditions), names the cluster by the ARN built from its name (known on a first preview, so the policy
pack can read the trust document), and carries its inline policy and managed attachments. The
association binds it to one service account in one namespace.

Logical names: `<name>` (role, inline policy, association), `<name>-<managed policy name>` (attachments).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.context import Env


def pod_identity_trust(account_id: str, cluster_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                          "ArnEquals": {"aws:SourceArn": cluster_arn}},
        }],
    })


def cluster_arn(env: Env, cluster_name: str) -> pulumi.Output[str]:
    """The cluster's ARN built from its (program-chosen) name."""
    return env.arn("eks", f"cluster/{cluster_name}")


def pod_identity_role(name: str, *, env: Env, cluster_name: str, parent: pulumi.Resource,
                      inline: pulumi.Input[str] | None = None, managed: Sequence[str] = ()) -> aws.iam.Role:
    """A role pods of `cluster_name` may assume, with its inline policy and AWS managed policies (paths)."""
    child = pulumi.ResourceOptions(parent=parent)
    trust = pulumi.Output.all(env.account_id, cluster_arn(env, cluster_name)).apply(
        lambda a: pod_identity_trust(a[0], a[1]))
    role = aws.iam.Role(name, assume_role_policy=trust, opts=child)
    for path in managed:
        aws.iam.RolePolicyAttachment(f"{name}-{path.rsplit('/', 1)[-1]}", role=role.name,
                                     policy_arn=env.managed_policy(path), opts=child)
    if inline is not None:
        aws.iam.RolePolicy(name, role=role.id, policy=inline, opts=child)
    return role


def associate(name: str, role: aws.iam.Role, *, cluster_name: pulumi.Input[str], namespace: str,
              service_account: str, parent: pulumi.Resource) -> aws.eks.PodIdentityAssociation:
    """Bind `role` to `namespace/service_account` (the pods' credentials come from the Pod Identity agent)."""
    return aws.eks.PodIdentityAssociation(name, cluster_name=cluster_name, namespace=namespace,
                                          service_account=service_account, role_arn=role.arn,
                                          opts=pulumi.ResourceOptions(parent=parent))
