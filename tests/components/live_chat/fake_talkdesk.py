"""A local fake of Talkdesk's OAuth and Digital Connect endpoints (127.0.0.1 only), scriptable failures."""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler

from tests.helpers import LocalServer


class FakeTalkdesk:
    def __init__(self, client_id: str = "cid", client_secret: str = "csecret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens_issued = 0
        self.conversations: dict[str, dict] = {}
        self.messages: list[tuple[str, str]] = []
        self.ended: list[str] = []
        self.idempotency: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        #: Statuses to answer before behaving normally, per (method, path prefix).
        self.failures: dict[tuple[str, str], deque] = {}
        self.expires_in = 3600
        #: How many message posts to act on and then drop the connection without answering.
        self.lose_answers = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # silence the test output
                pass

            def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
                raw = json.dumps(body or {}).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _scripted(self) -> bool:
                for (method, prefix), queue in fake.failures.items():
                    if method == self.command and self.path.startswith(prefix) and queue:
                        status = queue.popleft()
                        self._reply(status, {"error": "scripted"}, {"Retry-After": "0"})
                        return True
                return False

            def _authorized(self) -> bool:
                token = self.headers.get("Authorization", "")
                return token.startswith("Bearer tok-")

            def do_POST(self) -> None:  # noqa: N802
                fake.requests.append(("POST", self.path))
                body = self._body()
                if self._scripted():
                    return
                if self.path == "/oauth/token":
                    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
                    form = urllib.parse.parse_qs(body.decode())
                    if self.headers.get("Authorization") != f"Basic {basic}" or \
                            form.get("grant_type") != ["client_credentials"] or \
                            form.get("scope") != ["digital-connect:write"]:
                        return self._reply(401, {"error": "invalid_client"})
                    fake.tokens_issued += 1
                    return self._reply(200, {"access_token": f"tok-{fake.tokens_issued}",
                                             "expires_in": fake.expires_in})
                if not self._authorized():
                    return self._reply(401)
                data = json.loads(body or b"{}")
                if self.path == "/digital-connect/conversations":
                    key = self.headers.get("x-idempotency-key", "")
                    if key in fake.idempotency:
                        return self._reply(201, {"id": fake.idempotency[key]})
                    cid = str(uuid.uuid4())
                    fake.idempotency[key] = cid
                    fake.conversations[cid] = data
                    return self._reply(201, {"id": cid})
                if self.path.startswith("/digital-connect/conversations/") and self.path.endswith("/messages"):
                    cid = self.path.split("/")[3]
                    if cid not in fake.conversations:
                        return self._reply(404)
                    fake.messages.append((cid, data.get("content", "")))
                    if fake.lose_answers:  # acted on, but the answer never arrives (a lost or late 201)
                        fake.lose_answers -= 1
                        self.close_connection = True
                        return self.connection.shutdown(2)
                    return self._reply(201, {"id": str(uuid.uuid4())})
                return self._reply(404)

            def do_DELETE(self) -> None:  # noqa: N802
                fake.requests.append(("DELETE", self.path))
                if self._scripted():
                    return
                if not self._authorized():
                    return self._reply(401)
                fake.ended.append(self.path.split("/")[-1])
                return self._reply(204)

        self._handler = Handler
        self.http: LocalServer | None = None

    @property
    def base(self) -> str:
        assert self.http is not None, "use the fake as a context manager"
        return self.http.url

    def fail(self, method: str, prefix: str, *statuses: int) -> None:
        self.failures.setdefault((method, prefix), deque()).extend(statuses)

    def __enter__(self) -> FakeTalkdesk:
        self.http = LocalServer(self._handler)
        return self

    def __exit__(self, *exc) -> None:
        assert self.http is not None
        self.http.close()
