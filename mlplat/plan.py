"""Assembles the plan document (its format: mlplat/plan.schema.json) and renders it for people."""

from __future__ import annotations

import contextlib
import gc
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from mlplat.engine import SECRET, run_program
from mlplat.project import InputError, Project, StackConfig


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
               mock_options: dict[str, Any] | None = None, on_register: Any = None,
               first_preview: bool = False, judge: bool = True) -> dict[str, Any]:
    """Run the program for `cfg` and return the plan document, policies and cost included.

    `on_register(count, type)` is called after each resource registration (progress display).
    `first_preview`: plan as the first `pulumi preview` of a new stack sees it (computed values unknown).
    `judge=False` leaves the policy pack's verdict out (`add_verdict` adds it later); secret leaks are
    always found, since they need the secret values, which the document never holds.
    """
    with _without_cyclic_gc():
        plan = _build_plan(project, cfg, program, mock_options, on_register, first_preview)
        return add_verdict(plan) if judge else plan


def add_verdict(plan: dict[str, Any], pack_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add the policy pack's verdict to a plan built with `judge=False` (`pack_config`: the plan environment's by
    default; the stack's own settings apply over either)."""
    verdict = check_policies(plan, pack_config)
    plan["policy"] = {"violations": plan["policy"]["violations"] + verdict.violations, "skipped": verdict.skipped}
    return plan


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Planning allocates a few hundred thousand short-lived objects (outputs, futures, policy proxies); the cyclic
    collector would rescan the long-lived SDK modules each time. Pausing it for one plan halves the plan time
    (prod: 1.2 s -> 0.65 s measured by bench/plan_speed.py) for about 15 MB more peak memory; what a plan leaves
    in cycles is collected once the collector runs again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_plan(project: Project, cfg: StackConfig, program: Any, mock_options: dict[str, Any] | None,
                on_register: Any, first_preview: bool) -> dict[str, Any]:
    overrides = stack_policy_overrides(cfg.values)  # refused before the program runs, as the pack would refuse them
    result = run_program(project.root, project.name, cfg, program=program, mock_options=mock_options,
                         on_register=on_register, first_preview=first_preview)
    plan: dict[str, Any] = {
        "project": project.name,
        "stack": cfg.stack,
        "preview": "first" if first_preview else "update",
        "resources": [r.to_json() for r in result.registrations],
        "outputs": result.outputs,
        "policy": {"violations": []},
        "cost": {"hourlyUsdIdle": 0.0, "hourlyUsdMax": 0.0, "items": []},
        "diagnostics": [{"severity": s, "message": m} for s, m in result.diagnostics]
        + [{"severity": "warning", "message": m} for m in sibling_conflicts(cfg)],
    }
    secrets = cfg.placeholders + _secret_config_strings(cfg)
    leaks = secret_leaks(plan, secrets)  # before scrubbing, which would hide them
    plan = scrub(plan, secrets)
    from mlplat.names import name_problems

    plan["policy"] = {"violations": leaks + name_problems(plan["resources"]) + _default_provider_invokes(result),
                      "skipped": []}
    from mlplat.cost import estimate

    plan["cost"] = estimate(plan["resources"])
    from policies.rules.placement import plan_resources, utilization

    plan["placement"] = utilization(plan_resources(plan["resources"]))
    plan["policyOverrides"] = overrides
    plan["catalog"] = catalog_age()
    return plan


def sibling_conflicts(cfg: StackConfig) -> list[str]:
    """Per-account-and-region settings this stack shares with a sibling stack file, or needs while no sibling that
    may share its account sets them (stacks/singletons.py)."""
    from stacks import stack_file
    from stacks.singletons import NAMESPACE, conflicts, describe, describe_orphan, orphans

    stacks = {cfg.stack: cfg.values}
    for path in cfg.path.parent.glob("Pulumi.*.yaml"):
        name = path.name[len("Pulumi."):-len(".yaml")]
        if name != cfg.stack and path.resolve() != cfg.path.resolve():
            try:
                stacks[name] = stack_file.read(path, NAMESPACE).values
            except stack_file.StackFileError:
                continue  # a sibling that does not read is its own plan's problem
    return ([describe(*c) for c in conflicts(stacks) if cfg.stack in c[1:]]
            + [describe_orphan(*o) for o in orphans(stacks) if o[1] == cfg.stack])


def catalog_age(today: Any = None) -> list[dict[str, Any]]:
    """How old the catalog's dated facts are: an offline plan cannot ask AWS, so it says when they were checked
    (`scripts/refresh_catalog.py` refreshes them where credentials exist)."""
    import datetime as dt

    from components.catalog.data import load

    day = today or dt.date.today()
    facts = [(name, load(name)["checked"])
             for name in ("eks_addons", "instance_types", "jumpstart_hub", "bedrock_lifecycle")]
    return [{"facts": name, "checked": checked, "daysOld": (day - dt.date.fromisoformat(checked)).days}
            for name, checked in facts]


LEAK_POLICY = "secret-in-plaintext"


def _default_provider_invokes(result: Any) -> list[dict[str, Any]]:
    """Look-ups without a provider go to the engine's default provider, as resources would (the pack's
    `explicit-providers` policy judges resources; the pack never sees invokes, so the plan judges them)."""
    return [{"policy": "explicit-providers", "enforcementLevel": "mandatory", "urn": None, "severity": "high",
             "message": f"the look-up {tok} goes to the engine's default provider (configured only from the stack's "
                        "provider keys): pass opts=pulumi.InvokeOutputOptions(provider=...) or parent=<component>"}
            for tok in sorted(set(result.default_provider_invokes))]


def secret_leaks(plan: dict[str, Any], secrets: list[str]) -> list[dict[str, Any]]:
    """Every place a secret config value reaches, unmarked, what the program sends to the engine.

    A value the program marks secret is already `[secret]` here. One that is not would be stored in
    plain text in the state by a real `pulumi up`, while the printed plan (scrubbed) would look the
    same: so it is a mandatory finding, named by resource and property path. Checked: resource inputs,
    component outputs and stack outputs (a custom resource's outputs come from its provider).
    """
    needles = [s for s in set(secrets) if s]
    findings: list[dict[str, Any]] = []

    def walk(value: Any, path: str, urn: str | None) -> None:
        if isinstance(value, str):
            if any(n in value for n in needles):
                findings.append({
                    "policy": LEAK_POLICY, "enforcementLevel": "mandatory", "urn": urn, "severity": "critical",
                    "message": f"a secret config value reaches {path} without being marked secret: a real "
                               "`pulumi up` would store it in plain text in the state (wrap it in "
                               "pulumi.Output.secret, or keep it out of this property)"})
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}", urn)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]", urn)

    for r in plan["resources"]:
        walk(r["inputs"], "inputs", r["urn"])
        if not r["custom"]:
            walk(r["outputs"], "outputs", r["urn"])
    walk(plan["outputs"], "stack outputs", None)
    return findings


