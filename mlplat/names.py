"""Fixed physical names: which resources take one, where it must be unique, and whether AWS accepts it.

Most resources here are auto-named by the provider (the logical name plus a random suffix), which never collides.
The ones below carry a name the program fixes, so two stacks in one account (or, for S3, anywhere) must not
produce the same one: the second `pulumi up` fails with "already exists". Each name is also checked as the create
API checks it, with botocore's own request shapes (length and pattern of the member the provider sends), so a
prefix that is too long fails the plan instead of the deployment half-way.

`tests/mlplat/test_names.py` plans two stacks from one stack file and requires their names to be disjoint, and
requires every name-like input of every planned resource type to be classified here (a name, or why it is not one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from mlplat.engine import SECRET, UNKNOWN

#: Where a name must be unique.
ACCOUNT_REGION, GLOBAL = "account and region", "every AWS account"


@dataclass(frozen=True)
class NameRule:
    type: str
    prop: str
    scope: str
    #: The create API's request member (service, operation, member) whose shape botocore constrains; None: `check`.
    api: tuple[str, str, str] | None


RULES: tuple[NameRule, ...] = (
    NameRule("aws:kms/alias:Alias", "name", ACCOUNT_REGION, ("kms", "CreateAlias", "AliasName")),
    NameRule("aws:eks/cluster:Cluster", "name", ACCOUNT_REGION, ("eks", "CreateCluster", "name")),
    NameRule("aws:cloudwatch/logGroup:LogGroup", "name", ACCOUNT_REGION, ("logs", "CreateLogGroup", "logGroupName")),
    NameRule("aws:lambda/function:Function", "name", ACCOUNT_REGION, ("lambda", "CreateFunction", "FunctionName")),
    NameRule("aws:s3/bucket:Bucket", "bucket", GLOBAL, None),
    NameRule("aws:secretsmanager/secret:Secret", "name", ACCOUNT_REGION, ("secretsmanager", "CreateSecret", "Name")),
    NameRule("aws:bedrock/customModel:CustomModel", "jobName", ACCOUNT_REGION,
             ("bedrock", "CreateModelCustomizationJob", "jobName")),
    NameRule("aws:bedrock/customModel:CustomModel", "customModelName", ACCOUNT_REGION,
             ("bedrock", "CreateModelCustomizationJob", "customModelName")),
    NameRule("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "provisionedModelName",
             ACCOUNT_REGION, ("bedrock", "CreateProvisionedModelThroughput", "provisionedModelName")),
    NameRule("aws-native:lex:Bot", "name", ACCOUNT_REGION, ("lexv2-models", "CreateBot", "botName")),
    NameRule("aws:opensearch/serverlessCollection:ServerlessCollection", "name", ACCOUNT_REGION,
             ("opensearchserverless", "CreateCollection", "name")),
    NameRule("aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy", "name", ACCOUNT_REGION,
             ("opensearchserverless", "CreateSecurityPolicy", "name")),
    NameRule("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy", "name", ACCOUNT_REGION,
             ("opensearchserverless", "CreateAccessPolicy", "name")),
    NameRule("aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint", "name", ACCOUNT_REGION,
             ("opensearchserverless", "CreateVpcEndpoint", "name")),
)

#: Name-like inputs that are not a fixed name of their own resource, and why (the test requires every name-like
#: input of a planned type to be a rule above or one of these).
NOT_NAMES: dict[tuple[str, str], str] = {
    ("aws:sagemaker/domain:Domain", "domainName"): "the stack file's own value (canvas.domainName)",
    ("aws:identitystore/user:User", "userName"): "an identity the stack file names (canvas.users)",
    ("aws:identitystore/user:User", "displayName"): "an identity the stack file names (canvas.users)",
    ("aws:identitystore/user:User", "name"): "the person's given and family names (canvas.users)",
    ("aws:identitystore/group:Group", "displayName"): "an identity the stack file names (canvas.groups)",
    ("aws:sagemaker/userProfile:UserProfile", "userProfileName"): "unique within its domain",
    ("aws:eks/nodeGroup:NodeGroup", "nodeGroupNamePrefix"): "a prefix (random suffix), within its cluster",
    ("aws:eks/addon:Addon", "addonName"): "the add-on's own name, within its cluster",
    ("aws-native:lex:BotAlias", "botAliasName"): "unique within its bot",
    ("aws:apigateway/stage:Stage", "stageName"): "unique within its API",
    ("aws:apigateway/methodSettings:MethodSettings", "stageName"): "a reference to a stage",
    ("aws:apigateway/model:Model", "name"): "unique within its API",
    ("aws:apigateway/requestValidator:RequestValidator", "name"): "unique within its API",
    ("aws:apigatewayv2/stage:Stage", "name"): "unique within its API",
    ("aws:apigatewayv2/authorizer:Authorizer", "name"): "unique within its API",
    ("aws-native:sagemaker:InferenceComponent", "variantName"): "unique within its endpoint configuration",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "metricName"): "the metric watched, not a name",
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "serviceName"): "the AWS service, not a name",
    ("pulumi-python:dynamic:Resource", "display_name"): "the portal application's title",
}

#: Inputs that name another resource (its output flows in): never a name of their own.
REFERENCES = frozenset({"bucket", "clusterName", "functionName", "endpointName", "endpointConfigName",
                        "autoscalingGroupName", "logGroupName", "roleName", "tableName"})


def name_like(prop: str) -> bool:
    return prop == "name" or prop.endswith("Name") or prop in ("bucket", "namePrefix", "bucketPrefix")


@dataclass(frozen=True)
class PhysicalName:
    urn: str
    type: str
    prop: str
    value: str
    scope: str


_RULES = {(r.type, r.prop): r for r in RULES}


def physical_names(resources: Iterable[dict[str, Any]]) -> list[PhysicalName]:
    """Every fixed physical name a plan's resources carry (values known at plan time only)."""
    out = []
    for r in resources:
        for (typ, prop), rule in _RULES.items():
            if r["type"] != typ:
                continue
            value = (r.get("inputs") or {}).get(prop)
            if isinstance(value, str) and UNKNOWN not in value and value != SECRET:
                out.append(PhysicalName(r["urn"], typ, prop, value, rule.scope))
    return out


