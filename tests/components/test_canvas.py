"""Canvas domain over IAM Identity Center: landing, policies per feature, identities, the portal rename."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from components.canvas.portal_app import PortalAppProvider, rename
from stacks.errors import ConfigError
from tests.botocore_shapes import validate
from tests.helpers import config, plan_config

CANVAS = {
    "enabled": True, "domainName": "canvas-test", "landing": "canvas",
    "groups": [{"name": "business-analysts"}],
    "users": [{"userName": "ana", "email": "ana@example.com", "givenName": "Ana", "familyName": "Silva",
               "groups": ["business-analysts"]},
              {"userName": "bo", "email": "bo@example.com", "givenName": "Bo", "familyName": "Li"}],
    "existingGroups": ["data-science"], "existingUsers": ["carla@corp.example"],
    "portalApp": {"displayName": "Canvas", "description": "No-code ML"},
}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("cv"), config(canvas=CANVAS))


def _domain(view):
    return view.get("aws:sagemaker/domain:Domain", "mlplat-dev-canvas-domain")


def test_domain_sso_canvas_landing_and_encryption(view):
    domain = _domain(view)["inputs"]
    settings = domain["defaultUserSettings"]
    assert domain["authMode"] == "SSO"
    assert settings["defaultLandingUri"] == "app:Canvas:" and settings["studioWebPortal"] == "DISABLED"
    assert domain["appNetworkAccessType"] == "PublicInternetOnly"
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    assert domain["kmsKeyId"] == key
    assert domain["retentionPolicy"] == {"homeEfsFileSystem": "Delete"}
    canvas = settings["canvasAppSettings"]
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-canvas-data")["outputs"]["bucket"]
    assert canvas["workspaceSettings"] == {"s3ArtifactPath": f"s3://{bucket}/canvas/", "s3KmsKeyId": key}
    forecast = view.get("aws:iam/role:Role", "mlplat-dev-canvas-forecast")["outputs"]["arn"]
    assert canvas["timeSeriesForecastingSettings"] == {"status": "ENABLED", "amazonForecastRoleArn": forecast}
    bedrock = view.get("aws:iam/role:Role", "mlplat-dev-canvas-bedrock")["outputs"]["arn"]
    assert canvas["generativeAiSettings"] == {"amazonBedrockRoleArn": bedrock}
    assert canvas["modelRegisterSettings"] == {"status": "ENABLED"}
    assert canvas["directDeploySettings"] == {"status": "ENABLED"}


def test_studio_landing_option(tmp_path):
    net = {"availabilityZones": ["us-east-1a", "us-east-1b"],
           "interfaceEndpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "logs", "bedrock-runtime"]}
    view = plan_config(tmp_path, config(canvas=dict(CANVAS, landing="studio", studio={}), environment="prod",
                                        network=net))
    domain = view.get("aws:sagemaker/domain:Domain", "mlplat-prod-canvas-domain")
    settings = domain["inputs"]["defaultUserSettings"]
    assert settings["studioWebPortal"] == "ENABLED" and settings["defaultLandingUri"] == "studio::"
    assert settings["sharingSettings"]["notebookOutputOption"] == "Disabled"
    assert domain["inputs"]["appNetworkAccessType"] == "VpcOnly"
    assert domain["inputs"]["retentionPolicy"] == {"homeEfsFileSystem": "Retain"} and domain["protect"] is True


def _attached(view, role):
    return sorted(a["inputs"]["policyArn"].split(":policy/")[1] for a in
                  view.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                  if a["name"].startswith(f"mlplat-dev-canvas-{role}"))


def test_policy_attachments_per_feature(view, tmp_path):
    assert _attached(view, "execution") == [
        "AmazonSageMakerCanvasAIServicesAccess", "AmazonSageMakerCanvasDataPrepFullAccess",
        "AmazonSageMakerCanvasFullAccess", "service-role/AmazonSageMakerCanvasDirectDeployAccess"]
    assert _attached(view, "forecast") == ["service-role/AmazonSageMakerCanvasForecastAccess"]
    assert _attached(view, "bedrock") == ["AmazonSageMakerCanvasBedrockAccess"]
    trust = json.loads(view.get("aws:iam/role:Role", "mlplat-dev-canvas-forecast")["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "forecast.amazonaws.com"}
    off = {k: False for k in ("aiServices", "dataPrep", "directDeploy", "timeSeriesForecasting", "generativeAi")}
    minimal = plan_config(tmp_path, config(canvas=dict(CANVAS, features=off)))
    assert _attached(minimal, "execution") == ["AmazonSageMakerCanvasFullAccess"]
    assert not [r for r in minimal.of_type("aws:iam/role:Role") if r["name"].endswith(("forecast", "bedrock"))]
    canvas = minimal.get("aws:sagemaker/domain:Domain", "mlplat-dev-canvas-domain")["inputs"]["defaultUserSettings"][
        "canvasAppSettings"]
    assert canvas["timeSeriesForecastingSettings"] == {"status": "DISABLED"}


def test_execution_role_scoped_to_the_canvas_bucket(view):
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-canvas-execution")["inputs"]["policy"])
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-canvas-data")["outputs"]["arn"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["CanvasBucket"]["Resource"] == bucket and by_sid["CanvasObjects"]["Resource"] == f"{bucket}/*"
    assert by_sid["PassFeatureRoles"]["Condition"]["StringEquals"]["iam:PassedToService"] == [
        "forecast.amazonaws.com", "bedrock.amazonaws.com"]


def test_bucket_cors_for_local_upload(view):
    cors = view.get("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "mlplat-dev-canvas-data-cors")
    rule = cors["inputs"]["corsRules"][0]
    assert "POST" in rule["allowedMethods"] and rule["allowedOrigins"] == ["https://*.sagemaker.aws"]
    sse = view.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   "mlplat-dev-canvas-data-sse")
    assert sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"


def test_assignments_memberships_and_profiles(view):
    app = _domain(view)["outputs"]["singleSignOnApplicationArn"]
    assignments = view.of_type("aws:ssoadmin/applicationAssignment:ApplicationAssignment")
    kinds = sorted((a["name"].split("-assign-")[1], a["inputs"]["principalType"]) for a in assignments)
    assert kinds == [("group-business-analysts", "GROUP"), ("group-data-science", "GROUP"),
                     ("user-ana", "USER"), ("user-bo", "USER"), ("user-carla@corp.example", "USER")]
    assert all(a["inputs"]["applicationArn"] == app for a in assignments)
    ana = view.get("aws:identitystore/user:User", "mlplat-dev-canvas-user-ana")
    assign_ana = next(a for a in assignments if a["name"].endswith("user-ana"))
    assert assign_ana["inputs"]["principalId"] == ana["outputs"]["userId"]
    member = view.get("aws:identitystore/groupMembership:GroupMembership",
                      "mlplat-dev-canvas-member-ana-business-analysts")
    assert member["inputs"]["memberId"] == ana["outputs"]["userId"]
    profiles = {p["inputs"]["singleSignOnUserValue"]: p["inputs"] for p in
                view.of_type("aws:sagemaker/userProfile:UserProfile")}
    assert set(profiles) == {"ana", "bo", "carla@corp.example"}
    assert profiles["carla@corp.example"]["userProfileName"] == "carla-corp-example"
    assert all(p["singleSignOnUserIdentifier"] == "UserName" for p in profiles.values())
    assert view.outputs["accessPortalUrl"].endswith(".awsapps.com/start")


def test_portal_rename_wired_to_the_application(view):
    (rename_res,) = view.of_type("pulumi-python:dynamic:Resource")
    inputs = rename_res["inputs"]
    assert inputs["application_arn"] == _domain(view)["outputs"]["singleSignOnApplicationArn"]
    assert (inputs["display_name"], inputs["description"]) == ("Canvas", "No-code ML")
    assert inputs["__provider"] == "[dynamic provider]"


def _sso_client():
    client = boto3.client("sso-admin", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


PROPS = {"application_arn": "arn:aws:sso::123456789012:application/ssoins-1/apl-1", "display_name": "Canvas",
         "description": "d", "region": "us-east-1"}


def test_rename_applies_update_application():
    client, stub = _sso_client()
    stub.add_response("update_application", {}, {"ApplicationArn": PROPS["application_arn"], "Name": "Canvas",
                                                  "Description": "d"})
    with stub:
        assert rename(PROPS, client) == {"applied": True, "message": ""}


def test_rename_refusal_is_a_warning_not_a_failure(tmp_path):
    client, stub = _sso_client()
    stub.add_client_error("update_application", service_error_code="ValidationException",
                          service_message="Application is managed by SageMaker")
    with stub:
        result = PortalAppProvider(client_factory=lambda region: client).create(dict(PROPS))
    assert result.outs["applied"] is False
    assert "ValidationException: Application is managed by SageMaker" in result.outs["message"]
    # The plan with AWS refusing the rename as above: the deployment goes on, and says why as a warning.
    refused = {k: result.outs[k] for k in ("applied", "message")}
    view = plan_config(tmp_path, config(canvas=CANVAS), mock_options={"answers": {"mlplat-dev-canvas-portal-app":
                                                                                 refused}})
    warnings = [d["message"] for d in view.diagnostics if d["severity"] == "warning"]
    assert [w for w in warnings if "ValidationException: Application is managed by SageMaker" in w] == \
        [result.outs["message"]]
    assert view.plan["policy"]["violations"] == []


def test_rename_provider_diff_and_other_errors():
    provider = PortalAppProvider()
    assert provider.diff("id", PROPS, dict(PROPS, display_name="ML")).changes is True
    assert provider.diff("id", PROPS, dict(PROPS, application_arn="x")).replaces == ["application_arn"]
    assert provider.diff("id", PROPS, dict(PROPS)).changes is False
    client, stub = _sso_client()
    stub.add_client_error("update_application", service_error_code="ThrottlingException")
    with stub, pytest.raises(Exception, match="ThrottlingException"):
        rename(PROPS, client)


def test_missing_identity_center_fails_before_anything_is_created(tmp_path):
    with pytest.raises(ConfigError) as info:
        plan_config(tmp_path, config(canvas=CANVAS), mock_options={"identity_center": False})
    (line,) = info.value.problems
    assert "no IAM Identity Center instance in us-east-1" in line and "Identity Center console" in line


def test_create_domain_matches_the_sagemaker_api(view):
    domain = _domain(view)["inputs"]
    settings = domain["defaultUserSettings"]
    canvas = settings["canvasAppSettings"]
    params = {
        "DomainName": domain["domainName"], "AuthMode": domain["authMode"], "VpcId": domain["vpcId"],
        "SubnetIds": domain["subnetIds"], "AppNetworkAccessType": domain["appNetworkAccessType"],
        "KmsKeyId": domain["kmsKeyId"],
        "DefaultUserSettings": {
            "ExecutionRole": settings["executionRole"], "SecurityGroups": settings["securityGroups"],
            "DefaultLandingUri": settings["defaultLandingUri"], "StudioWebPortal": settings["studioWebPortal"],
            "CanvasAppSettings": {
                "WorkspaceSettings": {"S3ArtifactPath": canvas["workspaceSettings"]["s3ArtifactPath"],
                                      "S3KmsKeyId": canvas["workspaceSettings"]["s3KmsKeyId"]},
                "TimeSeriesForecastingSettings": {
                    "Status": canvas["timeSeriesForecastingSettings"]["status"],
                    "AmazonForecastRoleArn": canvas["timeSeriesForecastingSettings"]["amazonForecastRoleArn"]},
                "ModelRegisterSettings": {"Status": canvas["modelRegisterSettings"]["status"]},
                "DirectDeploySettings": {"Status": canvas["directDeploySettings"]["status"]},
                "GenerativeAiSettings": {
                    "AmazonBedrockRoleArn": canvas["generativeAiSettings"]["amazonBedrockRoleArn"]},
            },
        },
    }
    assert validate("sagemaker", "CreateDomain", params) == []
    params["DefaultUserSettings"]["StudioWebPortal"] = "OFF"
    assert any("StudioWebPortal" in e for e in validate("sagemaker", "CreateDomain", params))


def test_each_profile_waits_for_the_identity_center_user_it_names(view):
    for user in ("ana", "bo"):
        created = view.get("aws:identitystore/user:User", f"mlplat-dev-canvas-user-{user}")
        profile = view.get("aws:sagemaker/userProfile:UserProfile", f"mlplat-dev-canvas-profile-{user}")
        assert created["urn"] in profile["dependencies"], profile["urn"]


def test_forecast_and_bedrock_roles_can_use_the_canvas_bucket_and_key(view):
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-canvas-data")["outputs"]["arn"]
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    artifacts = _domain(view)["inputs"]["defaultUserSettings"]["canvasAppSettings"]["workspaceSettings"]
    assert artifacts["s3ArtifactPath"].endswith("/canvas/") and artifacts["s3KmsKeyId"] == key
    for role in ("forecast", "bedrock"):
        policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", f"mlplat-dev-canvas-{role}")["inputs"]["policy"])
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["CanvasObjects"]["Resource"] == f"{bucket}/canvas/*"
        assert set(by_sid["CanvasObjects"]["Action"]) == {"s3:GetObject", "s3:PutObject"}
        assert by_sid["Kms"]["Resource"] == key and "kms:GenerateDataKey" in by_sid["Kms"]["Action"]


def test_canvas_landing_uri_has_the_documented_app_form():
    """`app:<AppType>:<path>` (CreatePresignedDomainUrl LandingUri documents app:Canvas:relative/path)."""
    import botocore.session

    from components.canvas.component import LANDING

    model = botocore.session.get_session().get_service_model("sagemaker")
    landing_doc = model.shape_for("CreatePresignedDomainUrlRequest").members["LandingUri"].documentation
    app_types = model.shape_for("AppType").enum
    uri = LANDING["canvas"][0]
    _, app, _ = uri.split(":")
    assert uri.startswith("app:") and app in app_types and f"app:{app}:relative/path" in landing_doc
    assert "studio::" in model.shape_for("UserSettings").members["DefaultLandingUri"].documentation


def test_the_plan_says_what_api_created_users_need_before_they_can_sign_in(view):
    """Identity Store users created through the API have no password and get no invitation."""
    warnings = [d["message"] for d in view.diagnostics if d["severity"] == "warning"]
    (otp,) = [w for w in warnings if "without a password" in w]
    assert "2 Canvas user(s)" in otp and "Send email OTP for users created from API" in otp
