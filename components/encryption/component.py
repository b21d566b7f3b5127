"""The environment's customer-managed KMS key: rotated, with a key policy the platform's services can use.

Account principals get access through IAM (the root statement), so every role the platform
creates must still be granted `kms:*` actions on this key by its own policy. Services that write
with their own principal (CloudWatch Logs) get a statement scoped by encryption context.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.context import Env
from components.encryption.args import EncryptionArgs


def _service_use(sid: str, service: str, actions: list[str], account_id: str) -> dict:
    """`service` may use the key on behalf of this account only (confused-deputy condition)."""
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": actions, "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}


def key_policy(account_id: str, partition: str, region: str, admin_role_arns: list[str]) -> dict:
    """The key policy document as a dict (pure: unit-tested without Pulumi)."""
    root = f"arn:{partition}:iam::{account_id}:root"
    statements: list[dict] = [
        {
            "Sid": "EnableIamPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogs",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:*"}
            },
        },
    ]
    statements.append(
        {
            "Sid": "BedrockLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:bedrock:{region}:{account_id}:*"},
            },
        }
    )
    # CloudWatch alarms publish to the environment's encrypted SNS topics (CloudWatch user guide, alarm actions with
    # an encrypted SNS topic: the key must let cloudwatch.amazonaws.com use it).
    statements.append(_service_use("CloudWatchAlarms", "cloudwatch.amazonaws.com",
                                   ["kms:Decrypt", "kms:GenerateDataKey*"], account_id))
    # EventBridge rules deliver to the environment's encrypted SQS queues (Karpenter's interruption queue): SQS
    # developer guide, key management, "compatibility between event sources from AWS services and encrypted queues".
    statements.append(_service_use("EventBridgeQueues", "events.amazonaws.com",
                                   ["kms:Decrypt", "kms:GenerateDataKey"], account_id))
    # S3 event notifications to encrypted SQS queues (the RAG ingest queue): same guide, the key must let
    # s3.amazonaws.com generate data keys and decrypt.
    statements.append(_service_use("S3EventQueues", "s3.amazonaws.com",
                                   ["kms:Decrypt", "kms:GenerateDataKey"], account_id))
    if admin_role_arns:
        statements.append(
            {
                "Sid": "KeyAdministrators",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(admin_role_arns)},
                "Action": [
                    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                ],
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Id": "ml-platform-key", "Statement": statements}


class PlatformKey(pulumi.ComponentResource):
    """A symmetric KMS key with yearly rotation, and its alias."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionArgs, *, env: Env,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:encryption:PlatformKey", name, None, env.component_options(opts))
        policy = pulumi.Output.all(env.account_id, env.partition).apply(
            lambda ap: json.dumps(key_policy(ap[0], ap[1], env.region, args.admin_role_arns))
        )
        key = aws.kms.Key(
            f"{name}-key",
            description=f"ml-platform {name} data key",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=args.deletion_window_days,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self, protect=env.protect),
        )
        alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{args.alias}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"keyArn": self.key_arn, "keyId": self.key_id, "aliasName": self.alias_name})
