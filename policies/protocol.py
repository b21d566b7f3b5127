"""Pulumi's analyzer protocol, spoken from a saved plan.

The Pulumi CLI judges a preview by sending the pack gRPC requests (`pulumirpc.Analyzer`): one
`Configure` with the reconciled pack config, one `Analyze` per resource with its inputs, and one
`AnalyzeStack` with every resource's outputs, parent and dependencies (pulumi/pulumi,
`pkg/resource/deploy/step_generator.go` `AnalyzeResources`: "Unlike Analyze, AnalyzeStack is called
on the final outputs of each resource"). Properties travel as a protobuf `Struct`
(`MarshalProperties` with `KeepUnknowns` and `KeepSecrets`), so every number arrives as a double
and a value not known during preview arrives as the unknown sentinel.

This module builds exactly those requests from a plan document and reads the answers back. The same
requests go to the pack served over gRPC (`policies/__main__.py`, as the CLI starts it) and to the
same `pulumi_policy` servicer run in-process (`policies/offline.py`): one evaluation path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy.deserialize import SPECIAL_ARCHIVE_SIG, SPECIAL_ASSET_SIG, SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

#: How the plan document renders values the engine carries specially (DESIGN: plan format).
PLAN_UNKNOWN = "[unknown]"
PLAN_SECRET = "[secret]"

LEVELS = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "remediate",
          proto.DISABLED: "disabled"}
LEVEL_CODES = {v: k for k, v in LEVELS.items()}
SEVERITIES = {proto.POLICY_SEVERITY_LOW: "low", proto.POLICY_SEVERITY_MEDIUM: "medium",
              proto.POLICY_SEVERITY_HIGH: "high", proto.POLICY_SEVERITY_CRITICAL: "critical"}

#: `pulumi_policy` turns a rule's `UnknownValueError` into this advisory and drops the rule's verdict.
_SKIPPED = re.compile(r"^can't run policy '(?P<policy>[^']+)' from policy pack '[^']*' during preview: (?P<why>.*)$",
                      re.S)

#: Calls one analyzer method: `call("Analyze", request) -> response` (in-process servicer or gRPC stub).
Call = Callable[[str, Any], Any]


class PackConfigError(ValueError):
    """The pack config does not fit a policy's config schema (the CLI refuses to run the pack)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# -- plan values -> the engine's wire form --------------------------------------------------------------
