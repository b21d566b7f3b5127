"""`KpiReport`: per team, a scheduled report function, an S3-triggered email function, their bucket,
dead-letter queue, roles and log groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import Env
from components.iam_documents import Account, service_trust
from components.kpi_report.args import KpiReportArgs
from components.lambda_function import FunctionSpec, lambda_function
from components.storage.args import BucketArgs, LifecycleRule
from components.storage.component import SecureBucket

HANDLERS = Path(__file__).resolve().parent / "handlers"


def model_resources(model_id: str, region: str, account_id: str, partition: str) -> list[str]:
    """The model ARN(s) `bedrock:InvokeModel` is granted on: the model, or the profile and its model."""
    prefix, _, rest = model_id.partition(".")
    if prefix in ("us", "eu", "apac", "us-gov", "global"):
        return [f"arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{model_id}",
                f"arn:{partition}:bedrock:*::foundation-model/{rest}"]
    return [f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"]


def report_policy(args: KpiReportArgs, acct: Account, *, bucket_arn: str, key_arn: str, log_group_arn: str,
                  source_secret_arn: str | None) -> str:
    region, account_id, partition = acct.region, acct.account_id, acct.partition
    statements: list[dict[str, Any]] = [
        {"Sid": "Model", "Effect": "Allow", "Action": ["bedrock:InvokeModel"],
         "Resource": model_resources(args.model_id, region, account_id, partition)},
        {"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": f"{bucket_arn}/reports/{args.team}/*"},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
    ]
    if source_secret_arn:
        statements.append({"Sid": "SourceCredentials", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                           "Resource": source_secret_arn})
    if args.source.type == "s3":
        statements.append({"Sid": "SourceExport", "Effect": "Allow", "Action": ["s3:GetObject"],
                           "Resource": f"arn:{partition}:s3:::{args.source.bucket}/{args.source.key}"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def send_identities(args: KpiReportArgs) -> list[str]:
    """The SES identities `ses:SendRawEmail` is authorized against: the sender's address and domain, and, while
    the account is in the SES sandbox, every recipient's too (in the sandbox SES checks the caller's
    authorization on the recipients' verified identities as well, and refuses with AccessDenied naming
    `identity/<recipient>` otherwise). An identity is an address or its domain, whichever was verified."""
    addresses = [args.sender, *args.subscribers]
    identities = {a.lower() for a in addresses} | {a.split("@", 1)[1].lower() for a in addresses}
    return sorted(identities)


#: What SES needs before the first report goes out (the README's prerequisites; the plan repeats them).
SES_PREREQUISITES = ("SES: verify the sender identity {sender} (address or domain) in {region}. A new account is in "
                     "the SES sandbox: it may send only to verified identities, so verify every subscriber too, or "
                     "request production access (SES console, Account dashboard) before relying on the report.")


def email_policy(args: KpiReportArgs, acct: Account, *, bucket_arn: str, key_arn: str, log_group_arn: str,
                 dlq_arn: str) -> str:
    region, account_id, partition = acct.region, acct.account_id, acct.partition
    dashboard = args.dashboard_key.format(team=args.team)
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadReport", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"{bucket_arn}/reports/{args.team}/*", f"{bucket_arn}/{dashboard}"]},
        # Lets a missing dashboard answer 404 rather than 403 (S3 hides existence without ListBucket).
        {"Sid": "ListDashboard", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [dashboard]}}},
        {"Sid": "Send", "Effect": "Allow", "Action": ["ses:SendRawEmail"],
         "Resource": [f"arn:{partition}:ses:{region}:{account_id}:identity/{identity}"
                      for identity in send_identities(args)]},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
        {"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": dlq_arn},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
    ]})


def scheduler_policy(function_arn: str, dlq_arn: str, key_arn: str) -> str:
    """The schedule's role. The schedule is encrypted with the platform key (EventBridge Scheduler decrypts
    it with this role: kms:Decrypt), and so is the dead-letter queue it sends to (kms:GenerateDataKey)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Invoke", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn},
        {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
    ]})


def code() -> pulumi.AssetArchive:
    files = sorted(p for p in HANDLERS.iterdir() if p.suffix in (".py", ".json"))
    return pulumi.AssetArchive({p.name: pulumi.FileAsset(str(p)) for p in files})


