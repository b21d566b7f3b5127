"""`CanvasDomain`: every console step of "single sign-on access to SageMaker Canvas" as code.

Identity Center users/groups → assignments to the domain's SSO application (a user profile without
an assignment gets "Access Denied") → a user profile per known user. `landing: canvas` makes the
reference's `aws sagemaker update-domain` declarative: default landing URI `app:Canvas:models` and the
Studio web portal disabled.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.canvas.args import CanvasArgs
from components.canvas.portal_app import PortalAppName
from components.context import Env, NetworkRef
from components.iam_documents import service_trust
from components.storage.args import BucketArgs, CorsRule, LifecycleRule
from components.storage.component import SecureBucket

#: DefaultLandingUri and StudioWebPortal per landing. Landing URIs are `studio::<path>` or
#: `app:<AppType>:<path>`: CreatePresignedDomainUrl's LandingUri documents `app:Canvas:relative/path`
#: (botocore sagemaker service model; AppType includes `Canvas`), and UserSettings.DefaultLandingUri
#: documents `studio::` and `app:JupyterServer:` of the same scheme. Canvas at its start page is
#: `app:Canvas:` (no relative path).
LANDING = {"canvas": ("app:Canvas:", "DISABLED"), "studio": ("studio::", "ENABLED")}
CANVAS_CORS = CorsRule(allowed_methods=("POST", "PUT", "GET", "HEAD"), allowed_origins=("https://*.sagemaker.aws",),
                       expose_headers=("ETag",))
CANVAS_BUCKET = BucketArgs(cors=(CANVAS_CORS,),
                           lifecycle=(LifecycleRule(id="stale-artifacts", noncurrent_expire_days=30),))


def execution_policies(args: CanvasArgs) -> list[str]:
    """AWS managed policies of the execution role for the enabled features (paths as AWS publishes them)."""
    policies = ["AmazonSageMakerCanvasFullAccess"]
    if args.features.ai_services:
        policies.append("AmazonSageMakerCanvasAIServicesAccess")
    if args.features.data_prep:
        policies.append("AmazonSageMakerCanvasDataPrepFullAccess")
    if args.features.direct_deploy:
        policies.append("service-role/AmazonSageMakerCanvasDirectDeployAccess")
    return policies


def canvas_service_policy(bucket_arn: str, key_arn: str) -> str:
    """What a service Canvas delegates to (Forecast, Bedrock) needs of the Canvas bucket and key."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        # s3:prefix is a condition key of ListBucket only; on GetBucketLocation it would never match
        # (Service Authorization Reference, Amazon S3 actions table), so the two are separate statements.
        {"Sid": "CanvasBucketList", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": bucket_arn, "Condition": {"StringLike": {"s3:prefix": ["canvas/*"]}}},
        {"Sid": "CanvasBucketLocation", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
        {"Sid": "CanvasObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"{bucket_arn}/canvas/*"},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
         "Resource": key_arn},
    ]})


def canvas_inline_policy(bucket_arn: str, key_arn: str, pass_roles: list[str]) -> str:
    statements: list[dict[str, Any]] = [
        {"Sid": "CanvasBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation",
                                                              "s3:GetBucketCors"], "Resource": bucket_arn},
        {"Sid": "CanvasObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
         "Resource": f"{bucket_arn}/*"},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey",
                                                     "kms:CreateGrant"], "Resource": key_arn},
    ]
    if pass_roles:
        statements.append({"Sid": "PassFeatureRoles", "Effect": "Allow", "Action": "iam:PassRole",
                           "Resource": pass_roles,
                           "Condition": {"StringEquals": {"iam:PassedToService": ["forecast.amazonaws.com",
                                                                                   "bedrock.amazonaws.com"]}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class CanvasDomain(pulumi.ComponentResource):
    domain_id: pulumi.Output[str]
    sso_application_arn: pulumi.Output[str]
    portal_url: str
    execution_role_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    #: Identity Center user name -> SageMaker user profile name.
    user_profiles: dict[str, str]

    def __init__(self, name: str, args: CanvasArgs, *, env: Env, network: NetworkRef, identity_store_id: str,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`identity_store_id`: the identity store of the region's IAM Identity Center instance."""
        super().__init__("mlplat:canvas:CanvasDomain", name, None,
                         env.component_options(opts, former_types=("mlplat:sagemaker:CanvasDomain",)))
        child = pulumi.ResourceOptions(parent=self)
        self._name, self._env = name, env
        region, account_id, partition, kms_key_arn = env.region, env.account_id, env.partition, env.key_arn
        retain_home_efs = bool(args.retain_home_efs)

        if args.existing_bucket:
            bucket_name: pulumi.Output[str] = pulumi.Output.from_input(args.existing_bucket)
            bucket_arn = pulumi.Output.concat("arn:", partition, ":s3:::", args.existing_bucket)
        else:
            bucket = SecureBucket(f"{name}-data", CANVAS_BUCKET, env=env, opts=child)
            bucket_name, bucket_arn = bucket.bucket_name, bucket.bucket_arn

        role = aws.iam.Role(
            f"{name}-execution",
            assume_role_policy=pulumi.Output.from_input(account_id).apply(
                lambda a: service_trust("sagemaker.amazonaws.com", account_id=a)),
            opts=child,
        )
        for policy in execution_policies(args):
            self._attach(f"{name}-execution-{policy.rsplit('/', 1)[-1]}", role, policy)
        forecast_role = bedrock_role = None
        if args.features.time_series_forecasting:
            forecast_role = aws.iam.Role(
                f"{name}-forecast",
                assume_role_policy=pulumi.Output.from_input(account_id).apply(
                    lambda a: service_trust("forecast.amazonaws.com", account_id=a)),
                opts=child,
            )
            self._attach(f"{name}-forecast-policy", forecast_role, "service-role/AmazonSageMakerCanvasForecastAccess")
            self._canvas_data_access(f"{name}-forecast", forecast_role, bucket_arn, kms_key_arn)
        if args.features.generative_ai:
            bedrock_role = aws.iam.Role(
                f"{name}-bedrock",
                assume_role_policy=pulumi.Output.all(account_id, partition).apply(
                    lambda a: service_trust("bedrock.amazonaws.com", account_id=a[0],
                                            source_arn=f"arn:{a[1]}:bedrock:{region}:{a[0]}:*")),
                opts=child,
            )
            self._attach(f"{name}-bedrock-policy", bedrock_role, "AmazonSageMakerCanvasBedrockAccess")
            self._canvas_data_access(f"{name}-bedrock", bedrock_role, bucket_arn, kms_key_arn)
        pass_roles = [r.arn for r in (forecast_role, bedrock_role) if r is not None]
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=role.id,
            policy=pulumi.Output.all(bucket_arn, kms_key_arn, pulumi.Output.all(*pass_roles)).apply(
                lambda a: canvas_inline_policy(a[0], a[1], list(a[2]))),
            opts=child,
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-domain",
            vpc_id=network.vpc_id,
            description="SageMaker Canvas domain apps",
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443,
                                                    cidr_blocks=["0.0.0.0/0"], description="HTTPS to AWS APIs")],
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(f"{name}-domain-self", security_group_id=sg.id,
                                         referenced_security_group_id=sg.id, ip_protocol="-1",
                                         description="between domain apps", opts=child)
        landing_uri, portal = LANDING[args.landing]
        features = args.features
        canvas_settings = aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsArgs(
            workspace_settings=aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsWorkspaceSettingsArgs(
                s3_artifact_path=pulumi.Output.concat("s3://", bucket_name, "/canvas/"), s3_kms_key_id=kms_key_arn),
            time_series_forecasting_settings=aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsTimeSeriesForecastingSettingsArgs(  # noqa: E501
                status="ENABLED", amazon_forecast_role_arn=forecast_role.arn)
            if forecast_role else aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsTimeSeriesForecastingSettingsArgs(  # noqa: E501
                status="DISABLED"),
            model_register_settings=aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsModelRegisterSettingsArgs(
                status="ENABLED" if features.model_register else "DISABLED"),
            direct_deploy_settings=aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsDirectDeploySettingsArgs(
                status="ENABLED" if features.direct_deploy else "DISABLED"),
            generative_ai_settings=aws.sagemaker.DomainDefaultUserSettingsCanvasAppSettingsGenerativeAiSettingsArgs(
                amazon_bedrock_role_arn=bedrock_role.arn) if bedrock_role else None,
        )
        sharing = None
        if args.studio is not None:
            sharing = aws.sagemaker.DomainDefaultUserSettingsSharingSettingsArgs(
                notebook_output_option=args.studio.notebook_output_sharing, s3_kms_key_id=kms_key_arn,
                s3_output_path=pulumi.Output.concat("s3://", bucket_name, "/studio-sharing/"))
        domain = aws.sagemaker.Domain(
            f"{name}-domain",
            domain_name=args.domain_name,
            auth_mode="SSO",
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            app_network_access_type=args.app_network_access_type,
            kms_key_id=kms_key_arn,
            default_user_settings=aws.sagemaker.DomainDefaultUserSettingsArgs(
                execution_role=role.arn,
                security_groups=[sg.id],
                canvas_app_settings=canvas_settings,
                default_landing_uri=landing_uri,
                studio_web_portal=portal,
                sharing_settings=sharing,
            ),
            retention_policy=aws.sagemaker.DomainRetentionPolicyArgs(
                home_efs_file_system="Retain" if retain_home_efs else "Delete"),
            opts=pulumi.ResourceOptions(parent=self, protect=retain_home_efs),
        )
        self.domain_id = domain.id
        self.sso_application_arn = domain.single_sign_on_application_arn
        self._identities(args, domain, identity_store_id)
        if args.portal_app is not None:
            renamed = PortalAppName(
                f"{name}-portal-app", application_arn=domain.single_sign_on_application_arn,
                display_name=args.portal_app.display_name, description=args.portal_app.description, region=region,
                opts=child,
            )
            pulumi.Output.all(renamed.applied, renamed.message).apply(
                lambda a: None if a[0] in (True, None) else pulumi.log.warn(a[1], resource=renamed))
        self.portal_url = f"https://{identity_store_id}.awsapps.com/start"
        self.execution_role_arn = role.arn
        self.bucket_name = bucket_name
        self.user_profiles = args.profiles()
        self.register_outputs({"userProfiles": self.user_profiles, "domainId": self.domain_id,
                               "ssoApplicationArn": self.sso_application_arn,
                               "portalUrl": self.portal_url, "executionRoleArn": role.arn,
                               "bucketName": bucket_name})

    def _canvas_data_access(self, name: str, role: aws.iam.Role, bucket_arn: pulumi.Input[str],
                            kms_key_arn: pulumi.Input[str]) -> None:
        """The AWS managed policies of the Forecast and Bedrock roles cover `sagemaker-*` buckets only and no
        customer-managed key: Canvas hands these services data in *this* bucket, encrypted with *this* key."""
        aws.iam.RolePolicy(name, role=role.id, policy=pulumi.Output.all(bucket_arn, kms_key_arn).apply(
            lambda a: canvas_service_policy(a[0], a[1])), opts=pulumi.ResourceOptions(parent=self))

    def _attach(self, name: str, role: aws.iam.Role, policy: str) -> None:
        aws.iam.RolePolicyAttachment(name, role=role.name, policy_arn=self._env.managed_policy(policy),
                                     opts=pulumi.ResourceOptions(parent=self))

    def _identities(self, args: CanvasArgs, domain: aws.sagemaker.Domain, store: str) -> None:
        child = pulumi.ResourceOptions(parent=self)
        name = self._name
        if args.users:
            # Users created through the Identity Store API have no password and get no invitation: they can sign in
            # only once the Identity Center administrator enables "Send email OTP for users created from API"
            # (IAM Identity Center user guide, standard authentication settings), or resets each password.
            pulumi.log.warn(f"{name}: {len(args.users)} Canvas user(s) are created through the API without a password: "
                            "enable 'Send email OTP for users created from API' in IAM Identity Center (Settings, "
                            "Authentication), or reset their passwords, before they can sign in", resource=self)
        group_ids: dict[str, pulumi.Output[str]] = {}
        for g in args.groups:
            group = aws.identitystore.Group(f"{name}-group-{g.name}", identity_store_id=store,
                                            display_name=g.name, description=g.description or None, opts=child)
            group_ids[g.name] = group.group_id
        for g in args.existing_groups:
            group_ids[g] = aws.identitystore.get_group_output(
                identity_store_id=store,
                alternate_identifier=aws.identitystore.GetGroupAlternateIdentifierArgs(
                    unique_attribute=aws.identitystore.GetGroupAlternateIdentifierUniqueAttributeArgs(
                        attribute_path="DisplayName", attribute_value=g)),
                opts=pulumi.InvokeOutputOptions(parent=self)).group_id
        user_ids: dict[str, pulumi.Output[str]] = {}
        created: dict[str, aws.identitystore.User] = {}
        for u in args.users:
            user = aws.identitystore.User(
                f"{name}-user-{u.user_name}", identity_store_id=store, user_name=u.user_name,
                display_name=f"{u.given_name} {u.family_name}",
                name=aws.identitystore.UserNameArgs(given_name=u.given_name, family_name=u.family_name),
                emails=aws.identitystore.UserEmailsArgs(value=u.email, primary=True, type="work"),
                opts=child,
            )
            user_ids[u.user_name] = user.user_id
            created[u.user_name] = user
            for g in u.groups:
                aws.identitystore.GroupMembership(f"{name}-member-{u.user_name}-{g}", identity_store_id=store,
                                                  group_id=group_ids[g], member_id=user.user_id, opts=child)
        for u in args.existing_users:
            user_ids[u] = aws.identitystore.get_user_output(
                identity_store_id=store,
                alternate_identifier=aws.identitystore.GetUserAlternateIdentifierArgs(
                    unique_attribute=aws.identitystore.GetUserAlternateIdentifierUniqueAttributeArgs(
                        attribute_path="UserName", attribute_value=u)),
                opts=pulumi.InvokeOutputOptions(parent=self)).user_id
        for kind, ids in (("GROUP", group_ids), ("USER", user_ids)):
            for principal, principal_id in ids.items():
                aws.ssoadmin.ApplicationAssignment(
                    f"{name}-assign-{kind.lower()}-{principal}", application_arn=domain.single_sign_on_application_arn,
                    principal_id=principal_id, principal_type=kind, opts=child)
        for user_name, profile in args.profiles().items():
            # SageMaker resolves the SSO user name when the profile is created: a user this stack creates
            # must exist first (SCIM users already do).
            waits = [created[user_name]] if user_name in created else []
            aws.sagemaker.UserProfile(
                f"{name}-profile-{user_name}", domain_id=domain.id, user_profile_name=profile,
                single_sign_on_user_identifier="UserName", single_sign_on_user_value=user_name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits))
