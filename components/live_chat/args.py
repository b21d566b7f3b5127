"""`ml-platform:liveChat`."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from components.base import StrictModel

HTTPS = re.compile(r"^https://[a-z0-9.-]+(:\d+)?(/[\w./-]*)?$")


class TalkdeskArgs(StrictModel):
    auth_url: str = Field(description="OAuth token endpoint, e.g. https://<account>.talkdeskid.com/oauth/token.")
    api_url: str = Field(
        default="https://api.talkdeskapp.com/digital-connect",
        description="Digital Connect base URL (Canada: https://api.talkdeskappca.com/digital-connect).",
    )
    touchpoint_id: SecretStr = Field(description="Digital Connect touchpoint id (set with --secret).")
    client_id: SecretStr = Field(description="OAuth client id (set with --secret).")
    client_secret: SecretStr = Field(description="OAuth client secret (set with --secret).")

    @field_validator("auth_url", "api_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not HTTPS.match(value):
            raise ValueError("expected an https:// URL")
        return value.rstrip("/")


class Throttling(StrictModel):
    rate_limit: float = Field(default=50, gt=0, le=10_000, description="Steady-state requests per second.")
    burst_limit: int = Field(default=100, ge=1, le=5_000, description="Burst requests.")


class LiveChatArgs(StrictModel):
    enabled: bool = Field(default=False, description="Create the live-chat channel.")
    talkdesk: TalkdeskArgs | None = Field(default=None, description="Talkdesk endpoints and credentials.")
    touchpoint_secret_name: str | None = Field(
        default=None, max_length=512, pattern=r"^[\w/+=.@-]+$", description="Default: <env>/talkdesk/touchpoint/ids."
    )
    client_secret_name: str | None = Field(
        default=None, max_length=512, pattern=r"^[\w/+=.@-]+$", description="Default: <env>/talkdesk/client/keys."
    )
    websocket_throttling: Throttling = Field(default_factory=Throttling, description="WebSocket stage throttling.")
    callback_throttling: Throttling = Field(
        default_factory=lambda: Throttling(rate_limit=20, burst_limit=40),
        description="Callback API usage-plan throttling.",
    )
    sample_utterances: list[str] = Field(
        default_factory=lambda: ["talk to an agent", "I want to speak to a person", "connect me to a human",
                                 "live agent", "agent please"],
        min_length=1, description="Utterances of the TalkToAgent intent.",
    )
    manage_api_gateway_account: bool = Field(
        default=True,
        description="This stack owns the region's API Gateway CloudWatch role (an account-and-region setting "
                    "stages with logging need): exactly one stack per region sets it; set false in the others.",
    )
