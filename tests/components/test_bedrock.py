"""Bedrock fine-tuning and Provisioned Throughput: trust, scoped S3, hyperparameters, protect, both PT modes."""

from __future__ import annotations

import json

import pytest

from tests.botocore_shapes import validate
from tests.helpers import ROOT, config, plan_config

MANIFEST = str(ROOT / "examples" / "bedrock" / "pets-train.jsonl")
FT = {"name": "pets", "runId": "r1", "localManifest": MANIFEST}
ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-image-generator-v2:0/a1b2c3d4e5f6"


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    bedrock = {"fineTuning": [FT], "provisionedThroughput": [
        {"name": "pets-serving", "fromFineTuning": "pets"},
        {"name": "fixed", "modelArn": ARN, "commitment": "OneMonth", "modelUnits": 2}]}
    return plan_config(tmp_path_factory.mktemp("br"), config(bedrock=bedrock))


def test_custom_model_job(view):
    model = view.get("aws:bedrock/customModel:CustomModel", "mlplat-dev-pets-model")
    inputs = model["inputs"]
    assert inputs["jobName"] == "mlplat-dev-pets-r1" and inputs["customModelName"] == "mlplat-dev-pets-r1"
    # The versioned customization id of the current Titan image model (the unversioned id is refused).
    base = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-image-generator-v2:0"
    assert inputs["baseModelIdentifier"] == base
    assert inputs["customizationType"] == "FINE_TUNING"
    assert inputs["hyperparameters"] == {"stepCount": "7500", "batchSize": "8", "learningRate": "1e-05"}
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-pets-data")["inputs"]["bucket"]
    assert bucket == "mlplat-dev-pets-123456789012"
    assert inputs["trainingDataConfig"] == {"s3Uri": f"s3://{bucket}/training/train.jsonl"}
    assert inputs["outputDataConfig"] == {"s3Uri": f"s3://{bucket}/output/"}
    assert inputs["customModelKmsKeyId"] == view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    assert model["retainOnDelete"] is True
    manifest = view.get("aws:s3/bucketObjectv2:BucketObjectv2", "mlplat-dev-pets-manifest")
    assert manifest["urn"] in model["dependencies"]


def test_local_images_are_uploaded_and_the_manifest_points_at_them(view):
    """A local manifest names image files; the stack uploads each and rewrites its image-ref."""
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-pets-data")["inputs"]["bucket"]
    model = view.get("aws:bedrock/customModel:CustomModel", "mlplat-dev-pets-model")
    images = [o for o in view.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if "-image-" in o["name"]]
    local = [json.loads(line)["image-ref"] for line in (ROOT / MANIFEST).read_text().splitlines()]
    assert sorted(o["inputs"]["source"]["fileAsset"] for o in images) == sorted(
        f"examples/bedrock/{ref}" for ref in local)
    assert all((ROOT / o["inputs"]["source"]["fileAsset"]).is_file() for o in images)
    assert all(o["inputs"]["serverSideEncryption"] == "aws:kms" and o["inputs"]["kmsKeyId"] for o in images)
    assert all(o["urn"] in model["dependencies"] for o in images), "the job must not start before its images"
    manifest = view.get("aws:s3/bucketObjectv2:BucketObjectv2", "mlplat-dev-pets-manifest")
    refs = [json.loads(line)["image-ref"] for line in manifest["inputs"]["content"].splitlines()]
    assert refs == [f"s3://{bucket}/training/images/{ref}" for ref in local]
    assert {o["inputs"]["key"] for o in images} == {r.removeprefix(f"s3://{bucket}/") for r in refs}


def test_service_role_confused_deputy_and_scoped_s3(view):
    role = view.get("aws:iam/role:Role", "mlplat-dev-pets-role")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*"}}
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-pets-role")["inputs"]["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    bucket = "mlplat-dev-pets-123456789012"
    assert by_sid["ReadTrainingData"]["Resource"] == f"arn:aws:s3:::{bucket}/training/*"
    assert by_sid["WriteOutput"]["Resource"] == f"arn:aws:s3:::{bucket}/output/*"
    assert by_sid["ListTrainingData"]["Condition"] == {"StringLike": {"s3:prefix": ["training/*"]}}
    assert "VpcEnis" not in by_sid


def test_throughput_waits_for_the_fine_tuned_model(view):
    assert not [r for r in view.of_type("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput")
                if r["name"].startswith("mlplat-dev-pets-serving")]
    warnings = [d["message"] for d in view.diagnostics if d["severity"] == "warning"]
    assert any("mlplat-dev-pets-r1: customization job still running; run `pulumi up` again" in w for w in warnings)


