"""KPI report handlers: moto (S3, SES, Secrets Manager), a local fake search endpoint, a stubbed Bedrock runtime."""

from __future__ import annotations

import email
import importlib
import json
import sys
from http.server import BaseHTTPRequestHandler

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.helpers import ROOT, LocalServer

HANDLERS = ROOT / "components" / "kpi_report" / "handlers"
BUCKET = "kpi-reports"
WHEN = "2026-11-09T06:00:00Z"  # window: 2026-11-02 .. 2026-11-08, previous: 2026-10-26 .. 2026-11-01
DOCS = [
    {"kind": "deployment", "deployed_at": "2026-11-03T10:00:00Z", "commit_times": ["2026-11-03T08:00:00Z"],
     "status": "success", "author": "Ana Silva", "author_email": "ana@example.com", "message": "fix SECRET-TOKEN"},
    {"kind": "deployment", "deployed_at": "2026-11-04T10:00:00Z", "commit_times": ["2026-11-04T06:00:00Z"],
     "status": "failed", "author": "Bo Li"},
    {"kind": "deployment", "deployed_at": "2026-10-28T10:00:00Z", "commit_times": ["2026-10-27T10:00:00Z"],
     "status": "success"},
    {"kind": "incident", "opened_at": "2026-11-04T11:00:00Z", "resolved_at": "2026-11-04T13:00:00Z",
     "commander": "Carla"},
    {"kind": "deployment", "status": "weird"},
]


class FakeSearch:
    """An OpenSearch `_search` endpoint on 127.0.0.1 that checks basic auth and the query template."""

    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times, self.queries = fail_times, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.queries.append((self.path, body, self.headers.get("Authorization")))
                if fake.fail_times > 0:
                    fake.fail_times -= 1
                    status, payload = 503, {"error": "unavailable"}
                else:
                    status, payload = 200, {"hits": {"hits": [{"_source": d} for d in DOCS]}}
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.http = LocalServer(Handler)

    @property
    def url(self) -> str:
        return self.http.url

    def close(self) -> None:
        self.http.close()


class FakeBedrock:
    def __init__(self, answer: str, throttle: int = 0, always_fail: bool = False) -> None:
        self.answer, self.throttle, self.always_fail, self.calls = answer, throttle, always_fail, []

    def converse(self, **kwargs):
        self.calls.append(kwargs)
        if self.always_fail or self.throttle > 0:
            self.throttle -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Converse")
        return {"output": {"message": {"role": "assistant", "content": [{"text": self.answer}]}}}


ANSWER = ("<h3>Summary</h3><p onclick=\"steal()\">Lead time improved.</p><script>alert(1)</script>"
          "<ul><li><a href=\"javascript:x\">Automate</a> rollbacks</li></ul>")


@pytest.fixture
def kpi(monkeypatch):
    monkeypatch.syspath_prepend(str(HANDLERS))
    for name in ("dora", "sources", "report", "email_report"):
        sys.modules.pop(name, None)
    for var, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1",
                       "TEAM": "payments", "WINDOW_DAYS": "7", "REPORT_BUCKET": BUCKET,
                       "MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0", "SOURCE_TYPE": "opensearch",
                       "SOURCE_INDEX": "devops", "SOURCE_SECRET_ID": "kpi/search", "RETRY_BASE_S": "0",
                       "SENDER": "kpi@example.com",
                       "SUBSCRIBERS": json.dumps(["lead@example.com", "cto@example.com"])}.items():
        monkeypatch.setenv(var, value)
    search = FakeSearch()
    monkeypatch.setenv("SOURCE_ENDPOINT", search.url)
    with mock_aws():
        key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        monkeypatch.setenv("REPORT_KMS_KEY_ARN", key)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("secretsmanager").create_secret(
            Name="kpi/search", SecretString=json.dumps({"username": "svc", "password": "pw"}))
        boto3.client("ses").verify_email_identity(EmailAddress="kpi@example.com")
        yield {"search": search, "report": importlib.import_module("report"),
               "email": importlib.import_module("email_report"), "key": key}
    search.close()


