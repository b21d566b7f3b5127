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


class ReservedConcurrency(StrictModel):
    """Concurrent executions reserved for each function (and the most it may use).

    Concurrency is about requests per second x seconds per request. The handlers answer in well under a
    second (a DynamoDB write and, at most, one Talkdesk call with a 3 s timeout), so these leave headroom
    over the stage throttles (WebSocket 50 rps, callback 20 rps): a flood is throttled at the edge and
    cannot take the account's concurrency from other functions. Together 90: Lambda keeps at least 100
    unreserved per account and region, so the account's limit (1,000 by default) must be 190 or more.
    """

    fulfillment: int = Field(default=10, ge=1, le=1000, description="Lex fulfillment (one call per turn).")
    authorizer: int = Field(default=20, ge=1, le=1000, description="WebSocket $connect authorizer.")
    websocket: int = Field(default=40, ge=1, le=1000, description="Customer WebSocket messages.")
    callback: int = Field(default=20, ge=1, le=1000, description="Talkdesk callbacks.")


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
    callback_waf: bool = Field(
        default=False,
        description="A WAFv2 web ACL on the callback stage: the AWS managed common and known-bad-inputs rule "
                    "sets and a per-IP rate rule, logged to an aws-waf-logs- log group (default: on in prod).",
    )
    callback_waf_rate_limit: int = Field(
        default=6000, ge=10, le=2_000_000_000,
        description="Requests one source IP may send in 5 minutes before the WAF blocks it. Talkdesk calls from "
                    "few addresses, so the default is the callback throttle (20 rps) over the window.",
    )
    validate_callback_requests: bool = Field(
        default=True,
        description="API Gateway checks callback bodies against the callback contract before the function runs.",
    )
    reserve_concurrency: bool = Field(
        default=False, description="Reserve concurrency for each live-chat function (default: on in prod).")
    reserved_concurrency: ReservedConcurrency = Field(
        default_factory=ReservedConcurrency, description="Reserved concurrency per function.")
    manage_api_gateway_account: bool = Field(
        default=True,
        description="This stack owns the region's API Gateway CloudWatch role (an account-and-region setting "
                    "stages with logging need): exactly one stack per region sets it; set false in the others.",
    )
