"""Per-stack policy settings: `ml-platform:policy` in a stack's own `Pulumi.<stack>.yaml`, over the environment's.

A team owns its stack file; the environment's settings (`policies/config/<env>.json`, generated from
stacks/environments.py) hold for every stack of the environment. A stack may set any policy's settings for itself
(policy name -> settings, e.g. `bedrock-throughput-budget: {maxThroughputUsdPerHour: 30}`), never its enforcement
level: each setting is checked against the policy's own config schema, and `mlplat plan` prints every override next
to the environment's value, so a review sees it.

Under the Pulumi CLI the pack reads them itself: the CLI starts an analyzer with the stack's config in
`PULUMI_CONFIG` (pulumi `pkg/resource/plugin/analyzer_plugin.go`, the policy pack's environment, as the protocol
tests start it), and every rule merges its stack settings over the config the CLI sent (`Rule` in
`policies/rules/base.py`). `mlplat plan` merges them into the pack config it judges with.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Any

STACK_KEY = "ml-platform:policy"


def from_config(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The overrides in a stack's config values (a JSON string, as Pulumi passes structured config), or {}."""
    raw = values.get(STACK_KEY)
    if raw is None:
        return {}
    data = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise OverrideError([f"{STACK_KEY}: expected a mapping of policy name -> settings; found {data!r}"])
    return data


class OverrideError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def problems(overrides: Mapping[str, Mapping[str, Any]], schemas: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What is wrong with `overrides`, given each policy's settings schema (`SCHEMAS`)."""
    import jsonschema

    out = []
    for name, settings in overrides.items():
        if name not in schemas:
            out.append(f"{STACK_KEY}.{name}: expected a policy of the pack ({', '.join(sorted(schemas))}); found "
                       "that name")
            continue
        if not schemas[name]:
            out.append(f"{STACK_KEY}.{name}: this policy has no settings; found {sorted(settings)}")
            continue
        for key, value in settings.items():
            if key not in schemas[name]:
                out.append(f"{STACK_KEY}.{name}.{key}: expected one of {', '.join(sorted(schemas[name]))} (a stack "
                           "sets a policy's settings, never its enforcement level); found that key")
                continue
            try:
                jsonschema.validate(value, schemas[name][key])
            except jsonschema.ValidationError as exc:
                out.append(f"{STACK_KEY}.{name}.{key}: {exc.message}")
    return out


def merged(pack_config: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The pack config with each policy's stack settings over the environment's."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in pack_config.items()}
    for name, settings in overrides.items():
        base = out.get(name)
        out[name] = {**(base if isinstance(base, dict) else {}), **settings}
    return out


#: Every rule's settings schema, registered as the rules are defined (policies/rules/base.py `Rule`).
SCHEMAS: dict[str, dict[str, Any]] = {}


def checked(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The overrides in a stack's config values, checked against every rule's schema (the rules are registered once
    `policies.rules` is imported); raises `OverrideError` naming each wrong key."""
    try:
        overrides = from_config(values)
    except json.JSONDecodeError as exc:
        raise OverrideError([f"{STACK_KEY}: expected valid structured (JSON/YAML) config; {exc.msg}"]) from None
    found = problems(overrides, SCHEMAS)
    if found:
        raise OverrideError(found)
    return overrides


@functools.cache
def from_environment() -> dict[str, dict[str, Any]]:
    """The running stack's overrides, from the `PULUMI_CONFIG` the CLI starts the pack with ({} without one).
    Wrong settings raise: the pack fails, and so does the preview, before anything changes."""
    raw = os.environ.get("PULUMI_CONFIG")
    return checked(json.loads(raw)) if raw else {}
