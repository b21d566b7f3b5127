"""Compare two plan documents resource by resource: what a refactoring must leave unchanged.

    python scripts/compare_plans.py OLD.json NEW.json [--rename-output OLD=NEW ...]

Resources are matched by URN. For each: type, parent, dependencies, provider, protect,
retainOnDelete and inputs must be equal; stack outputs too, after the given renames. Prints one
line per difference and exits 1 when there is any (0: equivalent). A Bedrock customization job whose inputs changed
under the same runId (its run guard's fingerprint differs) is an error, as `pulumi preview` would report it: the
update would fail on a reused job name (exit 2).
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


def refused_runs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What the run guards (components/bedrock/run_guard.py) of `new` refuse, given `old` as the deployed state."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from components.bedrock.run_guard import refusal

    a = _resources(old)
    out = []
    for urn, r in _resources(new).items():
        inputs, before = r.get("inputs") or {}, (a.get(urn) or {}).get("inputs") or {}
        if inputs.get("guard") == "bedrock-run" and before.get("run_id") == inputs.get("run_id"):
            why = refusal(inputs["job"], inputs["run_id"], before.get("fingerprint", ""), inputs.get("fingerprint", ""))
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
    found = differences(old, new, renames)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