@cache
def _constraints(service: str, operation: str, member: str) -> dict[str, Any]:
    """botocore's model of the create call's member: min, max, pattern (what the service validates first)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape.members[member]
    return dict(shape.metadata)


#: S3 general purpose bucket naming rules (S3 User Guide, "General purpose bucket naming rules"): 3-63 characters,
#: lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit. botocore does not model
#: them (the `BucketName` shape has no constraints).
_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _problem(rule: NameRule, value: str) -> str | None:
    if rule.api is None:
        if not _S3_BUCKET.fullmatch(value) or ".." in value:
            return "3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
        return None
    c = _constraints(*rule.api)
    if not c.get("min", 0) <= len(value) <= c.get("max", len(value)):
        return f"{c.get('min', 0)}-{c['max']} characters ({len(value)} here)"
    pattern = c.get("pattern")
    if pattern and not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value):
        return f"a name matching the API's pattern {pattern}"
    return None


def name_problems(resources: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plan violations for names the create API would refuse (a mandatory finding: `pulumi up` would fail)."""
    findings = []
    for name in physical_names(resources):
        rule = _RULES[(name.type, name.prop)]
        why = _problem(rule, name.value)
        if why is not None:
            api = f"{rule.api[0]} {rule.api[1]}" if rule.api else "S3 CreateBucket"
            findings.append({
                "policy": "physical-name-accepted", "enforcementLevel": "mandatory", "urn": name.urn,
                "severity": "high",
                "message": f"{name.prop} {name.value!r}: {api} accepts {why}; shorten ml-platform:namePrefix "
                           "(or the name of the item in the stack file)"})
    return findings


def collisions(first: Iterable[dict[str, Any]], second: Iterable[dict[str, Any]]) -> list[tuple[PhysicalName, ...]]:
    """Names two plans (two stacks in one account and region) would both create."""
    seen = {(n.type, n.prop, n.value): n for n in physical_names(first)}
    return [(seen[key], n) for n in physical_names(second) if (key := (n.type, n.prop, n.value)) in seen]
