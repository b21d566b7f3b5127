"""`SecureBucket`: the one way this platform creates S3 buckets.

SSE-KMS with the environment key (bucket keys on; SSE-S3 for an access-log destination), all public
access blocked, ACLs disabled
(BucketOwnerEnforced), versioning, TLS-only bucket policy, optional lifecycle and CORS rules, and
server access logs to the environment's log bucket when it has one (`Env.access_log_bucket`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import Env
from components.storage.args import BucketArgs, LifecycleRule


def tls_only_policy(bucket_arn: str, extra: tuple = ()) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                *extra,
            ],
        }
    )


class SecureBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs | None = None, *, env: Env,
                 bucket_name: pulumi.Input[str] | None = None,
                 policy_statements: pulumi.Input[Sequence[Any]] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`bucket_name`: a fixed name (default: generated); `policy_statements`: bucket-policy
        statements added to the TLS-only one (dicts, or an Output of them)."""
        super().__init__("mlplat:storage:SecureBucket", name, None, env.component_options(opts))
        args = args or BucketArgs()
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name,
            force_destroy=args.force_destroy,
            opts=pulumi.ResourceOptions(parent=self, protect=env.protect),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(  # noqa: E501
                        sse_algorithm="AES256"
                    ),
                )
                if args.access_log_destination
                else aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(  # noqa: E501
                        sse_algorithm="aws:kms", kms_master_key_id=env.key_arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        pab = aws.s3.BucketPublicAccessBlock(
            f"{name}-pab",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        #: The bucket policy: what a service that validates its access at create time must wait for.
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, policy_statements).apply(
                lambda a: tls_only_policy(a[0], tuple(a[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pab]),
        )
        if env.access_log_bucket is not None and not args.access_log_destination:
            # Each bucket under its own prefix of the environment's log bucket (S3 server access logging).
            aws.s3.BucketLogging(f"{name}-access-logs", bucket=bucket.id, target_bucket=env.access_log_bucket,
                                 target_prefix=f"{name}/", opts=child)
        if args.lifecycle:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle",
                bucket=bucket.id,
                rules=[_lifecycle_rule(r) for r in args.lifecycle],
                opts=child,
            )
        if args.cors:
            aws.s3.BucketCorsConfiguration(
                f"{name}-cors",
                bucket=bucket.id,
                cors_rules=[
                    aws.s3.BucketCorsConfigurationCorsRuleArgs(
                        allowed_methods=list(c.allowed_methods),
                        allowed_origins=list(c.allowed_origins),
                        allowed_headers=list(c.allowed_headers),
                        expose_headers=list(c.expose_headers) or None,
                        max_age_seconds=c.max_age_seconds,
                    )
                    for c in args.cors
                ],
                opts=child,
            )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})


def _lifecycle_rule(rule: LifecycleRule) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule.id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=rule.prefix),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=rule.expire_days)
        if rule.expire_days
        else None,
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=rule.noncurrent_expire_days
        )
        if rule.noncurrent_expire_days
        else None,
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=rule.abort_multipart_days
        ),
    )
