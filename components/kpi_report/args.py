"""`ml-platform:kpiReports[]`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.base import BucketName, Email, StrictModel, problem

MODEL_ID = re.compile(r"^((us|eu|apac|us-gov|global)\.)?[a-z0-9-]+\.[a-z0-9][a-z0-9.-]*(:\d+)?$")
RATE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$")
CRON = re.compile(r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$")
AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")


class KpiSource(StrictModel):
    type: Literal["opensearch", "s3"] = Field(description="opensearch (HTTP search query) or s3 (JSON/CSV export).")
    endpoint: str | None = Field(default=None, description="OpenSearch/Elasticsearch https endpoint.")
    index: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._*-]*$", description="Index (pattern).")
    credentials_secret_name: str | None = Field(
        default=None, description="Secrets Manager secret with {\"username\", \"password\"} for the endpoint."
    )
    bucket: BucketName | None = Field(default=None, description="Bucket of the export (s3).")
    key: str | None = Field(default=None, description="Key of the export, .json or .csv (s3).")

    @model_validator(mode="after")
    def _complete(self) -> KpiSource:
        if self.type == "opensearch":
            missing = [k for k, v in (("endpoint", self.endpoint), ("index", self.index),
                                      ("credentialsSecretName", self.credentials_secret_name)) if not v]
            if missing:
                raise problem(missing[0], f"an opensearch source expects {', '.join(missing)}; found none")
            if not str(self.endpoint).startswith("https://"):
                raise problem("endpoint", f"expected an https:// URL; found {self.endpoint!r}")
        elif not self.bucket:
            raise problem("bucket", "an s3 source expects the bucket of the export; found none")
        elif not (self.key and self.key.endswith((".json", ".csv"))):
            raise problem("key", f"an s3 source expects a .json or .csv key; found {self.key!r}")
        return self


class KpiReportArgs(StrictModel):
    team: str = Field(pattern=r"^[a-z0-9](-?[a-z0-9])*$", max_length=24, description="Team id (no personal data).")
    source: KpiSource = Field(description="Where deployments and incidents come from.")
    schedule: str = Field(default="cron(0 6 ? * MON *)", description="EventBridge Scheduler expression.")
    schedule_timezone: str = Field(default="UTC", description="IANA time zone of the schedule.")
    window_days: int = Field(default=7, ge=1, le=92, description="Days covered by one report.")
    model_id: str = Field(
        default="anthropic.claude-3-haiku-20240307-v1:0",
        description="Bedrock model (or inference profile) id used through the Converse API.",
    )
    sender: Email = Field(description="Verified SES identity the email is sent from.")
    subscribers: list[Email] = Field(min_length=1, max_length=50, description="Recipients of the report.")
    dashboard_key: str = Field(default="dashboards/{team}/dashboard.pdf", description="PDF attached to the email.")
    bucket: BucketName | None = Field(
        default=None,
        description="Existing bucket for reports (default: a KMS bucket is created). Its event notifications are "
                    "then managed by this stack.",
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not (RATE.match(value) or CRON.match(value) or AT.match(value)):
            raise ValueError("expected rate(N unit), cron(min hour day-of-month month day-of-week year) or "
                             "at(yyyy-mm-ddThh:mm:ss)")
        if CRON.match(value):
            fields = value[len("cron("):-1].split()
            # EventBridge Scheduler cron reference: "You can't specify the Day-of-month and Day-of-week fields in
            # the same cron expression. If you specify a value (or a *) in one of the fields, you must use a ? in
            # the other."
            if (fields[2] == "?") == (fields[4] == "?"):
                raise ValueError(f"expected ? in exactly one of day-of-month and day-of-week (e.g. cron(0 6 ? * MON "
                                 f"*)); found {fields[2]!r} and {fields[4]!r}")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        """An IANA time zone (EventBridge Scheduler ScheduleExpressionTimezone), judged by the tz database."""
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            import difflib

            close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), n=1)
            raise ValueError("expected an IANA time zone such as Europe/Lisbon or UTC"
                             + (f" (did you mean {close[0]}?)" if close else "")) from None
        return value

    @field_validator("model_id")
    @classmethod
    def _model(cls, value: str) -> str:
        if not MODEL_ID.match(value):
            raise ValueError("expected a Bedrock model id such as anthropic.claude-3-haiku-20240307-v1:0 "
                             "(optionally with a us./eu./apac. inference-profile prefix)")
        return value
