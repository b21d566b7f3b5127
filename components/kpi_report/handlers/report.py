"""Scheduled: DORA metrics of the last window -> Bedrock (Converse API) summary -> HTML report in S3.

Only numbers reach the model: no names, emails or commit messages. When the source cannot be read,
or the model stays throttled, the report still lands and says so (never an empty email).
"""

from __future__ import annotations

import html
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import boto3
import dora
import sources
from botocore.exceptions import ClientError

ALLOWED_TAGS = {"h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "b", "i", "br", "table", "thead",
                "tbody", "tr", "th", "td", "span", "div"}
DROP_CONTENT = {"script", "style", "iframe", "object", "embed"}
SYSTEM_PROMPT = ("You are an engineering-effectiveness coach. You receive a team's DORA metrics for this period and "
                 "the previous one, as JSON numbers with their DORA performance bands. Reply with an HTML fragment "
                 "only (h3, p, ul, li, strong; no scripts, no styles, no links) with three sections: Summary, "
                 "Analysis (trends against the previous period) and Recommendations (at most five, concrete).")


class _Sanitizer(HTMLParser):
    """Rebuilds HTML from an allow-list of tags without attributes: no scripts, handlers or links survive."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.tags = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in DROP_CONTENT:
            self.skip += 1
        elif tag in ALLOWED_TAGS and not self.skip:
            self.tags += 1
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_CONTENT:
            self.skip = max(0, self.skip - 1)
        elif tag in ALLOWED_TAGS and not self.skip and tag != "br":
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(html.escape(data))


def sanitize(fragment: str) -> str:
    parser = _Sanitizer()
    parser.feed(fragment)
    parser.close()
    text = "".join(parser.out).strip()
    if parser.tags == 0:  # not HTML: keep it, as escaped text
        return f"<p>{text}</p>" if text else ""
    return text


def build_prompt(current: dict[str, Any], previous: dict[str, Any]) -> str:
    def numbers(report: dict[str, Any]) -> dict[str, Any]:
        keep = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
        return {k: {"value": report[k]["value"], "band": report[k]["band"], "unit": report[k]["unit"],
                    **{dk: dv for dk, dv in report[k]["detail"].items() if isinstance(dv, int | float)}}
                for k in keep}

    return json.dumps({"current_period": numbers(current), "previous_period": numbers(previous)}, sort_keys=True)


def converse(model_id: str, prompt: str, client: Any = None, attempts: int = 4, sleep=time.sleep) -> str:
    client = client or boto3.client("bedrock-runtime")
    for attempt in range(attempts):
        try:
            response = client.converse(
                modelId=model_id, system=[{"text": SYSTEM_PROMPT}],
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": 1500, "temperature": 0.2})
            return "".join(part.get("text", "") for part in response["output"]["message"]["content"])
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in ("ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException") \
                    or attempt + 1 == attempts:
                raise
            sleep(random.uniform(0, float(os.environ.get("RETRY_BASE_S", "1")) * 2 ** attempt))
    raise RuntimeError("unreachable")


def _metrics_table(current: dict[str, Any], previous: dict[str, Any]) -> str:
    rows = []
    for key, label in (("deployment_frequency", "Deployment frequency"), ("lead_time", "Lead time for changes"),
                       ("change_failure_rate", "Change failure rate"), ("time_to_restore", "Time to restore")):
        cur, prev = current[key], previous[key]
        fmt = (lambda v: "no data" if v is None else f"{v:g}")  # noqa: E731
        rows.append(f"<tr><td>{label}</td><td>{fmt(cur['value'])} {html.escape(cur['unit'])}</td>"
                    f"<td>{html.escape(cur['band'])}</td><td>{fmt(prev['value'])}</td></tr>")
    return ("<table><thead><tr><th>Metric</th><th>This period</th><th>Band</th><th>Previous</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def render(team: str, period: str, body: str, table: str = "", note: str = "") -> str:
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>DevOps KPIs</title></head><body>"
            f"<h2>DevOps KPI report: {html.escape(team)}, {html.escape(period)}</h2>"
            f"{f'<p><strong>{html.escape(note)}</strong></p>' if note else ''}{table}{body}</body></html>")


def handler(event: dict[str, Any], _context: Any = None, bedrock: Any = None, sleep=time.sleep) -> dict[str, Any]:
    team, window = os.environ["TEAM"], int(os.environ.get("WINDOW_DAYS", "7"))
    when = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) if event.get("time") else \
        datetime.now(UTC)
    end = when.replace(hour=0, minute=0, second=0, microsecond=0)
    start, previous_start = end - timedelta(days=window), end - timedelta(days=2 * window)
    period = f"{start.date().isoformat()}_{(end - timedelta(days=1)).date().isoformat()}"
    try:
        raw_deployments, raw_incidents = sources.fetch(previous_start.isoformat(), end.isoformat(), sleep=sleep)
    except sources.SourceError as exc:
        print(json.dumps({"event": "source_failed", "reason": str(exc)[:200]}))
        page = render(team, period, "<p>The deployment and incident data could not be fetched for this period; "
                                    "no metrics were computed. The platform team has been notified in the logs.</p>",
                      note="Data unavailable")
        return _store(team, period, page, status="data_unavailable")
    records = dora.parse_records(raw_deployments, raw_incidents)
    current = dora.compute(records, start, end).to_dict()
    previous = dora.compute(records, previous_start, start).to_dict()
    table = _metrics_table(current, previous)
    note = f"{records.malformed} malformed record(s) were skipped." if records.malformed else ""
    try:
        summary = sanitize(converse(os.environ["MODEL_ID"], build_prompt(current, previous), bedrock, sleep=sleep))
    except ClientError as exc:
        print(json.dumps({"event": "bedrock_failed", "code": exc.response["Error"]["Code"]}))
        summary = "<p>The AI summary is unavailable for this period (the model did not answer); the metrics above " \
                  "are complete.</p>"
    return _store(team, period, render(team, period, summary or "<p>No summary.</p>", table, note), status="ok")


def _store(team: str, period: str, page: str, status: str) -> dict[str, Any]:
    key = f"reports/{team}/{period}.html"
    # The platform key, named: `aws:kms` alone would encrypt with the AWS-managed `aws/s3` key.
    boto3.client("s3").put_object(Bucket=os.environ["REPORT_BUCKET"], Key=key, Body=page.encode("utf-8"),
                                  ContentType="text/html; charset=utf-8", ServerSideEncryption="aws:kms",
                                  SSEKMSKeyId=os.environ["REPORT_KMS_KEY_ARN"])
    print(json.dumps({"event": "report_stored", "key": key, "status": status}))
    return {"key": key, "status": status}
