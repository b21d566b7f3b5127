"""Security rules: a compliant and a violating resource each, plus the unknown-value case."""

from __future__ import annotations

import json

from policies.rules import base as t
from policies.rules.s3 import S3_ACCESS_LOGGING, S3_ENCRYPTED_PRIVATE
from policies.rules.security import (
    API_GATEWAY,
    BEDROCK_CONFUSED_DEPUTY,
    DATA_STORES,
    EKS_CONTROL_PLANE,
    IAM_NO_WILDCARDS,
    KMS_ROTATION,
    LAMBDA_PERMISSION_SCOPED,
    LAUNCH_TEMPLATE_HARDENED,
    SAGEMAKER,
)
from tests.policies.helpers import UNDECIDED, UNKNOWN, check_resource, check_stack, res

PAB_ON = {k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
SSE_KMS = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}}]}


def test_s3_bucket_with_kms_and_public_access_block_passes():
    bucket = res(t.S3_BUCKET, {"bucket": "b"}, "b")
    resources = [bucket, res(t.S3_SSE, SSE_KMS, "sse", [bucket]), res(t.S3_PAB, PAB_ON, "pab", [bucket])]
    assert check_stack(S3_ENCRYPTED_PRIVATE, resources) == []


def test_s3_bucket_with_aes_and_partial_block_fails_twice():
    bucket = res(t.S3_BUCKET, {"bucket": "b"}, "b")
    aes = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    resources = [bucket, res(t.S3_SSE, aes, "sse", [bucket]),
                 res(t.S3_PAB, dict(PAB_ON, restrictPublicBuckets=False), "pab", [bucket])]
    found = check_stack(S3_ENCRYPTED_PRIVATE, resources)
    assert [urn for _, urn in found] == ["b", "b"]
    assert "SSE-KMS" in found[0][0] and "public access block" in found[1][0]


def test_s3_unknown_algorithm_is_undecided():
    bucket = res(t.S3_BUCKET, {"bucket": "b"}, "b")
    unknown = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": UNKNOWN}}]}
    assert check_stack(S3_ENCRYPTED_PRIVATE, [bucket, res(t.S3_SSE, unknown, "sse", [bucket])]) == UNDECIDED


def test_kms_rotation():
    assert check_resource(KMS_ROTATION, t.KMS_KEY, {"enableKeyRotation": True}) == []
    assert check_resource(KMS_ROTATION, t.KMS_KEY, {}) == ["KMS key rotation is not enabled (CKV_AWS_7)"]
    assert check_resource(KMS_ROTATION, t.KMS_KEY, {"keySpec": "RSA_2048"}) == []
    assert check_resource(KMS_ROTATION, t.KMS_KEY, {"enableKeyRotation": UNKNOWN}) == UNDECIDED


def _policy(*statements):
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


