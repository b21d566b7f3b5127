"""Cost guardrails; thresholds come from the pack config of each environment (policies/config/<env>.json)."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from components.catalog.bedrock_models import base_model_of
from components.catalog.instance_types import INSTANCE_TYPES
from components.catalog.prices import BASE_MODEL_TAG, throughput_hourly
from components.catalog.pricing import group_price, pool_instance_type, pool_price
from components.catalog.tags import ALWAYS_ON_TAG, REQUIRED_TAG_KEYS
from policies.rules.base import (
    BEDROCK_PT,
    DOCS,
    EKS_NODE_GROUP,
    LAUNCH_TEMPLATE,
    NODE_CLASS,
    NODE_POOL,
    SM_ENDPOINT_CONFIGS,
    UNKNOWN,
    Rule,
    as_json,
    count_text,
    dependency,
    listify,
    of_type,
    peek,
)
from policies.rules.gpu import node_group_instance_type


def _gpu_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = args.get_config().get("maxHourlyGpuUsd")
    if limit is None:
        return
    total, parts = 0.0, []
    for group in of_type(args.resources, EKS_NODE_GROUP):
        lt = dependency(group, LAUNCH_TEMPLATE)
        price = group_price(group.props, lt.props if lt is not None else None)
        if price is None or price.facts.accelerator == "none":
            continue
        total += price.max_usd
        parts.append(f"{group.name} {count_text(price.max_size)} x {price.facts.name} = ${price.max_usd:,.2f}")
    for pool in of_type(args.resources, NODE_POOL):
        price = pool_price(pool.props)
        if price is None or price.facts.accelerator == "none":
            continue
        total += price.max_usd
        parts.append(f"{pool.name} up to {count_text(price.max_size)} x {price.facts.name} (NodePool limits) = "
                     f"${price.max_usd:,.2f}")
    if total > float(limit):
        report(f"GPU node groups and pools at max size cost ${total:,.2f}/h, over this environment's budget of "
               f"${float(limit):,.2f}/h ({'; '.join(parts)})")


GPU_BUDGET = Rule(
    "gpu-hourly-budget",
    "GPU node groups at maximum size stay within the environment's hourly budget.",
    severity=Severity.MEDIUM,
    remediation="Lower maxSize, or raise maxHourlyGpuUsd with a budget owner's approval: for one stack in its "
                "Pulumi.<stack>.yaml (ml-platform:policy: {gpu-hourly-budget: {maxHourlyGpuUsd: N}}), for every stack "
                "of the environment in stacks/environments.py (policies/config/<env>.json is generated from it).",
    url="https://aws.amazon.com/ec2/pricing/on-demand/",
    config={"maxHourlyGpuUsd": {"type": "number"}},
).stack(_gpu_budget)


def _scale_to_zero(args: StackValidationArgs, report: ReportViolation) -> None:
    if not args.get_config().get("requireScaleToZero", False):
        return
    for group in of_type(args.resources, EKS_NODE_GROUP):
        facts = INSTANCE_TYPES.get(node_group_instance_type(group) or "")
        min_size = (group.props.get("scalingConfig") or {}).get("minSize")
        if facts is not None and facts.accelerator != "none" and min_size not in (0, None):
            report(f"GPU node group keeps {count_text(min_size)} x {facts.name} running when idle; use minSize 0 here",
                   group.urn)


SCALE_TO_ZERO = Rule(
    "gpu-scale-to-zero",
    "Outside prod, GPU node groups scale to zero (minSize 0).",
    severity=Severity.MEDIUM,
    remediation="Set minSize: 0; cluster-autoscaler brings nodes up for pending pods.",
    url=f"{DOCS}/eks/latest/best-practices/cas.html",
    config={"requireScaleToZero": {"type": "boolean", "default": False}},
).stack(_scale_to_zero)


def _instance_allow_list(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = args.get_config().get("allowedInstanceTypes")
    if not allowed:
        return
    for group in of_type(args.resources, EKS_NODE_GROUP):
        itype = node_group_instance_type(group)
        if itype and itype not in allowed:
            report(f"instance type {itype} is not allowed here; allowed: {', '.join(allowed)}", group.urn)
    for pool in of_type(args.resources, NODE_POOL):
        itype = pool_instance_type(pool.props)
        if itype and itype not in allowed:
            report(f"NodePool instance type {itype} is not allowed here; allowed: {', '.join(allowed)}", pool.urn)
    for cfg in of_type(args.resources, *SM_ENDPOINT_CONFIGS):
        for variant in listify(cfg.props.get("productionVariants")):
            itype = variant.get("instanceType")
            if itype and itype not in allowed:
                report(f"endpoint instance type {itype} is not allowed here; allowed: {', '.join(allowed)}", cfg.urn)


INSTANCE_ALLOW_LIST = Rule(
    "instance-types-allowed",
    "Node groups and endpoints use only the environment's allowed instance types.",
    severity=Severity.MEDIUM,
    remediation="Pick an allowed type, or allow it: for one stack in its Pulumi.<stack>.yaml (ml-platform:policy: "
                "{instance-types-allowed: {allowedInstanceTypes: [...]}}), for every stack of the environment in "
                "stacks/environments.py (policies/config/<env>.json is generated from it).",
    url="https://aws.amazon.com/ec2/instance-types/",
    config={"allowedInstanceTypes": {"type": "array", "items": {"type": "string"}}},
).stack(_instance_allow_list)


def _commitment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == BEDROCK_PT and args.props.get("commitmentDuration"):
        if not args.get_config().get("allowCommitment", False):
            report(f"Provisioned Throughput with a {args.props['commitmentDuration']} commitment outside prod: "
                   "it cannot be deleted before the term ends")


BEDROCK_COMMITMENT = Rule(
    "bedrock-commitment-prod-only",
    "Committed Bedrock Provisioned Throughput (OneMonth / SixMonths) only where the environment allows it.",
    severity=Severity.HIGH,
    remediation="Omit the commitment (hourly, deletable) outside prod.",
    url=f"{DOCS}/bedrock/latest/userguide/prov-throughput.html",
    config={"allowCommitment": {"type": "boolean", "default": False}},
).resource(_commitment)


#: The component that waits for a customization job and then creates the throughput (components/bedrock/
#: throughput.py): its `pending` output is what the first `pulumi up` after the job will start.
PENDING_THROUGHPUT = "mlplat:bedrock:ProvisionedThroughput"


def _throughputs(resources) -> list[tuple[str, float | None, str]]:
    """(urn, USD/hour or None when unpriced, what) of every Provisioned Throughput, created or pending."""
    out = []
    for r in resources:
        if r.resource_type == BEDROCK_PT:
            tags = peek(r.props, "tags")
            base = (tags.get(BASE_MODEL_TAG) if isinstance(tags, Mapping) else None) \
                or base_model_of(peek(r.props, "modelArn"))
            units, commitment = peek(r.props, "modelUnits"), peek(r.props, "commitmentDuration") or "none"
        elif r.resource_type == PENDING_THROUGHPUT and isinstance(peek(r.props, "pending"), Mapping):
            base, units = peek(r.props, "baseModel"), peek(r.props, "pending", "modelUnits")
            commitment = peek(r.props, "pending", "commitment") or "none"
        else:
            continue
        units = units if isinstance(units, int | float) else 1
        commitment = commitment if isinstance(commitment, str) else "none"
        hourly, what = throughput_hourly(base if isinstance(base, str) else None, units, commitment)
        out.append((r.urn, hourly, ("pending: " if r.resource_type == PENDING_THROUGHPUT else "") + what))
    return out


def _throughput_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    budget = float(args.get_config().get("maxThroughputUsdPerHour", 0))
    found = _throughputs(args.resources)
    for urn, hourly, what in found:
        if hourly is None and budget == 0:  # none allowed here; with a budget, an unpriced one is the cost view's
            report(f"Provisioned Throughput where this environment's maxThroughputUsdPerHour is 0: {what}", urn)
    total = sum(h for _, h, _ in found if h is not None)
    if total > budget:
        detail = "; ".join(f"{what} = ${h:,.2f}/h" for _, h, what in found if h is not None)
        report(f"Bedrock Provisioned Throughput would cost ${total:,.2f}/h (${total * 730:,.0f}/month), over this "
               f"environment's maxThroughputUsdPerHour of ${budget:,.2f}: {detail}")


THROUGHPUT_BUDGET = Rule(
    "bedrock-throughput-budget",
    "Bedrock Provisioned Throughput, created or waiting for its customization job, stays within the environment's "
    "hourly budget (none in dev unless a stack opts in).",
    severity=Severity.HIGH,
    remediation="Remove the throughput, or raise maxThroughputUsdPerHour with a budget owner's approval: for one "
                "stack in its Pulumi.<stack>.yaml (ml-platform:policy: {bedrock-throughput-budget: "
                "{maxThroughputUsdPerHour: N}}), for the environment in stacks/environments.py.",
    url="https://aws.amazon.com/bedrock/pricing/",
    config={"maxThroughputUsdPerHour": {"type": "number", "minimum": 0, "default": 0}},
).stack(_throughput_budget)


def _provider_tags(provider) -> dict:
    if provider is None:
        return {}
    default_tags = as_json(provider.props.get("defaultTags")) or {}
    return dict(default_tags.get("tags") or {}) if isinstance(default_tags, Mapping) else {}


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith("aws:"):
        return
    required = args.get_config().get("requiredTags") or list(REQUIRED_TAG_KEYS)
    tags = _provider_tags(args.provider)
    own = args.props.get("tags")
    if isinstance(own, Mapping):
        tags.update(own)
    missing = [k for k in required if not tags.get(k)]
    if missing:
        report(f"missing required tags (provider default_tags or resource tags): {', '.join(missing)}")
    # What EC2 launches from a launch template gets only its tag_specifications: the provider's default_tags do not
    # reach instances, volumes or ENIs (terraform-provider-aws #19387), so GPU spend would carry no owner.
    for spec in peek(args.props, "tagSpecifications") or [] if args.resource_type == LAUNCH_TEMPLATE else []:
        launched = peek(spec, "tags")
        gone = [k for k in required if isinstance(launched, Mapping) and not launched.get(k)]
        if gone:
            report(f"{peek(spec, 'resourceType')}s launched from this template lack required tags: {', '.join(gone)} "
                   "(default_tags do not reach them: set them in tag_specifications)")


def _tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    _required_tags(args, report)
    _launched_tags(args, report)


def _launched_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Karpenter tags what it launches with the EC2NodeClass's spec.tags (plus its own), never provider tags."""
    if args.resource_type != NODE_CLASS:
        return
    required = args.get_config().get("requiredTags") or list(REQUIRED_TAG_KEYS)
    tags = peek(args.props, "spec", "tags")
    gone = [k for k in required if isinstance(tags, Mapping) and not tags.get(k)] if tags is not UNKNOWN else []
    if tags is None:
        gone = list(required)
    if gone:
        report(f"instances Karpenter launches for this node class lack required tags: {', '.join(gone)} (set them "
               "in spec.tags)")