class KpiReport(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: KpiReportArgs, *, env: Env, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:kpi_report:KpiReport", name, None,
                         env.component_options(opts, former_types=("mlplat:kpi:KpiReport",)))
        child = pulumi.ResourceOptions(parent=self)
        region, account_id, partition, kms_key_arn = env.region, env.account_id, env.partition, env.key_arn
        pulumi.Output.from_input(region).apply(lambda r: pulumi.log.warn(
            f"{name}: " + SES_PREREQUISITES.format(sender=args.sender, region=r), resource=self))
        if args.bucket is not None:
            bucket_name: pulumi.Output[str] = pulumi.Output.from_input(args.bucket)
            bucket_arn = pulumi.Output.concat("arn:", partition, ":s3:::", args.bucket)
        else:
            bucket = SecureBucket(f"{name}-reports", BucketArgs(
                lifecycle=(LifecycleRule(id="old-reports", prefix="reports/", expire_days=730),)), env=env, opts=child)
            bucket_name, bucket_arn = bucket.bucket_name, bucket.bucket_arn
        dlq = aws.sqs.Queue(f"{name}-dlq", kms_master_key_id=kms_key_arn, message_retention_seconds=14 * 24 * 3600,
                            opts=child)
        secret_arn = None
        if args.source.type == "opensearch":
            secret_arn = aws.secretsmanager.get_secret_output(
                name=args.source.credentials_secret_name, opts=pulumi.InvokeOutputOptions(parent=self)).arn
        ctx = pulumi.Output.all(account_id, partition, bucket_arn, kms_key_arn, dlq.arn, secret_arn)

        def function(role: str, handler: str, variables: dict[str, Any], policy, timeout: int) -> aws.lambda_.Function:
            spec = FunctionSpec(f"{name}-{role}", handler, code(), timeout, memory_size=512, variables=variables,
                                dead_letter_arn=dlq.arn if role == "email" else None)
            return lambda_function(spec, lambda logs: pulumi.Output.all(ctx, logs).apply(lambda a: policy(a[0], a[1])),
                                   env=env, parent=self).function

        source_env = ({"SOURCE_TYPE": "opensearch", "SOURCE_ENDPOINT": args.source.endpoint,
                       "SOURCE_INDEX": args.source.index, "SOURCE_SECRET_ID": secret_arn}
                      if args.source.type == "opensearch" else
                      {"SOURCE_TYPE": "s3", "SOURCE_BUCKET": args.source.bucket, "SOURCE_KEY": args.source.key})
        report = function(
            "report", "report.handler",
            {"TEAM": args.team, "WINDOW_DAYS": str(args.window_days), "REPORT_BUCKET": bucket_name,
             "REPORT_KMS_KEY_ARN": kms_key_arn,
             "MODEL_ID": args.model_id, **source_env},
            lambda c, logs: report_policy(args, Account(region, c[0], c[1]), bucket_arn=c[2], key_arn=c[3],
                                          log_group_arn=logs, source_secret_arn=c[5]),
            timeout=300)
        email = function(
            "email", "email_report.handler",
            {"SENDER": args.sender, "SUBSCRIBERS": json.dumps(args.subscribers), "DASHBOARD_KEY": args.dashboard_key},
            lambda c, logs: email_policy(args, Account(region, c[0], c[1]), bucket_arn=c[2], key_arn=c[3],
                                         log_group_arn=logs, dlq_arn=c[4]),
            timeout=60)
        aws.lambda_.FunctionEventInvokeConfig(f"{name}-email-async", function_name=email.name,
                                              maximum_retry_attempts=2, maximum_event_age_in_seconds=6 * 3600,
                                              opts=child)
        allow_s3 = aws.lambda_.Permission(f"{name}-email-from-s3", action="lambda:InvokeFunction", function=email.name,
                                          principal="s3.amazonaws.com", source_arn=bucket_arn,
                                          source_account=account_id, opts=child)
        aws.s3.BucketNotification(
            f"{name}-reports-created", bucket=bucket_name,
            lambda_functions=[aws.s3.BucketNotificationLambdaFunctionArgs(
                lambda_function_arn=email.arn, events=["s3:ObjectCreated:*"], filter_prefix=f"reports/{args.team}/",
                filter_suffix=".html")],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[allow_s3]))
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler", opts=child,
            assume_role_policy=pulumi.Output.from_input(account_id).apply(
                lambda acct: service_trust("scheduler.amazonaws.com", account_id=acct)))
        aws.iam.RolePolicy(f"{name}-scheduler", role=scheduler_role.id, opts=child,
                           policy=pulumi.Output.all(report.arn, dlq.arn, kms_key_arn).apply(
                               lambda a: scheduler_policy(a[0], a[1], a[2])))
        aws.scheduler.Schedule(
            f"{name}-schedule", schedule_expression=args.schedule,
            schedule_expression_timezone=args.schedule_timezone, kms_key_arn=kms_key_arn,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=report.arn, role_arn=scheduler_role.arn,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(maximum_retry_attempts=2,
                                                                         maximum_event_age_in_seconds=3600),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dlq.arn)),
            opts=child)
        self.bucket_name = bucket_name
        self.register_outputs({"bucketName": bucket_name, "reportFunction": report.name})
