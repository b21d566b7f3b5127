"""Cost rules: budgets, scale-to-zero, allow-lists, commitments, tags."""

from __future__ import annotations

import json

from policies.rules import base as t
from policies.rules.cost import (
    BEDROCK_COMMITMENT,
    GPU_BUDGET,
    INSTANCE_ALLOW_LIST,
    PENDING_THROUGHPUT,
    REQUIRED_TAGS,
    SCALE_TO_ZERO,
    THROUGHPUT_BUDGET,
)
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


def test_gpu_budget_at_its_bound_and_what_it_does_not_count():
    """Exactly the budget is within it; CPU groups and pools are not GPU spend; a GPU pool is."""
    groups = _ng("p5.48xlarge", 0, 2, "a")  # 2 x 55.04 = 110.08
    assert check_stack(GPU_BUDGET, groups, {"maxHourlyGpuUsd": 110.08}) == []
    assert len(check_stack(GPU_BUDGET, groups, {"maxHourlyGpuUsd": 110.07})) == 1
    cpu = _ng("c5.2xlarge", 0, 100, "sys")
    assert check_stack(GPU_BUDGET, cpu, {"maxHourlyGpuUsd": 1}) == []

    def pool(instance: str, limits: dict, name: str):
        return res(t.NODE_POOL, {"spec": {"limits": limits, "template": {"spec": {"requirements": [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [instance]}]}}}}, name)

    assert check_stack(GPU_BUDGET, [pool("c5.2xlarge", {"cpu": 800}, "cpu-pool")], {"maxHourlyGpuUsd": 1}) == []
    ((msg, _),) = check_stack(GPU_BUDGET, [pool("p5.48xlarge", {"nvidia.com/gpu": 16}, "gpu-pool")],
                              {"maxHourlyGpuUsd": 100})
    assert "gpu-pool up to 2 x p5.48xlarge (NodePool limits) = $110.08" in msg


def test_throughput_budget_at_its_bound_and_for_models_without_a_rate():
    """2 x Titan Image G1 v2 one month = 2 x 16.20; a pending throughput counts; a model without a rate is refused
    only where no throughput is allowed (it cannot be weighed), once."""
    pt = res(t.BEDROCK_PT, {"modelUnits": 2, "commitmentDuration": "OneMonth",
                            "tags": {"mlplat:base-model": "amazon.titan-image-generator-v2:0"}}, "pt")
    assert check_stack(THROUGHPUT_BUDGET, [pt], {"maxThroughputUsdPerHour": 32.40}) == []
    assert len(check_stack(THROUGHPUT_BUDGET, [pt], {"maxThroughputUsdPerHour": 32.39})) == 1
    pending = res(PENDING_THROUGHPUT, {"baseModel": "amazon.titan-text-lite-v1:0:4k", "pending": {
        "customModel": "m", "modelUnits": 1, "commitment": "none"}}, "pending")
    ((msg, _),) = check_stack(THROUGHPUT_BUDGET, [pt, pending], {"maxThroughputUsdPerHour": 35})
    assert "$39.50/h" in msg and "pending: 1 model unit(s) of amazon.titan-text-lite-v1:0:4k" in msg
    nova = res(t.BEDROCK_PT, {"modelUnits": 1, "modelArn":
                              "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"}, "nova")
    assert check_stack(THROUGHPUT_BUDGET, [nova], {"maxThroughputUsdPerHour": 10}) == []
    ((msg, urn),) = check_stack(THROUGHPUT_BUDGET, [nova], {"maxThroughputUsdPerHour": 0})
    assert urn == "nova" and "no rate in the catalog" in msg
    ((msg, urn),) = check_stack(THROUGHPUT_BUDGET, [pt], {"maxThroughputUsdPerHour": 0})
    assert urn is None and "over this environment's maxThroughputUsdPerHour of $0.00" in msg


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
    # A pack config that says nothing allows no commitment (the policy's default).
    assert len(check_resource(BEDROCK_COMMITMENT, t.BEDROCK_PT, pt, {})) == 1
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
