"""`AccessLogBucket`: where the environment's buckets deliver their S3 server access logs.

A bucket of its own, never logged itself (that would log its own log deliveries, forever). Encrypted
with SSE-S3: the S3 User Guide ("Enabling Amazon S3 server access logging") documents SSE-S3 on the
destination bucket; SSE-KMS would need the platform key to trust the logging service as well, so the
policy pack accepts SSE-S3 on a bucket only when it is a server access log destination. Only the
logging service may write, only for source buckets of this account named for this environment
(`aws:SourceAccount`, `aws:SourceArn`), as the same guide's bucket-policy example does.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import Env
from components.storage.component import tls_only_policy


def log_delivery_statement(bucket_arn: str, account_id: str, source_buckets_arn: str) -> dict:
    return {
        "Sid": "S3ServerAccessLogsPolicy",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"ArnLike": {"aws:SourceArn": source_buckets_arn},
                      "StringEquals": {"aws:SourceAccount": account_id}},
    }


class AccessLogBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, *, env: Env, source_prefix: str, opts: pulumi.ResourceOptions | None = None) -> None:
        """`source_prefix`: the names of the buckets that may log here start with it (e.g. `mlplat-prod-`)."""
        super().__init__("mlplat:storage:AccessLogBucket", name, None, env.component_options(opts))
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(name, bucket=pulumi.Output.concat(name, "-", env.account_id),
                               opts=pulumi.ResourceOptions(parent=self, protect=env.protect))
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(  # noqa: E501
                    sse_algorithm="AES256"))],
            opts=child)
        pab = aws.s3.BucketPublicAccessBlock(f"{name}-pab", bucket=bucket.id, block_public_acls=True,
                                             block_public_policy=True, ignore_public_acls=True,
                                             restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=env.log_retention_days))],
            opts=child)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, env.account_id, env.partition).apply(
                lambda a: tls_only_policy(a[0], (log_delivery_statement(
                    a[0], a[1], f"arn:{a[2]}:s3:::{source_prefix}*"),))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pab]))
        self.bucket_name, self.bucket_arn = bucket.bucket, bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})


