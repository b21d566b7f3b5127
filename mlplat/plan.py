"""Assembles the plan document (DESIGN.md's format) and renders it for people."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from mlplat.engine import SECRET, run_program
from mlplat.project import Project, StackConfig


def scrub(document: Any, secrets: list[str]) -> Any:
    """Replace any occurrence of a secret's value anywhere in the document (defence in depth)."""
    if not secrets:
        return document
    text = json.dumps(document)
    for s in sorted(set(secrets), key=len, reverse=True):
        if s:
            text = text.replace(json.dumps(s)[1:-1], SECRET)
    return json.loads(text)


def build_plan(project: Project, cfg: StackConfig, program: Any = None,
               mock_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the program for `cfg` and return the plan document, policies and cost included."""
    result = run_program(project.root, project.name, cfg.stack, cfg.values, cfg.secret_keys, cfg.region, program,
                         mock_options)
    plan: dict[str, Any] = {
        "project": project.name,
        "stack": cfg.stack,
        "resources": [r.to_json() for r in result.registrations],
        "outputs": result.outputs,
        "policy": {"violations": []},
        "cost": {"hourlyUsdIdle": 0.0, "hourlyUsdMax": 0.0, "items": []},
        "diagnostics": [{"severity": s, "message": m} for s, m in result.diagnostics],
    }
    secrets = cfg.placeholders + _secret_config_strings(cfg)
    plan = scrub(plan, secrets)
    plan["policy"]["violations"] = check_policies(plan)
    from mlplat.cost import estimate

    plan["cost"] = estimate(plan["resources"])
    return plan


def plan_environment(plan: dict[str, Any]) -> str | None:
    env = plan.get("outputs", {}).get("environment")
    return env if isinstance(env, str) else None


def check_policies(plan: dict[str, Any], pack_config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Evaluate the policy pack on the plan's resources (the environment's pack config by default)."""
    from policies.offline import evaluate, load_pack_config

    if pack_config is None:
        pack_config = load_pack_config(plan_environment(plan))
    return evaluate(plan["resources"], pack_config)


def _secret_config_strings(cfg: StackConfig) -> list[str]:
    """Plain string values of secret config keys (a secret set on a scalar key)."""
    out = []
    for key in cfg.secret_keys:
        value = cfg.values.get(key, "")
        if value and value[:1] not in "{[":
            out.append(value)
    return out


def render_text(plan: dict[str, Any], region: str) -> str:
    resources = plan["resources"]
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for r in resources:
        by_parent.setdefault(r["parent"], []).append(r)
    stack_urns = {r["parent"] for r in resources if r["parent"] and r["parent"].split("::")[-2].endswith("Stack")}
    custom = sum(1 for r in resources if r["custom"])
    lines = [
        f"Plan: {plan['project']} / {plan['stack']} ({region}): {custom} resources, "
        f"{len(resources) - custom} components",
        "",
        "Resource tree",
    ]

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(by_parent.get(parent, []), key=lambda x: (x["custom"], x["type"], x["name"])):
            flags = " [protect]" if r["protect"] else ""
            lines.append(f"{'  ' * depth}+ {r['type']}  {r['name']}{flags}")
            walk(r["urn"], depth + 1)

    for root in sorted(stack_urns) or [None]:
        walk(root, 1)
    lines += ["", "Counts by type"]
    for typ, n in sorted(Counter(r["type"] for r in resources).items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:4d}  {typ}")
    lines += ["", "Stack outputs"]
    for key, value in plan["outputs"].items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"  {key}: {text if len(text) <= 100 else text[:97] + '...'}")
    lines += ["", "Policies"]
    violations = plan["policy"]["violations"]
    if not violations:
        lines.append("  no violations")
    for v in violations:
        lines.append(f"  [{v['enforcementLevel']}] {v['policy']}: {v['message']}")
        if v.get("urn"):
            lines.append(f"      {v['urn']}")
    cost = plan["cost"]
    lines += ["", "Cost (USD per hour, on-demand list prices)",
              f"  idle (minimum sizes): {cost['hourlyUsdIdle']:.2f}",
              f"  max (maximum sizes):  {cost['hourlyUsdMax']:.2f}"]
    for item in cost["items"]:
        if item["hourlyUsdMax"] >= 0.01:
            lines.append(f"    {item['hourlyUsdIdle']:9.2f} {item['hourlyUsdMax']:9.2f}  {item['name']}"
                         f"  ({item['detail']})")
    if plan.get("diagnostics"):
        lines += ["", "Diagnostics"]
        lines += [f"  {d['severity']}: {d['message']}" for d in plan["diagnostics"]]
    return "\n".join(lines) + "\n"
