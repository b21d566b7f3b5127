"""Remembering each request's decoded properties (policies/memo.py) changes no answer: plans judged with it and as
`pulumi_policy` ships it give the same violations and skips; policies share one proxy tree only while it is on, and
a rule that writes into it is refused."""

from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies import memo
from policies.offline import in_process, judge_plan, load_pack_config
from policies.protocol import Requests, judge
from tests.helpers import ROOT, plan_environment, plan_stack

BROKEN = ROOT / "tests/fixtures/Pulumi.dev-broken.yaml"


@pytest.mark.parametrize("which", ["dev-first-preview", "dev-broken"])
def test_a_plan_gets_the_same_verdict_with_and_without_the_memo(which):
    if which == "dev-broken":
        resources, config = plan_stack("dev-broken", config_file=BROKEN).plan["resources"], load_pack_config("dev")
    else:
        resources = plan_environment("dev", first_preview=True).plan["resources"]
        config = load_pack_config("dev")
    remembered = judge_plan(resources, config)
    with memo.disabled():
        shipped = judge(in_process(), resources, config)
    assert remembered.violations == shipped.violations and remembered.skipped == shipped.skipped
    # Both forms carry what the comparison is about: violations on one, skipped policies on the other.
    assert (remembered.violations if which == "dev-broken" else remembered.skipped)


def _probe(seen: list, write: bool = False):
    def validate(args, report):
        seen.append(args.props)
        if write:
            args.props["added"] = 1

    return ResourceValidationPolicy(f"probe-{len(seen)}-{write}", "probe", validate)


def _analyze(policies) -> None:
    memo.install()
    servicer = _PolicyAnalyzerServicer("probe", "0.0.1", policies, EnforcementLevel.ADVISORY)
    resource = {"urn": "urn:pulumi:s::p::aws:s3/bucket:Bucket::b", "type": "aws:s3/bucket:Bucket", "name": "b",
                "custom": True, "inputs": {"tags": {"a": "b"}}}
    servicer.Analyze(Requests([resource]).analyze(resource), None)


def test_policies_share_one_tree_only_while_the_memo_is_on():
    seen: list = []
    _analyze([_probe(seen), _probe(seen)])
    assert seen[0] is seen[1]
    seen.clear()
    with memo.disabled():
        _analyze([_probe(seen), _probe(seen)])
    assert seen[0] is not seen[1] and dict(seen[0]) == dict(seen[1])


def test_a_rule_that_writes_into_a_shared_tree_is_refused():
    with pytest.raises(TypeError, match="a policy rule wrote 'added' into the resource it was given"):
        _analyze([_probe([], write=True)])
    with memo.disabled():
        _analyze([_probe([], write=True)])  # as pulumi_policy ships it, the write goes to that policy's own tree
