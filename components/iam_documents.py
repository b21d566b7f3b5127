"""IAM trust documents, built once (dicts serialized with json.dumps, no get_policy_document invokes)."""

from __future__ import annotations

import json
from collections.abc import Sequence


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
