"""Settings AWS keeps once per account and region (stacks/singletons.py): one stack owns each."""

from __future__ import annotations

import json

from mlplat.project import find_project, load_stack_config
from stacks.singletons import conflicts, orphans
from tests.helpers import CHAT as LIVE_CHAT
from tests.helpers import ROOT, config, run_cli

ON = json.dumps({"invocationLogging": {"enabled": True}})


def test_the_shipped_stacks_leave_invocation_logging_and_the_api_gateway_role_to_prod():
    project = find_project(ROOT)
    stacks = {s: load_stack_config(project, s).values for s in project.stack_names()}
    assert conflicts(stacks) == [] and orphans(stacks) == []
    owners = [s for s, v in stacks.items() if json.loads(v.get("ml-platform:bedrock", "{}")).get(
        "invocationLogging", {}).get("enabled")]
    assert owners == ["prod"]
    role_owners = [s for s, v in stacks.items() if any(
        json.loads(v.get(f"ml-platform:{key}", "{}")).get("enabled")
        and json.loads(v.get(f"ml-platform:{key}", "{}")).get("manageApiGatewayAccount", True)
        for key in ("liveChat", "rag"))]
    assert role_owners == ["prod"]


CHAT = json.dumps({"enabled": True})
RAG_ONLY = json.dumps({"enabled": True, "manageApiGatewayAccount": False})
ROLE = "The API Gateway account's CloudWatch role"


def test_the_api_gateway_role_has_one_owner_and_every_stack_that_needs_it_has_one():
    """Each reason once: two owners that may share an account; a stack that leaves the role to others while no
    owner may share its account; neither when the owner may share it or the stack runs no API."""
    owner = {"aws:region": "us-east-1", "ml-platform:liveChat": CHAT}
    user = {"aws:region": "us-east-1", "ml-platform:rag": RAG_ONLY}
    assert conflicts({"a": owner, "b": dict(owner)}) == [(ROLE, "a", "b")]
    assert conflicts({"a": owner, "b": user}) == [] and orphans({"a": owner, "b": user}) == []
    apart = {"a": {**owner, "aws:allowedAccountIds": '["111111111111"]'},
             "b": {**user, "aws:allowedAccountIds": '["222222222222"]'}}
    assert orphans(apart) == [(ROLE, "b")]
    assert orphans({"b": {**user, "aws:region": "eu-west-1"}, "a": owner}) == [(ROLE, "b")]
    assert orphans({"b": {"aws:region": "us-east-1"}}) == [], "a stack without an API needs no role"
    # Live chat and RAG in one stack: either one setting it makes the stack an owner.
    both = {"aws:region": "us-east-1", "ml-platform:liveChat": CHAT, "ml-platform:rag": RAG_ONLY}
    assert conflicts({"a": owner, "c": both}) == [(ROLE, "a", "c")]


def test_two_stacks_of_one_account_and_region_conflict_unless_pinned_apart():
    a = {"aws:region": "us-east-1", "ml-platform:bedrock": ON}
    b = dict(a)
    assert conflicts({"a": a, "b": b}) == [("Bedrock model invocation logging", "a", "b")]
    assert conflicts({"a": a, "b": {**b, "aws:region": "eu-west-1"}}) == []
    apart = {"a": {**a, "aws:allowedAccountIds": '["111111111111"]'},
             "b": {**b, "aws:allowedAccountIds": '["222222222222"]'}}
    assert conflicts(apart) == []
    one_pinned = {"a": {**a, "aws:allowedAccountIds": '["111111111111"]'}, "b": b}
    assert conflicts(one_pinned) != [], "an unpinned stack may be in any account"
    assert conflicts({"a": a, "b": {**b, "ml-platform:bedrock": json.dumps({})}}) == []


def test_the_plan_warns_when_a_sibling_stack_file_sets_it_too(tmp_path):
    cfg = config(environment="staging", bedrock={"invocationLogging": {"enabled": True}})
    for stack in ("staging", "prod"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(json.dumps({"config": cfg}))
    result = run_cli("plan", "staging", "--config-file", str(tmp_path / "Pulumi.staging.yaml"))
    assert ("warning: Bedrock model invocation logging is one setting per account and region, and both prod and "
            "staging set it") in result.stdout


def test_the_plan_warns_when_no_sibling_sets_the_role_a_stack_leaves_to_others(tmp_path):
    cfg = config(environment="dev", liveChat={**LIVE_CHAT, "manageApiGatewayAccount": False})
    (tmp_path / "Pulumi.dev.yaml").write_text(json.dumps({"config": cfg}))
    result = run_cli("plan", "dev", "--config-file", str(tmp_path / "Pulumi.dev.yaml"))
    assert ("warning: The API Gateway account's CloudWatch role is one setting per account and region, and dev "
            "needs it but leaves it to another stack") in result.stdout, result.stdout + result.stderr
