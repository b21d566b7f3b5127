"""Inputs of the environment's KMS key (pydantic only, no provider import)."""

from __future__ import annotations

from pydantic import Field

from components.base import StrictModel


class EncryptionArgs(StrictModel):
    """Inputs of `PlatformKey`."""

    alias: str = Field(pattern=r"^[a-zA-Z0-9/_-]{1,200}$", description="Alias name without the `alias/` prefix.")
    deletion_window_days: int = Field(default=30, ge=7, le=30, description="Waiting period before key deletion.")
    admin_role_arns: list[str] = Field(
        default_factory=list, description="Roles allowed to administer (not use) the key, besides the account root."
    )
