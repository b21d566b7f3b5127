"""KpiReport infrastructure: schedule, S3 trigger, DLQ, IAM scoped to one model, encryption."""

from __future__ import annotations

import json

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import config, plan_config, values

REPORT = {"team": "payments", "schedule": "rate(7 days)", "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
          "sender": "kpi@example.com", "subscribers": ["lead@example.com"],
          "source": {"type": "opensearch", "endpoint": "https://search.example.com", "index": "devops",
                     "credentialsSecretName": "kpi/search"}}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("kpi"), config(kpiReports=[REPORT]))


def _get(view, typ, suffix):
    return view.get(typ, f"mlplat-dev-kpi-payments{suffix}")


def _policy(view, role):
    return {s["Sid"]: s for s in json.loads(_get(view, "aws:iam/rolePolicy:RolePolicy", f"-{role}-role")["inputs"]
                                            ["policy"])["Statement"]}


def test_schedule_targets_the_report_function_with_retries_and_dlq(view):
    schedule = _get(view, "aws:scheduler/schedule:Schedule", "-schedule")["inputs"]
    report = _get(view, "aws:lambda/function:Function", "-report")
    dlq = _get(view, "aws:sqs/queue:Queue", "-dlq")
    assert schedule["scheduleExpression"] == "rate(7 days)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule["target"]
    assert target["arn"] == report["outputs"]["arn"]
    assert target["deadLetterConfig"] == {"arn": dlq["outputs"]["arn"]}
    assert target["retryPolicy"]["maximumRetryAttempts"] == 2
    trust = json.loads(_get(view, "aws:iam/role:Role", "-scheduler")["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_email_triggered_by_new_reports_with_dlq(view):
    email = _get(view, "aws:lambda/function:Function", "-email")
    notification = _get(view, "aws:s3/bucketNotification:BucketNotification", "-reports-created")["inputs"]
    (trigger,) = notification["lambdaFunctions"]
    assert trigger == {"lambdaFunctionArn": email["outputs"]["arn"], "events": ["s3:ObjectCreated:*"],
                       "filterPrefix": "reports/payments/", "filterSuffix": ".html"}
    dlq = _get(view, "aws:sqs/queue:Queue", "-dlq")
    assert email["inputs"]["deadLetterConfig"] == {"targetArn": dlq["outputs"]["arn"]}
    permission = _get(view, "aws:lambda/permission:Permission", "-email-from-s3")["inputs"]
    bucket = _get(view, "aws:s3/bucket:Bucket", "-reports")["outputs"]["arn"]
    assert permission["sourceArn"] == bucket and permission["sourceAccount"] == "123456789012"
    assert json.loads(email["inputs"]["environment"]["variables"]["SUBSCRIBERS"]) == ["lead@example.com"]


def test_iam_is_scoped_to_one_model_prefixes_identity_and_secret(view):
    report = _policy(view, "report")
    assert report["Model"]["Resource"] == [
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"]
    bucket = _get(view, "aws:s3/bucket:Bucket", "-reports")["outputs"]["arn"]
    assert report["WriteReports"]["Resource"] == f"{bucket}/reports/payments/*"
    assert report["SourceCredentials"]["Resource"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:"
                                                              "secret:kpi/search-")
    email = _policy(view, "email")
    assert email["Send"]["Action"] == ["ses:SendRawEmail"]
    assert email["ReadReport"]["Resource"] == [f"{bucket}/reports/payments/*",
                                               f"{bucket}/dashboards/payments/dashboard.pdf"]


def test_encryption_and_log_retention(view):
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    assert _get(view, "aws:sqs/queue:Queue", "-dlq")["inputs"]["kmsMasterKeyId"] == key
    assert _get(view, "aws:scheduler/schedule:Schedule", "-schedule")["inputs"]["kmsKeyArn"] == key
    for role in ("report", "email"):
        fn = _get(view, "aws:lambda/function:Function", f"-{role}")["inputs"]
        logs = _get(view, "aws:cloudwatch/logGroup:LogGroup", f"-{role}-logs")["inputs"]
        assert fn["kmsKeyArn"] == key and logs["kmsKeyId"] == key and logs["retentionInDays"] == 30
        assert "opensearch-query.json" in fn["code"]["assetArchive"]


def test_inference_profile_grants_profile_and_model(tmp_path):
    from components.kpi_report.component import model_resources

    assert model_resources("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "us-east-1", "1", "aws") == [
        "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"]


@pytest.mark.parametrize("change,needle", [
    ({"modelId": "Claude 3 Haiku"}, "kpiReports[0].modelId: expected a Bedrock model id"),
    ({"schedule": "every monday"}, "kpiReports[0].schedule: expected rate(N unit)"),
    ({"schedule": "rate(1 days)"}, "kpiReports[0].schedule:"),
    ({"subscribers": ["lead@example.com", "lead.example.com"]},
     "kpiReports[0].subscribers[1]: expected an email address such as ana@example.com; found 'lead.example.com'"),
    ({"source": {"type": "opensearch", "endpoint": "https://s", "index": "i"}},
     "kpiReports[0].source.credentialsSecretName: an opensearch source expects credentialsSecretName; found none"),
    ({"source": {"type": "s3", "bucket": "exports"}},
     "kpiReports[0].source.key: an s3 source expects a .json or .csv key"),
    ({"source": {"type": "s3", "bucket": "Exports_2024", "key": "x.json"}},
     "kpiReports[0].source.bucket: expected an S3 bucket name"),
])
def test_bad_input(change, needle):
    with pytest.raises(ConfigError) as info:
        parse(values(config(kpiReports=[dict(REPORT, **change)])))
    (line,) = info.value.problems
    assert needle in line


def test_existing_bucket_is_used_and_not_shared(tmp_path):
    view = plan_config(tmp_path, config(kpiReports=[dict(REPORT, bucket="acme-kpi-reports")]))
    assert not [b for b in view.of_type("aws:s3/bucket:Bucket") if "kpi" in b["name"]]
    notification = _get(view, "aws:s3/bucketNotification:BucketNotification", "-reports-created")["inputs"]
    assert notification["bucket"] == "acme-kpi-reports"
    with pytest.raises(ConfigError) as info:
        shared = [dict(REPORT, bucket="shared-b"), dict(REPORT, team="web", bucket="shared-b")]
        parse(values(config(kpiReports=shared)))
    assert any("cannot serve two teams" in p for p in info.value.problems)


def test_the_schedule_and_its_dead_letters_can_use_the_platform_key(view):
    """The schedule and the DLQ are encrypted with the platform key: without kms:Decrypt the schedule never runs."""
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    schedule = _get(view, "aws:scheduler/schedule:Schedule", "-schedule")["inputs"]
    dlq = _get(view, "aws:sqs/queue:Queue", "-dlq")["inputs"]
    assert schedule["kmsKeyArn"] == key and dlq["kmsMasterKeyId"] == key
    policy = json.loads(_get(view, "aws:iam/rolePolicy:RolePolicy", "-scheduler")["inputs"]["policy"])
    kms = next(s for s in policy["Statement"] if s["Sid"] == "Kms")
    assert kms["Resource"] == key and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(kms["Action"])


def test_reports_name_the_platform_key_and_the_email_may_list_the_dashboard(view):
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    report = _get(view, "aws:lambda/function:Function", "-report")["inputs"]
    assert report["environment"]["variables"]["REPORT_KMS_KEY_ARN"] == key
    policy = json.loads(_get(view, "aws:iam/rolePolicy:RolePolicy", "-email-role")["inputs"]["policy"])
    listing = next(s for s in policy["Statement"] if s["Sid"] == "ListDashboard")
    assert listing["Action"] == ["s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["dashboards/payments/dashboard.pdf"]}}


def _may_send_as(statement: dict, address: str) -> bool:
    """SES authorizes SendRawEmail against an identity: the address itself or its domain, whichever is verified.
    IAM resource matching is a glob ('*' and '?')."""
    import fnmatch

    arn = "arn:aws:ses:us-east-1:123456789012:identity/"
    return any(fnmatch.fnmatchcase(arn + identity, resource) for resource in statement["Resource"]
               for identity in (address, address.split("@", 1)[1]))


def test_a_sandboxed_account_may_send_to_its_verified_recipients(tmp_path):
    """In the SES sandbox, SendRawEmail is also authorized against each recipient's identity: a policy naming
    only the sender's identity is refused with AccessDenied on identity/<recipient>."""
    report = {**REPORT, "subscribers": ["lead@example.com", "cto@corp.example.org"]}
    view = plan_config(tmp_path, config(kpiReports=[report]))
    send = {s["Sid"]: s for s in json.loads(_get(view, "aws:iam/rolePolicy:RolePolicy", "-email-role")["inputs"]
                                            ["policy"])["Statement"]}["Send"]
    for address in ("kpi@example.com", "lead@example.com", "cto@corp.example.org"):
        assert _may_send_as(send, address), address
    assert not _may_send_as(send, "someone@elsewhere.example.net"), "no other identity"
    notes = [d["message"] for d in view.diagnostics if "SES" in d["message"]]
    assert len(notes) == 1 and "sandbox" in notes[0] and "production access" in notes[0]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("schedule", "cron(0 6 * * MON *)", "expected ? in exactly one of day-of-month and day-of-week"),
    ("schedule", "cron(0 6 ? * ? *)", "expected ? in exactly one of day-of-month and day-of-week"),
    ("scheduleTimezone", "Europe/Lisboa", "expected an IANA time zone such as Europe/Lisbon or UTC (did you mean "
                                          "Europe/Lisbon?)"),
])
def test_a_schedule_eventbridge_would_refuse_is_refused_with_exit_2(tmp_path, key, value, expected):
    """EventBridge Scheduler refuses a cron with both day fields set (cron reference) and an unknown time zone: the
    stack file is refused before anything is created, with the key named."""
    import yaml

    from tests.helpers import config, run_cli

    report = {"team": "web", "source": {"type": "s3", "bucket": "devops-exports", "key": "dora.json"},
              "sender": "kpi@example.com", "subscribers": ["lead@example.com"], key: value}
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config(kpiReports=[report])}))
    result = run_cli("plan", "dev", "--config-file", str(path), "--quiet")
    assert result.returncode == 2
    assert f"ml-platform:kpiReports[0].{key}: {expected}" in result.stderr, result.stderr