def plan_environment(plan: dict[str, Any]) -> str | None:
    env = plan.get("outputs", {}).get("environment")
    return env if isinstance(env, str) else None


def check_policies(plan: dict[str, Any], pack_config: dict[str, Any] | None = None):
    """The pack's verdict on the plan's resources (the environment's pack config by default).

    Returns `policies.protocol.Verdict`; raises `policies.protocol.PackConfigError` for a config that does
    not fit the policies' schemas.
    """
    from policies.offline import judge_plan, load_pack_config
    from policies.overrides import merged

    if pack_config is None:
        pack_config = load_pack_config(plan_environment(plan))
    return judge_plan(plan["resources"], merged(pack_config, plan.get("policyOverrides") or {}))


def override_lines(plan: dict[str, Any]) -> list[str]:
    """The policy settings this stack sets for itself, each beside the environment's value."""
    from policies.offline import load_pack_config

    overrides = plan.get("policyOverrides") or {}
    if not overrides:
        return []
    environment = load_pack_config(plan_environment(plan))
    lines = ["  settings this stack sets for itself (ml-platform:policy), over its environment's:"]
    for name, settings in sorted(overrides.items()):
        for key, value in sorted(settings.items()):
            was = (environment.get(name) or {}).get(key, "the policy's default")
            lines.append(f"    {name}.{key}: {json.dumps(value)} (environment: {json.dumps(was)})")
    return lines


