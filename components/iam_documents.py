"""IAM trust documents, built once (dicts serialized with json.dumps, no get_policy_document invokes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass


def service_trust(service: str, *, account_id: str | None = None, source_arn: str | None = None,
                  actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    """A role trusted by one AWS service; `account_id` / `source_arn` add confused-deputy conditions."""
    statement: dict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}
    condition: dict = {}
    if account_id:
        condition["StringEquals"] = {"aws:SourceAccount": account_id}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


LAMBDA_TRUST = service_trust("lambda.amazonaws.com")


@dataclass(frozen=True)
class Account:
    """Where a policy document applies (plain strings: policy builders run inside `apply`)."""

    region: str
    account_id: str
    partition: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ("bucket", "some/key")."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_arn(partition: str, uri: str, suffix: str = "") -> str:
    """The ARN of an S3 URI (bucket, object or prefix), with `suffix` appended (e.g. "*")."""
    return f"arn:{partition}:s3:::{uri.removeprefix('s3://')}{suffix}"


def policy(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