def test_committed_throughput_is_protected(view):
    pt = view.get("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "mlplat-dev-fixed-pt")
    assert pt["protect"] is True
    assert pt["inputs"] == {"provisionedModelName": "mlplat-dev-fixed", "modelArn": ARN, "modelUnits": 2,
                            "commitmentDuration": "OneMonth",
                            # the custom model's ARN names its base: what prices it
                            "tags": {"mlplat:base-model": "amazon.titan-image-generator-v2:0"}}
    violations = {v["policy"]: v["message"] for v in view.plan["policy"]["violations"]}
    assert "bedrock-commitment-prod-only" in violations, "dev's pack config forbids commitments"
    # 2 model units x $16.20 (Titan Image G1 v2, one month) plus the pending pets throughput, 1 x $23.40 (none).
    assert violations["bedrock-throughput-budget"].startswith(
        "Bedrock Provisioned Throughput would cost $55.80/h ($40,734/month), over this environment's "
        "maxThroughputUsdPerHour of $0.00")
    # Accounts have no commitment model units by default: the plan says to request them (and to evaluate first).
    warnings = [d["message"] for d in view.diagnostics if d["severity"] == "warning"]
    assert any(w.startswith("mlplat-dev-fixed: a committed Provisioned Throughput needs model units") for w in warnings)


def test_throughput_created_once_the_model_exists(tmp_path):
    bedrock = {"fineTuning": [FT], "provisionedThroughput": [{"name": "pets-serving", "fromFineTuning": "pets"}]}
    view = plan_config(tmp_path, config(bedrock=bedrock), mock_options={"custom_models": ["mlplat-dev-pets-r1"]})
    pt = view.get("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "mlplat-dev-pets-serving-pt")
    assert pt["protect"] is False and "commitmentDuration" not in pt["inputs"]
    assert pt["inputs"]["modelArn"].startswith("arn:aws:bedrock:us-east-1:123456789012:custom-model/")
    assert not [d for d in view.diagnostics if "still running" in d["message"]]


def test_inputs_match_the_bedrock_api(view):
    inputs = view.get("aws:bedrock/customModel:CustomModel", "mlplat-dev-pets-model")["inputs"]
    role = view.get("aws:iam/role:Role", "mlplat-dev-pets-role")["outputs"]["arn"]
    params = {"jobName": inputs["jobName"], "customModelName": inputs["customModelName"], "roleArn": role,
              "baseModelIdentifier": inputs["baseModelIdentifier"], "customizationType": inputs["customizationType"],
              "hyperParameters": inputs["hyperparameters"],
              "trainingDataConfig": {"s3Uri": inputs["trainingDataConfig"]["s3Uri"]},
              "outputDataConfig": {"s3Uri": inputs["outputDataConfig"]["s3Uri"]},
              "customModelKmsKeyId": inputs["customModelKmsKeyId"]}
    assert validate("bedrock", "CreateModelCustomizationJob", params) == []
    pt = view.get("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "mlplat-dev-fixed-pt")["inputs"]
    assert validate("bedrock", "CreateProvisionedModelThroughput", {
        "modelUnits": pt["modelUnits"], "provisionedModelName": pt["provisionedModelName"], "modelId": pt["modelArn"],
        "commitmentDuration": pt["commitmentDuration"]}) == []
    assert validate("bedrock", "CreateProvisionedModelThroughput", {
        "modelUnits": 1, "provisionedModelName": "x", "modelId": ARN, "commitmentDuration": "OneYear"}) != []


def test_invocation_logging_delivers_to_encrypted_destinations(tmp_path):
    view = plan_config(tmp_path, config(bedrock={"invocationLogging": {"enabled": True, "s3": True}}))
    cfg = view.get("aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration",
                   "mlplat-dev-bedrock-config")["inputs"]["loggingConfig"]
    group = view.get("aws:cloudwatch/logGroup:LogGroup", "mlplat-dev-bedrock-logs")
    assert cfg["cloudwatchConfig"]["logGroupName"] == group["inputs"]["name"]
    assert group["inputs"]["kmsKeyId"] and group["inputs"]["retentionInDays"] == 90
    assert cfg["s3Config"]["bucketName"] == "mlplat-dev-bedrock-logs-123456789012"
    policy = json.loads(view.get("aws:s3/bucketPolicy:BucketPolicy", "mlplat-dev-bedrock-logs-policy")["inputs"]
                        ["policy"])
    grant = next(s for s in policy["Statement"] if s.get("Sid") == "BedrockInvocationLogs")
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    # PutModelInvocationLoggingConfiguration validates the destinations when it runs: after both policies, and
    # after IAM has propagated them.
    config_urn = view.get("aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration",
                          "mlplat-dev-bedrock-config")["dependencies"]
    for typ, name in (("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-bedrock-logs"),
                      ("aws:s3/bucketPolicy:BucketPolicy", "mlplat-dev-bedrock-logs-policy"),
                      ("pulumi-python:dynamic:Resource", "mlplat-dev-bedrock-iam")):
        assert view.get(typ, name)["urn"] in config_urn, name
    wait = view.get("pulumi-python:dynamic:Resource", "mlplat-dev-bedrock-iam")
    assert view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-bedrock-logs")["urn"] in wait["dependencies"]


def test_vpc_job_reaches_s3_and_may_tag_only_the_interfaces_it_creates(tmp_path):
    job = dict(FT, name="vpcjob", vpc=True)
    view = plan_config(tmp_path, config(bedrock={"fineTuning": [job]}))
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-vpcjob-role")["inputs"]["policy"])
    enis = next(s for s in policy["Statement"] if s["Sid"] == "VpcEnis")
    # The Bedrock guide's VPC policy: the job also removes the permission it granted on its interfaces.
    assert "ec2:DeleteNetworkInterfacePermission" in enis["Action"]
    tags = next(s for s in policy["Statement"] if s["Sid"] == "TagEnisAtCreation")
    assert tags["Action"] == ["ec2:CreateTags"]
    assert tags["Resource"] == "arn:aws:ec2:us-east-1:123456789012:network-interface/*"
    assert tags["Condition"]["StringEquals"] == {"ec2:CreateAction": ["CreateNetworkInterface"]}
    sg = view.get("aws:ec2/securityGroup:SecurityGroup", "mlplat-dev-vpcjob-sg")["inputs"]
    assert any(r.get("prefixListIds") for r in sg["egress"]), "training data is read from S3 through the VPC"
    model = view.get("aws:bedrock/customModel:CustomModel", "mlplat-dev-vpcjob-model")["inputs"]
    assert model["vpcConfig"]["securityGroupIds"] and len(model["vpcConfig"]["subnetIds"]) == 2
