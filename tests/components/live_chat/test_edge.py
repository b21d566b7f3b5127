"""The callback API's edge: the body model API Gateway validates, the WAF, reserved concurrency."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from components.live_chat.edge import CONTRACT, callback_model_schema
from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import CHAT, config, values

BODIES = [
    json.loads((CONTRACT.parent / "message-created.example.json").read_text()),
    json.loads((CONTRACT.parent / "conversation-ended.example.json").read_text()),
    {"event_type": "message_created", "conversation_id": "c1"},  # no content
    {"event_type": "conversation_ended", "conversation_id": "c1"},
    {"event_type": "message_created", "conversation_id": "c1", "content": ""},
    {"event_type": "message_created", "conversation_id": "c1", "content": "x" * 4001},
    {"event_type": "agent_joined", "conversation_id": "c1"},
    {"event_type": "message_created", "content": "hi"},
    {"event_type": "message_created", "conversation_id": "", "content": "hi"},
    {"event_type": "conversation_ended", "conversation_id": "c" * 129},
    {"event_type": "message_created", "conversation_id": "c1", "content": "hi", "message_id": 7},
    [],
    "message_created",
]


def test_the_api_gateway_model_is_draft_4_and_judges_bodies_as_the_contract_does():
    model = callback_model_schema()
    Draft4Validator.check_schema(model)
    assert model["$schema"] == "http://json-schema.org/draft-04/schema#" and "allOf" not in model
    contract = Draft202012Validator(json.loads(CONTRACT.read_text()))
    verdicts = [(contract.is_valid(b), Draft4Validator(model).is_valid(b)) for b in BODIES]
    assert all(a == b for a, b in verdicts), verdicts
    assert [a for a, _ in verdicts].count(True) == 3  # both examples and a plain conversation_ended


def test_bodies_are_validated_by_api_gateway_before_the_function_runs(envs):
    view = envs["dev"]
    method = view.get("aws:apigateway/method:Method", "mlplat-dev-chat-callback-post")["inputs"]
    validator = view.get("aws:apigateway/requestValidator:RequestValidator", "mlplat-dev-chat-callback-body")
    model = view.get("aws:apigateway/model:Model", "mlplat-dev-chat-callback-body")["inputs"]
    assert method["requestValidatorId"] == validator["id"] and validator["inputs"]["validateRequestBody"] is True
    assert method["requestModels"] == {"application/json": model["name"]}
    assert json.loads(model["schema"]) == callback_model_schema()


def test_dev_has_no_waf_and_reserves_no_concurrency(envs):
    view = envs["dev"]
    assert not view.of_type("aws:wafv2/webAcl:WebAcl")
    chat = [f for f in view.of_type("aws:lambda/function:Function") if "-chat-" in f["name"]]
    assert len(chat) == 4 and all("reservedConcurrentExecutions" not in f["inputs"] for f in chat)


def test_prod_callback_stage_has_the_waf_and_every_function_reserved_concurrency(envs):
    view = envs["prod"]
    acl = view.get("aws:wafv2/webAcl:WebAcl", "mlplat-prod-chat-callback-waf")
    stage = view.get("aws:apigateway/stage:Stage", "mlplat-prod-chat-callback-stage")
    association = view.get("aws:wafv2/webAclAssociation:WebAclAssociation", "mlplat-prod-chat-callback-waf")
    assert association["inputs"] == {"resourceArn": stage["outputs"]["arn"], "webAclArn": acl["outputs"]["arn"]}
    inputs = acl["inputs"]
    assert inputs["scope"] == "REGIONAL" and "allow" in inputs["defaultAction"]
    common, bad_inputs, _size, rate = sorted(inputs["rules"], key=lambda r: r["priority"])
    assert common["statement"]["managedRuleGroupStatement"] == {
        "vendorName": "AWS", "name": "AWSManagedRulesCommonRuleSet",
        "ruleActionOverrides": [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]}
    # Log4j and other known exploit inputs (checkov CKV_AWS_192 / CKV2_AWS_77).
    assert bad_inputs["statement"]["managedRuleGroupStatement"] == {
        "vendorName": "AWS", "name": "AWSManagedRulesKnownBadInputsRuleSet"}
    assert "none" in common["overrideAction"] and "none" in bad_inputs["overrideAction"]
    # Traffic logged (checkov CKV2_AWS_31) to an aws-waf-logs- group under the environment key, tokens redacted.
    logging = view.get("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
                       "mlplat-prod-chat-callback-waf-logs")["inputs"]
    group = view.get("aws:cloudwatch/logGroup:LogGroup", "mlplat-prod-chat-callback-waf-logs")
    assert logging["resourceArn"] == acl["outputs"]["arn"]
    assert logging["logDestinationConfigs"] == [group["outputs"]["arn"]]
    assert group["inputs"]["name"].startswith("aws-waf-logs-") and group["inputs"]["kmsKeyId"]
    # Talkdesk authenticates with x-api-key: neither credential header reaches the logs.
    assert logging["redactedFields"] == [{"singleHeader": {"name": "authorization"}},
                                         {"singleHeader": {"name": "x-api-key"}}]
    assert rate["statement"]["rateBasedStatement"] == {"limit": 6000, "aggregateKeyType": "IP"}
    assert "block" in rate["action"]
    reserved = {f["name"].removeprefix("mlplat-prod-chat-"): f["inputs"]["reservedConcurrentExecutions"]
                for f in view.of_type("aws:lambda/function:Function") if "-chat-" in f["name"]}
    assert reserved == {"fulfillment": 10, "authorizer": 20, "websocket": 40, "callback": 20}


def test_a_rate_limit_waf_would_refuse_is_refused_in_config():
    with pytest.raises(ConfigError) as err:
        parse(values(config(liveChat={**CHAT, "callbackWaf": True, "callbackWafRateLimit": 5})))
    assert "ml-platform:liveChat.callbackWafRateLimit: expected greater than or equal to 10; found 5" in str(err.value)


_KB = {"KB_8": 8, "KB_16": 16, "KB_32": 32, "KB_48": 48, "KB_64": 64}


def waf_verdict(acl: dict, body: bytes) -> str:
    """AWS WAF's decision on a callback body, as its developer guide describes it: rules by priority; the common rule
    set's SizeRestrictions_BODY blocks bodies over 8 KB (8,192 bytes) unless overridden to count; a size constraint
    on the body compares its size, and a body past the inspection limit (API Gateway: 16 KB unless the web ACL's
    association config raises it) takes the rule's oversize handling."""
    limit = 16
    for body_config in (acl.get("associationConfig") or {}).get("requestBodies") or []:
        limit = _KB[(body_config.get("apiGateway") or {}).get("defaultSizeInspectionLimit", "KB_16")]
    for rule in sorted(acl["rules"], key=lambda r: r["priority"]):
        statement = rule["statement"]
        managed = statement.get("managedRuleGroupStatement")
        if managed and managed["name"] == "AWSManagedRulesCommonRuleSet" and len(body) > 8192:
            counted = {o["name"] for o in managed.get("ruleActionOverrides") or [] if "count" in o["actionToUse"]}
            if "SizeRestrictions_BODY" not in counted:
                return f"BLOCK {rule['name']}"
        size = statement.get("sizeConstraintStatement")
        if size and "body" in size["fieldToMatch"]:
            over = len(body) > limit * 1024
            matched = size["fieldToMatch"]["body"].get("oversizeHandling") == "MATCH" if over else \
                len(body) > size["size"]
            if matched and "block" in rule.get("action", {}):
                return f"BLOCK {rule['name']}"
    return "ALLOW"


def test_a_long_non_ascii_agent_message_passes_the_edge_and_the_handler(envs):
    """4,000 CJK characters: about 12 KB in UTF-8, 24 KB JSON-escaped; the common rule set alone would block both.
    The edge lets it through and blocks only what the handler refuses anyway (its own byte limit)."""
    from components.live_chat.edge import CALLBACK_MAX_BODY_BYTES
    from tests.components.live_chat.chat_support import HANDLERS

    acl = envs["prod"].get("aws:wafv2/webAcl:WebAcl", "mlplat-prod-chat-callback-waf")["inputs"]
    message = {"event_type": "message_created", "conversation_id": "c-1", "content": "退款已批准" * 800}
    escaped, raw = json.dumps(message).encode(), json.dumps(message, ensure_ascii=False).encode()
    assert 20_000 < len(escaped) < CALLBACK_MAX_BODY_BYTES and len(raw) > 8192
    assert waf_verdict(acl, escaped) == waf_verdict(acl, raw) == "ALLOW"
    assert waf_verdict(acl, b"x" * (CALLBACK_MAX_BODY_BYTES + 1)) == "BLOCK body-size"
    without_override = json.loads(json.dumps(acl))
    without_override["rules"][0]["statement"]["managedRuleGroupStatement"].pop("ruleActionOverrides")
    assert waf_verdict(without_override, raw) == "BLOCK aws-common-rule-set"
    handler_limit = re.search(r"MAX_BODY_BYTES = (\d+) \* 1024", (HANDLERS / "callback.py").read_text())
    assert handler_limit and int(handler_limit.group(1)) * 1024 == CALLBACK_MAX_BODY_BYTES
