"""The region's API Gateway account setting: the CloudWatch role REST stages need for access logs.

It is one setting per account and region: exactly one stack (and one component in it) owns it, the others rely
on it (`liveChat.manageApiGatewayAccount`, `rag.manageApiGatewayAccount`). A stage with access logs fails to
create while the setting has no role.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import Env
from components.iam_documents import service_trust


def api_gateway_account(name: str, env: Env, parent: pulumi.Resource) -> aws.apigateway.Account:
    opts = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-apigw-logs", assume_role_policy=service_trust("apigateway.amazonaws.com"), opts=opts)
    attachment = aws.iam.RolePolicyAttachment(
        f"{name}-apigw-logs", role=role.name,
        policy_arn=env.managed_policy("service-role/AmazonAPIGatewayPushToCloudWatchLogs"), opts=opts)
    # API Gateway checks the role can write logs when the setting is made: the policy must be attached.
    return aws.apigateway.Account(f"{name}-apigw-account", cloudwatch_role_arn=role.arn,
                                  opts=pulumi.ResourceOptions(parent=parent, depends_on=[attachment]))
