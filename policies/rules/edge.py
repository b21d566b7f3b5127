"""The public edge: what the internet can reach is validated, rate limited and cannot starve the account."""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.rules.base import (
    APIGW_METHOD,
    APIGW_STAGE,
    DOCS,
    LAMBDA_FUNCTION,
    LAMBDA_PERMISSION,
    WAF_ASSOCIATION,
    Rule,
    dependents_index,
    number,
    of_type,
    present,
    referenced,
)

#: Services whose invocations come from the internet (API Gateway stages, the Lex Web UI's bot).
PUBLIC_INVOKERS = ("apigateway.amazonaws.com", "lexv2.amazonaws.com")
BODY_METHODS = ("POST", "PUT", "PATCH")


def _public_edge(args: StackValidationArgs, report: ReportViolation) -> None:
    res, config = args.resources, args.get_config()
    if config.get("requireWaf"):
        associations = dependents_index(res, WAF_ASSOCIATION)
        for stage in of_type(res, APIGW_STAGE):
            if not associations.get(stage.urn):
                report("REST API stage has no WAF web ACL (liveChat.callbackWaf: true)", stage.urn)
    for method in of_type(res, APIGW_METHOD):
        if method.props.get("httpMethod") in BODY_METHODS and not (
                present(method.props, "requestValidatorId") and present(method.props, "requestModels")):
            report("REST method takes a body API Gateway does not validate (a request validator and a model; "
                   "liveChat.validateCallbackRequests: true)", method.urn)
    if config.get("requireReservedConcurrency"):
        functions = of_type(res, LAMBDA_FUNCTION)
        invoked = (referenced(p, "function", functions, "name") for p in of_type(res, LAMBDA_PERMISSION)
                   if p.props.get("principal") in PUBLIC_INVOKERS)
        public = {fn.urn for fn in invoked if fn is not None}
        for fn in functions:
            reserved = number(fn.props.get("reservedConcurrentExecutions"))
            if fn.urn in public and not (reserved is not None and reserved > 0):
                report("function the internet can invoke has no reserved concurrency: a flood could take the "
                       "account's (liveChat.reserveConcurrency: true)", fn.urn)


PUBLIC_EDGE = Rule(
    "public-edge-hardened",
    "REST bodies are validated by API Gateway; per environment, REST stages have a WAF web ACL and the functions "
    "the internet can invoke have reserved concurrency.",
    severity=Severity.HIGH,
    remediation="liveChat.callbackWaf, liveChat.validateCallbackRequests and liveChat.reserveConcurrency: true.",
    url=f"{DOCS}/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html",
    config={"requireWaf": {"type": "boolean"}, "requireReservedConcurrency": {"type": "boolean"}},
).stack(_public_edge)

EDGE_POLICIES = [PUBLIC_EDGE]
