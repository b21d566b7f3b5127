"""Inputs of `SecureBucket` (pydantic only, no provider import)."""

from __future__ import annotations

from pydantic import Field

from components.base import StrictModel


class LifecycleRule(StrictModel):
    id: str = Field(min_length=1, max_length=255, description="Rule id.")
    prefix: str = Field(default="", description="Key prefix the rule applies to (empty: the whole bucket).")
    expire_days: int | None = Field(default=None, ge=1, description="Expire current objects after N days.")
    noncurrent_expire_days: int | None = Field(default=30, ge=1,
                                               description="Expire noncurrent versions after N days.")
    abort_multipart_days: int = Field(default=7, ge=1, description="Abort incomplete multipart uploads after N days.")


class CorsRule(StrictModel):
    allowed_methods: tuple[str, ...] = Field(description="HTTP methods.")
    allowed_origins: tuple[str, ...] = Field(description="Origins.")
    allowed_headers: tuple[str, ...] = Field(default=("*",), description="Request headers.")
    expose_headers: tuple[str, ...] = Field(default=(), description="Response headers exposed to the browser.")
    max_age_seconds: int = Field(default=3000, ge=0, description="Preflight cache time.")


class BucketArgs(StrictModel):
    force_destroy: bool = Field(default=False, description="Delete objects with the bucket (never for data).")
    lifecycle: tuple[LifecycleRule, ...] = Field(default=(), description="Lifecycle rules.")
    cors: tuple[CorsRule, ...] = Field(default=(), description="CORS rules.")
    access_log_destination: bool = Field(
        default=False,
        description="The bucket receives S3 server access logs: SSE-S3 instead of the environment key, and it "
                    "does not log itself.",
    )


class StorageArgs(StrictModel):
    """`ml-platform:storage`: what every bucket of the environment shares."""

    access_logging: bool = Field(
        default=False,
        description="S3 server access logs of every data bucket to a dedicated log bucket (default: on in prod).",
    )