def stack_policy_overrides(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stack's `ml-platform:policy` settings, checked against the pack's schemas (exit 2 naming the key)."""
    import policies.pack  # noqa: F401 (the rules register their settings' schemas)
    from policies.overrides import OverrideError, checked

    try:
        return checked(values)
    except OverrideError as exc:
        raise InputError("\n  ".join(exc.problems)) from None


def _secret_config_strings(cfg: StackConfig) -> list[str]:
    """Plain string values of secret config keys (a secret set on a scalar key)."""
    out = []
    for key in cfg.secret_keys:
        value = cfg.values.get(key, "")
        if value and value[:1] not in "{[":
            out.append(value)
    return out


class Style:
    """ANSI styling when the output is a terminal (and NO_COLOR is unset); plain text otherwise."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


def policy_lines(policy: dict[str, Any], st: Style, *, first_preview: bool = False) -> list[str]:
    """Violations with their remediation and documentation, then the policies a preview could not run.

    On a first preview every policy is listed with whether it ran: a skipped one checked nothing.
    """
    from policies.pack import ALL_POLICIES
    from policies.protocol import policy_runs

    lines: list[str] = []
    violations = policy.get("violations") or []
    if not violations:
        lines.append(st.green("  no violations"))
    for v in violations:
        paint = st.red if v["enforcementLevel"] == "mandatory" else st.yellow
        lines.append(paint(f"  [{v['enforcementLevel']}] {v['policy']}: {v['message']}"))
        if v.get("urn"):
            lines.append(f"      {v['urn']}")
        if v.get("remediation"):
            lines.append(st.dim(f"      fix: {v['remediation']}"))
        if v.get("url"):
            lines.append(st.dim(f"      docs: {v['url']}"))
    runs = policy_runs([p.name for p in ALL_POLICIES], policy.get("skipped") or [])
    skipped = [(name, why) for name, why in runs if why]
    if first_preview:
        lines.append(f"  first preview: {len(runs) - len(skipped)} of {len(runs)} policies ran on every resource")
        for name, why in runs:
            lines.append(f"    {'ran    ' if why is None else st.yellow('skipped')}  {name}"
                         + (f": {why}" if why else ""))
    elif skipped:
        lines.append(st.yellow(f"  {len(skipped)} policies could not run (a value is unknown during preview):"))
        lines += [st.yellow(f"    {name}: {why}") for name, why in skipped]
    return lines


#: Resource types listed in the short summary; `--details` lists them all.
TOP_TYPES = 12


def _descendants(urn: str, by_parent: dict[str | None, list[dict[str, Any]]]) -> int:
    """Custom resources below `urn`, at any depth."""
    return sum(1 if c["custom"] else _descendants(c["urn"], by_parent) for c in by_parent.get(urn, []))


def render_text(plan: dict[str, Any], region: str, *, details: bool = False, style: Style | None = None) -> str:
    """The preview a person reads: summary first; every resource and type only with `details`."""
    st = style or Style(False)
    resources = plan["resources"]
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for r in resources:
        by_parent.setdefault(r["parent"], []).append(r)
    urns = {r["urn"] for r in resources}
    roots = sorted({r["parent"] for r in resources if r["parent"] and r["parent"] not in urns}) or [None]
    custom = sum(1 for r in resources if r["custom"])
    lines = [
        st.bold(f"Plan: {plan['project']} / {plan['stack']} ({region}): {len(resources)} resources "
                f"({custom} custom, {len(resources) - custom} components)"),
        "",
        st.bold("Resource tree" if details else "Components"),
    ]

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(by_parent.get(parent, []), key=lambda x: (x["custom"], x["type"], x["name"])):
            if r["custom"] and not details:
                continue
            flags = " [protect]" if r["protect"] else ""
            size = "" if r["custom"] else st.dim(f"  ({_descendants(r['urn'], by_parent)} resources)")
            lines.append(f"{'  ' * depth}+ {r['type']}  {r['name']}{flags}{size}")
            walk(r["urn"], depth + 1)

    for root in roots:
        walk(root, 1)
    if not details:
        loose = sum(1 for root in roots for r in by_parent.get(root, []) if r["custom"])
        if loose:
            lines.append(f"  + {loose} resources outside components (providers, look-ups)")
    counts = sorted(Counter(r["type"] for r in resources).items(), key=lambda kv: (-kv[1], kv[0]))
    shown = counts if details else counts[:TOP_TYPES]
    lines += ["", st.bold("Counts by type" if details else f"Most frequent types ({len(shown)} of {len(counts)})")]
    lines += [f"  {n:4d}  {typ}" for typ, n in shown]
    if not details:
        lines.append(st.dim("  (mlplat plan <stack> --details: every resource and type)"))
    specs = [(r["name"], r["outputs"]["specSource"]) for r in resources
             if not r["custom"] and isinstance((r.get("outputs") or {}).get("specSource"), str)]
    if details and specs:
        lines += ["", st.bold("Model specs (source, checked)")]
        lines += [f"  {name}: {source}" for name, source in specs]
    lines += ["", st.bold("Stack outputs")]
    for key, value in plan["outputs"].items():
        lines.append(f"  {key}: {value if isinstance(value, str) else json.dumps(value)}")
    lines += ["", st.bold("Policies")]
    lines += policy_lines(plan["policy"], st, first_preview=plan.get("preview") == "first")
    lines += override_lines(plan)
    for section in (_cost_lines, _placement_lines, _catalog_lines, _diagnostic_lines):
        lines += section(plan, st)
    return "\n".join(lines) + "\n"


def _cost_lines(plan: dict[str, Any], st: Style) -> list[str]:
    cost = plan["cost"]
    lines = ["", st.bold("Cost (USD per hour, on-demand list prices)"),
             f"  idle (minimum sizes): {cost['hourlyUsdIdle']:.2f}",
             f"  max (maximum sizes):  {cost['hourlyUsdMax']:.2f}"]
    return lines + [f"    {i['hourlyUsdIdle']:9.2f} {i['hourlyUsdMax']:9.2f}  {i['name']}  ({i['detail']})"
                    for i in cost["items"] if i["hourlyUsdMax"] >= 0.01]


def _placement_lines(plan: dict[str, Any], st: Style) -> list[str]:
    placed = plan.get("placement") or []
    if not placed:
        return []
    lines = ["", st.bold("Placement from zero (per node: pods that fit, accelerators left unused)")]
    for p in placed:
        idle = ", ".join(f"{n} of {p['of'][k]} {k}" for k, n in p["idle"].items())
        lines.append(f"  {p['pod']} -> {p['source']} ({p['instance']}): {p['perNode']} per node"
                     + (st.yellow(f"; idle: {idle}") if idle else ""))
    return lines


def _catalog_lines(plan: dict[str, Any], st: Style) -> list[str]:
    if not plan.get("catalog"):
        return []
    oldest = max(plan["catalog"], key=lambda c: c["daysOld"])
    checked = ", ".join(f"{c['facts']} {c['checked']}" for c in plan["catalog"])
    line = (f"  checked {checked}; oldest {oldest['daysOld']} days ago (scripts/refresh_catalog.py refreshes "
            "them with AWS credentials)")
    return ["", st.bold("Catalog facts (offline: as last checked)"),
            st.yellow(line) if oldest["daysOld"] > 90 else line]


def _diagnostic_lines(plan: dict[str, Any], st: Style) -> list[str]:
    if not plan.get("diagnostics"):
        return []
    return ["", st.bold("Diagnostics")] + [st.yellow(f"  {d['severity']}: {d['message']}")
                                           for d in plan["diagnostics"]]
