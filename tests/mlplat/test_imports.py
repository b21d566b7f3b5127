"""`mlplat check` on what the real Pulumi CLI writes: `pulumi stack export` and `pulumi preview --json` of a stack
judge exactly as the plan of the same stack does.

The fixtures are written in the CLI's own shapes (pulumi/pulumi v3.259, `sdk/go/common/apitype/core.go` ResourceV3
and SecretV1, `pkg/display/json.go` PreviewDigest/PreviewStep, `sdk/go/common/resource/sig/sig.go`): secrets as
signature objects with ciphertext, unknowns as the computed placeholder, archives with their signature, the stack as a
`pulumi:pulumi:Stack` resource carrying the stack outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlplat.imports import as_plan, kind_of
from mlruntime.errors import InputError
from tests.helpers import ROOT, plan_stack, run_cli

BROKEN = ROOT / "tests/fixtures/Pulumi.dev-broken.yaml"
SIG = "4dabf18193072939515e22adb298388d"


def _wire(v: Any) -> Any:
    """A plan value as the CLI writes it in state."""
    if v == "[secret]":
        return {SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:ZW5jcnlwdGVk"}
    if v == "[unknown]":
        return "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    if isinstance(v, dict) and set(v) == {"fileArchive"}:
        return {SIG: "0def7320c3a5731c473e5ecbe6d01bc7", "path": v["fileArchive"]}
    if isinstance(v, dict):
        return {k: _wire(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_wire(x) for x in v]
    return v


def _state(r: dict[str, Any], outputs: bool = True) -> dict[str, Any]:
    state = {"urn": r["urn"], "custom": r["custom"], "type": r["type"], "inputs": _wire(r["inputs"])}
    if outputs and r["outputs"]:
        state["outputs"] = _wire(r["outputs"])
    for key in ("id", "parent", "provider", "dependencies", "propertyDependencies", "protect", "retainOnDelete"):
        if r.get(key):
            state[key] = r[key]
    return state


def _stack_state(plan: dict[str, Any]) -> dict[str, Any]:
    urn = f"urn:pulumi:{plan['stack']}::{plan['project']}::pulumi:pulumi:Stack::{plan['project']}-{plan['stack']}"
    return {"urn": urn, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": _wire(plan["outputs"])}


def export_of(plan: dict[str, Any]) -> dict[str, Any]:
    resources = [_stack_state(plan), *(_state(r) for r in plan["resources"])]
    gone = {**_state(plan["resources"][-1]), "urn": plan["resources"][-1]["urn"] + "-old", "delete": True}
    return {"version": 3, "deployment": {"manifest": {"time": "2026-12-07T00:00:00Z", "version": "v3.259.0"},
                                         "resources": [*resources, gone]}}


def preview_of(plan: dict[str, Any]) -> dict[str, Any]:
    """Every resource created (a create step's new state carries no outputs yet) plus one delete step."""
    steps = [{"op": "create", "urn": r["urn"], "newState": _state(r, outputs=False)} for r in plan["resources"]]
    steps.append({"op": "delete", "urn": "urn:pulumi:dev-broken::ml-platform::aws:s3/bucket:Bucket::gone",
                  "oldState": {"urn": "urn:pulumi:dev-broken::ml-platform::aws:s3/bucket:Bucket::gone",
                               "custom": True, "type": "aws:s3/bucket:Bucket"}})
    return {"config": {}, "steps": steps, "changeSummary": {"create": len(steps) - 1, "delete": 1}}


@pytest.fixture(scope="module")
def broken() -> dict[str, Any]:
    return plan_stack("dev-broken", config_file=BROKEN).plan


def _check(tmp_path: Path, name: str, document: dict[str, Any]):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return run_cli("check", str(path))


def test_a_stack_export_is_judged_as_its_plan(broken, tmp_path):
    planned = _check(tmp_path, "plan.json", broken)
    exported = _check(tmp_path, "export.json", export_of(broken))
    assert planned.returncode == exported.returncode == 1
    assert exported.stdout == planned.stdout
    assert "ZW5jcnlwdGVk" not in json.dumps(as_plan(export_of(broken)))


def test_a_preview_json_is_judged_as_the_first_preview_would(broken, tmp_path):
    """A create step has no outputs yet: the engine judges its inputs, so the same violations appear."""
    planned = _check(tmp_path, "plan.json", broken)
    previewed = _check(tmp_path, "preview.json", preview_of(broken))
    assert previewed.returncode == 1
    assert previewed.stdout.splitlines()[-1] == planned.stdout.splitlines()[-1]
    plan = as_plan(preview_of(broken))
    assert [r["urn"] for r in plan["resources"]] == [r["urn"] for r in broken["resources"]], "the delete is left out"
    assert plan["outputs"]["environment"] == "dev", "from the stack name when the preview carries no outputs"


def test_what_is_neither_is_refused_with_exit_2(tmp_path):
    with pytest.raises(InputError):
        kind_of(["a", "list"])
    result = _check(tmp_path, "other.json", {"hello": "world"})
    assert result.returncode == 2 and "'project' is a required property" in result.stderr
    assert "pulumi stack export" in result.stderr
