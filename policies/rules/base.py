"""Shared helpers for rules: policy construction with metadata, unknown-safe property access."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _is_unknown

from components.catalog.pricing import listify  # noqa: F401 (the rules' helper, shared with the catalog)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# Type tokens (one place).
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_LOGGING = "aws:s3/bucketLogging:BucketLogging"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KMS_KEY = "aws:kms/key:Key"
IAM_ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SM_MODEL = "aws:sagemaker/model:Model"
SM_ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
#: Scale-to-zero endpoints' configurations (VPC and network isolation for their inference components).
SM_ENDPOINT_CONFIG_NATIVE = "aws-native:sagemaker:EndpointConfig"
SM_ENDPOINT_CONFIGS = (SM_ENDPOINT_CONFIG, SM_ENDPOINT_CONFIG_NATIVE)
SM_DOMAIN = "aws:sagemaker/domain:Domain"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
SECRET = "aws:secretsmanager/secret:Secret"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
APIGW2_STAGE = "aws:apigatewayv2/stage:Stage"
APIGW2_ROUTE = "aws:apigatewayv2/route:Route"
APIGW_STAGE = "aws:apigateway/stage:Stage"
APIGW_METHOD = "aws:apigateway/method:Method"
APIGW_METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
AOSS_SECURITY_POLICY = "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy"
AOSS_COLLECTION = "aws:opensearch/serverlessCollection:ServerlessCollection"
BEDROCK_PT = "aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput"
PYTORCH_JOB = "kubernetes:kubeflow.org/v1:PyTorchJob"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"

DOCS = "https://docs.aws.amazon.com"


@dataclass(frozen=True)
class Rule:
    """A rule's metadata; `.resource(fn)` / `.stack(fn)` make the CrossGuard policy that runs `fn`."""

    name: str
    description: str
    severity: Severity
    remediation: str
    url: str
    level: EnforcementLevel = MANDATORY
    #: Per-environment settings (JSON Schema properties), set in `policies/config/<env>.json`.
    config: dict[str, dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        from policies.overrides import SCHEMAS

        SCHEMAS[self.name] = dict(self.config or {})

    def _common(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "enforcement_level": self.level,
                "config_schema": PolicyConfigSchema(properties=self.config) if self.config else None,
                "severity": self.severity, "remediation_steps": self.remediation, "url": self.url}

    def _with_stack_settings(self, validate: Callable[[Any, ReportViolation], None]) -> Callable:
        """`validate` reading this policy's settings with the stack's own (`ml-platform:policy`, policies/
        overrides.py) over the environment's the CLI sent."""
        if not self.config:
            return validate

        def run(args: Any, report: ReportViolation) -> None:
            from policies.overrides import from_environment

            own = from_environment().get(self.name)
            if own:
                sent = args.get_config
                args.get_config = lambda: {**(sent() or {}), **own}
            validate(args, report)

        return run

    def resource(self, validate: Callable[[ResourceValidationArgs, ReportViolation], None]) -> ResourceValidationPolicy:
        return ResourceValidationPolicy(validate=self._with_stack_settings(validate), **self._common())

    def stack(self, validate: Callable[[StackValidationArgs, ReportViolation], None]) -> StackValidationPolicy:
        return StackValidationPolicy(validate=self._with_stack_settings(validate), **self._common())


class _Unknown:
    """What `peek` returns for a value the engine cannot know during preview (an id, an ARN, ...)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def _raw(value: Any) -> Any:
    """The value behind `pulumi_policy`'s unknown-checking proxy (reading through it raises on unknowns)."""
    try:
        return value["__target"] if isinstance(value, Mapping | Sequence) and not isinstance(value, str) else value
    except (KeyError, TypeError, IndexError):
        return value


def peek(props: Any, *path: str | int) -> Any:
    """The value at `path`, `UNKNOWN` where preview cannot know it, None where it is absent. Never raises.

    For rules that only need to know whether a field is set: a KMS key ARN that is unknown on the first
    preview of a new stack is still a KMS key.
    """
    value = props
    for key in path:
        value = _raw(value)
        if _is_unknown(value):
            return UNKNOWN
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int):
            value = value[key] if -len(value) <= key < len(value) else None
        else:
            return None
    value = _raw(value)
    return UNKNOWN if _is_unknown(value) else value


def present(props: Any, *path: str | int) -> bool:
    """Whether the field at `path` is set: an unknown value counts (it will be set to something)."""
    value = peek(props, *path)
    return value is UNKNOWN or value not in (None, "", [], {})


def length(props: Any, *path: str | int) -> int | None:
    """How many elements the list at `path` has, without reading them (they may be unknown ids)."""
    value = peek(props, *path)
    return len(value) if isinstance(value, list) else None


def referenced(resource: PolicyResource, prop: str, candidates: Iterable[PolicyResource],
               match: str) -> PolicyResource | None:
    """The resource among `candidates` that `resource.<prop>` points to.

    By the engine's property dependencies first (a value such as `bucket.id` is unknown on a first
    preview, but the engine still says where it comes from), else by a known value equal to the
    candidate's `match` property (hand-built and older plans).
    """
    pool = list(candidates)
    urns = {r.urn for r in (resource.property_dependencies or {}).get(prop, [])}
    found = next((c for c in pool if c.urn in urns), None)
    if found is not None:
        return found
    value = peek(resource.props, prop)
    if value is UNKNOWN or value is None:
        return None
    return next((c for c in pool if peek(c.props, match) == value), None)


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def dependents_index(resources: Iterable[PolicyResource], typ: str) -> dict[str, list[PolicyResource]]:
    """urn -> resources of `typ` depending on it; one pass instead of a scan per target."""
    index: dict[str, list[PolicyResource]] = {}
    for r in resources:
        if r.resource_type == typ:
            for d in r.dependencies:
                index.setdefault(d.urn, []).append(r)
    return index


def dependency(resource: PolicyResource, typ: str) -> PolicyResource | None:
    return next((d for d in resource.dependencies if d.resource_type == typ), None)


def as_json(value: Any) -> Any:
    """Policy documents and provider objects arrive as JSON strings (or already parsed)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value



def statements(document: Any) -> list[dict]:
    doc = as_json(document)
    if not isinstance(doc, Mapping):
        return []
    return [s for s in listify(doc.get("Statement")) if isinstance(s, Mapping)]


def number(value: Any) -> float | None:
    """A number as the engine sends it: protobuf `Struct` carries every number as a double (20 -> 20.0).

    None for anything else (a bool is not a number here, nor is a numeric string).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def count_text(value: Any) -> str:
    """A count for comparison whatever its wire form: 8, 8.0 and "8" all give "8"."""
    n = number(value)
    if n is not None and n.is_integer():
        return str(int(n))
    return str(value)


def truthy(value: Any) -> bool:
    """Provider inputs sometimes carry booleans as strings ("true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def tag(props: Any, key: str) -> Any:
    """A resource's tag value: `tags` as a map (pulumi-aws) or a list of {key, value} (aws-native); None if unset."""
    tags = peek(props, "tags")
    if isinstance(tags, Mapping):
        return tags.get(key)
    for item in listify(tags):
        if isinstance(item, Mapping) and item.get("key") == key:
            return item.get("value")
    return None
