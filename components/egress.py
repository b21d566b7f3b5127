"""Security-group egress that VPC-attached SageMaker models and Bedrock jobs need.

With a VPC config, SageMaker downloads model artifacts and writes data capture, and Bedrock reads
training data and writes output, *through your subnets*. S3 is reached through the gateway endpoint,
whose traffic is addressed to S3's public ranges: those are the region's AWS-managed prefix list
`com.amazonaws.<region>.s3` (VPC user guide, "AWS-managed prefix lists"), looked up, never hard-coded.
Interface endpoints (ECR, STS, logs, SageMaker runtime) sit inside the VPC CIDR. A network without them
(`network.interfaceEndpoints: []`, dev's economy) reaches those APIs through the NAT gateway, at their public
addresses: then HTTPS to anywhere is allowed too, and the plan says so in the rule's description.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import Env, NetworkRef


def https_to_vpc_and_s3(env: Env, network: NetworkRef, parent: pulumi.Resource, *,
                        dynamodb: bool = False) -> list:
    """Egress rules: HTTPS to the VPC (interface endpoints) and to S3 (the region's managed prefix list); with
    `dynamodb`, to DynamoDB's prefix list too (its gateway endpoint)."""
    def prefix_list(service: str) -> pulumi.Output[str]:
        return aws.ec2.get_managed_prefix_list_output(name=f"com.amazonaws.{env.region}.{service}",
                                                      opts=pulumi.InvokeOutputOptions(parent=parent)).id

    rules = [
        aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=[network.vpc_cidr],
                                        description="VPC interface endpoints"),
        aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443,
                                        prefix_list_ids=[prefix_list("s3")],
                                        description="S3 through the gateway endpoint (model artifacts, data)"),
    ]
    if dynamodb:
        rules.append(aws.ec2.SecurityGroupEgressArgs(
            protocol="tcp", from_port=443, to_port=443, prefix_list_ids=[prefix_list("dynamodb")],
            description="DynamoDB through the gateway endpoint"))
    if not network.interface_endpoints:
        rules.append(aws.ec2.SecurityGroupEgressArgs(
            protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
            description="AWS APIs (ECR, STS, logs) through the NAT gateway: no interface endpoints in this VPC"))
    return rules
