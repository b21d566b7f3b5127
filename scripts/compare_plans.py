"""Compare two plan documents resource by resource: what a refactoring must leave unchanged.

    python scripts/compare_plans.py OLD.json NEW.json [--rename-output OLD=NEW ...]

Resources are matched by URN. For each: type, parent, dependencies, provider, protect,
retainOnDelete and inputs must be equal; stack outputs too, after the given renames. Prints one
line per difference and exits 1 when there is any (0: equivalent). A Bedrock customization job whose inputs changed
under the same runId (its run guard's fingerprint differs) is an error, as `pulumi preview` would report it: the
update would fail on a reused job name (exit 2).

`steps` is what the engine would do from OLD to NEW, resource by resource, as `pulumi preview` decides it: a changed
input listed in the resource's `replaceOnChanges` (aws-native's SDK puts there every create-only property of the
CloudFormation schema; the program adds its own) replaces it, any other change updates it in place; a replaced
resource's outputs are unknown until it exists, so every input that came from it (`propertyDependencies`) changes
too. An in-place update that changes a property the service's update API does not take (UPDATE_APIS, members read
from botocore) would fail or be ignored: the resource is stranded, and that is an error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FIELDS = ("type", "custom", "parent", "provider", "protect", "retainOnDelete", "inputs")


def _resources(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in plan["resources"]}


def differences(old: dict[str, Any], new: dict[str, Any], renames: dict[str, str] | None = None) -> list[str]:
    renames = renames or {}
    out: list[str] = []
    a, b = _resources(old), _resources(new)
    out += [f"only in old: {urn}" for urn in sorted(a.keys() - b.keys())]
    out += [f"only in new: {urn}" for urn in sorted(b.keys() - a.keys())]
    for urn in sorted(a.keys() & b.keys()):
        for field in FIELDS:
            if a[urn].get(field) != b[urn].get(field):
                out.append(f"{urn}: {field} differs")
        if sorted(a[urn]["dependencies"]) != sorted(b[urn]["dependencies"]):
            out.append(f"{urn}: dependencies differ")
    old_outputs = {renames.get(k, k): v for k, v in old["outputs"].items()}
    for key in sorted(old_outputs.keys() | new["outputs"].keys()):
        if old_outputs.get(key) != new["outputs"].get(key):
            out.append(f"stack output {key}: {json.dumps(old_outputs.get(key))[:80]} -> "
                       f"{json.dumps(new['outputs'].get(key))[:80]}")
    return out


#: aws-native types whose Cloud Control update calls one service API: what an in-place update can change is that
#: request's members (botocore), and Tags.
UPDATE_APIS = {
    "aws-native:sagemaker:InferenceComponent": ("sagemaker", "UpdateInferenceComponent"),
}


def _replaces(resource: dict[str, Any], key: str) -> bool:
    paths = resource.get("replaceOnChanges") or []
    return any(p == "*" or p.split(".")[0].split("[")[0] == key for p in paths)


def steps(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """urn -> (create | update | replace, the changed inputs) for every resource of `new` that changes."""
    a = _resources(old)
    replaced: set[str] = set()
    out: dict[str, tuple[str, list[str]]] = {}
    for r in new["resources"]:  # registration order: what a resource follows comes before it
        before = a.get(r["urn"])
        if before is None:
            out[r["urn"]] = ("create", [])
            continue
        inputs, was = r.get("inputs") or {}, before.get("inputs") or {}
        changed = {k for k in inputs.keys() | was.keys() if inputs.get(k) != was.get(k)}
        changed |= {k for k, urns in (r.get("propertyDependencies") or {}).items() if replaced & set(urns)}
        if not changed:
            continue
        step = "replace" if any(_replaces(r, k) for k in changed) else "update"
        if step == "replace":
            replaced.add(r["urn"])
        out[r["urn"]] = (step, sorted(changed))
    return out


def stranded(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """In-place updates that change what the service's update API cannot."""
    import botocore.session

    session = botocore.session.get_session()
    types = {r["urn"]: r["type"] for r in new["resources"]}
    out = []
    for urn, (step, changed) in steps(old, new).items():
        api = UPDATE_APIS.get(types[urn])
        if step != "update" or api is None:
            continue
        members = {m.lower() for m in session.get_service_model(api[0]).operation_model(api[1]).input_shape.members}
        for key in changed:
            if key.lower() not in members | {"tags"}:
                out.append(f"{urn}: an in-place update cannot change {key} ({api[0]} {api[1]} takes no "
                           f"{key[0].upper() + key[1:]}): replace it when what it follows is replaced "
                           "(replaceOnChanges)")
    return out


def refused_runs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What the run guards (components/bedrock/run_guard.py) of `new` refuse, given `old` as the deployed state."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from components.bedrock.run_guard import refusal

    a = _resources(old)
    out = []
    for urn, r in _resources(new).items():
        inputs, before = r.get("inputs") or {}, (a.get(urn) or {}).get("inputs") or {}
        if inputs.get("guard") == "bedrock-run" and before.get("run_id") == inputs.get("run_id"):
            why = refusal(inputs["job"], inputs["run_id"], before.get("fingerprint", ""), inputs.get("fingerprint", ""),
                          before.get("forces"), inputs.get("forces"))
            if why:
                out.append(why)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rename-output", action="append", default=[], metavar="OLD=NEW")
    args = parser.parse_args(argv)
    renames = dict(item.split("=", 1) for item in args.rename_output)
    old, new = json.loads(args.old.read_text()), json.loads(args.new.read_text())
    refused = refused_runs(old, new)
    for line in refused:
        print(f"error: {line}", file=sys.stderr)
    if refused:
        return 2
    stuck = stranded(old, new)
    for line in stuck:
        print(f"error: {line}", file=sys.stderr)
    if stuck:
        return 2
    found = differences(old, new, renames)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
