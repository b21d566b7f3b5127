"""`ml-platform:canvas`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from components.base import BucketName, Email, FieldProblems, StrictModel

USER_NAME = r"^[\w+=,.@-]{1,128}$"
#: SageMaker UserProfileName (CreateUserProfile): letters, digits and inner hyphens, at most 63.
PROFILE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def profile_name(user_name: str) -> str:
    """The user profile of an Identity Center user: its name with every other character run as one hyphen.

    Identity Center user names also allow `@ . _ + = ,`; a profile name allows none of them and must
    neither start nor end with a hyphen, so truncation to 63 characters strips trailing hyphens again.
    """
    name = re.sub(r"[^a-zA-Z0-9]+", "-", user_name).strip("-")[:63].rstrip("-")
    return name or "user"


class CanvasUser(StrictModel):
    user_name: str = Field(pattern=USER_NAME, description="Identity Center user name (also the profile's SSO value).")
    email: Email = Field(description="Primary email address.")
    given_name: str = Field(min_length=1, max_length=64, description="Given name.")
    family_name: str = Field(min_length=1, max_length=64, description="Family name.")
    groups: list[str] = Field(default_factory=list, description="Groups (from groups or existingGroups) to join.")


class CanvasGroup(StrictModel):
    name: str = Field(pattern=r"^[\w+=,.@ -]{1,128}$", description="Group display name, e.g. business-analysts.")
    description: str = Field(default="", max_length=1024, description="Group description.")


class CanvasFeatures(StrictModel):
    ai_services: bool = Field(default=True, description="Ready-to-use models (AmazonSageMakerCanvasAIServicesAccess).")
    data_prep: bool = Field(default=True, description="Data preparation (AmazonSageMakerCanvasDataPrepFullAccess).")
    direct_deploy: bool = Field(default=True, description="Deploy models to endpoints from Canvas.")
    time_series_forecasting: bool = Field(default=True, description="Forecasting through Amazon Forecast.")
    model_register: bool = Field(default=True, description="Register models in the SageMaker Model Registry.")
    generative_ai: bool = Field(default=True, description="Foundation models through Amazon Bedrock.")


class PortalApp(StrictModel):
    display_name: str = Field(default="Canvas", min_length=1, max_length=255, description="Name in the portal.")
    description: str = Field(default="SageMaker Canvas: no-code machine learning", max_length=255,
                             description="Description in the access portal.")


class StudioSettings(StrictModel):
    notebook_output_sharing: Literal["Allowed", "Disabled"] = Field(
        default="Disabled", description="Studio notebook output sharing (Studio landing only)."
    )


class CanvasArgs(StrictModel):
    enabled: bool = Field(default=False, description="Create the SageMaker domain for Canvas.")
    domain_name: str = Field(
        default="canvas", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,40}$", description="Domain name."
    )
    landing: Literal["studio", "canvas"] = Field(
        default="canvas", description="studio: users land in Studio; canvas: in Canvas, Studio portal disabled."
    )
    app_network_access_type: Literal["PublicInternetOnly", "VpcOnly"] = Field(
        default="VpcOnly", description="Domain network access (per environment: PublicInternetOnly in dev)."
    )
    retain_home_efs: bool = Field(
        default=True, description="Keep the home EFS on domain deletion (per environment: where state is protected)."
    )
    features: CanvasFeatures = Field(default_factory=CanvasFeatures, description="Canvas capabilities.")
    existing_bucket: BucketName | None = Field(default=None, description="Use this bucket instead of creating one.")
    groups: list[CanvasGroup] = Field(default_factory=list, description="Identity Center groups to create.")
    users: list[CanvasUser] = Field(default_factory=list, description="Identity Center users to create.")
    existing_groups: list[str] = Field(default_factory=list, description="Groups from an external IdP (SCIM).")
    existing_users: list[str] = Field(default_factory=list, description="Users from an external IdP (SCIM).")
    portal_app: PortalApp | None = Field(default=None, description="Rename the SageMaker app in the access portal.")
    studio: StudioSettings | None = Field(default=None, description="Studio-only settings (landing: studio).")

    def user_locations(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(key path, user name) of every user the domain knows, created or from the IdP."""
        return ([(("users", i, "userName"), u.user_name) for i, u in enumerate(self.users)]
                + [(("existingUsers", i), u) for i, u in enumerate(self.existing_users)])

    @model_validator(mode="after")
    def _consistent(self) -> CanvasArgs:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.landing == "canvas" and self.studio is not None:
            problems.append((("studio",), "expected no studio settings with landing: canvas (the Studio portal is "
                                          "disabled); remove them or use landing: studio"))
        first_name: dict[str, tuple[str | int, ...]] = {}
        first_profile: dict[str, tuple[tuple[str | int, ...], str]] = {}
        for loc, user in self.user_locations():
            if user in first_name:
                problems.append((loc, f"expected unique user names; {user!r} is also at {_path(first_name[user])}"))
                continue
            first_name[user] = loc
            # UserProfileName "is not case sensitive" (botocore sagemaker model, CreateUserProfile): Ana-Silva and
            # ana.silva are one profile to SageMaker.
            profile = profile_name(user)
            if profile.lower() in first_profile:
                other_loc, other = first_profile[profile.lower()]
                problems.append((loc, f"expected user names that give distinct SageMaker user profiles (names are "
                                      f"not case sensitive); {user!r} and {other!r} ({_path(other_loc)}) both become "
                                      f"profile {profile.lower()!r}"))
            else:
                first_profile[profile.lower()] = (loc, user)
        known_groups = {g.name for g in self.groups} | set(self.existing_groups)
        for i, user in enumerate(self.users):
            for j, group in enumerate(user.groups):
                if group not in known_groups:
                    problems.append((("users", i, "groups", j), f"expected one of the groups "
                                     f"({', '.join(sorted(known_groups)) or 'none defined'}); found {group!r}"))
        if problems:
            raise FieldProblems(problems)
        return self

    def profiles(self) -> dict[str, str]:
        """User name -> SageMaker user profile name (unique: the validator refuses collisions)."""
        return {user: profile_name(user) for _, user in self.user_locations()}


def _path(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(loc))
