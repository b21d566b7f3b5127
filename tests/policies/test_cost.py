"""Cost rules: budgets, scale-to-zero, allow-lists, commitments, tags."""

from __future__ import annotations

import json

from policies.rules import base as t
from policies.rules.cost import BEDROCK_COMMITMENT, GPU_BUDGET, INSTANCE_ALLOW_LIST, REQUIRED_TAGS, SCALE_TO_ZERO
from tests.policies.helpers import UNDECIDED, UNKNOWN, check_resource, check_stack, res


def _ng(instance, min_size, max_size, name="ng"):
    lt = res(t.LAUNCH_TEMPLATE, {"instanceType": instance}, f"{name}-lt")
    return [lt, res(t.EKS_NODE_GROUP, {"scalingConfig": {"minSize": min_size, "maxSize": max_size}}, name, [lt])]


def test_gpu_budget_sums_max_sizes_at_catalog_prices():
    groups = _ng("p5.48xlarge", 0, 2, "a") + _ng("g5.xlarge", 0, 10, "b")  # 2*55.04 + 10*1.006 = 120.14
    assert check_stack(GPU_BUDGET, groups, {"maxHourlyGpuUsd": 121}) == []
    ((msg, urn),) = check_stack(GPU_BUDGET, groups, {"maxHourlyGpuUsd": 120})
    assert urn is None and "$120.14/h" in msg and "a 2 x p5.48xlarge = $110.08" in msg
    assert check_stack(GPU_BUDGET, groups, {}) == []
    assert check_stack(GPU_BUDGET, _ng(UNKNOWN, 0, 2), {"maxHourlyGpuUsd": 1}) == UNDECIDED


def test_scale_to_zero_only_where_required():
    idle = _ng("g5.xlarge", 1, 2)
    assert check_stack(SCALE_TO_ZERO, idle, {"requireScaleToZero": False}) == []
    assert [u for _, u in check_stack(SCALE_TO_ZERO, idle, {"requireScaleToZero": True})] == ["ng"]
    assert check_stack(SCALE_TO_ZERO, _ng("g5.xlarge", 0, 2), {"requireScaleToZero": True}) == []
    assert check_stack(SCALE_TO_ZERO, _ng("c5.2xlarge", 2, 4), {"requireScaleToZero": True}) == []


def test_instance_allow_list():
    allowed = {"allowedInstanceTypes": ["g5.xlarge", "ml.g5.2xlarge"]}
    assert check_stack(INSTANCE_ALLOW_LIST, _ng("g5.xlarge", 0, 1), allowed) == []
    assert len(check_stack(INSTANCE_ALLOW_LIST, _ng("p5.48xlarge", 0, 1), allowed)) == 1
    cfg = res(t.SM_ENDPOINT_CONFIG, {"productionVariants": [{"instanceType": "ml.g5.48xlarge"}]}, "ec")
    assert [u for _, u in check_stack(INSTANCE_ALLOW_LIST, [cfg], allowed)] == ["ec"]
    assert check_stack(INSTANCE_ALLOW_LIST, [res(t.SM_ENDPOINT_CONFIG, {"productionVariants": UNKNOWN})],
                       allowed) == UNDECIDED


def test_committed_throughput_only_where_allowed():
    pt = {"modelUnits": 1, "commitmentDuration": "OneMonth"}
    assert len(check_resource(BEDROCK_COMMITMENT, t.BEDROCK_PT, pt, {"allowCommitment": False})) == 1
    assert check_resource(BEDROCK_COMMITMENT, t.BEDROCK_PT, pt, {"allowCommitment": True}) == []
    assert check_resource(BEDROCK_COMMITMENT, t.BEDROCK_PT, {"modelUnits": 1}, {}) == []
    assert check_resource(BEDROCK_COMMITMENT, t.BEDROCK_PT, {"commitmentDuration": UNKNOWN}) == UNDECIDED


def test_required_tags_from_provider_default_tags_or_resource():
    tags = {"environment": "dev", "project": "p", "owner": "o", "cost-center": "c"}
    provider = {"defaultTags": json.dumps({"tags": tags})}
    assert check_resource(REQUIRED_TAGS, "aws:ec2/vpc:Vpc", {}, provider_props=provider) == []
    assert check_resource(REQUIRED_TAGS, "aws:ec2/vpc:Vpc", {"tags": tags}, provider_props={}) == []
    (msg,) = check_resource(REQUIRED_TAGS, "aws:ec2/vpc:Vpc", {"tags": {"owner": "o"}})
    assert msg.endswith("environment, project, cost-center")
    assert check_resource(REQUIRED_TAGS, "kubernetes:core/v1:Namespace", {}) == []
    assert check_resource(REQUIRED_TAGS, "aws:ec2/vpc:Vpc", {"tags": UNKNOWN}) == UNDECIDED


def test_scale_to_zero_unknown_min_size_is_undecided():
    lt = res(t.LAUNCH_TEMPLATE, {"instanceType": "g5.xlarge"}, "lt")
    group = res(t.EKS_NODE_GROUP, {"scalingConfig": UNKNOWN}, "ng", [lt])
    assert check_stack(SCALE_TO_ZERO, [lt, group], {"requireScaleToZero": True}) == UNDECIDED
