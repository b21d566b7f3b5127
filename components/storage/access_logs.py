"""Where the environment's buckets deliver their S3 server access logs: a `SecureBucket` of its own.

Never logged itself (that would log its own log deliveries, forever). Encrypted with SSE-S3: the S3
User Guide ("Enabling Amazon S3 server access logging") documents SSE-S3 on the destination bucket;
SSE-KMS would need the platform key to trust the logging service as well, so the policy pack accepts
SSE-S3 on a bucket only when it is a server access log destination. Only the logging service may
write, only for source buckets of this account named for this environment (`aws:SourceAccount`,
`aws:SourceArn`), as the same guide's bucket-policy example does.
"""

from __future__ import annotations

import pulumi

from components.context import Env
from components.storage.args import BucketArgs, LifecycleRule
from components.storage.component import SecureBucket


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


def access_log_bucket(name: str, *, env: Env, source_prefix: str,
                      opts: pulumi.ResourceOptions | None = None) -> SecureBucket:
    """`<name>-<account>`; `source_prefix`: the names of the buckets that may log here start with it."""
    statements = pulumi.Output.all(env.partition, env.account_id).apply(lambda a: [log_delivery_statement(
        f"arn:{a[0]}:s3:::{name}-{a[1]}", a[1], f"arn:{a[0]}:s3:::{source_prefix}*")])
    args = BucketArgs(access_log_destination=True,
                      lifecycle=(LifecycleRule(id="expire-access-logs", expire_days=env.log_retention_days),))
    return SecureBucket(name, args, env=env, bucket_name=pulumi.Output.concat(name, "-", env.account_id),
                        policy_statements=statements, opts=opts)
