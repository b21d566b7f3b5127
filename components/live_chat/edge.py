"""The callback API's public edge: the request model API Gateway validates, and the WAF in front of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

#: The callback contract Talkdesk Builder is configured with (JSON Schema 2020-12; the handler checks it too).
CONTRACT = Path(__file__).resolve().parent / "talkdesk" / "callback.schema.json"
DRAFT_4 = "http://json-schema.org/draft-04/schema#"


def callback_model_schema(contract: dict[str, Any] | None = None) -> dict[str, Any]:
    """The contract as an API Gateway model: models are JSON Schema draft 4 (API Gateway Developer Guide,
    "Data models for REST APIs"), which has no `const`, `if`/`then` or `$id`.

    `if event_type is X then require Y` becomes a `oneOf` over the event types, each with its requirements;
    tests check that both schemas accept and refuse the same bodies.
    """
    schema = copy.deepcopy(contract if contract is not None else json.loads(CONTRACT.read_text()))
    schema.pop("$id", None)
    schema["$schema"] = DRAFT_4
    conditions = schema.pop("allOf", [])
    required_by_event: dict[str, list[str]] = {}
    for condition in conditions:
        event = condition["if"]["properties"]["event_type"]["const"]
        required_by_event[event] = condition["then"]["required"]
    events = schema["properties"]["event_type"]["enum"]
    schema["oneOf"] = [
        {"properties": {"event_type": {"enum": [event]}}, **({"required": required_by_event[event]}
                                                             if event in required_by_event else {})}
        for event in events
    ]
    return schema


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric,
                                                sampled_requests_enabled=True)


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric,
                                                    sampled_requests_enabled=True)


def _managed(name: str, priority: int, group: str, metric: str,
             count: tuple[str, ...] = ()) -> aws.wafv2.WebAclRuleArgs:
    """A managed rule group; the rules named in `count` only count (their verdict is left to our own rules)."""
    overrides = [{"name": rule, "action_to_use": {"count": {}}} for rule in count]
    return aws.wafv2.WebAclRuleArgs(
        name=name, priority=priority,
        override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
        statement=aws.wafv2.WebAclRuleStatementArgs(
            managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                vendor_name="AWS", name=group, rule_action_overrides=overrides or None)),
        visibility_config=_rule_visibility(metric))


#: The largest callback body the handler accepts (handlers/callback.py MAX_BODY_BYTES; a test keeps them equal). An
#: agent message of 4,000 CJK characters is about 12 KB in UTF-8 and 24 KB JSON-escaped (\uXXXX): over the common
#: rule set's SizeRestrictions_BODY (8 KB), which therefore only counts; this limit blocks instead.
CALLBACK_MAX_BODY_BYTES = 32 * 1024
#: How much of a body WAF inspects for an API Gateway stage (wafv2 AssociationConfig DefaultSizeInspectionLimit: 16 KB
#: by default, KB_16..KB_64): 48 KB covers the limit, so the body rules see whole callbacks.
BODY_INSPECTION_LIMIT = "KB_48"
#: Credential headers the callback carries: never written to the WAF logs (Talkdesk authenticates with x-api-key).
REDACTED_HEADERS = ("authorization", "x-api-key")


#: WAF log destinations in CloudWatch Logs must be log groups named `aws-waf-logs-…` (AWS WAF Developer Guide,
#: "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group").
WAF_LOG_PREFIX = "aws-waf-logs-"


def callback_web_acl(name: str, stage_arn: pulumi.Input[str], rate_limit: int, log_group_arn: pulumi.Input[str],
                     opts: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
    """A regional web ACL on the callback stage: AWS's common rule set, the known-bad-inputs rule set (Log4j
    and other exploit patterns in paths, headers and bodies), then a per-IP rate rule; its traffic is logged
    to `log_group_arn` (an `aws-waf-logs-` group) with the credential headers redacted.

    REST API stages take regional web ACLs (AWS WAF Developer Guide, "Resources you can protect");
    `AWSManagedRulesCommonRuleSet` is the baseline managed group; its SizeRestrictions_BODY (bodies over 8 KB) only
    counts, and our own size rule blocks what the handler refuses anyway (CALLBACK_MAX_BODY_BYTES). The rate rule
    counts per source IP over the
    default 5-minute window; WAFv2's RateLimit is 10..2,000,000,000 (botocore wafv2 model).
    """
    acl = aws.wafv2.WebAcl(
        f"{name}-callback-waf",
        scope="REGIONAL",
        description="Talkdesk callbacks: AWS common rule set and a per-IP rate limit",
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        rules=[
            _managed("aws-common-rule-set", 0, "AWSManagedRulesCommonRuleSet", f"{name}-common",
                     count=("SizeRestrictions_BODY",)),
            _managed("aws-known-bad-inputs", 1, "AWSManagedRulesKnownBadInputsRuleSet", f"{name}-bad-inputs"),
            aws.wafv2.WebAclRuleArgs(
                name="body-size", priority=2,
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    size_constraint_statement=aws.wafv2.WebAclRuleStatementSizeConstraintStatementArgs(
                        comparison_operator="GT", size=CALLBACK_MAX_BODY_BYTES,
                        field_to_match=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs(
                            body=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchBodyArgs(
                                oversize_handling="MATCH")),
                        text_transformations=[{"priority": 0, "type": "NONE"}])),
                visibility_config=_rule_visibility(f"{name}-body-size")),
            aws.wafv2.WebAclRuleArgs(
                name="rate-per-ip", priority=3,
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=rate_limit, aggregate_key_type="IP")),
                visibility_config=_rule_visibility(f"{name}-rate")),
        ],
        visibility_config=_visibility(f"{name}-callback"),
        association_config=aws.wafv2.WebAclAssociationConfigArgs(request_bodies=[
            aws.wafv2.WebAclAssociationConfigRequestBodyArgs(
                api_gateway=aws.wafv2.WebAclAssociationConfigRequestBodyApiGatewayArgs(
                    default_size_inspection_limit=BODY_INSPECTION_LIMIT))]),
        opts=opts,
    )
    aws.wafv2.WebAclAssociation(f"{name}-callback-waf", resource_arn=stage_arn, web_acl_arn=acl.arn, opts=opts)
    # WAF adds the log group's resource policy for delivery.logs.amazonaws.com itself when the deployer may
    # logs:PutResourcePolicy (same guide); the group is encrypted with the environment key like every log group.
    aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-callback-waf-logs", resource_arn=acl.arn, log_destination_configs=[log_group_arn],
        redacted_fields=[aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
            single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header))
            for header in REDACTED_HEADERS],
        opts=opts)
    return acl
