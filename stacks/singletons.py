"""Settings AWS keeps once per account and region, and which stack owns each.

Bedrock model invocation logging is one configuration per account and region: `PutModelInvocationLoggingConfiguration`
and `DeleteModelInvocationLoggingConfiguration` take no identifier (Bedrock API reference), and the Terraform
resource pulumi-aws wraps uses the region as its id and deletes the configuration on destroy
(terraform-provider-aws `model_invocation_logging_configuration.go`; its docs: "should not be defined in multiple
configurations"). Two stacks that both set it overwrite each other's destinations on every `up`, and destroying
either turns the other's logging off.

The API Gateway account's CloudWatch role is the same kind of setting (`UpdateAccount` takes no identifier): a stage
with access or execution logs needs it at creation ("CloudWatch Logs role ARN must be set in account settings to
enable logging"). Destroying the Terraform resource pulumi-aws wraps keeps the account setting by default
(terraform-provider-aws docs, `aws_api_gateway_account`: "destroying this resource will keep your account settings
intact"), so a stack destroyed with its role leaves every other stage of the region logging through a role that no
longer exists. A live chat or a RAG API sets it unless `manageApiGatewayAccount: false`.
So besides two owners, a stack that needs it while no stack that may share its account sets it is reported.

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


def _api_gateway_users(values: Mapping[str, Any]) -> list[str]:
    """The stack's parts that run an API Gateway stage with logs (they need the setting)."""
    return [key for key in ("liveChat", "rag") if _get(_value(values, key), "enabled") is True]


def _api_gateway_account(values: Mapping[str, Any]) -> bool:
    return any(_get(_value(values, key), "manageApiGatewayAccount") is not False for key in _api_gateway_users(values))


#: Setting -> (whether a stack's values set it, the key that turns it off there).
SETTINGS: dict[str, tuple[Callable[[Mapping[str, Any]], bool], str]] = {
    "Bedrock model invocation logging": (_invocation_logging, "ml-platform:bedrock.invocationLogging.enabled"),
    "The API Gateway account's CloudWatch role": (
        _api_gateway_account, "ml-platform:liveChat.manageApiGatewayAccount and "
                              "ml-platform:rag.manageApiGatewayAccount"),
}
#: Setting -> whether a stack's values need someone to set it.
NEEDED: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "The API Gateway account's CloudWatch role": lambda values: bool(_api_gateway_users(values)),
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


def orphans(stacks: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(setting, stack) for every stack that needs a setting it leaves to others while no stack that sets it may
    share its account and region."""
    out = []
    for setting, needs in NEEDED.items():
        sets = SETTINGS[setting][0]
        owners = [n for n in stacks if sets(stacks[n])]
        out += [(setting, n) for n in sorted(stacks) if needs(stacks[n]) and not sets(stacks[n])
                and not any(_may_share(stacks[n], stacks[o]) for o in owners)]
    return out


def describe_orphan(setting: str, stack: str) -> str:
    return (f"{setting} is one setting per account and region, and {stack} needs it but leaves it to another stack, "
            f"while no stack file that may share its account and region sets it: its API stages fail to create. "
            f"Turn on {SETTINGS[setting][1]} here")
