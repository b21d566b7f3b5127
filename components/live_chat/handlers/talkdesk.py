"""A small Talkdesk Digital Connect client: OAuth client credentials, retries with jitter, a deadline.

Base URLs come from the environment (`TALKDESK_AUTH_URL`: the token endpoint; `TALKDESK_API_URL`:
`https://api.talkdeskapp.com/digital-connect`, or the Canadian `api.talkdeskappca.com`).
"""

from __future__ import annotations

import base64
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

RETRYABLE = {429, 500, 502, 503, 504}
#: Answers that say the request was not acted on: the only ones after which a request Talkdesk cannot
#: deduplicate is sent again. Talkdesk documents an idempotency key for Start a Conversation ("finds an
#: existing one through its idempotency key") but none for Send a Message (docs.talkdesk.com/reference/
#: start-conversation, /reference/send-a-message): after a timeout, a reset or a 500/502/504 the message
#: may have been delivered, and sending it again would show it twice to the agent.
NOT_ACTED_ON = {429, 503}


class TalkdeskError(Exception):
    def __init__(self, message: str, status: int | None = None, *, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.status = status
        #: The request may have been acted on (timeout, reset or server error on a request not retried).
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True)
class Retry:
    """How long one call may take in all (`deadline_s`), per attempt (`timeout_s`), and the backoff."""

    deadline_s: float = 8.0
    base_delay_s: float = 0.2
    max_delay_s: float = 2.0
    timeout_s: float = 3.0


class TalkdeskClient:
    _token_cache: dict[str, tuple[str, float]] = {}

    def __init__(self, auth_url: str, api_url: str, client_id: str, client_secret: str, *,
                 retry: Retry = Retry(), sleep=time.sleep) -> None:  # noqa: B008 - a frozen default
        self.auth_url, self.api_url = auth_url, api_url.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.deadline_s, self.base_delay_s, self.max_delay_s = retry.deadline_s, retry.base_delay_s, retry.max_delay_s
        self.timeout_s, self.sleep = retry.timeout_s, sleep
        self.requests_sent = 0

    # -- transport --------------------------------------------------------------------------------
    def _send(self, req: urllib.request.Request, deadline: float,
              idempotent: bool = True) -> tuple[int, dict[str, Any]]:
        """Send `req`, retrying within `deadline`. A request that is not `idempotent` is sent again only when
        it surely was not acted on: refused before it was sent, or answered 429/503."""
        attempt = 0
        while True:
            attempt += 1
            self.requests_sent += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TalkdeskError("Talkdesk did not answer before the deadline")
            try:
                with urllib.request.urlopen(req, timeout=min(self.timeout_s, remaining)) as resp:  # noqa: S310
                    raw = resp.read()
                    return resp.status, (json.loads(raw) if raw else {})
            except urllib.error.HTTPError as exc:
                status = exc.code
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                exc.read()
                if not idempotent and status in RETRYABLE and status not in NOT_ACTED_ON:
                    raise TalkdeskError(f"Talkdesk answered HTTP {status}; not sent again", status,
                                        maybe_delivered=True) from None
            except urllib.error.URLError as exc:  # no connection: the request was never sent
                status, retry_after = None, None
                if time.monotonic() >= deadline:
                    raise TalkdeskError(f"Talkdesk unreachable: {exc.reason}") from None
            except (TimeoutError, ConnectionError) as exc:  # sent, then no answer: it may have been acted on
                status, retry_after = None, None
                if not idempotent:
                    raise TalkdeskError(f"no answer from Talkdesk ({type(exc).__name__}); not sent again",
                                        maybe_delivered=True) from None
                if time.monotonic() >= deadline:
                    raise TalkdeskError(f"Talkdesk unreachable: {exc}") from None
            if status is not None and status not in RETRYABLE:
                raise TalkdeskError(f"Talkdesk answered HTTP {status}", status)
            # Full jitter (AWS architecture blog "Exponential Backoff And Jitter"), Retry-After honoured.
            delay = random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))
            if retry_after and retry_after.isdigit():
                delay = max(delay, float(retry_after))
            if time.monotonic() + delay >= deadline:
                raise TalkdeskError(f"Talkdesk still failing (HTTP {status}) at the deadline", status)
            self.sleep(delay)

    def token(self) -> str:
        key = f"{self.auth_url}|{self.client_id}"
        cached = self._token_cache.get(key)
        if cached and cached[1] > time.time():
            return cached[0]
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "digital-connect:write"}).encode()
        req = urllib.request.Request(self.auth_url, data=body, method="POST", headers={
            "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        _, data = self._send(req, time.monotonic() + self.deadline_s)
        if "access_token" not in data:
            raise TalkdeskError("token response without access_token")
        # Refresh a minute early so a token never expires in flight.
        self._token_cache[key] = (data["access_token"], time.time() + max(int(data.get("expires_in", 300)) - 60, 0))
        return data["access_token"]

    def _api(self, method: str, path: str, body: dict[str, Any] | None = None,
             idempotency_key: str | None = None, idempotent: bool = True) -> dict[str, Any]:
        deadline = time.monotonic() + self.deadline_s
        for refresh in (False, True):
            headers = {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"}
            if idempotency_key:
                headers["x-idempotency-key"] = idempotency_key
            req = urllib.request.Request(f"{self.api_url}{path}", method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
            try:
                return self._send(req, deadline, idempotent)[1]
            except TalkdeskError as exc:
                if exc.status == 401 and not refresh:
                    self._token_cache.clear()
                    continue
                raise
        raise TalkdeskError("unauthorized")

    # -- Digital Connect ---------------------------------------------------------------------------
    def start_conversation(self, touchpoint_id: str, subject: str, contact: dict[str, str],
                           context: dict[str, str], idempotency_key: str | None = None) -> str:
        data = self._api("POST", "/conversations", {
            "touchpoint_id": touchpoint_id, "subject": subject, "contact_person": contact,
            "context_parameters": context}, idempotency_key or str(uuid.uuid4()))
        if not data.get("id"):
            raise TalkdeskError("start conversation response without id")
        return str(data["id"])

    def send_message(self, conversation_id: str, content: str) -> None:
        """Not idempotent (no key is documented): sent again only after an answer that says it was not acted on."""
        self._api("POST", f"/conversations/{urllib.parse.quote(conversation_id)}/messages", {"content": content},
                  idempotent=False)

    def end_conversation(self, conversation_id: str) -> None:
        self._api("DELETE", f"/conversations/{urllib.parse.quote(conversation_id)}")


def client_from_env() -> TalkdeskClient:
    """The client configured by the function's environment (deadline and backoff tunable)."""
    import os

    from common import env, secret_json  # type: ignore[import-not-found]

    creds = secret_json(env("TALKDESK_CLIENT_SECRET_ID"))
    retry = Retry(deadline_s=float(os.environ.get("TALKDESK_DEADLINE_S", "8")),
                  base_delay_s=float(os.environ.get("TALKDESK_RETRY_BASE_S", "0.2")))
    return TalkdeskClient(env("TALKDESK_AUTH_URL"), env("TALKDESK_API_URL"), creds["client_id"],
                          creds["client_secret"], retry=retry)