REQUIRED_TAGS = Rule(
    "required-tags",
    "AWS resources carry the ownership tags, through the provider's default_tags or their own; so do the "
    "instances, volumes and interfaces launched from launch templates and Karpenter node classes.",
    severity=Severity.LOW,
    remediation="Create resources with the stack's aws provider (stacks/platform.py sets default_tags).",
    url=f"{DOCS}/tag-editor/latest/userguide/tagging.html",
    config={"requiredTags": {"type": "array", "items": {"type": "string"}}},
).resource(_tags)

def _endpoints_scale_to_zero(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in SM_ENDPOINT_CONFIGS or not args.get_config().get("requireEndpointScaleToZero", False):
        return
    if (args.props.get("tags") or {}).get(ALWAYS_ON_TAG):
        return
    for variant in listify(args.props.get("productionVariants")):
        managed = variant.get("managedInstanceScaling") or {}
        if managed.get("status") != "ENABLED" or managed.get("minInstanceCount") != 0:
            report(f"variant {variant.get('variantName')} keeps {count_text(variant.get('initialInstanceCount', 1))} x "
                   f"{variant.get('instanceType')} running when idle: deploy it with scaleToZero, or say why not in "
                   "scaleToZero.alwaysOnReason")


ENDPOINT_SCALE_TO_ZERO = Rule(
    "endpoints-scale-to-zero",
    "Where required (dev), SageMaker endpoints scale to zero instances when idle, or say why not.",
    severity=Severity.MEDIUM,
    remediation="Set endpoints[].scaleToZero.enabled: true (an inference component on managed instance scaling), "
                "or endpoints[].scaleToZero.alwaysOnReason.",
    url=f"{DOCS}/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html",
    config={"requireEndpointScaleToZero": {"type": "boolean", "default": False}},
).resource(_endpoints_scale_to_zero)

COST_POLICIES = [GPU_BUDGET, SCALE_TO_ZERO, ENDPOINT_SCALE_TO_ZERO, INSTANCE_ALLOW_LIST, BEDROCK_COMMITMENT,
                 THROUGHPUT_BUDGET,
                 REQUIRED_TAGS]
