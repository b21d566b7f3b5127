"""Evaluates the same rule objects as the CrossGuard pack on a recorded plan.

Mirrors the engine during preview: resource policies see each resource's inputs, stack policies
see every resource with its dependencies; enforcement levels and per-policy config come from the
environment's pack config (the file passed to `--policy-pack-config`); a rule that touches an
`[unknown]` value raises `UnknownValueError`, which the engine turns into an advisory note, so
here it reports nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.rules import ALL_POLICIES
from stacks.stack_file import StackFileError, load_json, read_text

CONFIG_DIR = Path(__file__).resolve().parent / "config"
UNKNOWN = "[unknown]"


def load_pack_config(environment: str | None) -> dict[str, Any]:
    """The pack config of an environment (`policies/config/<env>.json`), or {} when there is none.

    Raises `stacks.stack_file.StackFileError` for a file that is not valid JSON or repeats a key.
    """
    path = CONFIG_DIR / f"{environment}.json"
    if not (environment and path.is_file()):
        return {}
    return read_pack_config(path)


def read_pack_config(path: Path) -> dict[str, Any]:
    """A pack config file (the `--policy-pack-config` JSON): an object of policy name -> settings."""
    data = load_json(read_text(path), str(path))
    if not isinstance(data, dict):
        raise StackFileError([f"{path}: expected a JSON object of policy name -> settings; found "
                              f"{type(data).__name__}"])
    return data


def _engine_form(value: Any) -> Any:
    if value == UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _engine_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_form(v) for v in value]
    return value


def _props(resource: dict[str, Any]) -> Any:
    return unknown_checking_proxy(_engine_form(resource.get("inputs") or {}))


def _level_and_config(policy, pack_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    level = policy.enforcement_level.value if policy.enforcement_level else "advisory"
    everything = pack_config.get("all")
    if isinstance(everything, str):
        level = everything
    elif isinstance(everything, dict) and "enforcementLevel" in everything:
        level = everything["enforcementLevel"]
    config: dict[str, Any] = {}
    schema = getattr(policy, "config_schema", None)
    if schema is not None:
        config = {k: v["default"] for k, v in schema.properties.items() if "default" in v}
    own = pack_config.get(policy.name)
    if isinstance(own, str):
        level = own
    elif isinstance(own, dict):
        level = own.get("enforcementLevel", level)
        config.update({k: v for k, v in own.items() if k != "enforcementLevel"})
    return level, config


def _provider_ref(ref: str | None) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None


def evaluate(resources: list[dict[str, Any]], pack_config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Violations, in policy order, as plan `policy.violations` entries."""
    pack_config = pack_config or {}
    by_urn = {r["urn"]: r for r in resources}
    providers = {
        r["urn"]: PolicyProviderResource(r["type"], _props(r), r["urn"], r["name"])
        for r in resources if r["type"].startswith("pulumi:providers:")
    }
    policy_resources: dict[str, PolicyResource] = {}
    for r in resources:
        opts = PolicyResourceOptions(
            r.get("protect", False), [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.get("parent")
        )
        policy_resources[r["urn"]] = PolicyResource(
            r["type"], _props(r), r["urn"], r["name"], opts, providers.get(_provider_ref(r.get("provider")) or ""),
            None, [], {},
        )
    for r in resources:
        pr = policy_resources[r["urn"]]
        pr.parent = policy_resources.get(r.get("parent") or "")
        pr.dependencies = [policy_resources[d] for d in r.get("dependencies", []) if d in by_urn]

    violations: list[dict[str, Any]] = []
    for policy in ALL_POLICIES:
        level, config = _level_and_config(policy, pack_config)
        if level == "disabled":
            continue

        def report(message: str, urn: str | None = None, *, _p=policy, _l=level, _default: str | None = None):
            violations.append({"policy": _p.name, "enforcementLevel": _l, "urn": urn or _default,
                               "message": message, "severity": _p.severity.value if _p.severity else None})

        if isinstance(policy, ResourceValidationPolicy):
            for pr in policy_resources.values():
                args = ResourceValidationArgs(pr.resource_type, pr.props, pr.urn, pr.name, pr.opts, pr.provider,
                                              config)
                try:
                    policy.validate(args, lambda m, u=None, _urn=pr.urn: report(m, u or _urn))
                except UnknownValueError:
                    continue
        else:
            try:
                policy.validate(StackValidationArgs(list(policy_resources.values()), config), report)
            except UnknownValueError:
                continue
    return violations
