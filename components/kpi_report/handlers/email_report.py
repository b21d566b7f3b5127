"""Triggered by a new report in S3: email it (HTML body, the PDF dashboard attached) through SES."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import boto3
from botocore.exceptions import ClientError


def build_message(sender: str, recipients: list[str], subject: str, page: str, pdf: bytes | None,
                  pdf_name: str) -> MIMEMultipart:
    message = MIMEMultipart("mixed")
    message["Subject"], message["From"], message["To"] = subject, sender, ", ".join(recipients)
    body = MIMEMultipart("alternative")
    text = re.sub(r"<[^>]+>", " ", page)
    body.attach(MIMEText(re.sub(r"\s+", " ", text).strip(), "plain", "utf-8"))
    body.attach(MIMEText(page, "html", "utf-8"))
    message.attach(body)
    if pdf is not None:
        attachment = MIMEApplication(pdf, _subtype="pdf")
        attachment.add_header("Content-Disposition", "attachment", filename=pdf_name)
        message.attach(attachment)
    return message


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    s3, ses = boto3.client("s3"), boto3.client("ses")
    sender, recipients = os.environ["SENDER"], json.loads(os.environ["SUBSCRIBERS"])
    sent = 0
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        page = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        if "<body>" not in page or len(page) < 100:
            print(json.dumps({"event": "report_empty", "key": key}))
            raise ValueError(f"report {key} is empty: not sending an empty email")
        team = key.split("/")[1]
        dashboard_key = os.environ.get("DASHBOARD_KEY", "dashboards/{team}/dashboard.pdf").format(team=team)
        try:
            pdf = s3.get_object(Bucket=bucket, Key=dashboard_key)["Body"].read()
        except ClientError as exc:
            # Without s3:ListBucket a missing key answers 403, not 404: both mean "no dashboard this time",
            # and the report still goes out, saying so.
            if exc.response["Error"]["Code"] not in ("NoSuchKey", "404", "AccessDenied", "403"):
                raise
            pdf = None
            page = page.replace("<body>", "<body><p><em>The PDF dashboard was not available for this period; "
                                          "this email has no attachment.</em></p>", 1)
            print(json.dumps({"event": "dashboard_missing", "key": dashboard_key,
                              "code": exc.response["Error"]["Code"]}))
        period = key.rsplit("/", 1)[-1].removesuffix(".html")
        message = build_message(sender, recipients, f"DevOps KPI report: {team}, {period}", page, pdf,
                                f"{team}-dashboard-{period}.pdf")
        try:
            ses.send_raw_email(Source=sender, Destinations=recipients, RawMessage={"Data": message.as_bytes()})
        except ClientError as exc:
            # Logged, then raised: the asynchronous invocation retries and finally lands in the DLQ.
            print(json.dumps({"event": "send_failed", "key": key, "code": exc.response["Error"]["Code"]}))
            raise
        sent += 1
        print(json.dumps({"event": "report_sent", "key": key, "recipients": len(recipients),
                          "attachment": pdf is not None}))
    return {"sent": sent}
