"""What a node group or a Karpenter pool costs per hour, read from its planned properties: shared by the cost view
(mlplat/cost.py) and the budget policies (policies/rules/cost.py), so both read one price the same way.

Properties come as plan dictionaries or as the policy engine's proxies (where reading a value preview cannot know
raises): `_at` reads through either and gives None for what it cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.catalog.instance_types import INSTANCE_TYPES, InstanceType

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


def _at(value: Any, *path: str) -> Any:
    for key in path:
        try:
            value = value.get(key) if isinstance(value, Mapping) else None
        except Exception:  # the policy engine's proxy raises on a value unknown during preview
            return None
    return value


def listify(value: Any) -> list:
    """A value as a list: none -> [], a sequence (not a string) -> its items, anything else -> [it]."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def _number(value: Any) -> float | None:
    """Numbers arrive as doubles from the engine (20 -> 20.0); a bool or a string is not one."""
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)


def instance_type_of(group_props: Mapping[str, Any], launch_template_props: Mapping[str, Any] | None) -> str | None:
    """A node group's instance type: its own `instanceTypes[0]`, else its launch template's."""
    types = listify(group_props.get("instanceTypes"))
    if types:
        return types[0]
    return launch_template_props.get("instanceType") if launch_template_props is not None else None


@dataclass(frozen=True)
class GroupPrice:
    """What a node group costs per hour at its minimum and its maximum size (on-demand list price)."""

    facts: InstanceType
    min_size: float
    max_size: float

    @property
    def idle_usd(self) -> float:
        return self.min_size * self.facts.hourly_usd

    @property
    def max_usd(self) -> float:
        return self.max_size * self.facts.hourly_usd


def group_price(group_props: Mapping[str, Any], launch_template_props: Mapping[str, Any] | None) -> GroupPrice | None:
    """The node group's price bounds, or None for an instance type the catalog does not know."""
    facts = INSTANCE_TYPES.get(instance_type_of(group_props, launch_template_props) or "")
    if facts is None:
        return None
    scaling = group_props.get("scalingConfig") or {}
    return GroupPrice(facts, _number(scaling.get("minSize")) or 0.0, _number(scaling.get("maxSize")) or 0.0)


def pool_requirement(pool_props: Mapping[str, Any], key: str) -> list[str]:
    """The values a NodePool's `In` requirement on `key` allows (empty: none, or unknown)."""
    for req in listify(_at(pool_props, "spec", "template", "spec", "requirements")):
        if isinstance(req, Mapping) and req.get("key") == key and req.get("operator") == "In":
            return [v for v in listify(req.get("values")) if isinstance(v, str)]
    return []


def pool_instance_type(pool_props: Mapping[str, Any]) -> str | None:
    """A GPU pool's one instance type (the platform pins each pool to one)."""
    types = pool_requirement(pool_props, INSTANCE_TYPE_LABEL)
    return types[0] if len(types) == 1 else None


def pool_price(pool_props: Mapping[str, Any]) -> GroupPrice | None:
    """A NodePool's price bounds: nothing idle (Karpenter keeps no empty node), at most as many nodes as its
    tightest limit (GPUs or CPUs) admits; a pool without limits is unbounded (infinite)."""
    facts = INSTANCE_TYPES.get(pool_instance_type(pool_props) or "")
    if facts is None:
        return None
    limits = _at(pool_props, "spec", "limits")
    limits = limits if isinstance(limits, Mapping) else {}
    bounds = []
    if facts.gpu_resource and _number(limits.get(facts.gpu_resource)) is not None:
        bounds.append(_number(limits.get(facts.gpu_resource)) // facts.accelerators)
    if _number(limits.get("cpu")) is not None:
        bounds.append(_number(limits.get("cpu")) // facts.vcpus)
    return GroupPrice(facts, 0.0, min(bounds) if bounds else float("inf"))
