"""What the real Pulumi CLI writes, read as a plan document, so `mlplat check` judges a team's real preview or state
with the same pack and the same offline verdict (as `pulumi policy analyze` does for the CLI).

Two shapes (pulumi/pulumi, read at v3.259):
- `pulumi stack export`: `{"version": 3, "deployment": {"resources": [ResourceV3, ...]}}`
  (`sdk/go/common/apitype/core.go`). A secret is `{"4dabf18193072939515e22adb298388d":
  "1b47061264138c4ac30d75fd1eb44270", "ciphertext": ...}` (or `plaintext` with `--show-secrets`); assets, archives
  and resource references carry their own signatures under the same key.
- `pulumi preview --json`: `{"steps": [{"op", "urn", "newState": ResourceV3, "oldState": ...}], ...}`
  (`pkg/display/json.go` `PreviewDigest`). Secrets are already the string `"[secret]"`; values not known during the
  preview are `"04da6b54-80e4-46f7-96ec-b56ff0331ba9"`. A step that deletes has no new state and is left out; a
  resource the preview creates may carry no outputs yet, and the engine judges its inputs then (its final outputs
  are its inputs plus unknowns), so its inputs stand in.

Secret values never reach the document: every secret, even one exported in plain text, becomes `[secret]`.
"""

from __future__ import annotations

from typing import Any

from mlplat.engine import PlanRenderer
from mlruntime.errors import InputError

#: `pulumi preview --json` ops that leave no resource behind.
_GONE = {"delete", "discard", "delete-replaced", "discard-replaced", "remove-pending-replace"}
#: The same signatures as the engine's wire values (secrets, assets, archives, resource references, unknowns).
value = PlanRenderer().value


def _resource(state: dict[str, Any], *, outputs_from_inputs: bool = False) -> dict[str, Any]:
    urn = state["urn"]
    inputs = value(state.get("inputs") or {})
    outputs = value(state.get("outputs") or {})
    if outputs_from_inputs and not outputs and state.get("custom"):
        outputs = inputs
    return {
        "urn": urn, "type": state["type"], "name": urn.rsplit("::", 1)[-1], "id": state.get("id") or None,
        "custom": bool(state.get("custom")), "parent": state.get("parent") or None,
        "dependencies": sorted(set(state.get("dependencies") or [])), "provider": state.get("provider") or None,
        "protect": bool(state.get("protect")), "retainOnDelete": bool(state.get("retainOnDelete")),
        "inputs": inputs, "outputs": outputs,
        "propertyDependencies": {k: sorted(set(v)) for k, v in (state.get("propertyDependencies") or {}).items() if v},
    }


def _document(states: list[dict[str, Any]], preview: str, **kw: bool) -> dict[str, Any]:
    resources = [_resource(s, **kw) for s in states if s.get("type") != "pulumi:pulumi:Stack"]
    stack_state = next((s for s in states if s.get("type") == "pulumi:pulumi:Stack"), None)
    urn = (stack_state or (states[0] if states else {})).get("urn", "urn:pulumi:unknown::unknown::x")
    stack, project = urn.split("::")[0].removeprefix("urn:pulumi:"), urn.split("::")[1]
    outputs = value((stack_state or {}).get("outputs") or {})
    if not isinstance(outputs.get("environment"), str):
        environment = stack.split("-")[0]
        if environment in ("dev", "staging", "prod"):
            outputs["environment"] = environment  # the stack name says it (`<environment>[-<suffix>]`)
    return {"project": project, "stack": stack, "preview": preview, "resources": resources, "outputs": outputs,
            "policy": {"violations": [], "skipped": []}, "cost": {"hourlyUsdIdle": 0.0, "hourlyUsdMax": 0.0,
                                                                    "items": []}}


def kind_of(document: Any) -> str:
    """`stack-export`, `preview-json` or (any other object) `plan`; InputError for what is not an object."""
    if isinstance(document, dict):
        if isinstance(document.get("deployment"), dict) and "version" in document:
            return "stack-export"
        if isinstance(document.get("steps"), list) or ("changeSummary" in document and "resources" not in document):
            return "preview-json"
        return "plan"  # judged by the plan schema, which names what is missing
    raise InputError("expected a plan (mlplat plan --json), a `pulumi stack export` or a `pulumi preview --json` "
                     "document; found none of them")


def from_stack_export(document: dict[str, Any]) -> dict[str, Any]:
    states = document["deployment"].get("resources") or []
    return _document([s for s in states if not s.get("delete")], "update")


def from_preview_json(document: dict[str, Any]) -> dict[str, Any]:
    states = [step["newState"] for step in document.get("steps") or []
              if step.get("op") not in _GONE and isinstance(step.get("newState"), dict)]
    return _document(states, "update", outputs_from_inputs=True)


def as_plan(document: Any) -> dict[str, Any]:
    kind = kind_of(document)
    if kind == "stack-export":
        return from_stack_export(document)
    if kind == "preview-json":
        return from_preview_json(document)
    return document