def wire(value: Any) -> Any:
    """A plan value in the form the engine marshals it (before the protobuf `Struct`)."""
    if value == PLAN_UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if value == PLAN_SECRET:
        # The engine sends the secret itself, wrapped; the plan keeps only the marker.
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": PLAN_SECRET}
    if isinstance(value, list):
        return [wire(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            asset = {"fileAsset": "path", "stringAsset": "text", "remoteAsset": "uri"}.get(key)
            archive = {"fileArchive": "path", "remoteArchive": "uri"}.get(key)
            if asset and isinstance(inner, str):
                return {SPECIAL_SIG_KEY: SPECIAL_ASSET_SIG, asset: inner}
            if archive and isinstance(inner, str):
                return {SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG, archive: inner}
            if key == "assetArchive" and isinstance(inner, dict):
                return {SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG, "assets": {k: wire(v) for k, v in inner.items()}}
        return {k: wire(v) for k, v in value.items()}
    return value


def struct(props: dict[str, Any] | None) -> struct_pb2.Struct:
    return json_format.ParseDict(wire(props or {}), struct_pb2.Struct())


# -- requests -------------------------------------------------------------------------------------------
def _options(resource: dict[str, Any]) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(protect=bool(resource.get("protect")), parent=resource.get("parent") or "")


def default_provider(resource: dict[str, Any]) -> proto.AnalyzerProviderResource | None:
    """The provider the engine gives a custom resource registered without one: its package's default provider,
    named `default` (pulumi/pulumi `pkg/resource/deploy/providers/registry.go`; `default_<version>` when the SDK
    asks for a version). Components, providers themselves and a stack have none."""
    typ = resource["type"]
    if not resource.get("custom") or typ.startswith("pulumi:"):
        return None
    package = typ.split(":", 1)[0]
    stack_prefix = resource["urn"].split("::", 2)
    urn = f"{stack_prefix[0]}::{stack_prefix[1]}::pulumi:providers:{package}::default"
    return proto.AnalyzerProviderResource(type=f"pulumi:providers:{package}", properties=struct({}), urn=urn,
                                          name="default")


class Requests:
    """The requests the CLI sends for one plan's resources."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.resources = resources
        self._by_urn = {r["urn"]: r for r in resources}

    def _provider(self, resource: dict[str, Any]) -> proto.AnalyzerProviderResource | None:
        ref = resource.get("provider")
        provider = self._by_urn.get(ref.rsplit("::", 1)[0]) if ref else None
        if provider is None:
            return default_provider(resource) if not ref else None
        return proto.AnalyzerProviderResource(type=provider["type"], properties=struct(provider.get("inputs")),
                                              urn=provider["urn"], name=provider["name"])

    def analyze(self, resource: dict[str, Any]) -> proto.AnalyzeRequest:
        return proto.AnalyzeRequest(type=resource["type"], properties=struct(resource.get("inputs")),
                                    urn=resource["urn"], name=resource["name"], options=_options(resource),
                                    provider=self._provider(resource))

    def analyze_stack(self) -> proto.AnalyzeStackRequest:
        out = []
        for r in self.resources:
            deps = {k: proto.AnalyzerPropertyDependencies(urns=v)
                    for k, v in (r.get("propertyDependencies") or {}).items() if v}
            out.append(proto.AnalyzerResource(
                type=r["type"], properties=struct(r.get("outputs")), urn=r["urn"], name=r["name"],
                options=_options(r), provider=self._provider(r), parent=r.get("parent") or "",
                dependencies=r.get("dependencies") or [], propertyDependencies=deps))
        return proto.AnalyzeStackRequest(resources=out)


def reconcile(info: proto.AnalyzerInfo, pack_config: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each policy's enforcement level and config as the CLI computes them before `Configure`.

    pulumi/pulumi `pkg/resource/analyzer/config.go` `ReconcilePolicyPackConfig`: the schema defaults and
    the policy's own level first, then `all` (a level for every policy), then each policy's entry, then a
    JSON Schema check of each policy's properties (a failure stops the preview).
    """
    import jsonschema

    result: dict[str, tuple[str, dict[str, Any]]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for p in info.policies:
        properties = json_format.MessageToDict(p.configSchema.properties)
        schemas[p.name] = {"type": "object", "properties": properties, **(
            {"required": list(p.configSchema.required)} if p.configSchema.required else {})}
        defaults = {k: v["default"] for k, v in properties.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = (LEVELS[p.enforcementLevel], defaults)
    everything = pack_config.get("all")
    level_all = everything if isinstance(everything, str) else (everything or {}).get("enforcementLevel")
    if level_all in LEVEL_CODES:
        result = {k: (level_all, props) for k, (_, props) in result.items()}
    problems = []
    for name, given in pack_config.items():
        if name == "all":
            continue
        level, props = result.get(name, ("advisory", {}))
        if isinstance(given, str):
            given = {"enforcementLevel": given}
        if not isinstance(given, dict):
            problems.append(f"{name}: expected an enforcement level or an object; found {type(given).__name__}")
            continue
        own_level = given.get("enforcementLevel")
        if own_level is not None and own_level not in LEVEL_CODES:
            problems.append(f"{name}.enforcementLevel: expected one of {', '.join(LEVEL_CODES)}; found {own_level!r}")
        result[name] = (own_level or level, {**props, **{k: v for k, v in given.items() if k != "enforcementLevel"}})
    for name, (_, props) in result.items():
        if name in schemas:
            for error in jsonschema.Draft7Validator(schemas[name]).iter_errors(props):
                where = ".".join(str(p) for p in error.absolute_path)
                problems.append(f"{name}{'.' + where if where else ''}: {error.message}")
    if problems:
        raise PackConfigError(problems)
    return result


def configure(config: dict[str, tuple[str, dict[str, Any]]]) -> proto.ConfigureAnalyzerRequest:
    request = proto.ConfigureAnalyzerRequest()
    for name, (level, props) in config.items():
        request.policyConfig[name].CopyFrom(proto.PolicyConfig(enforcementLevel=LEVEL_CODES[level],
                                                               properties=struct(props)))
    return request


# -- answers --------------------------------------------------------------------------------------------
@dataclass
class Verdict:
    """What the pack answered for one plan."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    #: Policies `pulumi_policy` could not run because a rule read an unknown value: {policy, urn, reason}.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: Policy name -> {description, remediation, url, kind} from `GetAnalyzerInfo`.
    policies: dict[str, dict[str, str]] = field(default_factory=dict)


def _read(response: proto.AnalyzeResponse, verdict: Verdict, urn: str | None) -> None:
    for d in response.diagnostics:
        skipped = _SKIPPED.match(d.message) if not d.urn and d.enforcementLevel == proto.ADVISORY else None
        if skipped:
            verdict.skipped.append({"policy": d.policyName, "urn": urn, "reason": skipped["why"]})
            continue
        message = d.message.removeprefix(d.description).removeprefix("\n") if d.description else d.message
        verdict.violations.append({"policy": d.policyName, "enforcementLevel": LEVELS[d.enforcementLevel],
                                   "urn": d.urn or urn, "message": message,
                                   "severity": SEVERITIES.get(d.severity)})


def judge(call: Call, resources: list[dict[str, Any]], pack_config: dict[str, Any]) -> Verdict:
    """Run the pack on a plan's resources the way the CLI does, through `call`."""
    info = call("GetAnalyzerInfo", empty_pb2.Empty())
    call("Configure", configure(reconcile(info, pack_config)))
    verdict = Verdict(policies={p.name: {"description": p.description, "remediation": p.remediation_steps,
                                         "url": p.url, "kind": proto.PolicyType.Name(p.policy_type)}
                                for p in info.policies})
    requests = Requests(resources)
    for r in resources:
        _read(call("Analyze", requests.analyze(r)), verdict, r["urn"])
    _read(call("AnalyzeStack", requests.analyze_stack()), verdict, None)
    for v in verdict.violations:
        about = verdict.policies.get(v["policy"], {})
        v["remediation"], v["url"] = about.get("remediation") or None, about.get("url") or None
    return verdict


def policy_runs(names: Iterable[str], skipped: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(policy, None) for each policy that ran on every resource, (policy, why) for one that was skipped.

    `why` names the unknown property and where: the first skip, and how many more there were.
    """
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for s in skipped:
        by_policy.setdefault(s["policy"], []).append(s)
    out = []
    for name in names:
        found = by_policy.get(name)
        if not found:
            out.append((name, None))
            continue
        first = found[0]
        why = first["reason"] + (f" on {first['urn'].rsplit('::', 1)[-1]}" if first["urn"] else " (stack policy)")
        out.append((name, why + (f", and {len(found) - 1} more" if len(found) > 1 else "")))
    return out