def _object(key: str) -> str:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_report_sends_only_numbers_and_lands_in_s3(kpi):
    bedrock = FakeBedrock(ANSWER)
    result = kpi["report"].handler({"time": WHEN}, None, bedrock=bedrock, sleep=lambda s: None)
    assert result == {"key": "reports/payments/2026-11-02_2026-11-08.html", "status": "ok"}
    (call,) = bedrock.calls
    prompt = call["messages"][0]["content"][0]["text"]
    data = json.loads(prompt)
    # One successful deployment, none linked to an incident; the failed run is not a deployment (Four Keys).
    assert data["current_period"]["change_failure_rate"]["value"] == 0.0
    assert data["current_period"]["lead_time"]["value"] == 2.0
    assert data["previous_period"]["deployment_frequency"]["value"] == round(1 / 7, 3)
    for personal in ("Ana Silva", "ana@example.com", "Bo Li", "Carla", "SECRET-TOKEN", "payments"):
        assert personal not in prompt and personal not in json.dumps(call)
    path, query, auth = kpi["search"].queries[0]
    assert path == "/devops/_search" and auth.startswith("Basic ")
    deployments, incidents = query["query"]["bool"]["should"]
    assert deployments["bool"]["filter"][1]["range"]["deployed_at"] == {
        "gte": "2026-10-26T00:00:00+00:00", "lt": "2026-11-09T00:00:00+00:00"}
    # Incidents that overlap the window: opened before its end, resolved in it or still open. One opened
    # before the window but resolved inside it counts for time to restore.
    assert incidents["bool"]["filter"][1]["range"]["opened_at"] == {"lt": "2026-11-09T00:00:00+00:00"}
    assert incidents["bool"]["should"][0]["range"]["resolved_at"] == {"gte": "2026-10-26T00:00:00+00:00"}
    stored = boto3.client("s3").head_object(Bucket=BUCKET, Key=result["key"])
    assert stored["ServerSideEncryption"] == "aws:kms" and stored["SSEKMSKeyId"] == kpi["key"], "the platform key"
    page = _object(result["key"])
    assert "Lead time improved." in page and "<h3>Summary</h3>" in page
    assert "<script" not in page and "onclick" not in page and "javascript:" not in page
    assert "1 malformed record(s) were skipped" in page


def test_throttled_model_is_retried(kpi):
    bedrock = FakeBedrock("<p>ok</p>", throttle=2)
    kpi["report"].handler({"time": WHEN}, None, bedrock=bedrock, sleep=lambda s: None)
    assert len(bedrock.calls) == 3


def test_model_down_still_gives_a_report_with_numbers(kpi):
    result = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock("", always_fail=True),
                                   sleep=lambda s: None)
    page = _object(result["key"])
    assert "AI summary is unavailable" in page and "Change failure rate" in page


def test_source_retried_then_unavailable_report(kpi):
    kpi["search"].fail_times = 1
    ok = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock("<p>x</p>"), sleep=lambda s: None)
    assert ok["status"] == "ok" and len(kpi["search"].queries) == 2
    kpi["search"].fail_times = 10
    down = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock("<p>x</p>"), sleep=lambda s: None)
    assert down["status"] == "data_unavailable"
    assert "could not be fetched" in _object(down["key"])


def test_plain_text_answer_is_escaped_into_a_paragraph(kpi):
    report = kpi["report"]
    assert report.sanitize("Deploys are up & stable") == "<p>Deploys are up &amp; stable</p>"
    assert report.sanitize("<style>p{}</style><p>x</p>") == "<p>x</p>"


