"""Settings AWS keeps once per account and region, and which stack owns each.

Bedrock model invocation logging is one configuration per account and region: `PutModelInvocationLoggingConfiguration`
and `DeleteModelInvocationLoggingConfiguration` take no identifier (Bedrock API reference), and the Terraform
resource pulumi-aws wraps uses the region as its id and deletes the configuration on destroy
(terraform-provider-aws `model_invocation_logging_configuration.go`; its docs: "should not be defined in multiple
configurations"). Two stacks that both set it overwrite each other's destinations on every `up`, and destroying
either turns the other's logging off. (The API Gateway account's CloudWatch role is the same kind of setting: each
stack with a live chat or a RAG API sets it by default, so that each can be deployed alone; in a shared account,
`manageApiGatewayAccount: false` in all stacks but one. It is not judged here yet.)

So one stack owns each setting. Stacks of one project can be told apart by account only where they pin it
(`aws:allowedAccountIds`); stacks that do not are assumed to share an account. `conflicts` reads the stack files'
raw values (nothing is deployed or parsed beyond them): a test holds the shipped stacks to it, and `mlplat plan`
warns when the planned stack shares a setting with a sibling stack file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

NAMESPACE = "ml-platform"


def _value(values: Mapping[str, Any], key: str) -> Any:
    raw = values.get(f"{NAMESPACE}:{key}")
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return None
    return raw


def _get(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _invocation_logging(values: Mapping[str, Any]) -> bool:
    return _get(_value(values, "bedrock"), "invocationLogging", "enabled") is True


#: Setting -> (whether a stack's values set it, the key that turns it off there).
SETTINGS: dict[str, tuple[Callable[[Mapping[str, Any]], bool], str]] = {
    "Bedrock model invocation logging": (_invocation_logging, "ml-platform:bedrock.invocationLogging.enabled"),
}


def _accounts(values: Mapping[str, Any]) -> frozenset[str] | None:
    raw = values.get("aws:allowedAccountIds")
    ids = json.loads(raw) if isinstance(raw, str) and raw[:1] == "[" else raw
    return frozenset(map(str, ids)) if isinstance(ids, list) and ids else None


def _may_share(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two stacks may deploy to the same account and region."""
    if a.get("aws:region") != b.get("aws:region"):
        return False
    accounts_a, accounts_b = _accounts(a), _accounts(b)
    return accounts_a is None or accounts_b is None or bool(accounts_a & accounts_b)


def conflicts(stacks: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(setting, stack, other stack) for every pair of stacks that both set a per-account-and-region setting and
    may share an account and region (each pair once, in name order)."""
    out = []
    names = sorted(stacks)
    for setting, (sets, _) in SETTINGS.items():
        owners = [n for n in names if sets(stacks[n])]
        out += [(setting, a, b) for i, a in enumerate(owners) for b in owners[i + 1:]
                if _may_share(stacks[a], stacks[b])]
    return out


def describe(setting: str, stack: str, other: str) -> str:
    return (f"{setting} is one setting per account and region, and both {stack} and {other} set it in "
            f"the same region: each `up` overwrites the other's, and destroying either turns it off for both. Let one "
            f"stack own it (turn {SETTINGS[setting][1]} off in the other), or pin different accounts with "
            "aws:allowedAccountIds")
