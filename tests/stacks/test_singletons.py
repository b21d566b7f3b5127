"""Settings AWS keeps once per account and region (stacks/singletons.py): one stack owns each."""

from __future__ import annotations

import json

from mlplat.project import find_project, load_stack_config
from stacks.singletons import conflicts
from tests.helpers import ROOT, config, run_cli

ON = json.dumps({"invocationLogging": {"enabled": True}})


def test_the_shipped_stacks_leave_invocation_logging_to_prod():
    project = find_project(ROOT)
    stacks = {s: load_stack_config(project, s).values for s in project.stack_names()}
    assert conflicts(stacks) == []
    owners = [s for s, v in stacks.items() if json.loads(v.get("ml-platform:bedrock", "{}")).get(
        "invocationLogging", {}).get("enabled")]
    assert owners == ["prod"]


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