def test_s3_csv_source(kpi, monkeypatch):
    csv_text = ("kind,deployed_at,commit_times,status,caused_incident,opened_at,resolved_at\n"
                "deployment,2026-11-03T10:00:00Z,2026-11-03T09:00:00Z,success,false,,\n"
                "incident,,,,,2026-11-03T11:00:00Z,2026-11-03T11:30:00Z\n")
    boto3.client("s3").put_object(Bucket=BUCKET, Key="exports/devops.csv", Body=csv_text.encode())
    monkeypatch.setenv("SOURCE_TYPE", "s3")
    monkeypatch.setenv("SOURCE_BUCKET", BUCKET)
    monkeypatch.setenv("SOURCE_KEY", "exports/devops.csv")
    bedrock = FakeBedrock("<p>fine</p>")
    kpi["report"].handler({"time": WHEN}, None, bedrock=bedrock, sleep=lambda s: None)
    data = json.loads(bedrock.calls[0]["messages"][0]["content"][0]["text"])
    assert data["current_period"]["lead_time"]["value"] == 1.0
    assert data["current_period"]["time_to_restore"]["value"] == 0.5


def _s3_event(key: str) -> dict:
    return {"Records": [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]}


def test_email_carries_html_body_and_pdf(kpi):
    result = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock(ANSWER), sleep=lambda s: None)
    pdf = b"%PDF-1.4\n% tiny dashboard\n%%EOF\n"
    boto3.client("s3").put_object(Bucket=BUCKET, Key="dashboards/payments/dashboard.pdf", Body=pdf)
    assert kpi["email"].handler(_s3_event(result["key"])) == {"sent": 1}
    from moto.ses.models import ses_backends

    (sent,) = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert set(sent.destinations) == {"cto@example.com", "lead@example.com"}
    message = email.message_from_string(sent.raw_data)
    parts = {p.get_content_type(): p for p in message.walk()}
    assert "Lead time improved." in parts["text/html"].get_payload(decode=True).decode()
    assert parts["application/pdf"].get_payload(decode=True) == pdf
    assert parts["application/pdf"].get_filename() == "payments-dashboard-2026-11-02_2026-11-08.pdf"


def test_missing_dashboard_sends_without_attachment_and_empty_report_is_never_sent(kpi):
    result = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock("<p>x</p>"), sleep=lambda s: None)
    assert kpi["email"].handler(_s3_event(result["key"])) == {"sent": 1}
    # What SES sent: the report and nothing attached (no PDF, not even an empty one).
    from moto.ses.models import ses_backends

    sent = ses_backends["123456789012"]["us-east-1"].sent_messages[-1]
    message = email.message_from_string(sent.raw_data)
    types = [p.get_content_type() for p in message.walk() if not p.is_multipart()]
    assert "text/html" in types and "application/pdf" not in types
    assert not [p for p in message.walk() if p.get_filename()]
    boto3.client("s3").put_object(Bucket=BUCKET, Key="reports/payments/empty.html", Body=b"")
    with pytest.raises(ValueError, match="not sending an empty email"):
        kpi["email"].handler(_s3_event("reports/payments/empty.html"))


def test_dashboard_access_denied_still_sends_the_report_and_says_so(kpi, monkeypatch):
    """Without s3:ListBucket a missing object answers 403, which used to fail the email into the DLQ."""
    result = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock("<p>x</p>"), sleep=lambda s: None)
    real = boto3.client

    class Denying:
        def __init__(self, inner):
            self.inner = inner

        def get_object(self, **kwargs):
            if kwargs["Key"].startswith("dashboards/"):
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject")
            return self.inner.get_object(**kwargs)

    monkeypatch.setattr(kpi["email"].boto3, "client", lambda name, *a, **k: Denying(real(name)) if name == "s3"
                        else real(name, *a, **k))
    sent = []
    monkeypatch.setattr(kpi["email"], "build_message", lambda *a: sent.append(a) or email.message.Message())
    assert kpi["email"].handler(_s3_event(result["key"])) == {"sent": 1}
    (args,) = sent
    assert args[4] is None and "dashboard was not available" in args[3]


def test_ses_rejection_is_raised_for_retry(kpi, monkeypatch):
    result = kpi["report"].handler({"time": WHEN}, None, bedrock=FakeBedrock("<p>x</p>"), sleep=lambda s: None)
    monkeypatch.setenv("SENDER", "unverified@example.com")
    with pytest.raises(ClientError, match="MessageRejected"):
        kpi["email"].handler(_s3_event(result["key"]))
