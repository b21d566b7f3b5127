"""Every IAM document a plan creates, checked by parliament (IAM actions, ARN formats, condition keys).

parliament ships AWS's Service Authorization Reference as data: which actions exist, which resource ARN
formats each accepts and which condition keys apply to it. It is a judge nobody here wrote, so a policy
that names an action that does not exist, an ARN the action cannot take, or a condition key the action
never carries fails here rather than at run time (where IAM would silently never match it).

Two of parliament's checks are replaced or filtered, each for a stated reason:

* RESOURCE_MISMATCH asks that *every* resource type of an action be covered (an InvokeModel grant on one
  foundation model is reported because it does not also name inference profiles, async invokes, ...),
  and its strict matcher refuses a `:` in the resource id, which real Bedrock model ARNs carry
  (`.../foundation-model/anthropic.claude-3-haiku-20240307-v1:0`). `resource_mismatches` asks the
  question that matters: does each ARN granted match at least one format the action accepts?
* `ACCEPTED` lists the findings that are right for these documents, each with its reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from parliament import analyze_policy_string, expand_action, is_arn_match
from parliament.statement import get_privilege_info

#: Resource types and the input holding an IAM document.
DOCUMENT_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
}


@dataclass(frozen=True)
class Accepted:
    resource_type: str
    issue: str
    detail: str  # a substring of the finding's detail; "" for any
    reason: str


ACCEPTED = (
    Accepted("aws:iam/role:Role", "MALFORMED", "neither Resource nor NotResource",
             "a trust policy names a principal, never a resource (IAM User Guide, role trust policies)"),
    Accepted("aws:kms/key:Key", "RESOURCE_STAR", "",
             "in a key policy `Resource: *` means this key (KMS Developer Guide, key policies)"),
    Accepted("aws:kms/key:Key", "MISMATCHED_TYPE", "ArnLike",
             "CloudWatch Logs' documented key policy matches kms:EncryptionContext:aws:logs:arn with ArnLike "
             "(CloudWatch Logs User Guide, encrypt log data with KMS)"),
    Accepted("aws:kms/key:Key", "UNKNOWN_CONDITION_FOR_ACTION", "kms:EncryptionContext:aws:logs:arn",
             "the same documented CloudWatch Logs statement conditions kms:Describe* on the log group ARN"),
    Accepted("aws:iam/rolePolicy:RolePolicy", "RESOURCE_STAR",
             "'autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'",
             "Auto Scaling group ARNs carry a generated UUID; cluster-autoscaler's AWS README scopes these "
             "writes with the aws:ResourceTag/k8s.io/cluster-autoscaler/<cluster> condition instead"),
    Accepted("aws:iam/rolePolicy:RolePolicy", "RESOURCE_STAR", "'iam:CreateServiceLinkedRole'",
             "conditioned on iam:AWSServiceName (fsx.amazonaws.com and its S3 data source), as the FSx CSI "
             "driver's documented policy does"),
)


def documents(plan: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource type, name, document) for every IAM document whose value the plan knows."""
    found = []
    for resource in plan["resources"]:
        key = DOCUMENT_INPUTS.get(resource["type"])
        text = resource["inputs"].get(key) if key else None
        if isinstance(text, str) and text.lstrip().startswith("{"):
            found.append((resource["type"], resource["name"], json.loads(text)))
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _formats(service: str, action: str) -> list[str]:
    """The ARN formats `service:action` accepts ([] when it takes only Resource '*')."""
    info = get_privilege_info(service, action)
    return [
        re.sub(r"\$\{.*?\}", "*", resource["arn"])
        for wanted in info["resource_types"] if wanted["resource_type"]
        for resource in info["service_resources"]
        if resource["resource"] == wanted["resource_type"].rstrip("*")
    ]


def resource_mismatches(document: dict[str, Any]) -> list[str]:
    """Allow statements whose actions and resources do not fit together.

    Each action must be able to act on at least one resource listed (an action that takes only
    Resource '*' needs '*'), and each resource must be usable by at least one action: a statement
    granting `s3:GetObject` on a bucket ARN (not `bucket/*`) grants nothing and fails here.
    Deny statements and wildcard actions (`s3:*` in a TLS-only deny) are broad on purpose.
    """
    problems = []
    for statement in _listed(document.get("Statement", [])):
        if statement.get("Effect") != "Allow" or "Resource" not in statement or "Action" not in statement:
            continue
        resources = _listed(statement["Resource"])
        actions = [a for a in _listed(statement["Action"]) if "*" not in a]
        used: set[str] = set()
        for name in actions:
            # action names are case-insensitive (IAM User Guide); parliament's data spells them one way
            canonical = next((a for a in expand_action(name, raise_exceptions=False)
                              if f"{a['service']}:{a['action']}".lower() == name.lower()), None)
            if canonical is None:
                continue  # parliament reports it as UNKNOWN_ACTION
            formats = _formats(canonical["service"], canonical["action"])
            fits = [r for r in resources if r == "*" or any(is_arn_match(_kind(f), f, r) for f in formats)]
            if not formats and "*" not in resources:
                problems.append(f"{name} takes only Resource '*', got {resources}")
            elif not fits:
                problems.append(f"{name} can act on none of {resources} (it takes {', '.join(formats)})")
            used.update(fits)
        if actions and len(actions) == len(_listed(statement["Action"])):
            problems += [f"{r} is usable by none of {actions}" for r in resources if r not in used]
    return problems


def _kind(arn_format: str) -> str:
    """parliament's matcher special-cases S3 objects (`bucket/key`); other kinds need no name."""
    return "object" if arn_format.startswith("arn:*:s3:::*/") else "resource"


def findings(resource_type: str, document: dict[str, Any]) -> list[str]:
    """parliament's findings that are neither replaced nor accepted, plus the resource mismatches."""
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    left = []
    for finding in policy.findings:
        detail = str(finding.detail)
        if finding.issue == "RESOURCE_MISMATCH":
            continue
        if any(a.resource_type == resource_type and a.issue == finding.issue and a.detail in detail
               for a in ACCEPTED):
            continue
        left.append(f"{finding.issue}: {detail}")
    return left + resource_mismatches(document)