def test_iam_scoped_and_read_only_wildcards_pass():
    ok = _policy({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
                 {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"},
                 {"Effect": "Allow", "Action": ["autoscaling:SetDesiredCapacity"], "Resource": "*",
                  "Condition": {"StringEquals": {"aws:ResourceTag/owner": "me"}}})
    assert check_resource(IAM_NO_WILDCARDS, t.IAM_ROLE_POLICY, ok) == []


def test_iam_star_action_and_unconditioned_write_on_star_fail():
    bad = _policy({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
                  {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"})
    found = check_resource(IAM_NO_WILDCARDS, t.IAM_POLICY, bad)
    assert found[0] == 'IAM statement allows "Action": "*" (CKV_AWS_63)'
    assert "s3:PutObject" in found[1] and "s3:GetObject" not in found[1]
    assert check_resource(IAM_NO_WILDCARDS, t.IAM_POLICY, {"policy": UNKNOWN}) == UNDECIDED


def _trust(condition=None):
    st = {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return {"assumeRolePolicy": json.dumps({"Statement": [st]})}


def test_bedrock_trust_needs_both_conditions():
    good = _trust({"StringEquals": {"aws:SourceAccount": "1"}, "ArnLike": {"aws:SourceArn": "arn:x"}})
    assert check_resource(BEDROCK_CONFUSED_DEPUTY, t.IAM_ROLE, good) == []
    assert len(check_resource(BEDROCK_CONFUSED_DEPUTY, t.IAM_ROLE, _trust({"StringEquals": {"aws:SourceAccount": "1"}
                                                                            }))) == 1
    assert check_resource(BEDROCK_CONFUSED_DEPUTY, t.IAM_ROLE, {"assumeRolePolicy": UNKNOWN}) == UNDECIDED


GOOD_CLUSTER = {
    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:k"}},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False},
}


def test_eks_private_encrypted_logged_cluster_passes():
    assert check_resource(EKS_CONTROL_PLANE, t.EKS_CLUSTER, GOOD_CLUSTER) == []


def test_eks_violations_each_reported():
    bad = {"enabledClusterLogTypes": ["api"], "vpcConfig": {"endpointPublicAccess": True,
                                                           "publicAccessCidrs": ["0.0.0.0/0"]}}
    found = check_resource(EKS_CONTROL_PLANE, t.EKS_CLUSTER, bad)
    assert len(found) == 3
    assert "CKV_AWS_58" in found[0] and "audit, authenticator, controllerManager, scheduler" in found[1]
    assert "0.0.0.0/0" in found[2]


def test_eks_public_endpoint_needs_a_restricted_allow_list():
    """The deploying stack must reach its API: public is fine, unrestricted is not (prod included)."""
    public = dict(GOOD_CLUSTER, vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]})
    assert check_resource(EKS_CONTROL_PLANE, t.EKS_CLUSTER, public) == []
    for cidrs in ([], ["198.51.100.0/24", "0.0.0.0/0"]):
        open_to_all = dict(GOOD_CLUSTER, vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": cidrs})
        (msg,) = check_resource(EKS_CONTROL_PLANE, t.EKS_CLUSTER, open_to_all)
        assert "unrestricted" in msg and "CKV_AWS_38" in msg
    unknown = dict(GOOD_CLUSTER, encryptionConfig=UNKNOWN)
    assert check_resource(EKS_CONTROL_PLANE, t.EKS_CLUSTER, unknown) == UNDECIDED


def test_launch_template_imdsv2_and_public_ip():
    ok = {"metadataOptions": {"httpTokens": "required"},
          "networkInterfaces": [{"networkCardIndex": 0, "associatePublicIpAddress": "false"}]}
    assert check_resource(LAUNCH_TEMPLATE_HARDENED, t.LAUNCH_TEMPLATE, ok) == []
    bad = {"metadataOptions": {"httpTokens": "optional"},
           "networkInterfaces": [{"networkCardIndex": 1, "associatePublicIpAddress": "true"}]}
    found = check_resource(LAUNCH_TEMPLATE_HARDENED, t.LAUNCH_TEMPLATE, bad)
    assert len(found) == 2 and "card 1" in found[1]
    assert check_resource(LAUNCH_TEMPLATE_HARDENED, t.LAUNCH_TEMPLATE, {"metadataOptions": UNKNOWN}) == UNDECIDED


def test_sagemaker_rules():
    assert check_resource(SAGEMAKER, t.SM_MODEL, {"enableNetworkIsolation": True}) == []
    assert check_resource(SAGEMAKER, t.SM_MODEL, {}) == ["SageMaker model is not network-isolated (CKV_AWS_370)"]
    assert check_resource(SAGEMAKER, t.SM_ENDPOINT_CONFIG, {"kmsKeyArn": "k"}) == []
    assert len(check_resource(SAGEMAKER, t.SM_ENDPOINT_CONFIG, {})) == 1
    domain = {"kmsKeyId": "k", "appNetworkAccessType": "PublicInternetOnly"}
    assert check_resource(SAGEMAKER, t.SM_DOMAIN, domain, {"requireVpcOnly": False}) == []
    (msg,) = check_resource(SAGEMAKER, t.SM_DOMAIN, domain, {"requireVpcOnly": True})
    assert "VpcOnly" in msg
    assert check_resource(SAGEMAKER, t.SM_MODEL, {"enableNetworkIsolation": UNKNOWN}) == UNDECIDED


def test_data_stores():
    table = {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"enabled": True, "kmsKeyArn": "k"}}
    assert check_resource(DATA_STORES, t.DYNAMODB_TABLE, table) == []
    assert len(check_resource(DATA_STORES, t.DYNAMODB_TABLE, {})) == 2
    assert check_resource(DATA_STORES, t.SECRET, {"kmsKeyId": "k"}) == []
    assert len(check_resource(DATA_STORES, t.SECRET, {})) == 1
    assert check_resource(DATA_STORES, t.LOG_GROUP, {"retentionInDays": 30, "kmsKeyId": "k"}) == []
    assert len(check_resource(DATA_STORES, t.LOG_GROUP, {})) == 2
    # On a first preview the key's ARN is unknown, yet a key is named: decided, and compliant.
    assert check_resource(DATA_STORES, t.SECRET, {"kmsKeyId": UNKNOWN}) == []
    unknown_table = {"pointInTimeRecovery": {"enabled": True},
                     "serverSideEncryption": {"enabled": True, "kmsKeyArn": UNKNOWN}}
    assert check_resource(DATA_STORES, t.DYNAMODB_TABLE, unknown_table) == []
    assert check_resource(DATA_STORES, t.LOG_GROUP, {"retentionInDays": 30, "kmsKeyId": UNKNOWN}) == []


def test_lambda_permission_scoped():
    scoped = {"principal": "apigateway.amazonaws.com", "sourceArn": "arn:aws:execute-api:x"}
    assert check_resource(LAMBDA_PERMISSION_SCOPED, t.LAMBDA_PERMISSION, scoped) == []
    assert len(check_resource(LAMBDA_PERMISSION_SCOPED, t.LAMBDA_PERMISSION,
                              {"principal": "apigateway.amazonaws.com"})) == 1
    assert check_resource(LAMBDA_PERMISSION_SCOPED, t.LAMBDA_PERMISSION,
                          {"principal": "lexv2.amazonaws.com", "sourceArn": UNKNOWN}) == []


def test_api_gateway_compliant():
    ws_stage = res(t.APIGW2_STAGE, {"accessLogSettings": {"destinationArn": "a"},
                                    "defaultRouteSettings": {"throttlingRateLimit": 10, "throttlingBurstLimit": 20}})
    connect = res(t.APIGW2_ROUTE, {"routeKey": "$connect", "authorizationType": "CUSTOM"}, "connect")
    rest_stage = res(t.APIGW_STAGE, {"accessLogSettings": {"destinationArn": "a"}}, "rest")
    settings = res(t.APIGW_METHOD_SETTINGS, {"settings": {"throttlingRateLimit": 5}}, "ms", [rest_stage])
    method = res(t.APIGW_METHOD, {"httpMethod": "POST", "authorization": "NONE", "apiKeyRequired": True}, "m")
    assert check_stack(API_GATEWAY, [ws_stage, connect, rest_stage, settings, method]) == []


def test_api_gateway_violations():
    found = check_stack(API_GATEWAY, [
        res(t.APIGW2_STAGE, {}, "ws"),
        res(t.APIGW2_ROUTE, {"routeKey": "$connect", "authorizationType": "NONE"}, "connect"),
        res(t.APIGW_STAGE, {}, "rest"),
        res(t.APIGW_METHOD, {"httpMethod": "POST", "authorization": "NONE"}, "m"),
    ])
    assert [urn for _, urn in found] == ["ws", "ws", "rest", "rest", "connect", "m"]
    assert check_stack(API_GATEWAY, [res(t.APIGW2_ROUTE, {"routeKey": UNKNOWN}, "x")]) == UNDECIDED


def test_iam_documented_exceptions_for_stateless_and_resourceless_actions():
    ok = _policy({"Effect": "Allow", "Action": ["comprehend:DetectSentiment", "polly:SynthesizeSpeech"],
                  "Resource": "*"},
                 {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"})
    assert check_resource(IAM_NO_WILDCARDS, t.IAM_ROLE_POLICY, ok) == []
    bad = _policy({"Effect": "Allow", "Action": ["xray:PutEncryptionConfig"], "Resource": "*"})
    assert len(check_resource(IAM_NO_WILDCARDS, t.IAM_ROLE_POLICY, bad)) == 1


def _logged(target_sse: str, *, self_logging: bool = False):
    log = res(t.S3_BUCKET, {"bucket": "logs"}, "logs")
    data = res(t.S3_BUCKET, {"bucket": "data"}, "data")
    aes = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": target_sse}}]}
    resources = [log, data, res(t.S3_SSE, aes, "log-sse", [log]), res(t.S3_SSE, SSE_KMS, "data-sse", [data]),
                 res(t.S3_PAB, PAB_ON, "log-pab", [log]), res(t.S3_PAB, PAB_ON, "data-pab", [data])]
    resources.append(res(t.S3_LOGGING, {"bucket": "data", "targetBucket": "logs"}, "data-logs", [data, log]))
    if self_logging:
        resources.append(res(t.S3_LOGGING, {"bucket": "logs", "targetBucket": "logs"}, "self", [log]))
    return resources


def test_a_log_destination_is_sse_s3_and_every_other_bucket_logs_to_it():
    assert check_stack(S3_ENCRYPTED_PRIVATE, _logged("AES256")) == []
    assert check_stack(S3_ACCESS_LOGGING, _logged("AES256"), {"requireAccessLogging": True}) == []


def test_a_log_destination_with_kms_is_reported():
    found = check_stack(S3_ENCRYPTED_PRIVATE, _logged("aws:kms"))
    assert found == [("S3 server access log destination must use SSE-S3 (AES256) default encryption", "logs")]


def test_unlogged_buckets_and_a_self_logging_destination_are_reported_where_required():
    required = {"requireAccessLogging": True}
    unlogged = [res(t.S3_BUCKET, {"bucket": "data"}, "data")]
    assert [u for _, u in check_stack(S3_ACCESS_LOGGING, unlogged, required)] == ["data"]
    assert check_stack(S3_ACCESS_LOGGING, unlogged, {}) == []
    found = check_stack(S3_ACCESS_LOGGING, _logged("AES256", self_logging=True), required)
    assert [u for _, u in found] == ["logs"] and "logs to itself" in found[0][0]
