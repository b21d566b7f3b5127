"""A dynamic provider that renames the SageMaker-managed application in the AWS access portal.

No Pulumi resource covers it; sso-admin `UpdateApplication` does. Whether AWS accepts the call on
the SageMaker-managed application is unverified (terraform-provider-aws #45046), so a refusal is
not an error: the resource records `applied: false` and the reason, and the component warns.
Deleting the resource leaves the application as it is (SageMaker owns it).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

FIELDS = ("application_arn", "display_name", "description", "region")
REFUSALS = ("AccessDeniedException", "ValidationException", "ConflictException", "ResourceNotFoundException")


def rename(props: dict[str, Any], client: Any = None) -> dict[str, Any]:
    """Apply the name/description; returns {"applied": bool, "message": str}."""
    from botocore.exceptions import ClientError

    if client is None:
        import boto3

        client = boto3.client("sso-admin", region_name=props["region"])
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

    def _client(self, props: dict[str, Any]) -> Any:
        return self._client_factory(props["region"]) if self._client_factory else None

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["application_arn"], outs={**props, **rename(props, self._client(props))})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in FIELDS if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k in ("application_arn", "region")]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, **rename(news, self._client(news))})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = self._client(props)
        if client is None:
            import boto3

            client = boto3.client("sso-admin", region_name=props["region"])
        app = client.describe_application(ApplicationArn=id_)
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
