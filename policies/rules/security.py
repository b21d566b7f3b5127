"""Security rules (checkov equivalents named in each description)."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from components.catalog.eks import CONTROL_PLANE_LOG_TYPES
from components.catalog.tags import NETWORK_ISOLATION_OFF_TAG
from policies.rules.base import (
    AOSS_SECURITY_POLICY,
    APIGW2_ROUTE,
    APIGW2_STAGE,
    APIGW_METHOD,
    APIGW_METHOD_SETTINGS,
    APIGW_STAGE,
    DOCS,
    DYNAMODB_TABLE,
    EKS_CLUSTER,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KMS_KEY,
    LAMBDA_PERMISSION,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    NODE_CLASS,
    SECRET,
    SM_DOMAIN,
    SM_ENDPOINT_CONFIG,
    SM_ENDPOINT_CONFIG_NATIVE,
    SM_ENDPOINT_CONFIGS,
    SM_MODEL,
    Rule,
    as_json,
    dependents_index,
    listify,
    of_type,
    peek,
    present,
    statements,
    tag,
    truthy,
)
from policies.rules.s3 import S3_ACCESS_LOGGING, S3_ENCRYPTED_PRIVATE

READ_VERBS = ("Describe", "List", "Get", "BatchGet", "Search", "Query", "Scan", "View", "Lookup")
STATELESS_VERBS = ("Detect", "Synthesize")  # inference-only calls that change no state (Comprehend, Polly, ...)
#: Actions AWS offers without resource-level permissions: `Resource: "*"` is the only form.
NO_RESOURCE_LEVEL = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})


# -- KMS --------------------------------------------------------------------------------------------
def _kms_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == KMS_KEY and args.props.get("keySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
        if not truthy(args.props.get("enableKeyRotation")):
            report("KMS key rotation is not enabled (CKV_AWS_7)")


KMS_ROTATION = Rule(
    "kms-key-rotation",
    "Symmetric customer-managed KMS keys rotate automatically.",
    severity=Severity.MEDIUM,
    remediation="Set enable_key_rotation=True on the aws.kms.Key.",
    url=f"{DOCS}/kms/latest/developerguide/rotate-keys.html",
).resource(_kms_rotation)


# -- IAM --------------------------------------------------------------------------------------------
def _is_write(action: str) -> bool:
    if action in ("*", "*:*"):
        return True
    if action in NO_RESOURCE_LEVEL:
        return False
    verb = action.split(":", 1)[-1]
    return not verb.startswith(READ_VERBS + STATELESS_VERBS)


def _iam_no_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (IAM_POLICY, IAM_ROLE_POLICY):
        return
    for st in statements(args.props.get("policy")):
        if st.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in listify(st.get("Action"))]
        if any(a in ("*", "*:*") for a in actions):
            report('IAM statement allows "Action": "*" (CKV_AWS_63)')
            continue
        # Documented exception: `Resource: "*"` is accepted for read-only actions and for writes
        # narrowed by a Condition (e.g. on resource tags), since many APIs have no resource-level ARNs.
        if "*" in listify(st.get("Resource")) and not st.get("Condition"):
            writes = sorted(a for a in actions if _is_write(a))
            if writes:
                report(f'IAM statement allows write actions on "Resource": "*" without a condition: '
                       f"{', '.join(writes)} (CKV_AWS_355)")


IAM_NO_WILDCARDS = Rule(
    "iam-no-wildcard-writes",
    'IAM policies never allow "Action": "*", nor write actions on "Resource": "*" without a condition.',
    severity=Severity.HIGH,
    remediation="Scope actions and resources; narrow unavoidable wildcard writes with a Condition.",
    url=f"{DOCS}/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
).resource(_iam_no_wildcards)


def _bedrock_confused_deputy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != IAM_ROLE:
        return
    for st in statements(args.props.get("assumeRolePolicy")):
        principal = st.get("Principal")
        services = listify(principal.get("Service")) if isinstance(principal, Mapping) else []
        if "bedrock.amazonaws.com" in services:
            cond = st.get("Condition") or {}
            keys = {k for block in cond.values() if isinstance(block, Mapping) for k in block}
            if "aws:SourceAccount" not in keys or "aws:SourceArn" not in keys:
                report("role trusted by bedrock.amazonaws.com lacks aws:SourceAccount and aws:SourceArn conditions")


BEDROCK_CONFUSED_DEPUTY = Rule(
    "bedrock-role-confused-deputy",
    "Service roles trusted by Bedrock carry aws:SourceAccount and aws:SourceArn conditions.",
    severity=Severity.HIGH,
    remediation="Add StringEquals aws:SourceAccount and ArnLike/ArnEquals aws:SourceArn to the trust policy.",
    url=f"{DOCS}/bedrock/latest/userguide/cross-service-confused-deputy-prevention.html",
).resource(_bedrock_confused_deputy)


# -- EKS --------------------------------------------------------------------------------------------
def _eks_control_plane(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != EKS_CLUSTER:
        return
    enc = listify(args.props.get("encryptionConfig"))
    if not any("secrets" in listify(e.get("resources")) and present(e, "provider", "keyArn") for e in enc):
        report("EKS secrets are not envelope-encrypted with a KMS key (CKV_AWS_58)")
    missing = set(CONTROL_PLANE_LOG_TYPES) - set(listify(args.props.get("enabledClusterLogTypes")))
    if missing:
        report(f"EKS control-plane log types not enabled: {', '.join(sorted(missing))} (CKV_AWS_37)")
    vpc = args.props.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess") is not False:
        cidrs = [str(c) for c in listify(vpc.get("publicAccessCidrs"))]
        if not cidrs or any(c.endswith("/0") for c in cidrs):
            report("EKS public endpoint is unrestricted (no CIDR allow-list, or one that contains 0.0.0.0/0); "
                   "list the deployers' egress CIDRs (CKV_AWS_38)")


EKS_CONTROL_PLANE = Rule(
    "eks-control-plane-hardened",
    "EKS clusters encrypt secrets with KMS, log all five control-plane types and have no unrestricted public "
    "endpoint (private, or public behind a CIDR allow-list that never contains 0.0.0.0/0).",
    severity=Severity.HIGH,
    remediation="Set encryption_config, enabled_cluster_log_types and vpc_config endpoint access.",
    url=f"{DOCS}/eks/latest/userguide/cluster-endpoint.html",
).resource(_eks_control_plane)


def _launch_template(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == NODE_CLASS:  # absent metadataOptions: the CRD's default, IMDSv2 with hop limit 1
        if peek(args.props, "spec", "metadataOptions", "httpTokens") not in (None, "required") or truthy(
                peek(args.props, "spec", "associatePublicIPAddress")):
            report("EC2NodeClass allows IMDSv1 or public IPs (metadataOptions.httpTokens, associatePublicIPAddress)")
        return
    if args.resource_type != LAUNCH_TEMPLATE:
        return
    if (args.props.get("metadataOptions") or {}).get("httpTokens") != "required":
        report("launch template does not require IMDSv2 (metadataOptions.httpTokens = required) (CKV_AWS_79)")
    for ni in listify(args.props.get("networkInterfaces")):
        if truthy(ni.get("associatePublicIpAddress")):
            report(f"network interface on card {ni.get('networkCardIndex', 0)} gets a public IP (CKV_AWS_88)")


LAUNCH_TEMPLATE_HARDENED = Rule(
    "launch-template-imdsv2-no-public-ip",
    "Launch templates require IMDSv2 and never assign public IPs.",
    severity=Severity.HIGH,
    remediation='metadata_options.http_tokens="required"; associate_public_ip_address="false".',
    url=f"{DOCS}/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html",
).resource(_launch_template)


# -- SageMaker --------------------------------------------------------------------------------------
def _sagemaker(args: ResourceValidationArgs, report: ReportViolation) -> None:
    p, typ = args.props, args.resource_type
    # Isolated, or its own JumpStart spec turns isolation off and the tag says so.
    isolated = truthy(p.get("enableNetworkIsolation")) or bool(tag(p, NETWORK_ISOLATION_OFF_TAG))
    if typ == SM_MODEL and not isolated:
        report("SageMaker model is not network-isolated (CKV_AWS_370)")
    if typ in SM_ENDPOINT_CONFIGS and not present(p, "kmsKeyArn" if typ == SM_ENDPOINT_CONFIG else "kmsKeyId"):
        report("SageMaker endpoint configuration has no KMS key (CKV_AWS_98)")
    if typ == SM_ENDPOINT_CONFIG_NATIVE:  # hosts inference components (no Model): it carries what a Model would
        if not isolated:
            report("SageMaker endpoint configuration for inference components is not network-isolated")
        if not present(p, "vpcConfig"):
            report("SageMaker endpoint configuration for inference components runs outside the VPC (no vpcConfig)")
    if args.resource_type == SM_DOMAIN:
        if not present(p, "kmsKeyId"):
            report("SageMaker domain home storage is not encrypted with a KMS key (CKV_AWS_187)")
        if args.get_config().get("requireVpcOnly", False) and p.get("appNetworkAccessType") != "VpcOnly":
            report("SageMaker domain is not VpcOnly; this environment requires VpcOnly")


SAGEMAKER = Rule(
    "sagemaker-isolated-and-encrypted",
    "SageMaker models are network-isolated; endpoint configs and domains use KMS; domains VpcOnly where required.",
    severity=Severity.HIGH,
    remediation="enable_network_isolation=True, kms_key_arn / kms_key_id, app_network_access_type=VpcOnly.",
    url=f"{DOCS}/sagemaker/latest/dg/mkt-algo-model-internet-free.html",
    config={"requireVpcOnly": {"type": "boolean", "default": False}},
).resource(_sagemaker)


# -- Data stores --------------------------------------------------------------------------------------
def _data_stores(args: ResourceValidationArgs, report: ReportViolation) -> None:
    p = args.props
    if args.resource_type == DYNAMODB_TABLE:
        if not truthy((p.get("pointInTimeRecovery") or {}).get("enabled")):
            report("DynamoDB table has no point-in-time recovery (CKV_AWS_28)")
        if not (truthy(peek(p, "serverSideEncryption", "enabled")) and present(p, "serverSideEncryption", "kmsKeyArn")):
            report("DynamoDB table is not encrypted with a customer-managed KMS key (CKV_AWS_119)")
    if args.resource_type == SECRET and not present(p, "kmsKeyId"):
        report("Secrets Manager secret uses the AWS-managed key, not a customer-managed key (CKV_AWS_149)")
    if args.resource_type == LOG_GROUP:
        if not p.get("retentionInDays"):
            report("log group keeps logs forever: set a retention (CKV_AWS_66)")
        if not present(p, "kmsKeyId"):
            report("log group is not encrypted with KMS (CKV_AWS_158)")


DATA_STORES = Rule(
    "data-stores-encrypted",
    "DynamoDB tables (PITR + CMK), Secrets Manager secrets (CMK) and log groups (retention + KMS).",
    severity=Severity.MEDIUM,
    remediation="Enable PITR and SSE with the environment key; set kms_key_id; set retention_in_days.",
    url=f"{DOCS}/kms/latest/developerguide/concepts.html#customer-cmk",
).resource(_data_stores)


# -- Lambda and API Gateway -------------------------------------------------------------------------
def _lambda_permission(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == LAMBDA_PERMISSION and str(args.props.get("principal", "")).endswith(".amazonaws.com"):
        if not present(args.props, "sourceArn") and not present(args.props, "sourceAccount"):
            report("Lambda permission for an AWS service is not scoped by source ARN or account (CKV_AWS_364)")


LAMBDA_PERMISSION_SCOPED = Rule(
    "lambda-permission-scoped",
    "Lambda permissions granted to AWS services name the source ARN (or account).",
    severity=Severity.HIGH,
    remediation="Set source_arn on aws.lambda_.Permission.",
    url=f"{DOCS}/lambda/latest/dg/access-control-resource-based.html",
).resource(_lambda_permission)


def _api_gateway(args: StackValidationArgs, report: ReportViolation) -> None:
    res = args.resources
    settings_by_stage = dependents_index(res, APIGW_METHOD_SETTINGS)
    for stage in of_type(res, APIGW2_STAGE):
        if not stage.props.get("accessLogSettings"):
            report("API Gateway v2 stage has no access logging (CKV_AWS_76)", stage.urn)
        route = stage.props.get("defaultRouteSettings") or {}
        if not route.get("throttlingRateLimit") or not route.get("throttlingBurstLimit"):
            report("API Gateway v2 stage has no default throttling", stage.urn)
    for stage in of_type(res, APIGW_STAGE):
        if not stage.props.get("accessLogSettings"):
            report("API Gateway stage has no access logging (CKV_AWS_76)", stage.urn)
        settings = settings_by_stage.get(stage.urn, [])
        if not any((s.props.get("settings") or {}).get("throttlingRateLimit") for s in settings):
            report("API Gateway stage has no method throttling settings", stage.urn)
    for route in of_type(res, APIGW2_ROUTE):
        if route.props.get("routeKey") == "$connect" and route.props.get("authorizationType") in (None, "NONE"):
            report("WebSocket $connect route has no authorizer (CKV_AWS_309)", route.urn)
    for method in of_type(res, APIGW_METHOD):
        if method.props.get("httpMethod") == "OPTIONS":
            continue
        if method.props.get("authorization") in (None, "NONE") and not truthy(method.props.get("apiKeyRequired")):
            report("REST method has neither an authorizer nor a required API key (CKV_AWS_59)", method.urn)


API_GATEWAY = Rule(
    "api-gateway-protected",
    "API Gateway stages log access and throttle; $connect has an authorizer; REST methods need a key or authorizer.",
    severity=Severity.HIGH,
    remediation="Set access_log_settings and throttling; authorization_type=CUSTOM on $connect; api_key_required.",
    url=f"{DOCS}/apigateway/latest/developerguide/security-best-practices.html",
).stack(_api_gateway)

def _opensearch_serverless(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != AOSS_SECURITY_POLICY:
        return
    policy = as_json(args.props.get("policy"))
    if args.props.get("type") == "encryption" and isinstance(policy, dict):
        if policy.get("AWSOwnedKey") or not policy.get("KmsARN"):
            report("OpenSearch Serverless encryption policy uses an AWS-owned key; name the environment's key "
                   "(AWSOwnedKey: false, KmsARN)")
    if args.props.get("type") == "network" and isinstance(policy, list):
        if any(isinstance(r, dict) and r.get("AllowFromPublic") for r in policy):
            report("OpenSearch Serverless network policy allows public access; allow only VPC endpoints "
                   "(AllowFromPublic: false, SourceVPCEs)")


OPENSEARCH_SERVERLESS = Rule(
    "opensearch-serverless-private-encrypted",
    "OpenSearch Serverless collections are encrypted with a customer key and reachable only from VPC endpoints.",
    severity=Severity.HIGH,
    remediation="Use the RagService component's policies: KmsARN of the environment key, AllowFromPublic false.",
    url=f"{DOCS}/opensearch-service/latest/developerguide/serverless-network.html",
).resource(_opensearch_serverless)


def _api_methods_authenticated(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != APIGW_METHOD or args.props.get("httpMethod") == "OPTIONS":
        return
    if args.props.get("authorization") in (None, "NONE") and not args.props.get("apiKeyRequired"):
        report(f"{args.props.get('httpMethod')} method is open: no IAM, Cognito or custom authorizer and no API key")


API_METHODS_AUTHENTICATED = Rule(
    "api-methods-authenticated",
    "REST API methods require IAM, an authorizer, or at least an API key: no open API.",
    severity=Severity.HIGH,
    remediation="Set authorization AWS_IAM (or an authorizer); a machine-to-machine callback may use an API key.",
    url=f"{DOCS}/apigateway/latest/developerguide/apigateway-control-access-to-api.html",
).resource(_api_methods_authenticated)

SECURITY_POLICIES = [S3_ENCRYPTED_PRIVATE, S3_ACCESS_LOGGING, KMS_ROTATION, IAM_NO_WILDCARDS, BEDROCK_CONFUSED_DEPUTY,
                     EKS_CONTROL_PLANE, LAUNCH_TEMPLATE_HARDENED, SAGEMAKER, DATA_STORES, LAMBDA_PERMISSION_SCOPED,
                     API_GATEWAY, OPENSEARCH_SERVERLESS, API_METHODS_AUTHENTICATED]
