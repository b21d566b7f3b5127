"""S3 rules: default encryption, public access and server access logging (checkov equivalents named in each)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.rules.base import (
    DOCS,
    S3_BUCKET,
    S3_LOGGING,
    S3_PAB,
    S3_POLICY,
    S3_SSE,
    UNKNOWN,
    Rule,
    dependents_index,
    listify,
    of_type,
    peek,
    referenced,
    statements,
    truthy,
)

LOG_DELIVERY_SERVICE = "logging.s3.amazonaws.com"


def _grants_log_delivery(document: Any) -> bool:
    for statement in statements(document):
        principal = statement.get("Principal")
        services = listify(principal.get("Service")) if isinstance(principal, Mapping) else []
        actions = listify(statement.get("Action"))
        if (statement.get("Effect") == "Allow" and LOG_DELIVERY_SERVICE in services
                and any(a in ("s3:PutObject", "s3:*", "*") for a in actions)):
            return True
    return False


def _sse_algorithms(resources) -> dict[str, set[str]]:
    """Bucket URN -> the default encryption algorithms its encryption configurations set."""
    by_bucket = dependents_index(resources, S3_SSE)
    return {urn: {rule.get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm")
                  for cfg in configs for rule in listify(cfg.props.get("rules"))}
            for urn, configs in by_bucket.items()}


def log_destinations(resources) -> tuple[set[str], set[str]]:
    """URNs of the buckets that receive S3 server access logs, and of those that may (unknown until created).

    A destination is a bucket another bucket's logging targets, or one whose bucket policy lets the logging
    service put objects: S3 delivers server access logs only to a bucket whose policy grants
    `logging.s3.amazonaws.com` s3:PutObject (S3 User Guide, "Enabling Amazon S3 server access logging"), so a
    log bucket that no bucket of this stack logs to yet is still one. On the first preview of a new stack a
    bucket policy that names the bucket's ARN is unknown: an SSE-S3 bucket with such a policy may be a
    destination (a KMS-encrypted one is not: destinations use SSE-S3).
    """
    buckets = of_type(resources, S3_BUCKET)
    found = (referenced(r, "targetBucket", buckets, "bucket") for r in of_type(resources, S3_LOGGING))
    known = {b.urn for b in found if b is not None}
    algorithms = _sse_algorithms(resources)
    maybe: set[str] = set()
    for policy in of_type(resources, S3_POLICY):
        bucket = referenced(policy, "bucket", buckets, "bucket")
        if bucket is None:
            continue
        document = peek(policy.props, "policy")
        if document is UNKNOWN and algorithms.get(bucket.urn) == {"AES256"}:
            maybe.add(bucket.urn)
        elif document is not UNKNOWN and _grants_log_delivery(document):
            known.add(bucket.urn)
    return known, maybe - known


def _s3_encrypted_private(args: StackValidationArgs, report: ReportViolation) -> None:
    algorithms_by_bucket = _sse_algorithms(args.resources)
    pab_by_bucket = dependents_index(args.resources, S3_PAB)
    destinations, maybe = log_destinations(args.resources)
    for bucket in of_type(args.resources, S3_BUCKET):
        algorithms = algorithms_by_bucket.get(bucket.urn, set())
        if bucket.urn in destinations:
            # Server access log delivery is documented for SSE-S3 destinations (S3 User Guide).
            if algorithms != {"AES256"}:
                report("S3 server access log destination must use SSE-S3 (AES256) default encryption", bucket.urn)
        elif bucket.urn not in maybe and not algorithms & {"aws:kms", "aws:kms:dsse"}:
            report("S3 bucket has no default SSE-KMS encryption configuration (CKV_AWS_145)", bucket.urn)
        pabs = pab_by_bucket.get(bucket.urn, [])
        keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        if not any(all(truthy(p.props.get(k)) for k in keys) for p in pabs):
            report("S3 bucket lacks a public access block with all four settings on (CKV2_AWS_6)", bucket.urn)


S3_ENCRYPTED_PRIVATE = Rule(
    "s3-bucket-kms-and-private",
    "S3 buckets are encrypted with KMS by default (server access log destinations: SSE-S3) and block all "
    "public access.",
    severity=Severity.HIGH,
    remediation="Add BucketServerSideEncryptionConfiguration (aws:kms) and BucketPublicAccessBlock (all true).",
    url=f"{DOCS}/AmazonS3/latest/userguide/access-control-block-public-access.html",
).stack(_s3_encrypted_private)


def _s3_access_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    if not args.get_config().get("requireAccessLogging"):
        return
    buckets = of_type(args.resources, S3_BUCKET)
    logging_by_bucket: dict[str, list] = {}
    for r in of_type(args.resources, S3_LOGGING):
        source = referenced(r, "bucket", buckets, "bucket")
        if source is not None:
            logging_by_bucket.setdefault(source.urn, []).append(r)
    destinations, maybe = log_destinations(args.resources)
    for bucket in buckets:
        logging = logging_by_bucket.get(bucket.urn, [])
        if bucket.urn in destinations:
            target = (referenced(r, "targetBucket", buckets, "bucket") for r in logging)
            if any(t is not None and t.urn == bucket.urn for t in target):
                report("S3 server access log destination logs to itself (each delivery would log again)",
                       bucket.urn)
        elif not logging and bucket.urn not in maybe:
            report("S3 bucket has no server access logging (CKV_AWS_18; storage.accessLogging: true)", bucket.urn)


S3_ACCESS_LOGGING = Rule(
    "s3-access-logging",
    "Where required (prod), every bucket delivers S3 server access logs to a log bucket that does not log itself.",
    severity=Severity.MEDIUM,
    remediation="storage.accessLogging: true (SecureBucket then adds a BucketLogging to the environment's log bucket).",
    url=f"{DOCS}/AmazonS3/latest/userguide/ServerLogs.html",
    config={"requireAccessLogging": {"type": "boolean"}},
).stack(_s3_access_logging)
