"""IAM for the cluster: policy documents as dicts (pure) and the managed-policy ARNs nodes need."""

from __future__ import annotations

import json


def cluster_kms_policy(key_arn: str) -> str:
    """What the cluster role needs for envelope encryption of Secrets with the environment key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                }
            ],
        }
    )


#: Managed policies every EKS node needs (AWS managed, `arn:<partition>:iam::aws:policy/<path>`).
NODE_BASE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
#: eksctl `iam.withAddonPolicies` equivalents.
NODE_ADDON_POLICIES = {
    "cloudWatch": "CloudWatchAgentServerPolicy",
    "ebs": "service-role/AmazonEBSCSIDriverPolicy",
    "fsx": "AmazonFSxFullAccess",
}


def autoscaler_policy(cluster_name: str, nodegroups_arn: str) -> str:
    """cluster-autoscaler permissions; writes only on ASGs tagged as owned by this cluster.

    `nodegroups_arn`: this cluster's node groups, `arn:<partition>:eks:<region>:<account>:nodegroup/<cluster>/*/*`
    (the Service Authorization Reference's nodegroup ARN format; parliament checks it in the IAM tests).
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Describe",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    "Resource": "*",
                },
                {"Sid": "DescribeOwnNodegroups", "Effect": "Allow", "Action": "eks:DescribeNodegroup",
                 "Resource": nodegroups_arn},
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )
