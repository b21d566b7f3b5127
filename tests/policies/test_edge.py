"""public-edge-hardened: a compliant edge passes; each missing guard is reported once, where it is missing."""

from __future__ import annotations

from policies.rules import base as t
from policies.rules.edge import PUBLIC_EDGE
from tests.policies.helpers import UNKNOWN, check_stack, res

PROD = {"requireWaf": True, "requireReservedConcurrency": True}


def _edge(*, waf: bool = True, validated: bool = True, reserved: float | None = 20, principal: str = "apigateway"):
    stage = res(t.APIGW_STAGE, {"stageName": "v1"}, "stage")
    method = res(t.APIGW_METHOD, {"httpMethod": "POST", **(
        {"requestValidatorId": "v", "requestModels": {"application/json": "CallbackBody"}} if validated else {})},
        "post")
    fn = res(t.LAMBDA_FUNCTION, {"name": "cb", **({"reservedConcurrentExecutions": reserved} if reserved else {})},
             "fn")
    permission = res(t.LAMBDA_PERMISSION, {"function": "cb", "principal": f"{principal}.amazonaws.com"}, "perm")
    resources = [stage, method, fn, permission]
    if waf:
        resources.append(res(t.WAF_ASSOCIATION, {"resourceArn": "arn"}, "assoc", [stage]))
    return resources


def test_a_hardened_edge_passes():
    assert check_stack(PUBLIC_EDGE, _edge(), PROD) == []


def test_reserved_concurrency_as_the_engine_sends_it():
    """protobuf Struct carries every number as a double: 20 arrives as 20.0, and still counts."""
    assert check_stack(PUBLIC_EDGE, _edge(reserved=20.0), PROD) == []
    assert [u for _, u in check_stack(PUBLIC_EDGE, _edge(reserved=0.0), PROD)] == ["fn"]


def test_a_first_preview_correlates_through_property_dependencies():
    """`function` is the function's ARN, unknown on a first preview: the engine still names its source."""
    resources = _edge(reserved=None)
    fn, permission = resources[2], resources[3]
    permission.props["function"] = UNKNOWN
    permission.property_dependencies["function"] = [fn]
    assert [u for _, u in check_stack(PUBLIC_EDGE, resources, PROD)] == ["fn"]


def test_each_missing_guard_is_reported_where_it_is_missing():
    found = check_stack(PUBLIC_EDGE, _edge(waf=False, validated=False, reserved=None), PROD)
    assert [urn for _, urn in found] == ["stage", "post", "fn"]
    assert "no WAF web ACL" in found[0][0] and "does not validate" in found[1][0]
    assert "no reserved concurrency" in found[2][0]


def test_environments_that_do_not_require_waf_or_reservations_still_require_validation():
    found = check_stack(PUBLIC_EDGE, _edge(waf=False, validated=False, reserved=None), {})
    assert [urn for _, urn in found] == ["post"]


def test_only_functions_the_internet_can_invoke_need_reservations():
    assert check_stack(PUBLIC_EDGE, _edge(reserved=None, principal="events"), PROD) == []
    assert [u for _, u in check_stack(PUBLIC_EDGE, _edge(reserved=None, principal="lexv2"), PROD)] == ["fn"]
