"""A dynamic provider that renames the SageMaker-managed application in the AWS access portal.

No Pulumi resource covers it; sso-admin `UpdateApplication` does. Whether AWS accepts the call on
the SageMaker-managed application is unverified (terraform-provider-aws #45046), so a refusal is
not an error: the resource records `applied: false` and the reason, and the component warns.
Deleting the resource leaves the application as it is (SageMaker owns it); `refresh` drops it once the
application is gone (with its domain). It calls AWS as the stack does: the engine hands a dynamic provider the
stack's config (`ResourceProvider.configure`), whose `aws:region`, `aws:profile` and `aws:assumeRoles` /
`aws:assumeRole` it follows, not boto3's defaults.

Its pickled state names this module (`components.canvas.portal_app`): moving it breaks `refresh` and `destroy` of
existing stacks (tests/components/test_dynamic_providers.py keeps the path importable).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

FIELDS = ("application_arn", "display_name", "description", "region")
REFUSALS = ("AccessDeniedException", "ValidationException", "ConflictException", "ResourceNotFoundException")


def stack_session(config: Any, region: str) -> Any:
    """A boto3 session with the stack's AWS settings: its profile, then its first assumed role (pulumi-aws
    `assumeRoles`, or the older single `assumeRole`), in the stack's region."""
    import json

    import boto3

    get = (lambda key: config.get(key)) if config is not None else (lambda key: None)
    session = boto3.Session(profile_name=get("aws:profile") or None, region_name=get("aws:region") or region)
    roles = get("aws:assumeRoles") or get("aws:assumeRole")
    if isinstance(roles, str):
        roles = json.loads(roles)
    role = (roles[0] if isinstance(roles, list) and roles else roles) or None
    if not isinstance(role, dict) or not role.get("roleArn"):
        return session
    extra = {"ExternalId": role["externalId"]} if role.get("externalId") else {}
    creds = session.client("sts").assume_role(RoleArn=role["roleArn"], RoleSessionName=role.get(
        "sessionName") or "ml-platform-portal-app", **extra)["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=session.region_name)


def rename(props: dict[str, Any], client: Any) -> dict[str, Any]:
    """Apply the name/description; returns {"applied": bool, "message": str}."""
    from botocore.exceptions import ClientError

    try:
        client.update_application(ApplicationArn=props["application_arn"], Name=props["display_name"],
                                  Description=props["description"])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in REFUSALS:
            return {"applied": False,
                    "message": f"AWS refused to rename the SageMaker application ({error.get('Code')}: "
                               f"{error.get('Message', '')}); the portal keeps the default name"}
        raise
    return {"applied": True, "message": ""}


class PortalAppProvider(ResourceProvider):
    def __init__(self, client_factory: Any = None) -> None:
        self._client_factory = client_factory
        self._config: Any = None

    def configure(self, req: Any) -> None:
        """The engine passes the stack's config before any call (pulumi `dynamic/__main__.py` Configure)."""
        self._config = req.config

    def _client(self, props: dict[str, Any]) -> Any:
        # getattr: state pickled before these attributes existed unpickles without them (by-reference classes).
        factory = getattr(self, "_client_factory", None)
        if factory:
            return factory(props["region"])
        return stack_session(getattr(self, "_config", None), props["region"]).client("sso-admin")

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["application_arn"], outs={**props, **rename(props, self._client(props))})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in FIELDS if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k in ("application_arn", "region")]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, **rename(news, self._client(news))})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from botocore.exceptions import ClientError

        try:
            app = self._client(props).describe_application(ApplicationArn=id_)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return ReadResult(id_=None, outs={})  # gone (with its domain): refresh drops it from the state
            raise
        return ReadResult(id_=id_, outs={**props, "display_name": app.get("Name", props.get("display_name")),
                                         "description": app.get("Description", props.get("description"))})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leave the SageMaker-managed application untouched."""


class PortalAppName(Resource):
    applied: pulumi.Output[bool]
    message: pulumi.Output[str]

    def __init__(self, name: str, *, application_arn: pulumi.Input[str], display_name: str, description: str,
                 region: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            PortalAppProvider(), name,
            {"application_arn": application_arn, "display_name": display_name, "description": description,
             "region": region, "applied": None, "message": None},
            opts,
        )
