"""Hand-built policy arguments, wrapped the way the engine wraps them (unknown-checking proxies)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

UNKNOWN = UNKNOWN_STRING_VALUE
UNDECIDED = ["<rule could not decide: unknown value>"]


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def check_resource(policy, typ: str, props: dict[str, Any], config: dict[str, Any] | None = None,
                   provider_props: dict[str, Any] | None = None) -> list[str]:
    """Messages the rule reports; UNDECIDED when it raised on an unknown value (as in preview)."""
    provider = (PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(provider_props), "urn:p", "p")
                if provider_props is not None else None)
    args = ResourceValidationArgs(typ, unknown_checking_proxy(props), f"urn:pulumi:s::p::{typ}::r", "r", _opts(),
                                  provider, config or {})
    messages: list[str] = []
    try:
        policy.validate(args, lambda message, urn=None: messages.append(message))
    except UnknownValueError:
        return UNDECIDED
    return messages


def res(typ: str, props: dict[str, Any], name: str = "r", deps: list[PolicyResource] | None = None) -> PolicyResource:
    return PolicyResource(typ, unknown_checking_proxy(props), f"urn:pulumi:s::p::{typ}::{name}", name, _opts(), None,
                          None, deps or [], {})


def check_stack(policy, resources: list[PolicyResource], config: dict[str, Any] | None = None) -> list[tuple]:
    """(message, urn-name) pairs; UNDECIDED when the rule raised on an unknown value."""
    found: list[tuple] = []
    try:
        policy.validate(StackValidationArgs(resources, config or {}),
                        lambda message, urn=None: found.append((message, urn.rsplit("::", 1)[-1] if urn else None)))
    except UnknownValueError:
        return UNDECIDED
    return found
